//! Merkle tree hashing of RFC 6962 §2.1 (RFC 9162 §2.1): the tree shape, the leaf and node
//! prefixes, inclusion proofs and their verification.
//!
//! Written by hand rather than taken from `ct-merkle`: that crate is generic over the
//! `digest` 0.10 traits, while this crate uses RustCrypto's `sha2` 0.11, and the part needed
//! here (root, audit path, verification) is about a hundred lines. It is checked against the
//! published Certificate Transparency test vectors in the unit tests below.
//!
//! Callers domain-separate their leaves themselves (the leaf *data* starts with a purpose
//! label); this module adds only the RFC's `0x00` / `0x01` prefixes.

use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::encoding::Reader;
use crate::Error;

/// A 32-byte SHA-256 tree hash (leaf or node).
pub type Hash = [u8; 32];

/// The longest audit path of a tree with at most `2^64 - 1` leaves.
pub const MAX_PATH: usize = 64;

/// `SHA-256(0x00 ‖ data)`: the hash of one leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A whole tree, level by level: `levels[0]` are the leaf hashes, the last level is the
/// root. Pairing nodes left to right and carrying an unpaired last node up a level gives
/// exactly RFC 6962's shape (split at the largest power of two below the size).
#[derive(Clone, Debug)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// Builds the tree over `leaves` (leaf hashes): `O(n)` hashes.
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = alloc::vec![leaves];
        while let Some(top) = levels.last().filter(|l| l.len() > 1) {
            let next = top
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node_hash(l, r),
                    [one] => *one,
                    _ => unreachable_hash(),
                })
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    /// The number of leaves.
    pub fn size(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// The Merkle Tree Hash (`SHA-256("")` for the empty tree).
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(r) => *r,
            None => Sha256::digest([]).into(),
        }
    }

    /// The inclusion proof of leaf `index` (RFC 6962 `PATH(m, D[n])`, leaf side first), or
    /// `None` if `index` is out of range: `O(log n)`.
    pub fn proof(&self, index: usize) -> Option<InclusionProof> {
        if index >= self.size() {
            return None;
        }
        let mut path = Vec::new();
        let mut m = index;
        let below_root = self.levels.split_last().map_or(&[][..], |(_, rest)| rest);
        for level in below_root {
            if let Some(sibling) = level.get(m ^ 1) {
                path.push(*sibling);
            }
            m >>= 1;
        }
        Some(InclusionProof {
            index: index as u64,
            path,
        })
    }
}

/// Chunks of two have one or two elements; this value is never produced.
fn unreachable_hash() -> Hash {
    [0u8; 32]
}

/// The Merkle Tree Hash of a list of leaf hashes (`SHA-256("")` for the empty list).
pub fn root(leaves: &[Hash]) -> Hash {
    Tree::new(leaves.to_vec()).root()
}

/// An inclusion proof: a leaf's index in a tree and its audit path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InclusionProof {
    index: u64,
    path: Vec<Hash>,
}

impl InclusionProof {
    /// A proof for leaf `index` with audit path `path` (at most [`MAX_PATH`] hashes).
    pub fn new(index: u64, path: Vec<Hash>) -> Result<Self, Error> {
        if path.len() > MAX_PATH {
            return Err(Error::TooLong {
                what: "inclusion proof",
            });
        }
        Ok(Self { index, path })
    }

    /// The leaf's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The audit path, leaf side first.
    pub fn path(&self) -> &[Hash] {
        &self.path
    }

    /// Whether `leaf` (a leaf hash) is at this proof's index in the tree of `size` leaves
    /// whose root is `root` (RFC 9162 §2.1.3.2). Constant work per path element.
    pub fn verify(&self, leaf: &Hash, size: u64, root: &Hash) -> bool {
        if self.index >= size {
            return false;
        }
        let (mut f, mut s) = (self.index, size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if s == 0 {
                return false;
            }
            if f & 1 == 1 || f == s {
                r = node_hash(p, &r);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        s == 0 && r == *root
    }

    /// Appends `index (u64) ‖ count (u8) ‖ hashes`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.index.to_be_bytes());
        // `new` bounds the path to 64 hashes.
        out.push(u8::try_from(self.path.len()).unwrap_or(u8::MAX));
        for h in &self.path {
            out.extend_from_slice(h);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let index = r.u64()?;
        let n = usize::from(r.u8()?);
        if n > MAX_PATH {
            return Err(r.invalid());
        }
        let mut path = Vec::with_capacity(n);
        for _ in 0..n {
            path.push(r.array()?);
        }
        Ok(Self { index, path })
    }
}

/// serde: `{ "index": n, "path": [hex, …] }`; decoding bounds the path like
/// [`InclusionProof::new`].
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "InclusionProof", deny_unknown_fields)]
struct ProofRepr {
    index: u64,
    #[serde(with = "crate::serde_bytes::hex_list")]
    path: Vec<Hash>,
}

#[cfg(feature = "serde")]
impl serde::Serialize for InclusionProof {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ProofRepr {
            index: self.index,
            path: self.path.clone(),
        }
        .serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for InclusionProof {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ProofRepr::deserialize(d)?;
        Self::new(r.index, r.path)
            .map_err(|e| serde::de::Error::custom(alloc::format!("inclusion proof: {e}")))
    }
}

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &["InclusionProof"];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        (
            "Tree",
            "an in-memory tree built from its leaves: encode the leaves or the proofs",
        ),
        (
            "Hash",
            "a type alias of [u8; 32]: the values that hold one encode it",
        ),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Hash {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The Certificate Transparency test leaves (RFC 6962 reference implementation).
    fn ct_leaves() -> Vec<Hash> {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        data.iter().map(|d| leaf_hash(d)).collect()
    }

    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn ct_roots() {
        let leaves = ct_leaves();
        assert_eq!(
            root(&[]),
            unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        for (n, want) in CT_ROOTS.iter().enumerate() {
            assert_eq!(root(&leaves[..=n]), unhex(want), "tree of {}", n + 1);
        }
    }

    #[test]
    fn ct_audit_path() {
        // The reference implementation's path for leaf 0 of the 8-leaf tree.
        let path = Tree::new(ct_leaves()).proof(0).unwrap().path;
        let want = [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ];
        assert_eq!(path, want.iter().map(|h| unhex(h)).collect::<Vec<_>>());
    }

    #[test]
    fn every_leaf_of_every_size_verifies_and_nothing_else_does() {
        let leaves: Vec<Hash> = (0u8..23).map(|i| leaf_hash(&[i])).collect();
        for n in 1..=leaves.len() {
            let t = &leaves[..n];
            let tree = Tree::new(t.to_vec());
            let r = tree.root();
            assert_eq!(tree.size(), n);
            for (i, leaf) in t.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(proof.verify(leaf, n as u64, &r));
                // Wrong leaf, index out of range, wrong root, other index. (The size is not
                // bound by the path alone: a verifier takes it from the same signed
                // statement as the root, as RFC 9162 does.)
                assert!(!proof.verify(&leaf_hash(b"x"), n as u64, &r));
                assert!(!proof.verify(leaf, i as u64, &r));
                assert!(!proof.verify(leaf, n as u64, &leaf_hash(b"x")));
                if n > 1 {
                    let other = InclusionProof::new(((i + 1) % n) as u64, proof.path.clone());
                    assert!(!other.unwrap().verify(leaf, n as u64, &r));
                }
            }
            assert!(tree.proof(n).is_none());
        }
    }

    #[test]
    fn over_long_paths_are_refused() {
        let long = alloc::vec![[0u8; 32]; MAX_PATH + 1];
        assert!(matches!(
            InclusionProof::new(0, long),
            Err(Error::TooLong { .. })
        ));
    }
}
