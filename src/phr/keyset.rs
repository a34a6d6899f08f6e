//! What a signed ACL commits to besides its policy ([SPEC §7](crate::notes::spec)): the hash of the previous
//! version, and the complete set of re-encryption keys the SRS must hold for the record, as
//! an RFC 6962 Merkle root over the canonical (key id, key value) list.
//!
//! The key set is computed from what the ACL has — per reader, the epochs from its first to
//! the section's current one — and its size is computed arithmetically first, so no number
//! inside an ACL can make anyone enumerate more keys than a limit allows.

use alloc::vec::Vec;
use core::fmt;

use crate::encoding::{self, Reader};
use crate::merkle::{self, Hash};
use crate::phr::{Acl, Epoch, ReKeyId};
use crate::pre::ReKey;
use crate::Error;

/// The SHA-256 hash of an ACL's canonical encoding: what the next version chains to.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclHash(pub(crate) [u8; 32]);

impl AclHash {
    /// The `previous` of a record's first ACL: all zeros.
    pub const GENESIS: Self = Self([0u8; 32]);

    /// The hash of `acl_bytes` (an ACL's canonical encoding).
    pub fn of(acl_bytes: &[u8]) -> Self {
        Self(encoding::sha256(&[acl_bytes]))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wraps 32 bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes, by value (the encoding).
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
}

crate::macros::hex_bytes!(AclHash, 32, "ACL hash");

impl fmt::Debug for AclHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AclHash(")?;
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// The owner's commitment to a record's complete key set: the Merkle root over the leaves
/// `SHA-256(0x00 ‖ lp("sesphr/v1/keyset") ‖ key id ‖ key bytes)`, in key-id order, and the
/// number of keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySetCommitment {
    pub(crate) root: Hash,
    pub(crate) size: u64,
}

impl KeySetCommitment {
    /// The commitment to a list of (id, key) pairs in strictly increasing id order.
    pub(crate) fn build(keys: &[(ReKeyId, &ReKey)]) -> (Self, merkle::Tree) {
        let tree = merkle::Tree::new(keys.iter().map(|(id, rk)| key_leaf(id, rk)).collect());
        let commitment = Self {
            root: tree.root(),
            size: keys.len() as u64,
        };
        (commitment, tree)
    }

    /// The Merkle root.
    pub fn root(&self) -> &[u8; 32] {
        &self.root
    }

    /// The number of keys.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `rekey` is the key the owner committed to for `id`, at `proof`'s index.
    pub fn contains(&self, id: &ReKeyId, rekey: &ReKey, proof: &merkle::InclusionProof) -> bool {
        proof.verify(&key_leaf(id, rekey), self.size, &self.root)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.size.to_be_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            root: r.array()?,
            size: r.u64()?,
        })
    }
}

/// serde: `{ "root": hex, "size": n }`.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "KeySetCommitment", deny_unknown_fields)]
struct CommitmentRepr {
    #[serde(with = "crate::serde_bytes::hex")]
    root: Hash,
    size: u64,
}

#[cfg(feature = "serde")]
impl serde::Serialize for KeySetCommitment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CommitmentRepr {
            root: self.root,
            size: self.size,
        }
        .serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for KeySetCommitment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = CommitmentRepr::deserialize(d)?;
        Ok(Self {
            root: r.root,
            size: r.size,
        })
    }
}

impl fmt::Debug for KeySetCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySetCommitment({} keys, root ", self.size)?;
        for b in self.root.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// The leaf hash of one key.
pub(crate) fn key_leaf(id: &ReKeyId, rekey: &ReKey) -> Hash {
    key_leaf_bytes(id, &rekey.to_bytes())
}

/// The leaf hash of one key given its canonical encoding.
pub(crate) fn key_leaf_bytes(id: &ReKeyId, rekey: &[u8]) -> Hash {
    let mut data = Vec::with_capacity(20 + 68 + ReKey::SIZE);
    encoding::label(&mut data, b"sesphr/v1/keyset");
    id.encode(&mut data);
    data.extend_from_slice(rekey);
    merkle::leaf_hash(&data)
}

/// How many keys an ACL implies: one per reader per epoch from its first to the section's
/// current one. Arithmetic only (at most `readers × 2^32`, far below `u64::MAX`).
pub(crate) fn key_count(acl: &Acl) -> u64 {
    acl.sections
        .values()
        .flat_map(|p| {
            p.readers
                .values()
                .map(|g| u64::from(p.epoch.0.saturating_sub(g.from.0)) + 1)
        })
        .fold(0u64, u64::saturating_add)
}

/// Every key id an ACL implies, in strictly increasing order; refused if there would be more
/// than `limit` (checked before anything is enumerated).
pub(crate) fn key_ids(acl: &Acl, limit: u64) -> Result<Vec<ReKeyId>, Error> {
    let n = key_count(acl);
    if n > limit {
        return Err(Error::LimitExceeded {
            what: "re-encryption keys per record",
            limit,
        });
    }
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for (section, policy) in &acl.sections {
        for (reader, grant) in &policy.readers {
            for e in grant.from.0..=policy.epoch.0 {
                out.push(ReKeyId {
                    record: acl.record,
                    section: *section,
                    epoch: Epoch(e),
                    reader: *reader,
                });
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}
