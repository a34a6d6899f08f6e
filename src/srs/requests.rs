//! Access requests at the SRS (SPEC §4, §7): filed by a principal, approved (with the
//! update that grants them, bound to the request id) or rejected by the record's owner,
//! withdrawn by the requester, deleted when closed. Request ids derive from the filing
//! operation, never from a counter.

use alloc::vec::Vec;

use crate::encoding;
use crate::phr::{
    AccessRequest, Acl, AclProblem, AclUpdate, History, RecordId, RequestAction, RequestId,
    RequestState, Right, SectionId,
};
use crate::srs::handle::{refuse, Context};
use crate::srs::records;
use crate::srs::rows::{self, Kind};
use crate::srs::store::Store;
use crate::srs::tx::Tx;
use crate::srs::{Refusal, Response};
use crate::Error;

pub(crate) fn load<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    id: RequestId,
) -> Result<Option<AccessRequest>, Error> {
    tx.get(&rows::request(id))?
        .map(|v| rows::decode_request(&v))
        .transpose()
}

fn save<S: Store + ?Sized>(tx: &mut Tx<'_, S>, req: &AccessRequest) -> Result<(), Error> {
    tx.put(rows::request(req.id()), rows::encode_request(req)?);
    Ok(())
}

pub(crate) fn file<S: Store>(
    mut ctx: Context<'_, '_, S>,
    record: RecordId,
    right: Right,
    sections: &[SectionId],
) -> Result<Response, Error> {
    let head = ctx.head(record)?;
    let mut distinct = sections.to_vec();
    distinct.sort();
    distinct.dedup();
    if sections.is_empty() || distinct.len() != sections.len() {
        return Err(Error::InvalidChange {
            reason: "a request names one or more distinct sections",
        });
    }
    let acl = head.acl.acl_unverified();
    if sections.len() > ctx.limits.sections_per_record
        || sections.iter().any(|s| acl.section(s).is_none())
    {
        return refuse(Refusal::UnknownSection);
    }
    let mut id = [0u8; 16];
    let digest = {
        let mut m = Vec::new();
        encoding::label(&mut m, b"sesphr/v1/request");
        m.extend_from_slice(ctx.id.as_bytes());
        m.extend_from_slice(ctx.op.principal.as_bytes());
        m.extend_from_slice(&ctx.op.nonce);
        encoding::sha256(&[&m])
    };
    for (d, s) in id.iter_mut().zip(digest) {
        *d = s;
    }
    let id = RequestId::new(id);
    if load(ctx.tx, id)?.is_some() {
        return Err(Error::AlreadyExists { what: "request" });
    }
    let req = AccessRequest::new(
        id,
        record,
        ctx.op.principal,
        right,
        sections.to_vec(),
        ctx.now,
    );
    save(ctx.tx, &req)?;
    ctx.tx.put(
        rows::owner_request(head.owner, id),
        rows::empty(Kind::OwnerRequest),
    );
    transition(&mut ctx, record, head.acl.hash(), id, RequestState::Pending)?;
    Ok(Response::RequestFiled(id))
}

/// The request and its record's head, if the actor owns the record.
fn owned<S: Store>(
    ctx: &mut Context<'_, '_, S>,
    id: RequestId,
    action: RequestAction,
) -> Result<AccessRequest, Error> {
    let req = load(ctx.tx, id)?.ok_or(Error::NotFound { what: "request" })?;
    ctx.owned_head(req.record())?;
    req.next_state(action)?;
    Ok(req)
}

/// Records a request's new state in its record's log.
fn transition<S: Store>(
    ctx: &mut Context<'_, '_, S>,
    record: RecordId,
    acl: crate::phr::AclHash,
    request: RequestId,
    state: RequestState,
) -> Result<(), Error> {
    ctx.emit(record, acl, crate::log::Event::Request { request, state })
}

/// The time the SRS stamps on a request transition: its clock, never before the request's
/// last recorded time (instances' clocks differ a little).
fn stamp(req: &AccessRequest, now: crate::phr::Timestamp) -> crate::phr::Timestamp {
    req.history().last().map_or(now, |(_, last)| now.max(*last))
}

pub(crate) fn approve<S: Store>(
    mut ctx: Context<'_, '_, S>,
    id: RequestId,
    update: &AclUpdate,
) -> Result<Response, Error> {
    let mut req = owned(&mut ctx, id, RequestAction::Approve)?;
    let new = update.acl().acl_unverified();
    if new.record() != req.record() {
        return Err(Error::acl_rejected(
            new,
            AclProblem::WrongRecord {
                expected: req.record(),
            },
        ));
    }
    let requester = crate::srs::registry::load(ctx.tx, req.requester())?
        .ok_or(Error::NotFound { what: "principal" })?;
    let fp = requester.bundle.fingerprint();
    let before = ctx.head_opt(req.record())?.map(|h| h.acl);
    let before = before.as_ref().map(|s| s.acl_unverified());
    let outcome = outcome(&req, &fp, before, new)?;
    let granted = outcome.1;
    records::apply(&mut ctx, update)?;
    let at = stamp(&req, ctx.now);
    req.record_transition(outcome.0, granted, at)?;
    save(ctx.tx, &req)?;
    transition(&mut ctx, req.record(), update.acl().hash(), id, outcome.0)?;
    Ok(Response::Approved(outcome.0))
}

/// What an update grants of a request: the sections newly granted, and whether that is all
/// that was asked for with at least the history asked for.
fn outcome(
    req: &AccessRequest,
    fp: &crate::phr::Fingerprint,
    before: Option<&Acl>,
    new: &Acl,
) -> Result<(RequestState, Vec<SectionId>), Error> {
    let has = |acl: Option<&Acl>, s: &SectionId| {
        acl.and_then(|a| a.section(s))
            .is_some_and(|p| match req.right() {
                Right::Write => p.can_write(fp),
                Right::Read(_) => p.readers().any(|(r, _)| r == fp),
            })
    };
    let asked = match req.right() {
        Right::Read(Some(h)) => Some(h),
        Right::Read(None) => Some(before.map_or(History::None, |a| a.default_history())),
        Right::Write => None,
    };
    let as_asked = |s: &SectionId| {
        let (Some(history), Some(p)) = (asked, new.section(s)) else {
            return true;
        };
        let wanted_from = match history {
            History::All => p.first(),
            History::FromEpoch(e) => e.max(p.first()),
            History::None => p.epoch(),
        };
        p.readers().any(|(r, g)| r == fp && g.from <= wanted_from)
    };
    let granted: Vec<SectionId> = req
        .sections()
        .iter()
        .filter(|s| has(Some(new), s) && !has(before, s))
        .copied()
        .collect();
    if granted.is_empty() {
        return refuse(Refusal::ApprovalMismatch);
    }
    let state = if granted.len() == req.sections().len() && granted.iter().all(as_asked) {
        RequestState::Approved
    } else {
        RequestState::ApprovedNarrower
    };
    Ok((state, granted))
}

pub(crate) fn reject<S: Store>(
    mut ctx: Context<'_, '_, S>,
    id: RequestId,
) -> Result<Response, Error> {
    let mut req = owned(&mut ctx, id, RequestAction::Reject)?;
    let at = stamp(&req, ctx.now);
    req.record_transition(RequestState::Rejected, Vec::new(), at)?;
    save(ctx.tx, &req)?;
    let acl = ctx.head(req.record())?.acl.hash();
    transition(&mut ctx, req.record(), acl, id, RequestState::Rejected)?;
    Ok(Response::Done)
}

pub(crate) fn withdraw<S: Store>(
    mut ctx: Context<'_, '_, S>,
    id: RequestId,
) -> Result<Response, Error> {
    let mut req = load(ctx.tx, id)?.ok_or(Error::NotFound { what: "request" })?;
    if req.requester() != ctx.op.principal {
        return refuse(Refusal::NotRequester);
    }
    req.next_state(RequestAction::Withdraw)?;
    let at = stamp(&req, ctx.now);
    req.record_transition(RequestState::Withdrawn, Vec::new(), at)?;
    save(ctx.tx, &req)?;
    let acl = ctx.head(req.record())?.acl.hash();
    transition(&mut ctx, req.record(), acl, id, RequestState::Withdrawn)?;
    Ok(Response::Done)
}

/// Deletes a closed request: its requester or the record's owner may.
pub(crate) fn delete<S: Store>(
    mut ctx: Context<'_, '_, S>,
    id: RequestId,
) -> Result<Response, Error> {
    let req = load(ctx.tx, id)?.ok_or(Error::NotFound { what: "request" })?;
    let head = ctx.head(req.record())?;
    if req.requester() != ctx.op.principal && head.owner != ctx.op.principal {
        return refuse(Refusal::NotRequester);
    }
    req.next_state(RequestAction::Delete)?;
    ctx.tx.delete(rows::request(id));
    ctx.tx.delete(rows::owner_request(head.owner, id));
    Ok(Response::Done)
}
