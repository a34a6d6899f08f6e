//! Read-only, structured views of a signed ACL and of an entry, for humans and logs: every
//! field named, ids and fingerprints in hex, keys in their canonical hex. With the `serde`
//! feature they serialize (to JSON, say); there is no `Deserialize`: a view is a report, not
//! an input. To store or send the values themselves, use their canonical bytes.

use alloc::vec::Vec;

use crate::dem::NoncePrefix;
use crate::phr::{
    Acl, AclHash, AclVersion, BodyHeader, EntryId, Epoch, Fingerprint, History, KeyBlock, RecordId,
    SealedEntry, SectionId, SectionPolicy, SignedAcl, Timestamp,
};
use crate::pre::{Capsule, SectionPublicKey};

/// A signed ACL, field by field (see [`SignedAcl::view`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AclView {
    /// The record it governs.
    pub record: RecordId,
    /// Its version.
    pub version: AclVersion,
    /// The last time it may be relied on.
    pub not_after: Timestamp,
    /// The hash of its canonical bytes (what the next version chains to), where known.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub hash: Option<AclHash>,
    /// The hash of the version it follows (all zeros for the first).
    pub previous: AclHash,
    /// The Merkle root of the re-encryption key set it commits to.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    pub key_set_root: [u8; 32],
    /// The number of re-encryption keys in that set.
    pub key_set_size: u64,
    /// The owner's key fingerprint.
    pub owner: Fingerprint,
    /// The history new readers get by default.
    pub default_history: History,
    /// The sections, in id order.
    pub sections: Vec<SectionView>,
    /// Removed sections and the epoch a re-added one starts at.
    pub retired: Vec<RetiredView>,
}

/// One section of an ACL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SectionView {
    /// The section (absent when a policy is viewed on its own).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub id: Option<SectionId>,
    /// The current epoch.
    pub epoch: Epoch,
    /// The epoch the section was (last) created at.
    pub first_epoch: Epoch,
    /// The current section public key.
    pub key: SectionPublicKey,
    /// The readers, in fingerprint order.
    pub readers: Vec<ReaderView>,
    /// The writers' fingerprints, in order.
    pub writers: Vec<Fingerprint>,
}

/// One reader of a section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ReaderView {
    /// The reader's key fingerprint.
    pub fingerprint: Fingerprint,
    /// The first epoch it may read.
    pub from_epoch: Epoch,
}

/// A removed section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RetiredView {
    /// The section.
    pub id: SectionId,
    /// The epoch a re-added section with this id starts at.
    pub next_epoch: Epoch,
}

impl SectionView {
    pub(crate) fn of(p: &SectionPolicy, id: Option<SectionId>) -> Self {
        Self {
            id,
            epoch: p.epoch,
            first_epoch: p.first,
            key: p.key,
            readers: p
                .readers
                .iter()
                .map(|(fp, g)| ReaderView {
                    fingerprint: *fp,
                    from_epoch: g.from,
                })
                .collect(),
            writers: p.writers.keys().copied().collect(),
        }
    }
}

impl Acl {
    /// A read-only view for humans and logs (no hash: see [`SignedAcl::view`]).
    pub fn view(&self) -> AclView {
        AclView {
            record: self.record,
            version: self.version,
            not_after: self.not_after,
            hash: None,
            previous: self.previous,
            key_set_root: *self.keys.root(),
            key_set_size: self.keys.size(),
            owner: self.owner.fingerprint(),
            default_history: self.default_history,
            sections: self
                .sections
                .iter()
                .map(|(id, p)| SectionView::of(p, Some(*id)))
                .collect(),
            retired: self
                .retired
                .iter()
                .map(|(id, next)| RetiredView {
                    id: *id,
                    next_epoch: *next,
                })
                .collect(),
        }
    }
}

impl SignedAcl {
    /// A read-only view of the (unverified) ACL and its hash, for humans and logs:
    /// `serde_json::to_string_pretty(&signed.view())`.
    pub fn view(&self) -> AclView {
        AclView {
            hash: Some(self.hash()),
            ..self.acl.view()
        }
    }
}

/// An entry's body header, field by field (see [`BodyHeader::view`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HeaderView {
    /// The record.
    pub record: RecordId,
    /// The section.
    pub section: SectionId,
    /// The entry id.
    pub entry: EntryId,
    /// The writer's key fingerprint.
    pub writer: Fingerprint,
    /// The ACL version the writer relied on.
    pub acl_version: AclVersion,
    /// The STREAM nonce prefix.
    pub nonce_prefix: NoncePrefix,
    /// `H(body header)`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    pub hash: [u8; 32],
}

/// An entry's key block, field by field (see [`KeyBlock::view`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeyBlockView {
    /// The epoch of the section key.
    pub epoch: Epoch,
    /// The section public key the data key is encapsulated to.
    pub section_key: SectionPublicKey,
    /// The capsule.
    pub capsule: Capsule,
    /// The hash of the header it belongs to.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    pub header_hash: [u8; 32],
    /// Whether the owner re-wrapped (and signed) it.
    pub rewrapped: bool,
}

/// A sealed entry, without its body (see [`SealedEntry::view`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EntryView {
    /// The body header.
    pub header: HeaderView,
    /// The key block.
    pub key_block: KeyBlockView,
    /// The body ciphertext's length in bytes.
    pub body_len: u64,
    /// SHA-256 of the body ciphertext.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    pub body_hash: [u8; 32],
}

impl BodyHeader {
    /// A read-only view for humans and logs.
    pub fn view(&self) -> HeaderView {
        HeaderView {
            record: self.record(),
            section: self.section(),
            entry: self.entry(),
            writer: self.writer(),
            acl_version: self.acl_version(),
            nonce_prefix: self.nonce_prefix(),
            hash: self.hash(),
        }
    }
}

impl KeyBlock {
    /// A read-only view for humans and logs.
    pub fn view(&self) -> KeyBlockView {
        KeyBlockView {
            epoch: self.epoch(),
            section_key: *self.section_key(),
            capsule: *self.capsule(),
            header_hash: self.header_hash(),
            rewrapped: self.is_rewrapped(),
        }
    }
}

impl SealedEntry {
    /// A read-only view of the header, the key block and the body's size and hash (never
    /// its contents), for humans and logs.
    pub fn view(&self) -> EntryView {
        EntryView {
            header: self.header().view(),
            key_block: self.key_block().view(),
            body_len: self.body().len() as u64,
            body_hash: self.body_hash(),
        }
    }
}
