//! The log's tree arithmetic on RFC 6962 / RFC 9162 hashing ([`crate::merkle`]): the compact
//! frontier an append needs, inclusion and consistency proofs built from stored subtree
//! hashes, and the RFC 9162 §2.1.4.2 verification of a consistency proof.
//!
//! A log of `n` leaves is stored as its leaves and the hash of every *complete* subtree
//! (`2^l` leaves starting at a multiple of `2^l`). The frontier — the complete subtrees of
//! the binary decomposition of `n`, at most 64 hashes — is all an append reads: pushing a
//! leaf merges it with the frontier's trailing subtrees, which yields both the new complete
//! subtrees to store and the new leaf's inclusion proof. Any other proof reads `O(log n)`
//! stored subtree hashes.

use alloc::vec::Vec;

use crate::encoding::Reader;
use crate::merkle::{node_hash, Hash, InclusionProof, MAX_PATH};
use crate::Error;

/// The largest power of two strictly below `n` (`n ≥ 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `SHA-256("")`: the root of the empty tree.
fn empty_root() -> Hash {
    crate::encoding::sha256(&[])
}

/// The complete subtrees of a tree's binary decomposition, left (largest) to right: enough
/// to append a leaf and to compute the root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

/// A complete subtree finished by an append: level `l` (`2^l` leaves) and index `i` (it
/// covers leaves `i·2^l .. (i+1)·2^l`).
pub(crate) type Completed = (u8, u64, Hash);

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtrees' hashes, largest first (one per set bit of the size).
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root (Merkle Tree Hash) of the tree: `O(log n)` hashes.
    pub fn root(&self) -> Hash {
        let mut it = self.hashes.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |r, h| node_hash(h, &r))
    }

    /// Appends a leaf hash; returns its inclusion proof in the new tree and the complete
    /// subtrees (level ≥ 1) the append finished.
    pub(crate) fn push(&mut self, leaf: Hash) -> Result<(InclusionProof, Vec<Completed>), Error> {
        let index = self.size;
        let size = index.checked_add(1).ok_or(Error::TooLong { what: "log" })?;
        let mut path = Vec::new();
        let mut completed = Vec::new();
        let (mut h, mut level, mut at) = (leaf, 0u8, index);
        while at & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                return Err(Error::invalid("log frontier"));
            };
            path.push(left);
            h = node_hash(&left, &h);
            level += 1;
            at >>= 1;
            completed.push((level, at, h));
        }
        path.extend(self.hashes.iter().rev().copied());
        self.hashes.push(h);
        self.size = size;
        Ok((InclusionProof::new(index, path)?, completed))
    }

    /// Appends leaf hashes in order.
    pub fn extend<'a>(&mut self, leaves: impl IntoIterator<Item = &'a Hash>) -> Result<(), Error> {
        for l in leaves {
            self.push(*l)?;
        }
        Ok(())
    }

    /// `size (u64) ‖ count (u8) ‖ hashes`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.size.to_be_bytes());
        // At most 64 hashes: one per set bit of the size.
        out.push(self.hashes.len() as u8);
        for h in &self.hashes {
            out.extend_from_slice(h);
        }
    }

    /// Decodes and checks that the hash count is the number of set bits of the size.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let size = r.u64()?;
        let n = usize::from(r.u8()?);
        if n != size.count_ones() as usize {
            return Err(r.invalid());
        }
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            hashes.push(r.array()?);
        }
        Ok(Self { size, hashes })
    }
}

/// Reads the hash of a complete subtree: `(level, index)` as in [`Completed`] (level 0 is a
/// leaf hash).
pub(crate) trait Nodes {
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Error>;
}

impl<F: FnMut(u8, u64) -> Result<Hash, Error>> Nodes for F {
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Error> {
        self(level, index)
    }
}

/// `MTH(D[a..b])` for a range the RFC's recursion produces (`b > a`; a power-of-two range
/// starts at a multiple of its size).
fn mth(nodes: &mut impl Nodes, a: u64, b: u64) -> Result<Hash, Error> {
    let n = b - a;
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return nodes.node(level as u8, a >> level);
    }
    let k = split(n);
    let left = mth(nodes, a, a + k)?;
    let right = mth(nodes, a + k, b)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves: `O(log n)` reads.
#[cfg(test)]
pub(crate) fn root_at(nodes: &mut impl Nodes, size: u64) -> Result<Hash, Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    mth(nodes, 0, size)
}

/// RFC 6962 `PATH(m, D[a..b])`, leaf side first.
fn path(nodes: &mut impl Nodes, m: u64, a: u64, b: u64, out: &mut Vec<Hash>) -> Result<(), Error> {
    let n = b - a;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < a + k {
        path(nodes, m, a, a + k, out)?;
        out.push(mth(nodes, a + k, b)?);
    } else {
        path(nodes, m, a + k, b, out)?;
        out.push(mth(nodes, a, a + k)?);
    }
    Ok(())
}

/// The inclusion proof of leaf `index` in the tree of its first `size` leaves.
pub(crate) fn inclusion(
    nodes: &mut impl Nodes,
    index: u64,
    size: u64,
) -> Result<InclusionProof, Error> {
    if index >= size {
        return Err(Error::NotFound {
            what: "log leaf at that tree size",
        });
    }
    let mut out = Vec::new();
    path(nodes, index, 0, size, &mut out)?;
    InclusionProof::new(index, out)
}

/// RFC 6962 `SUBPROOF(m, D[a..b], complete)`.
fn subproof(
    nodes: &mut impl Nodes,
    m: u64,
    a: u64,
    b: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), Error> {
    let n = b - a;
    if m == n {
        if !complete {
            out.push(mth(nodes, a, b)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(nodes, m, a, a + k, complete, out)?;
        out.push(mth(nodes, a + k, b)?);
    } else {
        subproof(nodes, m - k, a + k, b, false, out)?;
        out.push(mth(nodes, a, a + k)?);
    }
    Ok(())
}

/// The most hashes a consistency proof between trees of at most `2^64 - 1` leaves holds.
pub const MAX_CONSISTENCY: usize = 2 * MAX_PATH;

/// A consistency proof: that the tree of `to` leaves extends the tree of its first `from`
/// leaves (RFC 9162 §2.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConsistencyProof {
    from: u64,
    to: u64,
    path: Vec<Hash>,
}

/// The proof that the first `to` leaves extend the first `from`: `O(log n)` reads.
pub(crate) fn consistency(
    nodes: &mut impl Nodes,
    from: u64,
    to: u64,
) -> Result<ConsistencyProof, Error> {
    if from > to {
        return Err(Error::NotFound {
            what: "log prefix larger than the log",
        });
    }
    let mut path = Vec::new();
    if from > 0 && from < to {
        subproof(nodes, from, 0, to, true, &mut path)?;
    }
    ConsistencyProof::new(from, to, path)
}

impl ConsistencyProof {
    /// A proof from `from` to `to` leaves with `path` (at most [`MAX_CONSISTENCY`] hashes).
    pub fn new(from: u64, to: u64, path: Vec<Hash>) -> Result<Self, Error> {
        if path.len() > MAX_CONSISTENCY {
            return Err(Error::TooLong {
                what: "consistency proof",
            });
        }
        Ok(Self { from, to, path })
    }

    /// The size of the older tree.
    pub fn from(&self) -> u64 {
        self.from
    }

    /// The size of the newer tree.
    pub fn to(&self) -> u64 {
        self.to
    }

    /// The proof's hashes.
    pub fn path(&self) -> &[Hash] {
        &self.path
    }

    /// Whether the tree of [`Self::to`] leaves with root `new` extends the tree of
    /// [`Self::from`] leaves with root `old` (RFC 9162 §2.1.4.2; an empty tree is extended
    /// by every tree). Constant work per hash.
    pub fn verify(&self, old: &Hash, new: &Hash) -> bool {
        let (first, second) = (self.from, self.to);
        if first > second {
            return false;
        }
        if first == second {
            return self.path.is_empty() && old == new;
        }
        if first == 0 {
            return self.path.is_empty() && *old == empty_root();
        }
        let mut proof = self.path.iter();
        let start = if first.is_power_of_two() {
            *old
        } else {
            match proof.next() {
                Some(h) => *h,
                None => return false,
            }
        };
        let (mut f, mut s) = (first - 1, second - 1);
        while f & 1 == 1 {
            f >>= 1;
            s >>= 1;
        }
        let (mut fr, mut sr) = (start, start);
        for c in proof {
            if s == 0 {
                return false;
            }
            if f & 1 == 1 || f == s {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            f >>= 1;
            s >>= 1;
        }
        fr == *old && sr == *new && s == 0
    }

    /// The canonical encoding: tag, version, `from`, `to`, the hash count, the hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(19 + 32 * self.path.len());
        crate::encoding::header(&mut out, crate::encoding::Tag::ConsistencyProof);
        self.encode(&mut out);
        out
    }

    /// Decodes (checked by [`ConsistencyProof::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let what = "consistency proof";
        let mut r = Reader::envelope(bytes, crate::encoding::Tag::ConsistencyProof, what)?;
        let out = Self::decode(&mut r)?;
        r.finish()?;
        Ok(out)
    }

    /// `from (u64) ‖ to (u64) ‖ count (u8) ‖ hashes`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.from.to_be_bytes());
        out.extend_from_slice(&self.to.to_be_bytes());
        // `new` bounds the path to 128 hashes.
        out.push(self.path.len() as u8);
        for h in &self.path {
            out.extend_from_slice(h);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let from = r.u64()?;
        let to = r.u64()?;
        let n = usize::from(r.u8()?);
        if n > MAX_CONSISTENCY {
            return Err(r.invalid());
        }
        let mut path = Vec::with_capacity(n);
        for _ in 0..n {
            path.push(r.array()?);
        }
        Ok(Self { from, to, path })
    }
}

crate::macros::serde_via_bytes!(ConsistencyProof, "consistency proof");
