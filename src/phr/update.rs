//! Typed ACL changes and the key material they imply (ACL-driven key derivation, [SPEC §4](crate::notes::spec)).

use alloc::vec::Vec;

use crate::encoding::{self, Reader, Tag};
use crate::merkle::InclusionProof;
use crate::phr::{Epoch, Fingerprint, History, KeyBundle, RecordId, SectionId, SignedAcl};
use crate::pre::ReKey;
use crate::Error;

/// One typed change to an ACL.
///
/// serde: externally tagged in snake case, e.g. `{"grant_read": {"section": …, "reader":
/// …, "history": "none"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "snake_case", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum Change {
    /// Adds a section at epoch 0 with no readers or writers.
    AddSection {
        /// The section.
        section: SectionId,
    },
    /// Removes a section and all its grants (the SRS deletes every key for it).
    RemoveSection {
        /// The section.
        section: SectionId,
    },
    /// Grants read. With [`History::None`] the section rotates first.
    GrantRead {
        /// The section.
        section: SectionId,
        /// The reader's keys, whose fingerprint the owner has verified.
        reader: KeyBundle,
        /// Which earlier epochs it gets.
        history: History,
    },
    /// Revokes read: the reader's keys are deleted and the section rotates.
    RevokeRead {
        /// The section.
        section: SectionId,
        /// The reader.
        reader: Fingerprint,
    },
    /// Grants write.
    GrantWrite {
        /// The section.
        section: SectionId,
        /// The writer's keys.
        writer: KeyBundle,
    },
    /// Revokes write (no rotation needed).
    RevokeWrite {
        /// The section.
        section: SectionId,
        /// The writer.
        writer: Fingerprint,
    },
    /// Moves the section to a new epoch and key; current readers get keys for it.
    Rotate {
        /// The section.
        section: SectionId,
    },
    /// Sets the history new members get by default.
    SetDefaultHistory(History),
}

/// Names one stored re-encryption key: (reader, section, epoch) in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ReKeyId {
    /// The record.
    pub record: RecordId,
    /// The section.
    pub section: SectionId,
    /// The epoch.
    pub epoch: Epoch,
    /// The reader's fingerprint.
    pub reader: Fingerprint,
}

impl ReKeyId {
    pub(crate) const SIZE: usize = 16 + 16 + 4 + 32;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(self.section.as_bytes());
        out.extend_from_slice(&self.epoch.0.to_be_bytes());
        out.extend_from_slice(self.reader.as_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            record: RecordId::new(r.array()?),
            section: SectionId::new(r.array()?),
            epoch: Epoch(r.u32()?),
            reader: Fingerprint(r.array()?),
        })
    }
}

/// A re-encryption key to store, with what it is for and its proof of membership in the key
/// set the owner signed ([`crate::phr::Acl::key_set`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ReKeyGrant {
    /// Where it applies.
    pub id: ReKeyId,
    /// The key.
    pub rekey: ReKey,
    /// Its inclusion proof against the signed ACL's key-set root.
    pub proof: InclusionProof,
}

/// A new signed ACL and exactly the key material it implies: the keys to add, each with its
/// proof against the ACL's key-set commitment, and the ids of the keys to delete, both in
/// strictly increasing id order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclUpdate {
    pub(crate) acl: SignedAcl,
    pub(crate) add: Vec<ReKeyGrant>,
    pub(crate) delete: Vec<ReKeyId>,
}

impl AclUpdate {
    /// Assembles an update from its parts, unchecked: the SRS checks every part against the
    /// owner's signature (this is how transports that carry the parts separately, and tests
    /// that tamper with them, build one).
    pub fn from_parts(acl: SignedAcl, add: Vec<ReKeyGrant>, delete: Vec<ReKeyId>) -> Self {
        Self { acl, add, delete }
    }

    /// The new signed ACL.
    pub fn acl(&self) -> &SignedAcl {
        &self.acl
    }

    /// Re-encryption keys the SRS must add (one per reader per newly granted epoch).
    pub fn keys_to_add(&self) -> &[ReKeyGrant] {
        &self.add
    }

    /// Re-encryption keys the SRS must delete.
    pub fn keys_to_delete(&self) -> &[ReKeyId] {
        &self.delete
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::AclUpdate);
        let _ = encoding::put_lp32(&mut out, "ACL", &self.acl.to_bytes());
        let _ = encoding::put_count(&mut out, "keys", self.add.len());
        for g in &self.add {
            g.id.encode(&mut out);
            out.extend_from_slice(&g.rekey.to_bytes());
            g.proof.encode(&mut out);
        }
        let _ = encoding::put_count(&mut out, "keys", self.delete.len());
        for d in &self.delete {
            d.encode(&mut out);
        }
        out
    }

    /// Decodes (the ACL signature and the key proofs are checked by whoever applies the
    /// update). Keys must be in strictly increasing id order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::AclUpdate, "ACL update")?;
        let acl = SignedAcl::from_bytes(r.at("signed ACL").lp32()?)?;
        let mut add: Vec<ReKeyGrant> = Vec::new();
        for _ in 0..r.at("key count").count(ReKeyId::SIZE + ReKey::SIZE + 9)? {
            let id = ReKeyId::decode(r.at("key id (keys must be in increasing id order)"))?;
            if add.last().is_some_and(|last| last.id >= id) {
                return Err(r.invalid());
            }
            let rekey = ReKey::from_bytes(r.at("re-encryption key").take(ReKey::SIZE)?)?;
            let proof = InclusionProof::decode(r.at("key inclusion proof"))?;
            add.push(ReKeyGrant { id, rekey, proof });
        }
        let mut delete: Vec<ReKeyId> = Vec::new();
        for _ in 0..r.at("deleted key count").count(ReKeyId::SIZE)? {
            let id = ReKeyId::decode(r.at("deleted key id (in increasing id order)"))?;
            if delete.last().is_some_and(|last| *last >= id) {
                return Err(r.invalid());
            }
            delete.push(id);
        }
        r.finish()?;
        Ok(Self { acl, add, delete })
    }
}

crate::macros::serde_via_bytes!(AclUpdate, "ACL update");
