//! The owner's audit (SPEC §9): pages of a record's log events from the SRS, checked
//! against the owner's last verified view, turned into the accounting of disclosures.
//!
//! The owner keeps a [`LogView`]: its last verified checkpoint and the frontier of that tree
//! (at most 64 hashes). The SRS answers an audit with the events after that size and a new
//! checkpoint; the owner appends the events' leaf hashes to its frontier and the result must
//! be the new checkpoint's root. That one check proves at once that every event is there,
//! in order, unaltered, with nothing invented, *and* that the new checkpoint extends the old
//! one — which is why no separate consistency or inclusion proofs are needed here (they
//! would prove less). Every checkpoint seen on the way is checked at its size too.

use alloc::vec::Vec;

use crate::encoding::{self, Reader, Tag};
use crate::log::{
    DisclosedItem, DisclosureReceipt, Event, ForkEvidence, Frontier, LogLeaf, LogProblem,
    SignedCheckpoint,
};
use crate::merkle::Hash;
use crate::phr::{AclHash, AclVersion, Fingerprint, RecordId, Timestamp};
use crate::sign::VerifyingKey;
use crate::Error;

/// The most leaves one audit page carries.
pub const MAX_AUDIT_PAGE: usize = 512;

/// One page of an audit answer: the SRS's newest checkpoint and the leaves from `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    pub(crate) checkpoint: SignedCheckpoint,
    pub(crate) from: u64,
    pub(crate) leaves: Vec<LogLeaf>,
}

impl AuditPage {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &SignedCheckpoint {
        &self.checkpoint
    }

    /// The index of the first leaf.
    pub fn from(&self) -> u64 {
        self.from
    }

    /// The leaves.
    pub fn leaves(&self) -> &[LogLeaf] {
        &self.leaves
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::AuditPage);
        self.write(&mut out);
        out
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.checkpoint.write(out);
        out.extend_from_slice(&self.from.to_be_bytes());
        // At most MAX_AUDIT_PAGE leaves of a few kilobytes each.
        let _ = encoding::put_count(out, "audit page", self.leaves.len());
        for l in &self.leaves {
            let _ = encoding::put_lp32(out, "log leaf", &l.to_bytes());
        }
    }

    /// Decodes (checked by [`Audit::add_page`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::AuditPage, "audit page")?;
        let out = Self::read(&mut r)?;
        r.finish()?;
        Ok(out)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let checkpoint = SignedCheckpoint::read(r)?;
        let from = r.u64()?;
        let n = r.count(4)?;
        if n > MAX_AUDIT_PAGE {
            return Err(Error::invalid("audit page"));
        }
        let mut leaves = Vec::with_capacity(n);
        for _ in 0..n {
            leaves.push(LogLeaf::from_bytes(r.lp32()?)?);
        }
        Ok(Self {
            checkpoint,
            from,
            leaves,
        })
    }
}

crate::macros::serde_via_bytes!(AuditPage, "audit page");

/// The owner's verified view of a record's log: the last checkpoint it verified and the
/// frontier of that tree. Persist it between audits ([`LogView::to_bytes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogView {
    record: RecordId,
    checkpoint: Option<SignedCheckpoint>,
    frontier: Frontier,
    /// The newest ACL version the verified events applied, and its hash.
    acl: Option<(AclVersion, AclHash)>,
}

impl LogView {
    /// The view of a log not audited yet.
    pub fn new(record: RecordId) -> Self {
        Self {
            record,
            checkpoint: None,
            frontier: Frontier::new(),
            acl: None,
        }
    }

    /// The record.
    pub fn record(&self) -> RecordId {
        self.record
    }

    /// How many leaves have been verified.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The last verified checkpoint.
    pub fn checkpoint(&self) -> Option<&SignedCheckpoint> {
        self.checkpoint.as_ref()
    }

    /// Starts an audit from this view: ask the SRS for pages from [`Audit::next_from`].
    pub fn audit(&self) -> Audit {
        Audit {
            record: self.record,
            base: self.checkpoint.clone(),
            frontier: self.frontier.clone(),
            from: self.frontier.size(),
            events: Vec::new(),
            seen: Vec::new(),
            last_time: self
                .checkpoint
                .as_ref()
                .map_or(Timestamp(0), |c| c.checkpoint_unverified().time),
            acl: self.acl,
            pages: 0,
        }
    }

    /// The canonical encoding: tag, version, record, the checkpoint if any, the frontier.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::LogView);
        out.extend_from_slice(self.record.as_bytes());
        match &self.checkpoint {
            Some(c) => {
                out.push(1);
                c.write(&mut out);
            }
            None => out.push(0),
        }
        self.frontier.encode(&mut out);
        match &self.acl {
            Some((v, h)) => {
                out.push(1);
                out.extend_from_slice(&v.0.to_be_bytes());
                out.extend_from_slice(h.as_bytes());
            }
            None => out.push(0),
        }
        out
    }

    /// Decodes a saved view; the frontier must make the checkpoint's root and size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let what = "log view";
        let mut r = Reader::envelope(bytes, Tag::LogView, what)?;
        let record = RecordId::new(r.array()?);
        let checkpoint = match r.bool()? {
            true => Some(SignedCheckpoint::read(&mut r)?),
            false => None,
        };
        let frontier = Frontier::decode(&mut r)?;
        let acl = match r.bool()? {
            true => Some((AclVersion(r.u64()?), AclHash(r.array()?))),
            false => None,
        };
        r.finish()?;
        let fits = match &checkpoint {
            Some(c) => {
                let c = c.checkpoint_unverified();
                c.record == record && c.size == frontier.size() && c.root == frontier.root()
            }
            None => frontier.size() == 0,
        };
        if !fits {
            return Err(Error::invalid(what));
        }
        Ok(Self {
            record,
            checkpoint,
            frontier,
            acl,
        })
    }
}

crate::macros::serde_via_bytes!(LogView, "log view");

/// One verified event and its index in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its index.
    pub index: u64,
    /// The leaf.
    pub leaf: LogLeaf,
}

/// An audit in progress: pages are added until the events reach the newest checkpoint.
#[derive(Clone, Debug)]
pub struct Audit {
    record: RecordId,
    base: Option<SignedCheckpoint>,
    frontier: Frontier,
    from: u64,
    events: Vec<LoggedEvent>,
    /// Checkpoints seen beyond the frontier, to check when it reaches their size.
    seen: Vec<SignedCheckpoint>,
    last_time: Timestamp,
    acl: Option<(AclVersion, AclHash)>,
    pages: usize,
}

fn fork(first: &SignedCheckpoint, second: &SignedCheckpoint) -> Error {
    Error::LogFork(alloc::boxed::Box::new(ForkEvidence {
        first: first.clone(),
        second: second.clone(),
    }))
}

impl Audit {
    /// The index the next page must start at.
    pub fn next_from(&self) -> u64 {
        self.frontier.size()
    }

    /// Whether the events reach the newest checkpoint seen (then [`Audit::finish`]).
    pub fn is_complete(&self) -> bool {
        self.pages > 0 && self.seen.is_empty()
    }

    /// Checks one page against `srs_key` and what came before; returns whether the audit is
    /// complete. A failed page changes nothing.
    pub fn add_page(&mut self, page: &AuditPage, srs_key: &VerifyingKey) -> Result<bool, Error> {
        let saved = (
            self.base.clone(),
            self.frontier.clone(),
            self.seen.clone(),
            self.last_time,
            self.events.len(),
        );
        if let Err(e) = self.add(page, srs_key) {
            let (base, frontier, seen, last_time, events) = saved;
            (self.base, self.frontier, self.seen, self.last_time) =
                (base, frontier, seen, last_time);
            self.events.truncate(events);
            return Err(e);
        }
        self.pages += 1;
        Ok(self.is_complete())
    }

    /// How many events the newest checkpoint seen has beyond those verified: what is left to
    /// fetch (a caller bounds how much it is willing to audit by it).
    pub fn remaining(&self) -> u64 {
        self.seen
            .iter()
            .map(|s| s.checkpoint_unverified().size)
            .max()
            .map_or(0, |n| n.saturating_sub(self.frontier.size()))
    }

    fn add(&mut self, page: &AuditPage, srs_key: &VerifyingKey) -> Result<(), Error> {
        let c = page.checkpoint.verify(srs_key)?;
        if c.record != self.record {
            return Err(Error::Log(LogProblem::WrongRecord));
        }
        if page.from != self.frontier.size() {
            return Err(Error::Log(LogProblem::WrongPosition));
        }
        // Every checkpoint already known must be compatible with the new one by size: the
        // same size with another root, or fewer leaves at a later time, is a fork; fewer
        // leaves at an earlier time is a stale checkpoint.
        for known in self.base.iter().chain(self.seen.iter()) {
            let k = known.checkpoint_unverified();
            if (c.size == k.size && c.root != k.root) || (c.size < k.size && c.time > k.time) {
                return Err(fork(known, &page.checkpoint));
            }
            if c.size < k.size || c.time < k.time {
                return Err(Error::Log(LogProblem::Stale));
            }
        }
        let end = page.from.saturating_add(page.leaves.len() as u64);
        if end > c.size {
            return Err(Error::Log(LogProblem::EventsDoNotMatch));
        }
        if c.size > self.frontier.size()
            && !self
                .seen
                .iter()
                .any(|s| s.checkpoint_unverified().size == c.size)
        {
            self.seen.push(page.checkpoint.clone());
        }
        if c.size == self.frontier.size() {
            self.check_root(&page.checkpoint)?;
        }
        for leaf in &page.leaves {
            if leaf.record() != self.record {
                return Err(Error::Log(LogProblem::WrongRecord));
            }
            if leaf.time() < self.last_time || leaf.time() > c.time {
                return Err(Error::Log(LogProblem::OutOfOrder));
            }
            self.last_time = leaf.time();
            if let Event::AclApplied { version, acl } = leaf.event() {
                if self.acl.is_some_and(|(v, _)| v >= *version) {
                    return Err(Error::Log(LogProblem::StaleAcl));
                }
                self.acl = Some((*version, *acl));
            }
            let index = self.frontier.size();
            self.frontier.push(leaf.hash())?;
            self.events.push(LoggedEvent {
                index,
                leaf: leaf.clone(),
            });
            let size = self.frontier.size();
            if let Some(at) = self
                .seen
                .iter()
                .position(|s| s.checkpoint_unverified().size == size)
            {
                let reached = self.seen.remove(at);
                self.check_root(&reached)?;
            }
        }
        // Every page makes full progress: a page short of the page size must reach the
        // checkpoint, so an SRS cannot keep an audit going without giving its events.
        if !self.seen.is_empty() && page.leaves.len() < MAX_AUDIT_PAGE {
            return Err(Error::Log(LogProblem::ShortPage));
        }
        Ok(())
    }

    /// The frontier has reached `checkpoint`'s size: its root must be the checkpoint's.
    /// Its events must also be no later than it, and the ACL it names the newest they
    /// applied: a record whose database was rolled back to an older ACL (with its log kept)
    /// signs checkpoints naming the older ACL after a newer one was applied.
    fn check_root(&mut self, checkpoint: &SignedCheckpoint) -> Result<(), Error> {
        let c = checkpoint.checkpoint_unverified();
        if self.frontier.root() != c.root {
            return Err(Error::Log(LogProblem::EventsDoNotMatch));
        }
        if self.last_time > c.time {
            return Err(Error::Log(LogProblem::OutOfOrder));
        }
        if self.acl.is_some_and(|(_, h)| h != c.acl) {
            return Err(Error::Log(LogProblem::StaleAcl));
        }
        self.base = Some(checkpoint.clone());
        Ok(())
    }

    /// Ends a complete audit: updates `view` to the new checkpoint and returns the
    /// accounting of the events it verified.
    pub fn finish(self, view: &mut LogView) -> Result<Accounting, Error> {
        if !self.is_complete() || view.record != self.record || view.size() != self.from {
            return Err(Error::Log(LogProblem::WrongPosition));
        }
        let Some(checkpoint) = self.base else {
            return Err(Error::Log(LogProblem::WrongPosition));
        };
        let start = core::mem::replace(&mut view.frontier, self.frontier);
        view.checkpoint = Some(checkpoint.clone());
        view.acl = self.acl;
        Ok(Accounting {
            checkpoint,
            start,
            events: self.events,
        })
    }
}

/// One disclosure, as the accounting lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disclosure<'a> {
    /// Its index in the log.
    pub index: u64,
    /// When the SRS served it.
    pub time: Timestamp,
    /// To which reader (its key fingerprint; the owner knows whose).
    pub reader: &'a Fingerprint,
    /// Which entries, sections and epochs.
    pub items: &'a [DisclosedItem],
    /// SHA-256 of the reader's signed request.
    pub operation: &'a Hash,
}

/// The verified accounting of a record's log events from one audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounting {
    checkpoint: SignedCheckpoint,
    /// The frontier the events extend (the view before the audit).
    start: Frontier,
    events: Vec<LoggedEvent>,
}

impl Accounting {
    /// The checkpoint the events lead to.
    pub fn checkpoint(&self) -> &SignedCheckpoint {
        &self.checkpoint
    }

    /// Every event, in log order.
    pub fn events(&self) -> &[LoggedEvent] {
        &self.events
    }

    /// The disclosures: when, to which reader, which sections and entries.
    pub fn disclosures(&self) -> impl Iterator<Item = Disclosure<'_>> {
        self.events.iter().filter_map(|e| match e.leaf.event() {
            Event::Disclosed {
                operation,
                reader,
                items,
            } => Some(Disclosure {
                index: e.index,
                time: e.leaf.time(),
                reader,
                items,
                operation,
            }),
            _ => None,
        })
    }

    /// Checks a receipt a reader forwarded against this accounting: it must verify under
    /// `srs_key`, and if its checkpoint's size falls in the range this accounting covers,
    /// the audited events must make that checkpoint's root (so the receipt's leaf is the
    /// audited one at its index). Otherwise the SRS has shown the reader and the owner different logs:
    /// [`Error::LogFork`] with the receipt's checkpoint and this accounting's. A receipt
    /// outside the covered range is [`LogProblem::NotAudited`] (check it against the
    /// accounting that covers it).
    pub fn check_receipt(
        &self,
        receipt: &DisclosureReceipt,
        srs_key: &VerifyingKey,
    ) -> Result<(), Error> {
        let leaf = receipt.verify_inclusion(srs_key)?;
        let ours = self.checkpoint.checkpoint_unverified();
        let theirs = receipt.checkpoint().checkpoint_unverified();
        if leaf.record() != ours.record {
            return Err(Error::Log(LogProblem::WrongRecord));
        }
        let from = self.start.size();
        if theirs.size <= from || theirs.size > ours.size {
            return Err(Error::Log(LogProblem::NotAudited));
        }
        // The root of the audited events at the receipt's size: equal, the receipt's leaf is
        // the audited one at its index (its inclusion proof leads to that root).
        let upto = usize::try_from(theirs.size - from).unwrap_or(usize::MAX);
        let mut frontier = self.start.clone();
        for e in self.events.iter().take(upto) {
            frontier.push(e.leaf.hash())?;
        }
        if frontier.size() != theirs.size || frontier.root() != theirs.root {
            return Err(fork(receipt.checkpoint(), &self.checkpoint));
        }
        Ok(())
    }
}
