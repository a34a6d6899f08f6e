//! The ACL versions one party keeps for one record, between runs ([SPEC §4](crate::notes::spec): verifiers keep the
//! highest version seen and refuse older ACLs; readers and the owner need the version each
//! entry names).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::num::NonZeroU16;

use rand_core::{CryptoRng, RngCore};

use crate::encoding::{self, Reader, Tag};
use crate::phr::keyset::AclHash;
use crate::phr::{
    succession, AclProblem, AclVersion, BodyHeader, EntryOpener, EntrySealer, Owner, PrincipalKeys,
    RecordId, SealedEntry, SectionId, SignedAcl, Timestamp, VerifiedAcl,
};
use crate::pre::ReCapsule;
use crate::sign::{Signature, VerifyingKey};
use crate::srs::Accepted;
use crate::Error;

/// One version kept: the owner-signed ACL (what is saved) and its verified view.
#[derive(Clone, Debug)]
struct Kept {
    signed: SignedAcl,
    verified: VerifiedAcl,
}

/// The verified ACL versions of one record that a writer, reader or owner keeps, and the
/// newest of them: the rollback protection of [`crate::phr::AclVerifier`] that survives a
/// restart, and the store in which readers and the owner find the version an entry names.
///
/// - [`AclHistory::accept`] takes a version as the *current* policy: owner signature, right
///   record, not older than the newest version kept (a rollback is
///   [`AclProblem::Stale`]), not expired, and chained to the previous version when that one
///   is kept (its `previous` hash and the epoch succession rules of [SPEC §7](crate::notes::spec)).
/// - [`AclHistory::remember_past`] keeps an *older* version, for opening entries that name
///   it; it never becomes current.
/// - Writers seal through the history ([`PrincipalKeys::seal_entry_with_history`],
///   [`EntrySealer::with_history`]): only ever to the newest version. Readers and the owner
///   open through it ([`PrincipalKeys::open_entry_with_history`],
///   [`Owner::open_entry_with_history`]): the entry's header names the version.
/// - [`AclHistory::to_bytes`] saves it; [`AclHistory::from_bytes`] restores it after a
///   restart, re-verifying every stored ACL against the owner's key the caller supplies.
///
/// **Bounded**: at most [`AclHistory::capacity`] versions are kept (default
/// [`AclHistory::DEFAULT_CAPACITY`]); when full, accepting a new version drops the oldest,
/// so an entry naming a dropped version can no longer be opened through the history. The
/// newest version is never dropped. Memory is the size of the kept ACLs (each is the
/// owner-signed ACL, its bytes and its parsed form).
///
/// **What it does not stop**: whoever can write the saved bytes can replace them with an
/// older save (every stored ACL is genuinely signed). Keep the bytes where the party's
/// secrets are kept.
#[derive(Clone, Debug)]
pub struct AclHistory {
    record: RecordId,
    owner: VerifyingKey,
    capacity: NonZeroU16,
    versions: BTreeMap<AclVersion, Kept>,
}

/// Smallest possible encoding of one stored signed ACL: its u32 length, the signed ACL's tag,
/// version and u32 length, and a signature (the ACL inside is longer still).
const MIN_STORED: usize = 4 + 2 + 4 + Signature::SIZE;

impl AclHistory {
    /// The number of versions kept unless the caller chooses: 64.
    pub const DEFAULT_CAPACITY: NonZeroU16 = NonZeroU16::MIN.saturating_add(63);

    /// An empty history for `record`, owned by `owner` (a key the caller authenticated, never
    /// one fetched from the SRS), keeping up to [`AclHistory::DEFAULT_CAPACITY`] versions.
    pub fn new(record: RecordId, owner: VerifyingKey) -> Self {
        Self::with_capacity(record, owner, Self::DEFAULT_CAPACITY)
    }

    /// An empty history keeping up to `capacity` versions.
    pub fn with_capacity(record: RecordId, owner: VerifyingKey, capacity: NonZeroU16) -> Self {
        Self {
            record,
            owner,
            capacity,
            versions: BTreeMap::new(),
        }
    }

    /// The record.
    pub fn record(&self) -> RecordId {
        self.record
    }

    /// The owner's key every stored ACL is verified against.
    pub fn owner_key(&self) -> &VerifyingKey {
        &self.owner
    }

    /// The most versions kept.
    pub fn capacity(&self) -> NonZeroU16 {
        self.capacity
    }

    /// The newest version seen (and kept), if any.
    pub fn highest(&self) -> Option<AclVersion> {
        self.versions.keys().next_back().copied()
    }

    /// The newest version: the current policy as far as this party knows.
    pub fn current(&self) -> Option<&VerifiedAcl> {
        self.versions.values().next_back().map(|k| &k.verified)
    }

    /// The newest version as the owner signed it (to pass on to another party).
    pub fn current_signed(&self) -> Option<&SignedAcl> {
        self.versions.values().next_back().map(|k| &k.signed)
    }

    /// A kept version.
    pub fn get(&self, version: AclVersion) -> Option<&VerifiedAcl> {
        self.versions.get(&version).map(|k| &k.verified)
    }

    /// The kept versions, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = AclVersion> + '_ {
        self.versions.keys().copied()
    }

    /// The version `header` names: same record ([`AclProblem::WrongRecord`]) and kept
    /// ([`Error::NotFound`] if it was never seen, is newer than the newest seen, or was
    /// dropped for capacity).
    pub fn for_entry(&self, header: &BodyHeader) -> Result<&VerifiedAcl, Error> {
        if header.record() != self.record {
            return Err(Error::AclRejected {
                record: header.record(),
                version: header.acl_version(),
                problem: AclProblem::WrongRecord {
                    expected: self.record,
                },
            });
        }
        self.get(header.acl_version()).ok_or(Error::NotFound {
            what: "ACL version the entry names",
        })
    }

    /// The version to seal to at `now`: the newest, unexpired ([`AclProblem::Expired`]);
    /// [`Error::NotFound`] if no version was ever accepted.
    pub fn sealing_acl(&self, now: Timestamp) -> Result<&VerifiedAcl, Error> {
        let acl = self.current().ok_or(Error::NotFound { what: "ACL" })?;
        if acl.not_after() < now {
            let problem = AclProblem::Expired {
                not_after: acl.not_after(),
                now,
            };
            return Err(Error::acl_rejected(acl, problem));
        }
        Ok(acl)
    }

    /// Checks that `acl` is the newest version kept: an older one is
    /// [`AclProblem::Stale`], a newer one (not accepted here yet) or a different ACL under
    /// the newest version number is [`AclProblem::VersionMismatch`]. For writers that seal
    /// through [`PrincipalKeys::seal_entry`] with an ACL from elsewhere.
    pub fn check_current(&self, acl: &VerifiedAcl) -> Result<(), Error> {
        if acl.record() != self.record {
            let problem = AclProblem::WrongRecord {
                expected: self.record,
            };
            return Err(Error::acl_rejected(acl, problem));
        }
        let current = self.current().ok_or(Error::NotFound { what: "ACL" })?;
        if acl.version() < current.version() {
            let problem = AclProblem::Stale {
                seen: current.version(),
            };
            return Err(Error::acl_rejected(acl, problem));
        }
        if acl != current {
            let problem = AclProblem::VersionMismatch {
                named: current.version(),
            };
            return Err(Error::acl_rejected(acl, problem));
        }
        Ok(())
    }

    /// Accepts `signed` as the current policy at `now` (see [`AclHistory`]). Accepting the
    /// newest version again is allowed; a different ACL signed under a version already kept
    /// is refused ([`AclProblem::BrokenChain`]). On error nothing changes.
    pub fn accept(&mut self, signed: &SignedAcl, now: Timestamp) -> Result<VerifiedAcl, Error> {
        let verified = self.verify(signed)?;
        if let Some(seen) = self.highest() {
            if verified.version() < seen {
                return Err(Error::acl_rejected(&verified, AclProblem::Stale { seen }));
            }
        }
        if verified.not_after() < now {
            let problem = AclProblem::Expired {
                not_after: verified.not_after(),
                now,
            };
            return Err(Error::acl_rejected(&verified, problem));
        }
        self.insert(signed, verified.clone())?;
        while self.versions.len() > usize::from(self.capacity.get()) {
            self.versions.pop_first();
        }
        Ok(verified)
    }

    /// Keeps `signed`, a version older than the newest kept, for opening the entries that
    /// name it; it never becomes current and may be expired. A version not older than the
    /// newest is refused with [`AclProblem::VersionMismatch`] (use
    /// [`AclHistory::accept`]); one older than every kept version when the history is full
    /// with [`Error::LimitExceeded`]. On error nothing changes.
    pub fn remember_past(&mut self, signed: &SignedAcl) -> Result<VerifiedAcl, Error> {
        let verified = self.verify(signed)?;
        let version = verified.version();
        if self.highest().is_none_or(|h| version >= h) {
            let problem = AclProblem::VersionMismatch { named: version };
            return Err(Error::acl_rejected(&verified, problem));
        }
        let full = self.versions.len() >= usize::from(self.capacity.get());
        if full && self.versions.keys().next().is_some_and(|&v| version < v) {
            return Err(Error::LimitExceeded {
                what: "ACL versions kept",
                limit: u64::from(self.capacity.get()),
            });
        }
        self.insert(signed, verified.clone())?;
        while self.versions.len() > usize::from(self.capacity.get()) {
            self.versions.pop_first();
        }
        Ok(verified)
    }

    /// Owner signature and record.
    fn verify(&self, signed: &SignedAcl) -> Result<VerifiedAcl, Error> {
        if signed.acl_unverified().record() != self.record {
            let problem = AclProblem::WrongRecord {
                expected: self.record,
            };
            return Err(Error::acl_rejected(signed.acl_unverified(), problem));
        }
        signed.verify(&self.owner)
    }

    /// Inserts a verified version after checking it against the kept versions next to it:
    /// the same version must be the same ACL, and neighbours must chain.
    fn insert(&mut self, signed: &SignedAcl, verified: VerifiedAcl) -> Result<(), Error> {
        let version = verified.version();
        if let Some(kept) = self.versions.get(&version) {
            return if kept.signed.hash() == signed.hash() {
                Ok(())
            } else {
                Err(Error::acl_rejected(
                    signed.acl_unverified(),
                    AclProblem::BrokenChain,
                ))
            };
        }
        let below = version.0.checked_sub(1).map(AclVersion);
        let above = version.0.checked_add(1).map(AclVersion);
        if version == AclVersion(1) {
            chain(None, signed)?;
        } else if let Some(prev) = below.and_then(|v| self.versions.get(&v)) {
            chain(Some(&prev.signed), signed)?;
        }
        if let Some(next) = above.and_then(|v| self.versions.get(&v)) {
            chain(Some(signed), &next.signed)?;
        }
        self.versions.insert(
            version,
            Kept {
                signed: signed.clone(),
                verified,
            },
        );
        Ok(())
    }

    /// Size of the fixed part of the encoding: tag, version, record, owner key, capacity,
    /// count.
    const FIXED: usize = 2 + 16 + VerifyingKey::SIZE + 2 + 4;

    /// The encoding: tag `0x32` ‖ format version ‖ record (16) ‖ owner verifying key ‖
    /// capacity (u16) ‖ count (u32) ‖ per kept version, oldest first, u32 length ‖ signed
    /// ACL bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(Self::FIXED);
        encoding::header(&mut out, Tag::AclHistory);
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(&self.owner.to_bytes());
        out.extend_from_slice(&self.capacity.get().to_be_bytes());
        encoding::put_count(&mut out, "ACL history", self.versions.len())?;
        for kept in self.versions.values() {
            encoding::put_lp32(&mut out, "signed ACL", &kept.signed.to_bytes())?;
        }
        Ok(out)
    }

    /// Restores a saved history, re-checking everything against `owner` (the record owner's
    /// key the caller knows, which must be the one saved: [`AclProblem::WrongOwner`]): each
    /// ACL decoded with every point check, its signature verified, for the saved record,
    /// versions strictly increasing, at most the saved capacity, consecutive versions
    /// chained. Cost: one signature verification and one ACL decode per kept version; the
    /// memory allocated is bounded by the input's length, whatever counts it claims.
    pub fn from_bytes(bytes: &[u8], owner: &VerifyingKey) -> Result<Self, Error> {
        let what = "ACL history";
        let mut r = Reader::envelope(bytes, Tag::AclHistory, what)?;
        let record = RecordId::new(r.array()?);
        let saved_owner = VerifyingKey::from_bytes(r.take(VerifyingKey::SIZE)?)?;
        if &saved_owner != owner {
            return Err(Error::AclRejected {
                record,
                version: AclVersion(0),
                problem: AclProblem::WrongOwner,
            });
        }
        let capacity =
            NonZeroU16::new(u16::from_be_bytes(r.array()?)).ok_or(Error::invalid(what))?;
        let n = r.count(MIN_STORED)?;
        if n > usize::from(capacity.get()) {
            return Err(Error::invalid(what));
        }
        let mut history = Self::with_capacity(record, *owner, capacity);
        for _ in 0..n {
            let signed = SignedAcl::from_bytes(r.lp32()?)?;
            let verified = history.verify(&signed)?;
            if history.highest().is_some_and(|h| verified.version() <= h) {
                return Err(Error::invalid("ACL history (order)"));
            }
            history.insert(&signed, verified)?;
        }
        r.finish()?;
        Ok(history)
    }
}

/// `next` follows `prev` (`None`: `next` must start the chain): its `previous` hash, and the
/// epoch succession rules.
fn chain(prev: Option<&SignedAcl>, next: &SignedAcl) -> Result<(), Error> {
    let expected = prev.map_or(AclHash::GENESIS, SignedAcl::hash);
    if next.acl_unverified().previous() != expected {
        let problem = AclProblem::BrokenChain;
        return Err(Error::acl_rejected(next.acl_unverified(), problem));
    }
    succession::check(prev.map(SignedAcl::acl_unverified), next.acl_unverified())
}

impl PrincipalKeys {
    /// Seals `plaintext` as a new entry of `section` to the newest ACL version in `history`
    /// (unexpired at `now`): a writer sealing through its history never seals to a version
    /// it knows to be retired. See [`PrincipalKeys::seal_entry`].
    pub fn seal_entry_with_history<R: RngCore + CryptoRng + ?Sized>(
        &self,
        history: &AclHistory,
        section: SectionId,
        plaintext: &[u8],
        now: Timestamp,
        rng: &mut R,
    ) -> Result<SealedEntry, Error> {
        self.seal_entry(history.sealing_acl(now)?, section, plaintext, now, rng)
    }

    /// Opens an entry re-encrypted for this reader, with the ACL version its header names
    /// taken from `history`. See [`PrincipalKeys::open_entry`].
    pub fn open_entry_with_history(
        &self,
        entry: &SealedEntry,
        accepted: &Accepted,
        recapsule: &ReCapsule,
        history: &AclHistory,
    ) -> Result<Vec<u8>, Error> {
        let acl = history.for_entry(entry.header())?;
        self.open_entry(entry, accepted, recapsule, acl)
    }

    /// Starts opening an entry segment by segment, with the ACL version its header names
    /// taken from `history`. See [`PrincipalKeys::entry_opener`].
    pub fn entry_opener_with_history(
        &self,
        header: &BodyHeader,
        key_block: &crate::phr::KeyBlock,
        accepted: &Accepted,
        recapsule: &ReCapsule,
        history: &AclHistory,
    ) -> Result<EntryOpener, Error> {
        let acl = history.for_entry(header)?;
        self.entry_opener(header, key_block, accepted, recapsule, acl)
    }
}

impl<'k> EntrySealer<'k> {
    /// Starts an entry in `section` sealed to the newest ACL version in `history`
    /// (unexpired at `now`). See [`EntrySealer::new`].
    pub fn with_history<R: RngCore + CryptoRng + ?Sized>(
        keys: &'k PrincipalKeys,
        history: &AclHistory,
        section: SectionId,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Self, Error> {
        Self::new(keys, history.sealing_acl(now)?, section, now, rng)
    }
}

impl Owner {
    /// Opens an entry of the owner's record with the ACL version its header names taken from
    /// `history`. See [`Owner::open_entry`].
    pub fn open_entry_with_history(
        &self,
        entry: &SealedEntry,
        accepted: &Accepted,
        history: &AclHistory,
    ) -> Result<Vec<u8>, Error> {
        self.open_entry(entry, accepted, history.for_entry(entry.header())?)
    }

    /// Re-seals an entry (see [`Owner::reseal`]): the version it names and the current one
    /// (unexpired at `now`) both from `history`.
    pub fn reseal_with_history<R: RngCore + CryptoRng + ?Sized>(
        &self,
        entry: &SealedEntry,
        accepted: &Accepted,
        history: &AclHistory,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<SealedEntry, Error> {
        let named = history.for_entry(entry.header())?;
        self.reseal(entry, accepted, named, history.sealing_acl(now)?, now, rng)
    }
}
