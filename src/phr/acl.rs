//! The owner-signed access-control list of one record ([SPEC §4](crate::notes::spec)).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use crate::encoding::{self, insert_in_order, Reader, Tag};
use crate::phr::keyset::{key_count, AclHash, KeySetCommitment};
use crate::phr::principal::{push_bundle, read_bundle};
use crate::phr::{AclVersion, Epoch, Fingerprint, KeyBundle, RecordId, SectionId, Timestamp};
use crate::pre::SectionPublicKey;
use crate::sign::{Purpose, Signature, VerifyingKey};
use crate::Error;

/// Which earlier epochs a newly granted reader gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum History {
    /// None: the section rotates first, and the reader reads only what is written after
    /// the grant (backward access control).
    None,
    /// Every epoch from this one on.
    FromEpoch(Epoch),
    /// Every epoch of the section.
    All,
}

impl History {
    pub(crate) fn encode(self, out: &mut Vec<u8>) {
        let (kind, epoch) = match self {
            History::None => (0u8, 0u32),
            History::FromEpoch(e) => (1, e.0),
            History::All => (2, 0),
        };
        out.push(kind);
        out.extend_from_slice(&epoch.to_be_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let kind = r.u8()?;
        let epoch = r.u32()?;
        match (kind, epoch) {
            (0, 0) => Ok(History::None),
            (1, e) => Ok(History::FromEpoch(Epoch(e))),
            (2, 0) => Ok(History::All),
            _ => Err(r.invalid()),
        }
    }
}

/// A reader's grant on a section: its keys and the first epoch it may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ReaderGrant {
    /// The reader's public keys (the ACL names it by their fingerprint).
    pub bundle: KeyBundle,
    /// The first epoch it may read; it may read every epoch from there to the current one.
    pub from: Epoch,
}

/// One section's policy: current epoch and key, the epoch it was (last) created at, readers,
/// writers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionPolicy {
    pub(crate) epoch: Epoch,
    /// The epoch of the section's latest creation: no grant reaches an epoch before it, so
    /// a removed and re-added section never hands out its predecessor's keys ([SPEC §7](crate::notes::spec)).
    pub(crate) first: Epoch,
    pub(crate) key: SectionPublicKey,
    pub(crate) readers: BTreeMap<Fingerprint, ReaderGrant>,
    pub(crate) writers: BTreeMap<Fingerprint, KeyBundle>,
}

impl SectionPolicy {
    /// The current epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The epoch at which the section was (last) created: the earliest any grant reaches.
    pub fn first(&self) -> Epoch {
        self.first
    }

    /// The current section public key: the only key writers may encrypt to.
    pub fn key(&self) -> &SectionPublicKey {
        &self.key
    }

    /// The readers, by fingerprint.
    pub fn readers(&self) -> impl Iterator<Item = (&Fingerprint, &ReaderGrant)> {
        self.readers.iter()
    }

    /// The writers, by fingerprint.
    pub fn writers(&self) -> impl Iterator<Item = (&Fingerprint, &KeyBundle)> {
        self.writers.iter()
    }

    /// Whether `reader` may read entries of `epoch`.
    pub fn can_read(&self, reader: &Fingerprint, epoch: Epoch) -> bool {
        self.readers
            .get(reader)
            .is_some_and(|g| g.from <= epoch && epoch <= self.epoch)
    }

    /// Whether `writer` may write.
    pub fn can_write(&self, writer: &Fingerprint) -> bool {
        self.writers.contains_key(writer)
    }
}

/// The access-control list of one record: what the owner signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub(crate) record: RecordId,
    pub(crate) version: AclVersion,
    pub(crate) not_after: Timestamp,
    /// The hash of the previous version ([`AclHash::GENESIS`] for version 1).
    pub(crate) previous: AclHash,
    /// The complete key set the SRS must hold for this version.
    pub(crate) keys: KeySetCommitment,
    pub(crate) owner: KeyBundle,
    pub(crate) default_history: History,
    pub(crate) sections: BTreeMap<SectionId, SectionPolicy>,
    /// Removed sections and the first epoch a re-added section must use, so a section key
    /// is never reused after a remove/add cycle.
    pub(crate) retired: BTreeMap<SectionId, Epoch>,
}

impl Acl {
    /// The record this ACL governs.
    pub fn record(&self) -> RecordId {
        self.record
    }

    /// Its version (strictly increasing).
    pub fn version(&self) -> AclVersion {
        self.version
    }

    /// The last time at which it may be relied on.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// The hash of the version this one follows ([`AclHash::GENESIS`] for the first).
    pub fn previous(&self) -> AclHash {
        self.previous
    }

    /// The commitment to the complete set of re-encryption keys this version implies.
    pub fn key_set(&self) -> &KeySetCommitment {
        &self.keys
    }

    /// The owner's public keys.
    pub fn owner(&self) -> &KeyBundle {
        &self.owner
    }

    /// The history new members get by default.
    pub fn default_history(&self) -> History {
        self.default_history
    }

    /// One section's policy.
    pub fn section(&self, id: &SectionId) -> Option<&SectionPolicy> {
        self.sections.get(id)
    }

    /// One section's policy, or the refusal `UnknownSection` (naming the section, and the
    /// epoch in question if any).
    pub(crate) fn section_or_refused(
        &self,
        id: SectionId,
        epoch: Option<Epoch>,
    ) -> Result<&SectionPolicy, Error> {
        self.section(&id).ok_or(Error::refused_in(
            crate::srs::Refusal::UnknownSection,
            id,
            epoch,
            None,
        ))
    }

    /// All sections.
    pub fn sections(&self) -> impl Iterator<Item = (&SectionId, &SectionPolicy)> {
        self.sections.iter()
    }

    /// The keys of a principal allowed to write `section`: a listed writer, or the owner.
    pub fn writer(&self, section: &SectionId, writer: &Fingerprint) -> Option<&KeyBundle> {
        if *writer == self.owner.fingerprint() {
            return Some(&self.owner);
        }
        self.sections.get(section)?.writers.get(writer)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::Acl);
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(&self.version.0.to_be_bytes());
        out.extend_from_slice(&self.not_after.0.to_be_bytes());
        out.extend_from_slice(self.previous.as_bytes());
        self.keys.encode(&mut out);
        push_bundle(&mut out, &self.owner);
        self.default_history.encode(&mut out);
        encoding::put_count(&mut out, "ACL sections", self.sections.len())?;
        for (id, s) in &self.sections {
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&s.epoch.0.to_be_bytes());
            out.extend_from_slice(&s.first.0.to_be_bytes());
            out.extend_from_slice(&s.key.to_bytes());
            encoding::put_count(&mut out, "ACL readers", s.readers.len())?;
            for g in s.readers.values() {
                push_bundle(&mut out, &g.bundle);
                out.extend_from_slice(&g.from.0.to_be_bytes());
            }
            encoding::put_count(&mut out, "ACL writers", s.writers.len())?;
            for b in s.writers.values() {
                push_bundle(&mut out, b);
            }
        }
        encoding::put_count(&mut out, "ACL retired sections", self.retired.len())?;
        for (id, next) in &self.retired {
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&next.0.to_be_bytes());
        }
        Ok(out)
    }

    /// Decodes and checks an ACL: every key valid, sections and principals in canonical
    /// (strictly increasing) order, every section's creation epoch not after its current
    /// one, every reader's first epoch between the two, and the key-set size equal to what
    /// the grants imply.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(Reader::envelope(bytes, Tag::Acl, "ACL")?)
    }

    fn decode(mut r: Reader<'_>) -> Result<Self, Error> {
        let record = RecordId::new(r.at("record").array()?);
        let version = AclVersion(r.at("version").u64()?);
        let not_after = Timestamp(r.at("not_after").u64()?);
        let previous = AclHash(r.at("previous hash").array()?);
        let keys = KeySetCommitment::decode(r.at("key set"))?;
        let owner = read_bundle(r.at("owner"))?;
        let default_history = History::decode(r.at("default history"))?;
        let n = r
            .at("section count")
            .count(16 + 8 + SectionPublicKey::SIZE + 8)?;
        let mut sections = BTreeMap::new();
        for _ in 0..n {
            let id = SectionId::new(r.at("section id").array()?);
            let epoch = Epoch(r.at("section epoch").u32()?);
            let first = Epoch(r.at("section first epoch").u32()?);
            if first > epoch {
                return Err(r.invalid());
            }
            let key = SectionPublicKey::read(r.at("section key"))?;
            let mut readers = BTreeMap::new();
            for _ in 0..r.at("reader count").count(KeyBundle::SIZE + 4)? {
                let bundle = read_bundle(r.at("reader"))?;
                let from = Epoch(r.at("reader from-epoch").u32()?);
                if from > epoch || from < first {
                    return Err(r.invalid());
                }
                insert_in_order(
                    &mut readers,
                    bundle.fingerprint(),
                    ReaderGrant { bundle, from },
                    "ACL readers",
                )?;
            }
            let mut writers = BTreeMap::new();
            for _ in 0..r.at("writer count").count(KeyBundle::SIZE)? {
                let bundle = read_bundle(r.at("writer"))?;
                insert_in_order(&mut writers, bundle.fingerprint(), bundle, "ACL writers")?;
            }
            insert_in_order(
                &mut sections,
                id,
                SectionPolicy {
                    epoch,
                    first,
                    key,
                    readers,
                    writers,
                },
                "ACL sections",
            )?;
        }
        let mut retired = BTreeMap::new();
        for _ in 0..r.at("retired section count").count(16 + 4)? {
            let id = SectionId::new(r.at("retired section id").array()?);
            let next = Epoch(r.at("retired section epoch").u32()?);
            if sections.contains_key(&id) {
                return Err(r.invalid());
            }
            insert_in_order(&mut retired, id, next, "ACL retired sections")?;
        }
        r.finish()?;
        let acl = Self {
            record,
            version,
            not_after,
            previous,
            keys,
            owner,
            default_history,
            sections,
            retired,
        };
        if key_count(&acl) != acl.keys.size {
            return Err(Error::InvalidEncoding {
                what: "ACL",
                field: Some("key set size (not what the grants imply)"),
            });
        }
        Ok(acl)
    }
}

/// Why an ACL was refused ([`Error::AclRejected`] carries the record and the version
/// refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AclProblem {
    /// Older than the newest version this verifier has seen (a rollback).
    Stale {
        /// The newest version seen.
        seen: AclVersion,
    },
    /// The same version as the newest one already applied, where a strictly newer one is
    /// required (an ACL update replayed to the SRS).
    AlreadySeen,
    /// Its `not_after` is before the current time.
    Expired {
        /// The ACL's `not_after`.
        not_after: Timestamp,
        /// The time it was checked at.
        now: Timestamp,
    },
    /// It governs another record.
    WrongRecord {
        /// The record it was expected to govern.
        expected: RecordId,
    },
    /// It was signed by a key other than the record owner's.
    WrongOwner,
    /// It is not the ACL version the entry names.
    VersionMismatch {
        /// The version the entry names.
        named: AclVersion,
    },
    /// It does not chain to the newest version (its `previous` hash differs), or a first
    /// version does not start the chain.
    BrokenChain,
    /// A section's epochs do not follow from the previous version: an epoch jump (more than
    /// one rotation), a changed creation epoch, or a removed section's epochs forgotten or
    /// reused.
    BadSuccession {
        /// The section.
        section: SectionId,
    },
}

impl fmt::Display for AclProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclProblem::Stale { seen } => write!(f, "older than version {seen} already seen"),
            AclProblem::AlreadySeen => {
                f.write_str("this version was already applied (an update must be newer)")
            }
            AclProblem::Expired { not_after, now } => {
                write!(f, "expired at {not_after} (checked at {now})")
            }
            AclProblem::WrongRecord { expected } => write!(f, "not for record {expected}"),
            AclProblem::WrongOwner => f.write_str("not signed by the record owner"),
            AclProblem::VersionMismatch { named } => {
                write!(f, "the entry names version {named}")
            }
            AclProblem::BrokenChain => f.write_str("does not follow the newest version"),
            AclProblem::BadSuccession { section } => write!(
                f,
                "the epochs of section {section} do not follow from the previous version"
            ),
        }
    }
}

crate::macros::serde_via_bytes!(fallible Acl, "ACL");

/// An ACL with the owner's signature (purpose [`Purpose::Acl`], over `SHA-256(ACL bytes)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAcl {
    pub(crate) acl: Acl,
    pub(crate) acl_bytes: Vec<u8>,
    pub(crate) signature: Signature,
}

impl SignedAcl {
    pub(crate) fn digest(acl_bytes: &[u8]) -> [u8; 32] {
        encoding::sha256(&[acl_bytes])
    }

    /// The hash of the ACL's canonical bytes (what the next version chains to).
    pub fn hash(&self) -> AclHash {
        AclHash::of(&self.acl_bytes)
    }

    /// The ACL, unverified.
    pub fn acl_unverified(&self) -> &Acl {
        &self.acl
    }

    /// Checks the signature against `owner`, the record owner's key that the caller knows
    /// (never one fetched from the SRS). Does not check freshness: use [`AclVerifier`] for
    /// the current policy.
    pub fn verify(&self, owner: &VerifyingKey) -> Result<VerifiedAcl, Error> {
        if self.acl.owner.signing_key() != owner {
            return Err(Error::acl_rejected(&self.acl, AclProblem::WrongOwner));
        }
        owner.verify(
            Purpose::Acl,
            &[&Self::digest(&self.acl_bytes)],
            &self.signature,
        )?;
        Ok(VerifiedAcl(self.acl.clone()))
    }

    /// The canonical encoding: tag, version, u32 length ‖ ACL bytes, signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.acl_bytes.len() + 8 + Signature::SIZE);
        encoding::header(&mut out, Tag::SignedAcl);
        // The ACL bytes were produced by this crate and are far below 4 GiB.
        let _ = encoding::put_lp32(&mut out, "ACL", &self.acl_bytes);
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes (the signature is checked by [`SignedAcl::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes, false)
    }

    /// Decodes a signed ACL this crate wrote to a trusted store: no point checks (the
    /// signature was verified when it entered).
    pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes, true)
    }

    fn decode(bytes: &[u8], trusted: bool) -> Result<Self, Error> {
        fn trust(r: Reader<'_>, trusted: bool) -> Reader<'_> {
            if trusted {
                r.trusting()
            } else {
                r
            }
        }
        let mut r = trust(
            Reader::envelope(bytes, Tag::SignedAcl, "signed ACL")?,
            trusted,
        );
        let acl_bytes = r.at("ACL").lp32()?;
        let signature = Signature::read(r.at("signature"))?;
        r.finish()?;
        Ok(Self {
            acl: Acl::decode(trust(
                Reader::envelope(acl_bytes, Tag::Acl, "ACL")?,
                trusted,
            ))?,
            acl_bytes: acl_bytes.to_vec(),
            signature,
        })
    }
}

/// An ACL whose owner signature has been checked. Only [`SignedAcl::verify`] and
/// [`AclVerifier::accept`] make one; it has no decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAcl(Acl);

impl core::ops::Deref for VerifiedAcl {
    type Target = Acl;
    fn deref(&self) -> &Acl {
        &self.0
    }
}

/// Keeps the newest ACL version seen for one record and refuses older, expired, unsigned or
/// foreign ACLs (rollback protection for writers, readers and the SRS).
///
/// Its only state is the newest version seen ([`AclVerifier::highest`]): save it, and after a
/// restart build the verifier with [`AclVerifier::resume`]. A verifier built with
/// [`AclVerifier::new`] after a restart accepts any older signed ACL — the rollback it exists
/// to stop. [`crate::phr::AclHistory`] keeps the versions themselves too (what readers and the
/// owner need to open entries) and encodes to bytes.
#[derive(Clone, Debug)]
pub struct AclVerifier {
    record: RecordId,
    owner: VerifyingKey,
    highest: Option<AclVersion>,
}

impl AclVerifier {
    /// A verifier for `record`, owned by `owner` (a key the caller has authenticated).
    pub fn new(record: RecordId, owner: VerifyingKey) -> Self {
        Self {
            record,
            owner,
            highest: None,
        }
    }

    /// A verifier that has already seen `highest` (saved from [`AclVerifier::highest`]
    /// before a restart): it refuses every older version.
    pub fn resume(record: RecordId, owner: VerifyingKey, highest: AclVersion) -> Self {
        Self {
            record,
            owner,
            highest: Some(highest),
        }
    }

    /// The newest version accepted so far (what to save for [`AclVerifier::resume`]).
    pub fn highest(&self) -> Option<AclVersion> {
        self.highest
    }

    /// Verifies `signed` as the current policy at time `now`: right record, owner signature,
    /// not older than any version seen, not expired. Accepting the same version again is
    /// allowed.
    pub fn accept(&mut self, signed: &SignedAcl, now: Timestamp) -> Result<VerifiedAcl, Error> {
        let acl = &signed.acl;
        if acl.record != self.record {
            return Err(Error::acl_rejected(
                acl,
                AclProblem::WrongRecord {
                    expected: self.record,
                },
            ));
        }
        let verified = signed.verify(&self.owner)?;
        if let Some(seen) = self.highest {
            if acl.version < seen {
                return Err(Error::acl_rejected(acl, AclProblem::Stale { seen }));
            }
        }
        if acl.not_after < now {
            return Err(Error::acl_rejected(
                acl,
                AclProblem::Expired {
                    not_after: acl.not_after,
                    now,
                },
            ));
        }
        self.highest = Some(acl.version);
        Ok(verified)
    }
}

crate::macros::serde_via_bytes!(SignedAcl, "signed ACL");
