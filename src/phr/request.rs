//! Access requests: a principal asks for a right on sections; the owner approves or rejects;
//! the requester can withdraw; closed requests can be deleted ([SPEC §4](crate::notes::spec)).

use alloc::vec::Vec;
use core::fmt;

use crate::encoding::{self, Reader, Tag};
use crate::phr::{History, PrincipalId, RecordId, RequestId, SectionId, Timestamp};
use crate::Error;

/// The right a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Right {
    /// Read, with the history the requester asks for (`None`: the ACL's default).
    Read(Option<History>),
    /// Write.
    Write,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestState {
    /// Waiting for the owner.
    Pending,
    /// Approved as asked: every section, with at least the history asked for.
    Approved,
    /// Approved with less than was asked: fewer sections (see
    /// [`AccessRequest::granted`]) or a shorter history (see the reader's first epoch in
    /// the ACL). A distinct outcome so a narrowing is never silent.
    ApprovedNarrower,
    /// Rejected by the owner.
    Rejected,
    /// Withdrawn by the requester.
    Withdrawn,
}

impl RequestState {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            RequestState::Pending => 0,
            RequestState::Approved => 1,
            RequestState::Rejected => 2,
            RequestState::Withdrawn => 3,
            RequestState::ApprovedNarrower => 4,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Result<Self, Error> {
        Ok(match b {
            0 => RequestState::Pending,
            1 => RequestState::Approved,
            2 => RequestState::Rejected,
            3 => RequestState::Withdrawn,
            4 => RequestState::ApprovedNarrower,
            _ => return Err(Error::invalid("request state")),
        })
    }

    /// Whether the request is closed (and may be deleted).
    pub fn is_closed(self) -> bool {
        self != RequestState::Pending
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Withdrawn => "withdrawn",
            RequestState::ApprovedNarrower => "approved (narrower than asked)",
        })
    }
}

crate::macros::serde_via_name!(
    RequestState,
    "request state",
    &[
        RequestState::Pending,
        RequestState::Approved,
        RequestState::ApprovedNarrower,
        RequestState::Rejected,
        RequestState::Withdrawn
    ]
);

/// Something done to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestAction {
    /// The owner approves.
    Approve,
    /// The owner rejects.
    Reject,
    /// The requester withdraws.
    Withdraw,
    /// The SRS deletes a closed request.
    Delete,
}

impl fmt::Display for RequestAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestAction::Approve => "approve",
            RequestAction::Reject => "reject",
            RequestAction::Withdraw => "withdraw",
            RequestAction::Delete => "delete",
        })
    }
}

crate::macros::serde_via_name!(
    RequestAction,
    "request action",
    &[
        RequestAction::Approve,
        RequestAction::Reject,
        RequestAction::Withdraw,
        RequestAction::Delete
    ]
);

/// An access request with its state history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    pub(crate) id: RequestId,
    pub(crate) record: RecordId,
    pub(crate) requester: PrincipalId,
    pub(crate) right: Right,
    pub(crate) sections: Vec<SectionId>,
    pub(crate) granted: Vec<SectionId>,
    pub(crate) history: Vec<(RequestState, Timestamp)>,
}

/// `kind (u8) ‖ history (5)`: write is `0`, read with the ACL's default `1`, read with a
/// given history `2 ‖ history`.
pub(crate) fn encode_right(right: Right, out: &mut Vec<u8>) {
    match right {
        Right::Write => out.extend_from_slice(&[0, 0, 0, 0, 0, 0]),
        Right::Read(None) => out.extend_from_slice(&[1, 0, 0, 0, 0, 0]),
        Right::Read(Some(h)) => {
            out.push(2);
            h.encode(out);
        }
    }
}

pub(crate) fn decode_right(r: &mut Reader<'_>) -> Result<Right, Error> {
    Ok(match r.u8()? {
        0 if r.array::<5>()? == [0; 5] => Right::Write,
        1 if r.array::<5>()? == [0; 5] => Right::Read(None),
        2 => Right::Read(Some(History::decode(r)?)),
        _ => return Err(r.invalid()),
    })
}

impl AccessRequest {
    /// A new pending request.
    pub(crate) fn new(
        id: RequestId,
        record: RecordId,
        requester: PrincipalId,
        right: Right,
        sections: Vec<SectionId>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            record,
            requester,
            right,
            sections,
            granted: Vec::new(),
            history: alloc::vec![(RequestState::Pending, now)],
        }
    }

    /// Moves to `state` at `now` (granting `granted` on approval), after checking the
    /// transition is legal and time does not go backwards.
    pub(crate) fn record_transition(
        &mut self,
        state: RequestState,
        granted: Vec<SectionId>,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_time(now)?;
        self.granted = granted;
        self.history.push((state, now));
        Ok(())
    }
    /// The id.
    pub fn id(&self) -> RequestId {
        self.id
    }
    /// The record.
    pub fn record(&self) -> RecordId {
        self.record
    }
    /// Who asked.
    pub fn requester(&self) -> PrincipalId {
        self.requester
    }
    /// The right asked for.
    pub fn right(&self) -> Right {
        self.right
    }
    /// The sections asked for.
    pub fn sections(&self) -> &[SectionId] {
        &self.sections
    }
    /// The sections granted on approval (a subset of those asked for).
    pub fn granted(&self) -> &[SectionId] {
        &self.granted
    }
    /// Every state it has been in, with the caller-supplied times (never decreasing).
    pub fn history(&self) -> &[(RequestState, Timestamp)] {
        &self.history
    }
    /// The current state.
    pub fn state(&self) -> RequestState {
        self.history
            .last()
            .map_or(RequestState::Pending, |(s, _)| *s)
    }

    /// Fails with [`Error::ClockWentBackwards`] if `now` is earlier than the last recorded
    /// action: a request's history is time-ordered.
    pub fn check_time(&self, now: Timestamp) -> Result<(), Error> {
        match self.history.last() {
            Some((_, last)) if now < *last => Err(Error::ClockWentBackwards {
                last: *last,
                offered: now,
            }),
            _ => Ok(()),
        }
    }

    /// The state `action` leads to, or [`Error::IllegalTransition`]. Deletion is legal only
    /// for closed requests and leads nowhere (the request is removed).
    pub fn next_state(&self, action: RequestAction) -> Result<Option<RequestState>, Error> {
        let from = self.state();
        match (from, action) {
            (RequestState::Pending, RequestAction::Approve) => Ok(Some(RequestState::Approved)),
            (RequestState::Pending, RequestAction::Reject) => Ok(Some(RequestState::Rejected)),
            (RequestState::Pending, RequestAction::Withdraw) => Ok(Some(RequestState::Withdrawn)),
            (s, RequestAction::Delete) if s.is_closed() => Ok(None),
            _ => Err(Error::IllegalTransition { from, action }),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encoding::header(out, Tag::AccessRequest);
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(self.requester.as_bytes());
        encode_right(self.right, out);
        for list in [&self.sections, &self.granted] {
            encoding::put_count(out, "request sections", list.len())?;
            for s in list {
                out.extend_from_slice(s.as_bytes());
            }
        }
        encoding::put_count(out, "request history", self.history.len())?;
        for (state, at) in &self.history {
            out.push(state.to_byte());
            out.extend_from_slice(&at.0.to_be_bytes());
        }
        Ok(())
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let tag = r.u8()?;
        if tag != Tag::AccessRequest as u8 {
            return Err(Error::UnknownTag {
                what: "access request",
                tag,
            });
        }
        let version = r.u8()?;
        if version != encoding::VERSION {
            return Err(Error::UnknownVersion {
                what: "access request",
                version,
            });
        }
        let id = RequestId::new(r.at("request id").array()?);
        let record = RecordId::new(r.at("record").array()?);
        let requester = PrincipalId::new(r.at("requester").array()?);
        let right = decode_right(r.at("right"))?;
        let mut lists = [Vec::new(), Vec::new()];
        for (list, field) in lists.iter_mut().zip(["sections asked", "sections granted"]) {
            for _ in 0..r.at(field).count(16)? {
                list.push(SectionId::new(r.array()?));
            }
        }
        let [sections, granted] = lists;
        let mut history = Vec::new();
        for _ in 0..r.at("history").count(9)? {
            history.push((RequestState::from_byte(r.u8()?)?, Timestamp(r.u64()?)));
        }
        let req = Self {
            id,
            record,
            requester,
            right,
            sections,
            granted,
            history,
        };
        req.check()?;
        Ok(req)
    }

    /// Structural invariants: starts pending, at most one further state, sections non-empty
    /// and distinct, grants only on approval and only of sections asked for.
    fn check(&self) -> Result<(), Error> {
        let bad = Err(Error::InvalidEncoding {
            what: "access request",
            field: Some("states, sections or grants (not a reachable request)"),
        });
        let states: Vec<RequestState> = self.history.iter().map(|(s, _)| *s).collect();
        let shape_ok = match states.as_slice() {
            [RequestState::Pending] => self.granted.is_empty(),
            [RequestState::Pending, RequestState::Approved | RequestState::ApprovedNarrower] => {
                !self.granted.is_empty() && self.granted.iter().all(|g| self.sections.contains(g))
            }
            [RequestState::Pending, _] => self.granted.is_empty(),
            _ => false,
        };
        let mut sorted = self.sections.clone();
        sorted.sort();
        sorted.dedup();
        let time_ordered = self.history.windows(2).all(|w| match w {
            [(_, a), (_, b)] => a <= b,
            _ => true,
        });
        if !shape_ok
            || !time_ordered
            || self.sections.is_empty()
            || sorted.len() != self.sections.len()
        {
            return bad;
        }
        Ok(())
    }

    /// Decodes one request.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::raw(bytes, "access request");
        let req = Self::decode(&mut r)?;
        r.finish()?;
        Ok(req)
    }
}

crate::macros::serde_via_bytes!(fallible AccessRequest, "access request");
