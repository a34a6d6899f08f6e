//! The re-encryption pairing on [blst](https://github.com/supranational/blst) (feature `blst`,
//! on by default): `e(P, Q)` for a `Q` whose Miller-loop lines are computed once and kept.
//!
//! blst is the audited, constant-time BLS12-381 library under most Ethereum clients. Measured
//! on this project's machine, its Miller loop over precomputed lines and final exponentiation
//! take about 0.54× the time of arkworks' prepared pairing (BENCHMARKS.md, issue 15). The
//! arkworks path stays the reference: [`reference`] computes the same pairing with arkworks,
//! and the tests check the two give byte-identical results over thousands of random points and
//! the known-answer vectors.
//!
//! Points cross between the libraries without any arithmetic: both keep BLS12-381 base-field
//! elements as six little-endian 64-bit limbs in Montgomery form with `R = 2^384`, and both
//! build `Fp2 = Fp[u]/(u²+1)`, `Fp6 = Fp2[v]/(v³-(u+1))`, `Fp12 = Fp6[w]/(w²-v)`. The result
//! comes back through blst's canonical big-endian encoding (12 × 48 bytes, ordered
//! `c{j}.c{i}.c{k}` for `i` in 0..3, `j` in 0..2, `k` in 0..2, as `blst_bendian_from_fp12`
//! writes it), so nothing relies on blst keeping its limbs fully reduced.
//!
//! This is the crate's only module with `unsafe` code: two calls into blst's C functions that
//! its safe Rust API does not wrap (`blst_precompute_lines`, `blst_miller_loop_lines`), each
//! with its `// SAFETY:` argument.
#![allow(unsafe_code)]

use alloc::boxed::Box;

use ark_bls12_381::{Bls12_381, Fq, Fq12, Fq2, Fq6, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_ff::{One, PrimeField};
use blst::{blst_fp, blst_fp12, blst_fp2, blst_fp6, blst_p1_affine, blst_p2_affine};

/// How many line values blst's precomputation writes: one per doubling and addition step of
/// the BLS12-381 Miller loop (`vec384fp6 Qlines[68]` in blst's C signature).
const LINES: usize = 68;

/// The Miller-loop lines of a G2 point that is not the identity.
#[derive(Clone)]
pub(crate) struct Lines(Box<[blst_fp6; LINES]>);

fn fp(x: &Fq) -> blst_fp {
    // Same limbs, same Montgomery form: see the module documentation.
    blst_fp { l: x.0 .0 }
}

fn fp2(x: &Fq2) -> blst_fp2 {
    blst_fp2 {
        fp: [fp(&x.c0), fp(&x.c1)],
    }
}

fn g1(p: &G1Affine) -> blst_p1_affine {
    blst_p1_affine {
        x: fp(&p.x),
        y: fp(&p.y),
    }
}

fn g2(q: &G2Affine) -> blst_p2_affine {
    blst_p2_affine {
        x: fp2(&q.x),
        y: fp2(&q.y),
    }
}

/// blst's `Fp12` in arkworks' representation, through the canonical encoding.
fn gt(t: &blst_fp12) -> Fq12 {
    let bytes = t.to_bendian();
    let coefficient = |i: usize, j: usize, k: usize| {
        let at = ((i * 2 + j) * 2 + k) * 48;
        // Canonical (below p): reducing changes nothing.
        bytes
            .get(at..at + 48)
            .map_or_else(Fq::default, Fq::from_be_bytes_mod_order)
    };
    let c2 = |i, j| Fq2::new(coefficient(i, j, 0), coefficient(i, j, 1));
    let c6 = |j| Fq6::new(c2(0, j), c2(1, j), c2(2, j));
    Fq12::new(c6(0), c6(1))
}

impl Lines {
    /// The lines of `q`, or `None` for the identity (whose pairing [`reference`] computes).
    pub(crate) fn new(q: &G2Affine) -> Option<Self> {
        if q.is_zero() {
            return None;
        }
        let q = g2(q);
        let mut lines = Box::new([blst_fp6::default(); LINES]);
        // SAFETY: `blst_precompute_lines` writes exactly `LINES` (68) `blst_fp6` values to its
        // first argument, which points to a live, exclusively borrowed array of that length,
        // and only reads the affine point behind its second argument, a live local. Both types
        // are blst's own `#[repr(C)]` structs. `q` is a non-identity point of arkworks' G2
        // (arkworks encodes the identity as (0, 0), excluded above), so blst sees an affine
        // point on the curve, as the function expects.
        unsafe { blst::blst_precompute_lines(lines.as_mut_ptr(), &q) };
        Some(Self(lines))
    }

    /// `e(p, q)` for this `q`.
    pub(crate) fn pair(&self, p: &G1Affine) -> Fq12 {
        if p.is_zero() {
            return Fq12::one();
        }
        let p = g1(p);
        let mut ml = blst_fp12::default();
        // SAFETY: `blst_miller_loop_lines` writes one `blst_fp12` to its first argument (a
        // live, exclusively borrowed local) and reads exactly `LINES` `blst_fp6` values from
        // its second (our boxed array of that length, filled by `blst_precompute_lines`) and
        // one affine point from its third (a live local, not the identity).
        unsafe { blst::blst_miller_loop_lines(&mut ml, self.0.as_ptr(), &p) };
        gt(&ml.final_exp())
    }
}

/// `e(p, q)` on arkworks: the reference the blst path must match byte for byte.
pub(crate) fn reference(p: &G1Affine, q: &G2Affine) -> Fq12 {
    Bls12_381::pairing(p, q).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};

    #[test]
    fn the_identity_is_left_to_the_reference_path() {
        // No lines for the identity of G2: ReKey and the owner's pairing fall back to arkworks.
        assert!(Lines::new(&G2Affine::zero()).is_none());
        let q = (ark_bls12_381::G2Projective::generator() * ark_bls12_381::Fr::from(5u64))
            .into_affine();
        let lines = Lines::new(&q).expect("a non-identity point has lines");
        // A G1 identity pairs to one, as arkworks' pairing says.
        assert_eq!(lines.pair(&G1Affine::zero()), Fq12::one());
        assert_eq!(reference(&G1Affine::zero(), &q), Fq12::one());
        let p = G1Affine::generator();
        assert_eq!(lines.pair(&p), reference(&p, &q));
        assert_ne!(lines.pair(&p), Fq12::one());
    }
}
