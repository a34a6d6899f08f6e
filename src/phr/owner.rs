//! The record owner (patient): a master secret, everything derived from it, and the ACL
//! changes with the key material they imply.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::{self, Reader, Tag};
use crate::phr::keyset::{key_ids, AclHash, KeySetCommitment};
use crate::phr::{
    Acl, AclProblem, AclUpdate, AclVersion, Change, Epoch, History, Limits, PrincipalKeys,
    ReKeyGrant, ReKeyId, ReaderGrant, RecordId, SectionId, SectionName, SectionPolicy, SignedAcl,
    Timestamp, VerifiedAcl,
};
use crate::pre::{ReKey, ReaderSecretKey, SectionSecretKey};
use crate::sign::{Purpose, SigningKey, VerifyingKey};
use crate::Error;

/// The owner's 32-byte master secret: every section key, id and the owner's own keys derive
/// from it. Wiped on drop, never printed.
///
/// Two forms, never to be mixed up:
/// - the **raw secret**, 32 bytes ([`MasterSecret::from_raw`], [`MasterSecret::to_raw`]): the
///   input of every derivation, what a paper backup holds;
/// - the **encoding**, [`MasterSecret::SIZE`] = 34 bytes: tag `0x10` ‖ format version ‖ the
///   32 bytes ([`MasterSecret::to_bytes`], [`MasterSecret::from_bytes`]), what a key store
///   holds, so a stored value says what it is and which format it uses.
///
/// No `serde`: to serialize it, say so with [`crate::secret::ExposeSecret`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterSecret([u8; 32]);

impl MasterSecret {
    /// Size of the encoding ([`MasterSecret::to_bytes`]): tag, version, 32 bytes.
    pub const SIZE: usize = 2 + 32;

    /// A fresh random master secret.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// From the 32 raw bytes (the caller's backup). Not the encoding: that is
    /// [`MasterSecret::from_bytes`].
    pub fn from_raw(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes (for a backup the caller formats itself), wiped when dropped. The
    /// inverse of [`MasterSecret::from_raw`].
    pub fn to_raw(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    /// The encoding (tag, version, the 32 raw bytes: [`MasterSecret::SIZE`] bytes), wiped
    /// when dropped. The inverse of [`MasterSecret::from_bytes`].
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::SIZE]> {
        encoding::secret_envelope(Tag::MasterSecret, &self.0)
    }

    /// Decodes the encoding of [`MasterSecret::to_bytes`]: length, tag, version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::MasterSecret, "master secret")?;
        let raw = Zeroizing::new(r.array::<32>()?);
        r.finish()?;
        Ok(Self(*raw))
    }

    fn info(label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut info = Vec::new();
        encoding::label(&mut info, label);
        for p in parts {
            encoding::put_lp_short(&mut info, p);
        }
        info
    }
}

impl core::fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MasterSecret(..)")
    }
}

/// A record owner.
#[derive(Clone)]
pub struct Owner {
    master: MasterSecret,
    keys: PrincipalKeys,
}

impl core::fmt::Debug for Owner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Owner")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Owner {
    /// Size of the encoding ([`Owner::to_bytes`]): tag, version, the raw master secret, the
    /// fingerprint of the owner's key bundle.
    pub const SIZE: usize = 2 + 32 + 32;

    /// The owner's secret state in one encoding, wiped when dropped: tag `0x31` ‖ format
    /// version ‖ the 32 raw master-secret bytes ‖ the fingerprint of the owner's public key
    /// bundle (a check value: [`Owner::from_bytes`] re-derives the keys and compares, so a
    /// corrupted secret or a derivation that changed is caught before anything is signed).
    ///
    /// Everything else an owner has (section keys, ids, its own keys) derives from the master
    /// secret; its ACLs are public and kept in an [`crate::phr::AclHistory`].
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::SIZE]> {
        encoding::secret_envelope_parts(
            Tag::Owner,
            &[&self.master.0, self.keys.bundle().fingerprint().as_bytes()],
        )
    }

    /// Decodes [`Owner::to_bytes`]: length, tag, version, then re-derives the keys from the
    /// master secret and checks them against the stored fingerprint
    /// ([`Error::InvalidEncoding`] if they differ).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let what = "owner";
        let mut r = Reader::envelope(bytes, Tag::Owner, what)?;
        let master = MasterSecret(r.array::<32>()?);
        let fingerprint = r.array::<32>()?;
        r.finish()?;
        let owner = Self::from_master(master)?;
        if owner.keys.bundle().fingerprint().as_bytes() != &fingerprint {
            return Err(Error::invalid(
                "owner (the keys do not match the stored fingerprint)",
            ));
        }
        Ok(owner)
    }

    /// An owner with a fresh master secret.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        // Derivations from a random secret cannot hit a zero scalar except with
        // probability 2^-254; retry rather than fail.
        loop {
            if let Ok(owner) = Self::from_master(MasterSecret::random(rng)) {
                return owner;
            }
        }
    }

    /// The owner whose everything derives from `master`.
    pub fn from_master(master: MasterSecret) -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        encoding::hkdf(
            &master.0,
            &MasterSecret::info(b"sesphr/v1/owner-signing", &[]),
            &mut seed[..],
        );
        let signing = SigningKey::from_seed(&seed)?;
        encoding::hkdf(
            &master.0,
            &MasterSecret::info(b"sesphr/v1/owner-reader", &[]),
            &mut seed[..],
        );
        let reader = ReaderSecretKey::from_seed(&seed)?;
        Ok(Self {
            master,
            keys: PrincipalKeys::from_parts(signing, reader),
        })
    }

    /// The master secret (for the caller's backup).
    pub fn master_secret(&self) -> &MasterSecret {
        &self.master
    }

    /// The owner's own principal keys (to register with the SRS, sign ACLs, log in).
    pub fn keys(&self) -> &PrincipalKeys {
        &self.keys
    }

    /// The key that verifies the owner's ACLs.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.keys.signing_key().verifying_key()
    }

    fn opaque_id(&self, kind: &[u8], name: &[u8]) -> Result<[u8; 16], Error> {
        if name.len() > usize::from(u16::MAX) {
            return Err(Error::InvalidName {
                reason: "longer than 65 535 bytes",
            });
        }
        let mut out = [0u8; 16];
        encoding::hkdf(
            &self.master.0,
            &MasterSecret::info(b"sesphr/v1/id", &[kind, name]),
            &mut out,
        );
        Ok(out)
    }

    /// The opaque id of the record the owner calls `name` (any non-empty name).
    pub fn record_id(&self, name: &str) -> Result<RecordId, Error> {
        if name.is_empty() {
            return Err(Error::InvalidName { reason: "empty" });
        }
        Ok(RecordId::new(self.opaque_id(b"record", name.as_bytes())?))
    }

    /// The opaque id of a section name: the name itself never leaves the owner.
    pub fn section_id(&self, name: &SectionName) -> SectionId {
        // Validated names are at most 64 bytes, so this cannot fail.
        SectionId::new(
            self.opaque_id(b"section", name.as_str().as_bytes())
                .unwrap_or_default(),
        )
    }

    /// The section key of (record, section, epoch):
    /// `HashToScalar(HKDF(master, lp("sesphr/v1/section") ‖ lp(record) ‖ lp(section) ‖ u32be(epoch)))`.
    pub fn section_key(
        &self,
        record: RecordId,
        section: SectionId,
        epoch: Epoch,
    ) -> Result<SectionSecretKey, Error> {
        let mut info = MasterSecret::info(
            b"sesphr/v1/section",
            &[record.as_bytes(), section.as_bytes()],
        );
        info.extend_from_slice(&epoch.0.to_be_bytes());
        SectionSecretKey::from_scalar(encoding::hash_to_scalar(
            &self.master.0,
            &info,
            "section key",
        )?)
    }

    /// Creates the first ACL (version 1) of `record`, with `changes` applied.
    pub fn create_record<R: RngCore + CryptoRng + ?Sized>(
        &self,
        record: RecordId,
        not_after: Timestamp,
        changes: &[Change],
        rng: &mut R,
    ) -> Result<AclUpdate, Error> {
        let empty = Acl {
            record,
            version: AclVersion(0),
            not_after,
            previous: AclHash::GENESIS,
            keys: KeySetCommitment {
                root: [0u8; 32],
                size: 0,
            },
            owner: self.keys.bundle(),
            default_history: History::None,
            sections: BTreeMap::new(),
            retired: BTreeMap::new(),
        };
        self.next_version(&empty, not_after, changes, rng)
    }

    /// Applies `changes` to `current` (the owner's own latest ACL): the next version, signed,
    /// valid until `not_after`, with exactly the re-encryption keys to add and delete.
    ///
    /// The key material is the difference between the (reader, section, epoch) grants of the
    /// two versions, so any sequence of changes yields exactly what it implies. The new
    /// version chains to `current` by hash and commits to its complete key set ([SPEC §7](crate::notes::spec)), so
    /// every key is computed, not just the new ones: one G2 multiplication per key.
    ///
    /// Within one version a section rotates at most once (several revocations share the
    /// rotation), and a section removed in it cannot be added back in the same version.
    pub fn update<R: RngCore + CryptoRng + ?Sized>(
        &self,
        current: &VerifiedAcl,
        not_after: Timestamp,
        changes: &[Change],
        rng: &mut R,
    ) -> Result<AclUpdate, Error> {
        self.next_version(current, not_after, changes, rng)
    }

    fn next_version<R: RngCore + CryptoRng + ?Sized>(
        &self,
        current: &Acl,
        not_after: Timestamp,
        changes: &[Change],
        rng: &mut R,
    ) -> Result<AclUpdate, Error> {
        if current.owner.signing_key() != &self.verifying_key() {
            return Err(Error::acl_rejected(current, AclProblem::WrongOwner));
        }
        let mut next = current.clone();
        next.version = AclVersion(current.version.0.checked_add(1).ok_or(Error::TooLong {
            what: "ACL version",
        })?);
        next.not_after = not_after;
        next.previous = if current.version == AclVersion(0) {
            AclHash::GENESIS
        } else {
            AclHash::of(&current.to_bytes()?)
        };
        let mut touched = Touched::default();
        for change in changes {
            self.apply(&mut next, change, &mut touched)?;
        }
        let before: BTreeSet<ReKeyId> = key_ids(current, Limits::OWNER_MAX_KEYS)?
            .into_iter()
            .collect();
        let after = key_ids(&next, Limits::OWNER_MAX_KEYS)?;
        let keys = self.rekeys(&next, &after)?;
        let (commitment, tree) =
            KeySetCommitment::build(&after.iter().copied().zip(keys.iter()).collect::<Vec<_>>());
        next.keys = commitment;
        let mut add = Vec::new();
        for (index, (id, rekey)) in after.iter().zip(keys).enumerate() {
            if !before.contains(id) {
                let proof = tree.proof(index).ok_or(Error::NotFound { what: "key" })?;
                add.push(ReKeyGrant {
                    id: *id,
                    rekey,
                    proof,
                });
            }
        }
        let after: BTreeSet<ReKeyId> = after.into_iter().collect();
        let delete = before.difference(&after).copied().collect();
        let acl_bytes = next.to_bytes()?;
        let signature =
            self.keys
                .signing_key()
                .sign(Purpose::Acl, &[&SignedAcl::digest(&acl_bytes)], rng)?;
        Ok(AclUpdate {
            acl: SignedAcl {
                acl: next,
                acl_bytes,
                signature,
            },
            add,
            delete,
        })
    }

    /// The re-encryption key of every id (in order), one section key per (section, epoch).
    fn rekeys(&self, acl: &Acl, ids: &[ReKeyId]) -> Result<Vec<ReKey>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        let mut section_key: Option<(SectionId, Epoch, SectionSecretKey)> = None;
        for id in ids {
            if !matches!(&section_key, Some((s, e, _)) if *s == id.section && *e == id.epoch) {
                let key = self.section_key(id.record, id.section, id.epoch)?;
                section_key = Some((id.section, id.epoch, key));
            }
            let reader = acl
                .sections
                .get(&id.section)
                .and_then(|s| s.readers.get(&id.reader))
                .ok_or(Error::NotFound { what: "reader" })?;
            if let Some((_, _, key)) = &section_key {
                out.push(ReKey::new(key, reader.bundle.reader_key()));
            }
        }
        Ok(out)
    }

    /// Rotates `section`, unless it already rotated in this version. (A section created in
    /// this version and rotated in it starts one epoch past its creation: harmless, the
    /// skipped epoch was never published.)
    fn rotate(
        &self,
        acl: &mut Acl,
        section: SectionId,
        touched: &mut Touched,
    ) -> Result<(), Error> {
        let record = acl.record;
        let policy = acl.sections.get_mut(&section).ok_or(Error::InvalidChange {
            reason: "no such section",
        })?;
        if !touched.rotated.insert(section) {
            return Ok(());
        }
        let epoch = policy.epoch.next()?;
        policy.key = self.section_key(record, section, epoch)?.public_key();
        policy.epoch = epoch;
        Ok(())
    }

    fn apply(&self, acl: &mut Acl, change: &Change, touched: &mut Touched) -> Result<(), Error> {
        let record = acl.record;
        let missing = Error::InvalidChange {
            reason: "no such section",
        };
        match change {
            Change::AddSection { section } => {
                if acl.sections.contains_key(section) {
                    return Err(Error::InvalidChange {
                        reason: "section already exists",
                    });
                }
                if touched.removed.contains(section) {
                    return Err(Error::InvalidChange {
                        reason: "a section removed in this version can be added again only in a later one",
                    });
                }
                let epoch = acl.retired.remove(section).unwrap_or_default();
                let key = self.section_key(record, *section, epoch)?.public_key();
                acl.sections.insert(
                    *section,
                    SectionPolicy {
                        epoch,
                        first: epoch,
                        key,
                        readers: BTreeMap::new(),
                        writers: BTreeMap::new(),
                    },
                );
            }
            Change::RemoveSection { section } => {
                let policy = acl.sections.remove(section).ok_or(missing)?;
                // An epoch rotated to in this version was never published, so a re-created
                // section may start there; otherwise at the next one.
                touched.removed.insert(*section);
                let next = if touched.rotated.contains(section) {
                    policy.epoch
                } else {
                    policy.epoch.next()?
                };
                acl.retired.insert(*section, next);
            }
            Change::GrantRead {
                section,
                reader,
                history,
            } => {
                let fp = reader.fingerprint();
                let policy = acl.sections.get(section).ok_or(missing)?;
                if policy.readers.contains_key(&fp) {
                    return Err(Error::InvalidChange {
                        reason: "already a reader of this section",
                    });
                }
                let first = policy.first;
                let from = match history {
                    History::None => {
                        self.rotate(acl, *section, touched)?;
                        acl.sections
                            .get(section)
                            .map(|p| p.epoch)
                            .unwrap_or_default()
                    }
                    // History never reaches before the section's latest creation.
                    History::FromEpoch(e) if *e <= policy.epoch => (*e).max(first),
                    History::FromEpoch(_) => {
                        return Err(Error::InvalidChange {
                            reason: "history starts after the current epoch",
                        })
                    }
                    History::All => first,
                };
                if let Some(p) = acl.sections.get_mut(section) {
                    p.readers.insert(
                        fp,
                        ReaderGrant {
                            bundle: *reader,
                            from,
                        },
                    );
                }
            }
            Change::RevokeRead { section, reader } => {
                let policy = acl.sections.get_mut(section).ok_or(missing)?;
                policy.readers.remove(reader).ok_or(Error::InvalidChange {
                    reason: "not a reader of this section",
                })?;
                self.rotate(acl, *section, touched)?;
            }
            Change::GrantWrite { section, writer } => {
                let policy = acl.sections.get_mut(section).ok_or(missing)?;
                if policy
                    .writers
                    .insert(writer.fingerprint(), *writer)
                    .is_some()
                {
                    return Err(Error::InvalidChange {
                        reason: "already a writer of this section",
                    });
                }
            }
            Change::RevokeWrite { section, writer } => {
                let policy = acl.sections.get_mut(section).ok_or(missing)?;
                policy.writers.remove(writer).ok_or(Error::InvalidChange {
                    reason: "not a writer of this section",
                })?;
            }
            Change::Rotate { section } => self.rotate(acl, *section, touched)?,
            Change::SetDefaultHistory(h) => acl.default_history = *h,
        }
        Ok(())
    }
}

/// The sections one version has rotated or removed: a section rotates at most once per
/// version, and one removed in it is not added back in it ([SPEC §7](crate::notes::spec)).
#[derive(Default)]
struct Touched {
    rotated: BTreeSet<SectionId>,
    removed: BTreeSet<SectionId>,
}
