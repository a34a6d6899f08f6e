//! The SRS handle: verifies who acts, refuses replays and stale or foreign operations, runs
//! the operation over one transaction and commits its changeset, and only then answers.

use rand_core::{CryptoRng, RngCore};

use crate::log::{DisclosureReceipt, Event, KeyId};
use crate::phr::{Limits, PrincipalId, RecordId, Role, SignedAcl, Timestamp};
use crate::sign::{SigningKey, VerifyingKey};
use crate::srs::cache::Cache;
use crate::srs::log::{self, Pending};
use crate::srs::rows::{self, Head, Kind, Registration, ReplayRow};
use crate::srs::store::{Store, StoreError};
use crate::srs::tx::{store_error, Tx};
use crate::srs::{
    gate, records, registry, requests, Operation, Refusal, Response, SignedOperation, SrsId,
};
use crate::Error;

/// How an SRS deployment is configured (the same on every instance sharing a store).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SrsConfig {
    /// Limits on what one record and one update may hold.
    pub limits: Limits,
    /// How far (seconds) an operation's time may be from the SRS's clock, either way.
    pub window: u64,
    /// The largest clock difference (seconds) between instances sharing the store: replay
    /// rows are kept until an operation's time plus the window plus this.
    pub max_skew: u64,
    /// How many prepared re-encryption keys a handle keeps (its memory bound).
    pub cache_keys: usize,
    /// Whether the SRS keeps the disclosure log (SPEC §9). On by default; turning it off
    /// leaves patients with no verifiable accounting of who read their records and exists
    /// only to measure what the log costs.
    pub disclosure_log: bool,
}

impl Default for SrsConfig {
    /// Default limits, a 300 s window, 60 s of skew, 4 096 cached keys, the disclosure log.
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            window: 300,
            max_skew: 60,
            cache_keys: 4096,
            disclosure_log: true,
        }
    }
}

/// One SRS handle over a [`Store`]. Several handles (in one process or many) may share a
/// store: each operation commits atomically or fails with a conflict the caller retries.
pub struct Srs<S: Store> {
    pub(super) store: S,
    pub(super) key: SigningKey,
    key_id: KeyId,
    pub(super) id: SrsId,
    config: SrsConfig,
    cache: Cache,
    touched: usize,
    /// The last operation whose signature verified, by hash and signer: a run repeated for
    /// a [`crate::srs::Staged`] store verifies it once.
    verified: Option<([u8; 32], crate::phr::Fingerprint)>,
}

impl<S: Store> core::fmt::Debug for Srs<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Srs")
            .field("id", &self.id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn refuse<T>(r: Refusal) -> Result<T, Error> {
    Err(Error::refused(r))
}

impl<S: Store> Srs<S> {
    /// A handle over `store`, signing receipts with `key`, deployed as `name` (the SRS id
    /// binds both).
    pub fn new(store: S, key: SigningKey, name: &str, config: SrsConfig) -> Self {
        let id = SrsId::new(&key.verifying_key(), name);
        Self {
            store,
            key_id: KeyId::of(&key.verifying_key()),
            key,
            id,
            cache: Cache::new(config.cache_keys),
            config,
            touched: 0,
            verified: None,
        }
    }

    /// The SRS id operations must name.
    pub fn id(&self) -> SrsId {
        self.id
    }

    /// The key that verifies this SRS's receipts.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &SrsConfig {
        &self.config
    }

    /// How many distinct rows the last operation read or wrote.
    pub fn rows_touched(&self) -> usize {
        self.touched
    }

    /// Creates the first administrator from its own signed registration (role
    /// [`Role::Admin`]), active at once. Refused once the store has been set up.
    pub fn bootstrap(&mut self, admin: &SignedOperation, now: Timestamp) -> Result<(), Error> {
        if admin.kind() != crate::srs::operation::REGISTER {
            return refuse(Refusal::NotAdmin);
        }
        let Operation::Register {
            role: Role::Admin,
            bundle,
        } = admin.operation()?
        else {
            return refuse(Refusal::NotAdmin);
        };
        self.check_envelope(admin, now)?;
        if admin.signer != bundle.fingerprint() {
            return refuse(Refusal::WrongSigner);
        }
        admin.verify(bundle.signing_key())?;
        let mut tx = Tx::new(&self.store);
        if tx.get(&rows::meta())?.is_some() {
            return Err(Error::AlreadyExists { what: "SRS setup" });
        }
        let mut meta = rows::empty(Kind::Meta);
        meta.extend_from_slice(self.id.as_bytes());
        tx.put(rows::meta(), meta);
        registry::insert(&mut tx, admin.principal, Role::Admin, bundle, true)?;
        self.touched = commit(&self.store, tx)?;
        Ok(())
    }

    fn check_envelope(&self, op: &SignedOperation, now: Timestamp) -> Result<(), Error> {
        if op.srs != self.id {
            return refuse(Refusal::WrongSrs);
        }
        if op.time.0.abs_diff(now.0) > self.config.window {
            return refuse(Refusal::OutsideWindow);
        }
        Ok(())
    }

    /// Runs a signed operation at time `now` (the SRS's clock): checks the SRS id, the time
    /// window, the signer's registered key and signature, and the nonce; runs the operation
    /// on the rows it reads; commits its changeset; and only then answers. A failed operation
    /// changes nothing. [`Error::Store`] with [`crate::srs::StoreError::Conflict`] means
    /// another handle changed a row first: run it again. An exact retry of a committed
    /// operation returns its stored response.
    pub fn execute<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        op: &SignedOperation,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Response, Error> {
        self.check_envelope(op, now)?;
        let op_hash = op.hash();
        let Self {
            store,
            key,
            key_id,
            id,
            config,
            cache,
            touched,
            verified,
        } = self;
        // Verifies the signature unless this very operation verified under this key.
        let mut check = |key: &crate::sign::VerifyingKey, fp: crate::phr::Fingerprint| {
            if *verified != Some((op_hash, fp)) {
                op.verify(key)?;
                *verified = Some((op_hash, fp));
            }
            Ok::<(), Error>(())
        };
        let mut tx = Tx::new(&*store);
        let mut pending: Option<Pending> = None;
        macro_rules! ctx {
            ($reg:expr) => {
                Context {
                    tx: &mut tx,
                    log: &mut pending,
                    op,
                    op_hash,
                    actor: $reg,
                    now,
                    limits: &config.limits,
                    cache: &mut *cache,
                    key: &*key,
                    id: *id,
                }
            };
        }
        // The operation, planned from the rows it reads; nothing is committed inside.
        let plan = || -> Result<Response, Error> {
            // Who acts, proven before the body is decoded (a registration's body is only a role
            // and the key that verifies it).
            let (actor, decoded) = if op.kind() == crate::srs::operation::REGISTER {
                let decoded = op.operation()?;
                let Operation::Register { bundle, .. } = &decoded else {
                    return refuse(Refusal::UnknownPrincipal);
                };
                if op.signer != bundle.fingerprint() {
                    return refuse(Refusal::WrongSigner);
                }
                check(bundle.signing_key(), op.signer)?;
                (None, decoded)
            } else {
                let version = tx.version(&rows::principal(op.principal))?;
                let reg = match cache.principal(op.principal, version) {
                    Some(reg) => reg.clone(),
                    None => {
                        let reg = registry::load(&mut tx, op.principal)?
                            .ok_or(Error::refused(Refusal::UnknownPrincipal))?;
                        cache.put_principal(op.principal, version, reg.clone());
                        reg
                    }
                };
                if op.signer != reg.bundle.fingerprint() {
                    return refuse(Refusal::WrongSigner);
                }
                check(reg.bundle.signing_key(), op.signer)?;
                (Some(reg), op.operation()?)
            };
            let replay_key = rows::replay(op.principal, &op.nonce);
            if let Some(row) = tx.get(&replay_key)? {
                let seen = ReplayRow::decode(&row)?;
                if seen.op_hash == op_hash {
                    return Response::from_bytes_trusted(&seen.response);
                }
                return refuse(Refusal::Replayed);
            }
            let response = match (&decoded, &actor) {
                (Operation::Register { role, bundle }, _) => {
                    registry::insert(&mut tx, op.principal, *role, *bundle, false)?;
                    Response::Done
                }
                (Operation::Login, Some(reg)) => Response::Status {
                    role: reg.role,
                    active: reg.active,
                },
                (_, Some(reg)) if !reg.active => return refuse(Refusal::Inactive),
                (Operation::Activate { target }, Some(reg)) => {
                    registry::set_active(&mut tx, reg, *target, true)?
                }
                (Operation::Deactivate { target }, Some(reg)) => {
                    registry::set_active(&mut tx, reg, *target, false)?
                }
                (Operation::ApplyUpdate(update), Some(reg)) => {
                    let mut ctx = ctx!(reg);
                    records::apply(&mut ctx, update)?;
                    Response::Done
                }
                (
                    Operation::Request {
                        record,
                        right,
                        sections,
                    },
                    Some(reg),
                ) => {
                    let ctx = ctx!(reg);
                    requests::file(ctx, *record, *right, sections)?
                }
                (Operation::Approve { request, update }, Some(reg)) => {
                    let ctx = ctx!(reg);
                    requests::approve(ctx, *request, update)?
                }
                (Operation::Reject { request }, Some(reg)) => {
                    let ctx = ctx!(reg);
                    requests::reject(ctx, *request)?
                }
                (Operation::Withdraw { request }, Some(reg)) => {
                    let ctx = ctx!(reg);
                    requests::withdraw(ctx, *request)?
                }
                (Operation::DeleteRequest { request }, Some(reg)) => {
                    let ctx = ctx!(reg);
                    requests::delete(ctx, *request)?
                }
                (
                    Operation::SubmitEntry {
                        header,
                        key_block,
                        body_hash,
                        signature,
                    },
                    Some(reg),
                ) => {
                    let ctx = ctx!(reg);
                    gate::submit(ctx, header, key_block, body_hash, signature, rng)?
                }
                (Operation::Reencrypt { record, entries }, Some(reg)) => {
                    let ctx = ctx!(reg);
                    gate::reencrypt(ctx, *record, entries)?
                }
                (
                    Operation::Rewrap {
                        record,
                        entry,
                        key_block,
                    },
                    Some(reg),
                ) => {
                    let ctx = ctx!(reg);
                    gate::rewrap(ctx, *record, *entry, key_block)?
                }
                (Operation::Audit { record, from }, Some(reg)) => {
                    let mut ctx = ctx!(reg);
                    ctx.owned_head(*record)?;
                    Response::Audit(alloc::boxed::Box::new(log::page(&mut tx, *record, *from)?))
                }
                (_, None) => return refuse(Refusal::UnknownPrincipal),
            };
            let mut response = response;
            if let Some(pending) = pending.filter(|_| config.disclosure_log) {
                let appended = log::append(&mut tx, key, *key_id, pending, now, rng)?;
                if let (Response::Reencrypted { receipt, .. }, Event::Disclosed { .. }) =
                    (&mut response, appended.last.event())
                {
                    *receipt = Some(alloc::boxed::Box::new(DisclosureReceipt {
                        leaf: appended.last,
                        proof: appended.proof,
                        checkpoint: appended.checkpoint,
                    }));
                }
            }
            if matches!(decoded, Operation::Login | Operation::Audit { .. }) {
                // A status query or an audit page: read-only, answered from the current rows
                // every time (an exact retry after a deactivation must not report the stale
                // status; an audit's answer can be large and is not worth a replay row).
                return Ok(response);
            }
            let expiry = Timestamp(
                op.time
                    .0
                    .saturating_add(config.window)
                    .saturating_add(config.max_skew),
            );
            tx.put(
                replay_key,
                ReplayRow {
                    expiry,
                    op_hash,
                    response: response.to_bytes(),
                }
                .encode(),
            );
            tx.put(
                rows::replay_expiry(expiry, op.principal, &op.nonce),
                rows::empty(Kind::ReplayExpiry),
            );
            Ok(response)
        };
        match plan() {
            Ok(response) => {
                *touched = commit(&*store, tx)?;
                Ok(response)
            }
            // A refusal rests on the rows it read: if another handle changed one of them
            // meanwhile, the refusal may be wrong (say "already exists" for what a concurrent
            // commit of this very operation wrote), so it is a conflict to retry instead.
            Err(e) if !matches!(e, Error::Store(_)) => match store.commit(&tx.validation()) {
                Err(StoreError::Conflict) => Err(Error::Store(StoreError::Conflict)),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Forgets up to `limit` replay rows whose time has passed (their operations are outside
    /// the window now); returns how many. Run it periodically on one instance.
    pub fn expire_replays(&mut self, now: Timestamp, limit: usize) -> Result<usize, Error> {
        let prefix = rows::replay_expiries();
        let page = self.store.scan(&prefix, None, limit).map_err(store_error)?;
        let mut tx = Tx::new(&self.store);
        let mut n = 0;
        for row in page {
            let Some(tail) = rows::key_tail(&row.key, 1) else {
                continue;
            };
            let (Some(at), Some(principal), Some(nonce)) =
                (tail.get(..8), tail.get(8..24), tail.get(24..40))
            else {
                continue;
            };
            let at = u64::from_be_bytes(at.try_into().unwrap_or_default());
            if at >= now.0 {
                break;
            }
            let principal = PrincipalId::new(principal.try_into().unwrap_or_default());
            let nonce: [u8; 16] = nonce.try_into().unwrap_or_default();
            tx.version(&row.key)?;
            tx.delete(row.key.clone());
            tx.delete(rows::replay(principal, &nonce));
            n += 1;
        }
        if n > 0 {
            self.touched = commit(&self.store, tx)?;
        }
        Ok(n)
    }
}

/// Commits a transaction's changeset; returns the rows it touched.
fn commit<S: Store + ?Sized>(store: &S, tx: Tx<'_, S>) -> Result<usize, Error> {
    let touched = tx.touched();
    store.commit(&tx.finish()).map_err(store_error)?;
    Ok(touched)
}

/// What an operation runs with.
pub(crate) struct Context<'a, 't, S: Store> {
    pub(crate) tx: &'a mut Tx<'t, S>,
    /// The log events the operation records (appended after it succeeds).
    pub(crate) log: &'a mut Option<Pending>,
    pub(crate) op: &'a SignedOperation,
    /// SHA-256 of the signed operation (computed once by `execute`).
    pub(crate) op_hash: [u8; 32],
    pub(crate) actor: &'a Registration,
    pub(crate) now: Timestamp,
    pub(crate) limits: &'a Limits,
    pub(crate) cache: &'a mut Cache,
    pub(crate) key: &'a SigningKey,
    pub(crate) id: SrsId,
}

impl<S: Store> Context<'_, '_, S> {
    /// Records `event` in `record`'s log, whose newest ACL (after this operation) hashes to
    /// `acl`. An operation concerns one record.
    pub(crate) fn emit(
        &mut self,
        record: RecordId,
        acl: crate::phr::AclHash,
        event: Event,
    ) -> Result<(), Error> {
        match self.log {
            Some(p) if p.record == record => {
                p.acl = acl;
                p.events.push(event);
            }
            Some(_) => {
                return Err(Error::InvalidChange {
                    reason: "an operation concerns one record",
                })
            }
            None => {
                *self.log = Some(Pending {
                    record,
                    acl,
                    events: alloc::vec![event],
                })
            }
        }
        Ok(())
    }

    /// The record's head, or [`Refusal::NoAcl`].
    pub(crate) fn head(&mut self, record: RecordId) -> Result<Head, Error> {
        self.head_opt(record)?.ok_or(Error::refused(Refusal::NoAcl))
    }

    /// The record's head, its ACL checked against the owner's registered key the first time
    /// this handle sees this version of the row: someone who can write the database cannot
    /// make the SRS act on an ACL the owner did not sign.
    pub(crate) fn head_opt(&mut self, record: RecordId) -> Result<Option<Head>, Error> {
        let key = rows::head(record);
        let version = self.tx.version(&key)?;
        if let Some(head) = self.cache.head(record, version) {
            return Ok(Some(head.clone()));
        }
        let Some(head) = records::head(self.tx, record)? else {
            return Ok(None);
        };
        self.check_owner_signed(&head, &head.acl)?;
        self.cache.put_head(record, version, head.clone());
        Ok(Some(head))
    }

    /// Fails unless `acl` is signed by the registered key of `head`'s owner.
    pub(crate) fn check_owner_signed(&mut self, head: &Head, acl: &SignedAcl) -> Result<(), Error> {
        let owner = registry::load(self.tx, head.owner)?.ok_or(Error::NotFound {
            what: "record owner",
        })?;
        if *acl.acl_unverified().owner() != owner.bundle {
            return Err(Error::acl_rejected(
                acl.acl_unverified(),
                crate::phr::AclProblem::WrongOwner,
            ));
        }
        acl.verify(owner.bundle.signing_key()).map(drop)
    }

    /// The record's head if the actor owns it (an active patient), else a refusal.
    pub(crate) fn owned_head(&mut self, record: RecordId) -> Result<Head, Error> {
        let head = self.head(record)?;
        if head.owner != self.op.principal || self.actor.role != Role::Patient {
            return refuse(Refusal::NotOwner);
        }
        Ok(head)
    }
}
