//! The Setup and Re-encryption Server (SRS): registry and login (the Admin role), the newest
//! ACL per record, the stored re-encryption keys, the request queue, and the re-encryption
//! gate (SPEC §4).
//!
//! The SRS holds no secret of anyone. Every operation either succeeds or leaves the state
//! exactly as it was: all checks run before the first change.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

use rand_core::{CryptoRng, RngCore};

use crate::phr::keyset::{key_ids, AclHash};
use crate::phr::{
    succession, AccessRequest, Acl, AclProblem, AclUpdate, BodyHeader, History, KeyBlock,
    KeyBundle, Limits, LoginChallenge, PrincipalId, ReKeyId, RecordId, RequestAction, RequestId,
    RequestState, Right, Role, SectionId, SignedAcl, Timestamp,
};
use crate::pre::{ReCapsule, ReKey};
use crate::sign::{ProofOfPossession, Purpose, Signature};
use crate::Error;

/// Why the SRS (or a writer's ACL check) refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The acting principal is not registered.
    UnknownPrincipal,
    /// The acting principal is registered but not active.
    Inactive,
    /// Only an active administrator may do this.
    NotAdmin,
    /// Only the record's owner (an active patient) may do this.
    NotOwner,
    /// Only the requester may do this.
    NotRequester,
    /// The SRS has no ACL for the record.
    NoAcl,
    /// The newest ACL has expired.
    AclExpired,
    /// The ACL has no such section.
    UnknownSection,
    /// The newest ACL does not grant the reader `Read` on that section and epoch.
    NoReadRight,
    /// No re-encryption key is stored for that (reader, section, epoch).
    NoKeyStored,
    /// The writer holds no `Write` right on the section.
    NoWriteRight,
    /// The key block does not belong to the header.
    HeaderMismatch,
    /// No login challenge is outstanding for the principal.
    NoChallenge,
    /// The key ids of an update are not exactly the difference its ACL implies (a key
    /// missing, extra, duplicated or out of order).
    KeyMaterialMismatch,
    /// A key value is not the one the owner committed to in the signed ACL's key set.
    KeyNotCommitted,
    /// An approval does not grant what the request asked for.
    ApprovalMismatch,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::UnknownPrincipal => "principal is not registered",
            Refusal::Inactive => "principal is not active",
            Refusal::NotAdmin => "only an active administrator may do this",
            Refusal::NotOwner => "only the record owner may do this",
            Refusal::NotRequester => "only the requester may do this",
            Refusal::NoAcl => "no ACL for this record",
            Refusal::AclExpired => "the newest ACL has expired",
            Refusal::UnknownSection => "no such section",
            Refusal::NoReadRight => "the ACL grants no read on this section and epoch",
            Refusal::NoKeyStored => {
                "no re-encryption key stored for this reader, section and epoch"
            }
            Refusal::NoWriteRight => "no write right on this section",
            Refusal::HeaderMismatch => "key block does not belong to this header",
            Refusal::NoChallenge => "no login challenge outstanding",
            Refusal::KeyMaterialMismatch => "key ids do not match what the ACL implies",
            Refusal::KeyNotCommitted => "a key is not in the key set the owner signed",
            Refusal::ApprovalMismatch => "approval does not match the request",
        })
    }
}

fn refuse<T>(r: Refusal) -> Result<T, Error> {
    Err(Error::NotAuthorized(r))
}

/// A registered principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Its role.
    pub role: Role,
    /// Its public keys (a claim: verify the fingerprint out of band).
    pub bundle: KeyBundle,
    /// Whether the administrator has activated it.
    pub active: bool,
}

/// The SRS state. Round-trips through [`Srs::to_bytes`] / [`Srs::from_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Srs {
    pub(crate) registry: BTreeMap<PrincipalId, Registration>,
    pub(crate) records: BTreeMap<RecordId, (PrincipalId, SignedAcl)>,
    pub(crate) rekeys: BTreeMap<ReKeyId, ReKey>,
    pub(crate) requests: BTreeMap<RequestId, AccessRequest>,
    pub(crate) next_request: u64,
    pub(crate) challenges: BTreeMap<PrincipalId, LoginChallenge>,
    pub(crate) limits: Limits,
}

impl Srs {
    /// A new SRS whose first principal is its (active) administrator.
    pub fn new(
        admin: PrincipalId,
        bundle: KeyBundle,
        proof: &ProofOfPossession,
    ) -> Result<Self, Error> {
        bundle.signing_key().verify_possession(proof)?;
        let mut registry = BTreeMap::new();
        registry.insert(
            admin,
            Registration {
                role: Role::Admin,
                bundle,
                active: true,
            },
        );
        Ok(Self {
            registry,
            records: BTreeMap::new(),
            rekeys: BTreeMap::new(),
            requests: BTreeMap::new(),
            next_request: 0,
            challenges: BTreeMap::new(),
            limits: Limits::default(),
        })
    }

    /// The limits enforced on updates.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits enforced on updates (they are configuration, not state: they are
    /// not part of [`Srs::to_bytes`]).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    // ----- registry and login -------------------------------------------------------------

    /// Registers a principal (inactive until an administrator activates it), after checking
    /// its proof of possession of the signing key.
    pub fn register(
        &mut self,
        id: PrincipalId,
        role: Role,
        bundle: KeyBundle,
        proof: &ProofOfPossession,
    ) -> Result<(), Error> {
        if self.registry.contains_key(&id) {
            return Err(Error::AlreadyExists { what: "principal" });
        }
        bundle.signing_key().verify_possession(proof)?;
        self.registry.insert(
            id,
            Registration {
                role,
                bundle,
                active: false,
            },
        );
        Ok(())
    }

    /// A registered principal.
    pub fn principal(&self, id: PrincipalId) -> Option<&Registration> {
        self.registry.get(&id)
    }

    fn active(&self, id: PrincipalId) -> Result<&Registration, Error> {
        match self.registry.get(&id) {
            None => refuse(Refusal::UnknownPrincipal),
            Some(r) if !r.active => refuse(Refusal::Inactive),
            Some(r) => Ok(r),
        }
    }

    fn admin(&self, actor: PrincipalId) -> Result<(), Error> {
        if self.active(actor)?.role != Role::Admin {
            return refuse(Refusal::NotAdmin);
        }
        Ok(())
    }

    fn set_active(
        &mut self,
        actor: PrincipalId,
        target: PrincipalId,
        active: bool,
    ) -> Result<(), Error> {
        self.admin(actor)?;
        let reg = self
            .registry
            .get_mut(&target)
            .ok_or(Error::NotFound { what: "principal" })?;
        reg.active = active;
        if !active {
            self.challenges.remove(&target);
        }
        Ok(())
    }

    /// Activates `target` (administrators only).
    pub fn activate(&mut self, actor: PrincipalId, target: PrincipalId) -> Result<(), Error> {
        self.set_active(actor, target, true)
    }

    /// Deactivates `target` (administrators only). A deactivated reader gets no re-encryption.
    pub fn deactivate(&mut self, actor: PrincipalId, target: PrincipalId) -> Result<(), Error> {
        self.set_active(actor, target, false)
    }

    /// Issues a login challenge to an active principal (replacing any outstanding one).
    pub fn login_challenge<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        id: PrincipalId,
        rng: &mut R,
    ) -> Result<LoginChallenge, Error> {
        self.active(id)?;
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        let challenge = LoginChallenge(nonce);
        self.challenges.insert(id, challenge);
        Ok(challenge)
    }

    /// Completes a login: the answer must be the principal's [`Purpose::Login`] signature over
    /// its id and the outstanding nonce. The challenge is used up on success.
    pub fn login(&mut self, id: PrincipalId, answer: &Signature) -> Result<(), Error> {
        let reg = self.active(id)?;
        let challenge = self
            .challenges
            .get(&id)
            .ok_or(Error::NotAuthorized(Refusal::NoChallenge))?;
        reg.bundle
            .signing_key()
            .verify(Purpose::Login, &[id.as_bytes(), &challenge.0], answer)?;
        self.challenges.remove(&id);
        Ok(())
    }

    // ----- ACLs and keys ------------------------------------------------------------------

    /// The newest ACL of a record.
    pub fn acl(&self, record: RecordId) -> Option<&SignedAcl> {
        self.records.get(&record).map(|(_, acl)| acl)
    }

    /// The number of stored re-encryption keys.
    pub fn stored_keys(&self) -> usize {
        self.rekeys.len()
    }

    /// Whether a key is stored for `id`.
    pub fn has_key(&self, id: &ReKeyId) -> bool {
        self.rekeys.contains_key(id)
    }

    /// The stored key ids of one record, in order.
    fn stored_ids(&self, record: RecordId) -> impl Iterator<Item = &ReKeyId> {
        self.rekeys
            .range(ReKeyId::min(record)..)
            .map(|(id, _)| id)
            .take_while(move |id| id.record == record)
    }

    /// Checks an update from `actor` without changing anything. The work is bounded by the
    /// sizes of the update and of the two ACLs, never by a number inside them.
    fn check_update(
        &self,
        actor: PrincipalId,
        update: &AclUpdate,
        now: Timestamp,
    ) -> Result<(), Error> {
        let reg = self.active(actor)?;
        if reg.role != Role::Patient {
            return refuse(Refusal::NotOwner);
        }
        let acl = &update.acl.acl;
        let current = self.records.get(&acl.record);
        if let Some((owner, current)) = current {
            if *owner != actor {
                return refuse(Refusal::NotOwner);
            }
            if acl.version <= current.acl.version {
                return Err(Error::AclRejected(AclProblem::Stale {
                    seen: current.acl.version,
                    offered: acl.version,
                }));
            }
        }
        if acl.owner != reg.bundle {
            return Err(Error::AclRejected(AclProblem::WrongOwner));
        }
        update.acl.verify(reg.bundle.signing_key())?;
        if acl.not_after < now {
            return Err(Error::AclRejected(AclProblem::Expired));
        }
        let previous = current.map_or(AclHash::GENESIS, |(_, c)| c.hash());
        if acl.previous != previous {
            return Err(Error::AclRejected(AclProblem::BrokenChain));
        }
        self.check_limits(acl, update)?;
        succession::check(current.map(|(_, c)| &c.acl), acl)?;
        // The key ids must be exactly the difference the new ACL implies, in order.
        let wanted = key_ids(acl, self.limits.keys_per_record)?;
        let add_ids: Vec<&ReKeyId> = update.add.iter().map(|g| &g.id).collect();
        let in_order = |ids: &[&ReKeyId]| {
            ids.windows(2).all(|w| match w {
                [a, b] => a < b,
                _ => true,
            })
        };
        if !in_order(&add_ids) || !in_order(&update.delete.iter().collect::<Vec<_>>()) {
            return refuse(Refusal::KeyMaterialMismatch);
        }
        let wanted_set: BTreeSet<&ReKeyId> = wanted.iter().collect();
        let stored: BTreeSet<&ReKeyId> = self.stored_ids(acl.record).collect();
        let exact = update
            .add
            .iter()
            .map(|g| &g.id)
            .eq(wanted.iter().filter(|id| !stored.contains(id)))
            && update
                .delete
                .iter()
                .eq(stored.iter().copied().filter(|id| !wanted_set.contains(id)));
        if !exact {
            return refuse(Refusal::KeyMaterialMismatch);
        }
        // Every added key must be the one the owner committed to, at its place in the list.
        for g in &update.add {
            let at = wanted.binary_search(&g.id).ok().map(|i| i as u64);
            if at != Some(g.proof.index()) || !acl.keys.contains(&g.id, &g.rekey, &g.proof) {
                return refuse(Refusal::KeyNotCommitted);
            }
        }
        Ok(())
    }

    fn check_limits(&self, acl: &Acl, update: &AclUpdate) -> Result<(), Error> {
        let l = &self.limits;
        let exceeded = |what, limit: usize| {
            Err(Error::LimitExceeded {
                what,
                limit: limit as u64,
            })
        };
        if update.add.len().saturating_add(update.delete.len()) > l.key_changes_per_update {
            return exceeded("key changes per update", l.key_changes_per_update);
        }
        if acl.sections.len() > l.sections_per_record {
            return exceeded("sections per record", l.sections_per_record);
        }
        for p in acl.sections.values() {
            if p.readers.len() > l.readers_per_section {
                return exceeded("readers per section", l.readers_per_section);
            }
            if p.writers.len() > l.writers_per_section {
                return exceeded("writers per section", l.writers_per_section);
            }
        }
        Ok(())
    }

    fn commit_update(&mut self, actor: PrincipalId, update: &AclUpdate) {
        for id in &update.delete {
            self.rekeys.remove(id);
        }
        for g in &update.add {
            self.rekeys.insert(g.id, g.rekey.clone());
        }
        self.records
            .insert(update.acl.acl.record, (actor, update.acl.clone()));
    }

    /// Applies an owner's update: `actor` must be an active patient and the record's owner
    /// (the first ACL of a record binds it to its owner), the ACL signed by the actor's key,
    /// newer than the stored one and unexpired at `now`, and the key material exactly what
    /// it implies.
    pub fn apply_update(
        &mut self,
        actor: PrincipalId,
        update: &AclUpdate,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_update(actor, update, now)?;
        self.commit_update(actor, update);
        Ok(())
    }

    // ----- the re-encryption gate ---------------------------------------------------------

    /// Re-encrypts an entry's capsule for `reader`, if and only if the reader is registered
    /// and active, the key block belongs to the header, the newest ACL of the record is
    /// unexpired at `now` and grants the reader `Read` on the section at the key block's
    /// epoch, and a key for (reader, section, epoch) is stored. Otherwise a refusal naming
    /// the first failed condition.
    pub fn reencrypt(
        &self,
        reader: PrincipalId,
        header: &BodyHeader,
        key_block: &KeyBlock,
        now: Timestamp,
    ) -> Result<ReCapsule, Error> {
        let rk = self.gate(reader, header, key_block, now)?;
        Ok(rk.reencrypt(key_block.capsule()))
    }

    /// [`Srs::reencrypt`] for many readers of one entry; one result per reader.
    pub fn reencrypt_for_readers(
        &self,
        readers: &[PrincipalId],
        header: &BodyHeader,
        key_block: &KeyBlock,
        now: Timestamp,
    ) -> Vec<Result<ReCapsule, Error>> {
        readers
            .iter()
            .map(|r| self.reencrypt(*r, header, key_block, now))
            .collect()
    }

    fn gate(
        &self,
        reader: PrincipalId,
        header: &BodyHeader,
        key_block: &KeyBlock,
        now: Timestamp,
    ) -> Result<&ReKey, Error> {
        let reg = self.active(reader)?;
        if !key_block.belongs_to(header) {
            return refuse(Refusal::HeaderMismatch);
        }
        let (_, signed) = self
            .records
            .get(&header.record())
            .ok_or(Error::NotAuthorized(Refusal::NoAcl))?;
        let acl = &signed.acl;
        if acl.not_after < now {
            return refuse(Refusal::AclExpired);
        }
        let policy = acl
            .section(&header.section())
            .ok_or(Error::NotAuthorized(Refusal::UnknownSection))?;
        let fp = reg.bundle.fingerprint();
        if !policy.can_read(&fp, key_block.epoch()) {
            return refuse(Refusal::NoReadRight);
        }
        let id = ReKeyId {
            record: header.record(),
            section: header.section(),
            epoch: key_block.epoch(),
            reader: fp,
        };
        self.rekeys
            .get(&id)
            .ok_or(Error::NotAuthorized(Refusal::NoKeyStored))
    }

    // ----- access requests ----------------------------------------------------------------

    /// Files a request by an active principal for `right` on `sections` of `record`.
    pub fn request(
        &mut self,
        requester: PrincipalId,
        record: RecordId,
        right: Right,
        sections: &[SectionId],
        now: Timestamp,
    ) -> Result<RequestId, Error> {
        self.active(requester)?;
        let (_, acl) = self
            .records
            .get(&record)
            .ok_or(Error::NotAuthorized(Refusal::NoAcl))?;
        let mut distinct = sections.to_vec();
        distinct.sort();
        distinct.dedup();
        if sections.is_empty() || distinct.len() != sections.len() {
            return Err(Error::InvalidChange {
                reason: "a request names one or more distinct sections",
            });
        }
        if sections.iter().any(|s| acl.acl.section(s).is_none()) {
            return refuse(Refusal::UnknownSection);
        }
        let id = RequestId(self.next_request);
        let next = self.next_request.checked_add(1).ok_or(Error::TooLong {
            what: "request counter",
        })?;
        self.requests.insert(
            id,
            AccessRequest {
                id,
                record,
                requester,
                right,
                sections: sections.to_vec(),
                granted: Vec::new(),
                history: alloc::vec![(RequestState::Pending, now)],
            },
        );
        self.next_request = next;
        Ok(id)
    }

    /// A request.
    pub fn request_by_id(&self, id: RequestId) -> Option<&AccessRequest> {
        self.requests.get(&id)
    }

    /// Requests for a record, in id order.
    pub fn requests_for(&self, record: RecordId) -> impl Iterator<Item = &AccessRequest> {
        self.requests.values().filter(move |r| r.record == record)
    }

    fn owned_request(
        &self,
        actor: PrincipalId,
        id: RequestId,
        action: RequestAction,
        now: Timestamp,
    ) -> Result<&AccessRequest, Error> {
        let req = self
            .requests
            .get(&id)
            .ok_or(Error::NotFound { what: "request" })?;
        self.active(actor)?;
        let (owner, _) = self
            .records
            .get(&req.record)
            .ok_or(Error::NotAuthorized(Refusal::NoAcl))?;
        if *owner != actor {
            return refuse(Refusal::NotOwner);
        }
        req.next_state(action)?;
        req.check_time(now)?;
        Ok(req)
    }

    /// The owner approves a pending request with `update`, which must grant the requester the
    /// right asked for on one or more of the sections asked for (those become the request's
    /// granted sections). The outcome is recorded and returned: [`RequestState::Approved`]
    /// if every section was granted with at least the history asked for (a `Read(None)`
    /// request asks for the ACL's default), [`RequestState::ApprovedNarrower`] otherwise —
    /// never a silent narrowing. The ACL, its keys and the request's new state are committed
    /// together.
    pub fn approve(
        &mut self,
        actor: PrincipalId,
        id: RequestId,
        update: &AclUpdate,
        now: Timestamp,
    ) -> Result<RequestState, Error> {
        let req = self.owned_request(actor, id, RequestAction::Approve, now)?;
        if update.acl.acl.record != req.record {
            return Err(Error::AclRejected(AclProblem::WrongRecord));
        }
        let requester = self
            .registry
            .get(&req.requester)
            .ok_or(Error::NotFound { what: "principal" })?;
        let fp = requester.bundle.fingerprint();
        let before = self.records.get(&req.record).map(|(_, a)| &a.acl);
        let new = &update.acl.acl;
        let has = |acl: Option<&Acl>, s: &SectionId| {
            acl.and_then(|a| a.section(s))
                .is_some_and(|p| match req.right {
                    Right::Write => p.can_write(&fp),
                    Right::Read(_) => p.readers.contains_key(&fp),
                })
        };
        let asked = match req.right {
            Right::Read(Some(h)) => Some(h),
            Right::Read(None) => Some(before.map_or(History::None, |a| a.default_history)),
            Right::Write => None,
        };
        // Whether the grant on `s` reaches at least as far back as the history asked for.
        let as_asked = |s: &SectionId| {
            let (Some(history), Some(p)) = (asked, new.section(s)) else {
                return true;
            };
            let wanted_from = match history {
                History::All => p.first,
                History::FromEpoch(e) => e.max(p.first),
                History::None => p.epoch,
            };
            p.readers.get(&fp).is_some_and(|g| g.from <= wanted_from)
        };
        let granted: Vec<SectionId> = req
            .sections
            .iter()
            .filter(|s| has(Some(new), s) && !has(before, s))
            .copied()
            .collect();
        if granted.is_empty() {
            return refuse(Refusal::ApprovalMismatch);
        }
        let outcome = if granted.len() == req.sections.len() && granted.iter().all(as_asked) {
            RequestState::Approved
        } else {
            RequestState::ApprovedNarrower
        };
        self.check_update(actor, update, now)?;
        self.commit_update(actor, update);
        if let Some(req) = self.requests.get_mut(&id) {
            req.granted = granted;
            req.history.push((outcome, now));
        }
        Ok(outcome)
    }

    /// The owner rejects a pending request.
    pub fn reject(
        &mut self,
        actor: PrincipalId,
        id: RequestId,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.owned_request(actor, id, RequestAction::Reject, now)?;
        if let Some(req) = self.requests.get_mut(&id) {
            req.history.push((RequestState::Rejected, now));
        }
        Ok(())
    }

    /// The requester withdraws its pending request.
    pub fn withdraw(
        &mut self,
        actor: PrincipalId,
        id: RequestId,
        now: Timestamp,
    ) -> Result<(), Error> {
        let req = self
            .requests
            .get(&id)
            .ok_or(Error::NotFound { what: "request" })?;
        if req.requester != actor {
            return refuse(Refusal::NotRequester);
        }
        req.next_state(RequestAction::Withdraw)?;
        req.check_time(now)?;
        if let Some(req) = self.requests.get_mut(&id) {
            req.history.push((RequestState::Withdrawn, now));
        }
        Ok(())
    }

    /// Deletes a closed request (approved, rejected or withdrawn).
    pub fn delete_request(&mut self, id: RequestId) -> Result<(), Error> {
        let req = self
            .requests
            .get(&id)
            .ok_or(Error::NotFound { what: "request" })?;
        req.next_state(RequestAction::Delete)?;
        self.requests.remove(&id);
        Ok(())
    }
}
