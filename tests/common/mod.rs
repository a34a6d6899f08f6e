//! Shared helpers for the integration tests: deterministic RNGs and hostile GT elements.
#![allow(dead_code)]

use ark_bls12_381::{Fq, Fq12};
use ark_ff::{Field, One};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// A deterministic RNG for reproducible tests.
pub fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// Φ12(p) / 4513 for BLS12-381, big-endian hex (computed once with Python's integers and
/// checked in the test by raising the result to 4513).
const PHI12_OVER_4513: &str = "6552a4bb30e884792d56b767a0ff34202c35e1745877f7bbcfbd62c9ee0b366090e00227c1f0b91e6e264e57deb6263e26c181d1c6ac88d6dd01f53279553cc486189e16a228a00ecd6bdb453852a169b0cab754dcb74fc1c134a671f6b0dc97447a3e96981e3ef618ab612749d5d4c600988f6c3b0a2db1754d3ef43feb5094f664d01f3d5ba756d010548081e28cfd1a2a5f33ab5e8587ab22ef0aad3de271e9f30db60be8b45143a5e8da1ac92a0f0168e49bde55b163f39ac229d9";

fn limbs_from_hex(h: &str) -> Vec<u64> {
    let padded = format!("{:0>width$}", h, width = h.len().div_ceil(16) * 16);
    padded
        .as_bytes()
        .rchunks(16)
        .map(|c| u64::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

/// Maps any non-zero Fq12 element into the cyclotomic subgroup: `g^((p^6 - 1)(p^2 + 1))`.
pub fn to_cyclotomic(g: Fq12) -> Fq12 {
    let mut c = g;
    c.conjugate_in_place();
    c *= g.inverse().unwrap();
    let mut c2 = c;
    c2.frobenius_map_in_place(2);
    c2 * c
}

/// An element of order exactly 4513 in the cyclotomic subgroup of Fq12.
pub fn order_4513() -> Fq12 {
    let mut seed = 2u64;
    loop {
        let g = Fq12::new(
            ark_bls12_381::Fq6::new(
                ark_bls12_381::Fq2::new(Fq::from(seed), Fq::from(1u64)),
                ark_bls12_381::Fq2::new(Fq::from(3u64), Fq::from(seed + 5)),
                Default::default(),
            ),
            // A non-zero second half: elements of Fq6 are fixed by conjugation and would map to 1.
            ark_bls12_381::Fq6::new(
                ark_bls12_381::Fq2::new(Fq::from(seed * 7 + 1), Fq::from(11u64)),
                Default::default(),
                ark_bls12_381::Fq2::new(Fq::from(13u64), Fq::from(seed)),
            ),
        );
        let s = to_cyclotomic(g).pow(limbs_from_hex(PHI12_OVER_4513));
        if !s.is_one() {
            assert!(s.pow([4513u64]).is_one(), "order must divide 4513");
            return s;
        }
        seed += 1;
        assert!(seed < 50, "no element of order 4513 found");
    }
}

/// A primitive cube root of unity in Fq (a root of x² + x + 1), as an Fq12 element.
pub fn cube_root_of_unity() -> Fq12 {
    let minus3 = -Fq::from(3u64);
    let s = minus3.sqrt().expect("p ≡ 1 mod 3, so -3 is a square");
    let w = (s - Fq::one()) * Fq::from(2u64).inverse().unwrap();
    assert!(w.pow([3u64]) == Fq::one() && w != Fq::one());
    let mut out = Fq12::one();
    out.c0.c0.c0 = w;
    out
}
pub mod entries;
pub mod record;
pub mod world;
