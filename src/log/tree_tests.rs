//! The log tree against a reference computed naively from the leaves (RFC 6962 §2.1's
//! recursive definitions over the whole list), for every tree size from 1 to 300.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::tree::*;
use crate::merkle::{self, leaf_hash, node_hash, Hash, Tree};
use crate::Error;

/// RFC 6962's definitions, recursively over the leaf list.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => crate::encoding::sha256(&[]),
        1 => d[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn k_of(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = k_of(n);
    let mut out;
    if m < k {
        out = naive_path(m, &d[..k]);
        out.push(mth(&d[k..]));
    } else {
        out = naive_path(m - k, &d[k..]);
        out.push(mth(&d[..k]));
    }
    out
}

fn naive_subproof(m: usize, d: &[Hash], complete: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            alloc::vec![mth(d)]
        };
    }
    let k = k_of(n);
    let mut out;
    if m <= k {
        out = naive_subproof(m, &d[..k], complete);
        out.push(mth(&d[k..]));
    } else {
        out = naive_subproof(m - k, &d[k..], false);
        out.push(mth(&d[..k]));
    }
    out
}

/// A store of complete subtrees, filled only by `Frontier::push` (as the SRS fills rows).
struct Stored {
    leaves: Vec<Hash>,
    nodes: BTreeMap<(u8, u64), Hash>,
    frontier: Frontier,
    last_proofs: Vec<merkle::InclusionProof>,
}

impl Stored {
    fn new(n: usize) -> Self {
        let mut s = Stored {
            leaves: Vec::new(),
            nodes: BTreeMap::new(),
            frontier: Frontier::new(),
            last_proofs: Vec::new(),
        };
        for i in 0..n {
            let h = leaf_hash(&(i as u64).to_be_bytes());
            let (proof, completed) = s.frontier.push(h).unwrap();
            for (l, idx, h) in completed {
                assert!(s.nodes.insert((l, idx), h).is_none());
            }
            s.leaves.push(h);
            s.last_proofs.push(proof);
        }
        s
    }

    fn reader(&self) -> impl FnMut(u8, u64) -> Result<Hash, Error> + '_ {
        move |level, index| {
            if level == 0 {
                Ok(self.leaves[index as usize])
            } else {
                Ok(*self.nodes.get(&(level, index)).expect("a complete subtree"))
            }
        }
    }
}

const N: usize = 300;

#[test]
fn frontier_roots_and_appended_proofs_match_the_reference() {
    let s = Stored::new(N);
    let mut f = Frontier::new();
    assert_eq!(f.root(), mth(&[]));
    for n in 1..=N {
        f.push(s.leaves[n - 1]).unwrap();
        let want = mth(&s.leaves[..n]);
        assert_eq!(f.root(), want, "root of {n}");
        assert_eq!(Tree::new(s.leaves[..n].to_vec()).root(), want);
        // The proof returned by the append is the reference path of the last leaf.
        let p = &s.last_proofs[n - 1];
        assert_eq!(p.index(), (n - 1) as u64);
        assert_eq!(p.path(), naive_path(n - 1, &s.leaves[..n]).as_slice());
        assert!(p.verify(&s.leaves[n - 1], n as u64, &want));
    }
}

#[test]
fn inclusion_proofs_for_every_leaf_of_every_size() {
    let s = Stored::new(N);
    let mut nodes = s.reader();
    for n in 1..=N {
        let root = mth(&s.leaves[..n]);
        assert_eq!(root_at(&mut nodes, n as u64).unwrap(), root);
        for m in 0..n {
            let p = inclusion(&mut nodes, m as u64, n as u64).unwrap();
            assert_eq!(
                p.path(),
                naive_path(m, &s.leaves[..n]).as_slice(),
                "{m} in {n}"
            );
            assert!(p.verify(&s.leaves[m], n as u64, &root));
            assert!(!p.verify(&s.leaves[(m + 1) % N], n as u64, &root));
        }
        assert!(matches!(
            inclusion(&mut nodes, n as u64, n as u64),
            Err(Error::NotFound { .. })
        ));
    }
}

#[test]
fn consistency_proofs_for_every_pair_of_sizes() {
    let s = Stored::new(N);
    let mut nodes = s.reader();
    let roots: Vec<Hash> = (0..=N).map(|n| mth(&s.leaves[..n])).collect();
    let other = leaf_hash(b"other");
    for n in 1..=N {
        for m in 0..=n {
            let p = consistency(&mut nodes, m as u64, n as u64).unwrap();
            let want = if m == 0 || m == n {
                Vec::new()
            } else {
                naive_subproof(m, &s.leaves[..n], true)
            };
            assert_eq!(p.path(), want.as_slice(), "{m} -> {n}");
            assert!(p.verify(&roots[m], &roots[n]), "{m} -> {n}");
            // Wrong roots, a truncated or extended path, and other sizes all fail.
            assert!(!p.verify(&other, &roots[n]), "{m} -> {n}");
            // (Every tree extends the empty one.)
            assert_eq!(p.verify(&roots[m], &other), m == 0, "{m} -> {n}");
            if !p.path().is_empty() {
                let cut = ConsistencyProof::new(m as u64, n as u64, p.path()[1..].to_vec());
                assert!(!cut.unwrap().verify(&roots[m], &roots[n]), "{m} -> {n}");
                let mut bent = p.path().to_vec();
                bent[0][0] ^= 1;
                let bent = ConsistencyProof::new(m as u64, n as u64, bent).unwrap();
                assert!(!bent.verify(&roots[m], &roots[n]), "{m} -> {n}");
            }
            let mut longer = p.path().to_vec();
            longer.push(other);
            let longer = ConsistencyProof::new(m as u64, n as u64, longer).unwrap();
            assert!(!longer.verify(&roots[m], &roots[n]), "{m} -> {n}");
            if m > 0 && m < n {
                let moved = ConsistencyProof::new(m as u64 - 1, n as u64, p.path().to_vec());
                assert!(
                    !moved.unwrap().verify(&roots[m - 1], &roots[n]),
                    "{m} -> {n}"
                );
            }
        }
        assert!(consistency(&mut nodes, n as u64 + 1, n as u64).is_err());
    }
}

#[test]
fn frontier_encoding_round_trips_and_refuses_wrong_counts() {
    let s = Stored::new(13);
    let mut out = Vec::new();
    s.frontier.encode(&mut out);
    let back = Frontier::decode(&mut crate::encoding::Reader::raw(&out, "frontier")).unwrap();
    assert_eq!(back, s.frontier);
    // 13 = 0b1101: three hashes; claiming two is refused.
    out[8] = 2;
    assert!(Frontier::decode(&mut crate::encoding::Reader::raw(&out, "frontier")).is_err());
}

#[test]
fn over_long_consistency_proofs_are_refused() {
    let long = alloc::vec![[0u8; 32]; MAX_CONSISTENCY + 1];
    assert!(matches!(
        ConsistencyProof::new(1, 2, long),
        Err(Error::TooLong { .. })
    ));
}
