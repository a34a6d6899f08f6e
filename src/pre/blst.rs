//! The re-encryption pairing on [blst](https://github.com/supranational/blst) (feature `blst`,
//! on by default): `e(P, Q)` for a `Q` whose Miller-loop lines are computed once and kept.
//!
//! blst is the audited, constant-time BLS12-381 library under most Ethereum clients. Measured
//! on this project's machine, its Miller loop over precomputed lines and final exponentiation
//! take about 0.57× the time of arkworks' prepared pairing (BENCHMARKS.md, issue 15). The
//! arkworks path stays the reference: [`fixed::pairing`] computes the same pairing with arkworks,
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
//! The GT side of the KEM runs here too: the reader's exponentiation `T^(1/b)` (the main loop
//! of [`super::gt::pow`], its tables built on arkworks) and the `f^|u|` of the order check,
//! on blst's `Fp12` multiplication and cyclotomic squaring.
//!
//! This is the crate's only module with `unsafe` code: three calls into blst's C functions that
//! its safe Rust API does not wrap (`blst_precompute_lines`, `blst_miller_loop_lines`,
//! `blst_fp12_cyclotomic_sqr`), each with its `// SAFETY:` argument.
#![allow(unsafe_code)]

use alloc::sync::Arc;

use ark_bls12_381::{Fq, Fq12, Fq2, Fq6, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, CyclotomicMultSubgroup, One, PrimeField};
use blst::{blst_fp, blst_fp12, blst_fp2, blst_fp6, blst_p1_affine, blst_p2_affine};
use zeroize::Zeroize;

use super::fixed;

/// How many line values blst's precomputation writes: one per doubling and addition step of
/// the BLS12-381 Miller loop (`vec384fp6 Qlines[68]` in blst's C signature).
const LINES: usize = 68;

/// A G2 point made ready for pairing: its Miller-loop lines (19.5 KB, shared: cloning a `ReKey`,
/// as the SRS's batch does per item, copies no lines), or none for the identity, whose pairing
/// arkworks computes.
#[derive(Clone)]
pub(crate) struct Prepared {
    q: G2Affine,
    lines: Option<Arc<[blst_fp6; LINES]>>,
}

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

fn fp6(x: &Fq6) -> blst_fp6 {
    blst_fp6 {
        fp2: [fp2(&x.c0), fp2(&x.c1), fp2(&x.c2)],
    }
}

fn fp12(x: &Fq12) -> blst_fp12 {
    blst_fp12 {
        fp6: [fp6(&x.c0), fp6(&x.c1)],
    }
}

fn wipe(x: &mut blst_fp12) {
    for c6 in &mut x.fp6 {
        for c2 in &mut c6.fp2 {
            for c in &mut c2.fp {
                c.l.zeroize();
            }
        }
    }
}

/// A product of GT elements accumulated on blst's arithmetic (the fixed-base `Z^r` of
/// encapsulation); wiped on drop.
pub(crate) struct Product(blst_fp12);

impl Product {
    pub(crate) fn one() -> Self {
        Self(blst_fp12::default()) // blst's default is one
    }

    /// `self ← self · x`.
    pub(crate) fn mul(&mut self, x: &Fq12) {
        self.0 *= fp12(x);
    }

    pub(crate) fn value(&self) -> Fq12 {
        gt(&self.0)
    }
}

impl Drop for Product {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// `x ← x²` for `x` in the cyclotomic subgroup.
fn cyclotomic_square(x: &mut blst_fp12) {
    let mut a = *x;
    // SAFETY: `blst_fp12_cyclotomic_sqr` reads one `blst_fp12` from its second argument (the
    // local copy `a`) and writes one to its first (`x`, exclusively borrowed); the two do not
    // alias. Our callers pass only elements of the cyclotomic subgroup, the function's domain
    // (outside it the result is merely wrong, never undefined).
    unsafe { blst::blst_fp12_cyclotomic_sqr(x, &a) };
    wipe(&mut a);
}

/// `f^e` for a cyclotomic `f` and a public 64-bit exponent (the order check's `f^|u|`).
pub(crate) fn cyclotomic_exp(f: &Fq12, e: u64) -> Fq12 {
    let base = fp12(f);
    let mut acc = blst_fp12::default(); // blst's default is one
    for bit in (0..64).rev() {
        cyclotomic_square(&mut acc);
        if (e >> bit) & 1 == 1 {
            acc *= base;
        }
    }
    gt(&acc)
}

/// The main loop of [`super::gt::pow`]: from the most significant position down, square the
/// accumulator and multiply by `tables[k][|d| >> 1]` (its conjugate, the inverse, for a
/// negative digit `d`) for each base `k` whose NAF has a non-zero digit there.
pub(crate) fn naf_product<const N: usize>(
    tables: &[[Fq12; N]; 4],
    nafs: &[([i8; fixed::NAF_LEN], usize); 4],
    len: usize,
) -> Fq12 {
    let mut positive = tables.map(|t| t.map(|x| fp12(&x)));
    let mut negative = tables.map(|t| {
        t.map(|mut x| {
            x.cyclotomic_inverse_in_place();
            let out = fp12(&x);
            x.zeroize();
            out
        })
    });
    let mut acc = blst_fp12::default();
    let mut started = false;
    for i in (0..len).rev() {
        if started {
            cyclotomic_square(&mut acc);
        }
        for (k, (naf, _)) in nafs.iter().enumerate() {
            let digit = naf.get(i).copied().unwrap_or(0);
            if digit == 0 {
                continue;
            }
            let table = if digit > 0 { &positive } else { &negative };
            if let Some(x) = table
                .get(k)
                .and_then(|t| t.get(usize::from(digit.unsigned_abs() >> 1)))
            {
                acc *= *x;
                started = true;
            }
        }
    }
    let out = gt(&acc);
    wipe(&mut acc);
    positive
        .iter_mut()
        .chain(negative.iter_mut())
        .flatten()
        .for_each(wipe);
    out
}

/// blst's `Fp12` in arkworks' representation, through the canonical encoding. On the stack
/// only, every buffer wiped: the value is often a shared secret `S`.
fn gt(t: &blst_fp12) -> Fq12 {
    let mut bytes = t.to_bendian();
    let coefficient = |i: usize, j: usize, k: usize| {
        let at = ((i * 2 + j) * 2 + k) * 48;
        let mut limbs = [0u64; 6];
        if let Some(chunk) = bytes.get(at..at + 48) {
            // Big-endian bytes, most significant limb first.
            for (limb, word) in limbs.iter_mut().rev().zip(chunk.chunks_exact(8)) {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                *limb = u64::from_be_bytes(w);
                w.zeroize();
            }
        }
        // blst's encoding is canonical (below p), so this never falls back.
        let x = Fq::from_bigint(BigInt::new(limbs)).unwrap_or_default();
        limbs.zeroize();
        x
    };
    let c2 = |i, j| Fq2::new(coefficient(i, j, 0), coefficient(i, j, 1));
    let c6 = |j| Fq6::new(c2(0, j), c2(1, j), c2(2, j));
    let out = Fq12::new(c6(0), c6(1));
    bytes.zeroize();
    out
}

impl Prepared {
    /// The lines of `q` (none for the identity).
    pub(crate) fn new(q: &G2Affine) -> Self {
        if q.is_zero() {
            return Self { q: *q, lines: None };
        }
        let point = g2(q);
        let mut lines = [blst_fp6::default(); LINES];
        // SAFETY: `blst_precompute_lines` writes exactly `LINES` (68) `blst_fp6` values to its
        // first argument, which points to a live, exclusively borrowed local array of that length,
        // and only reads the affine point behind its second argument, a live local. Both types
        // are blst's own `#[repr(C)]` structs. `q` is a non-identity point of arkworks' G2
        // (arkworks encodes the identity as (0, 0), excluded above), so blst sees an affine
        // point on the curve, as the function expects.
        unsafe { blst::blst_precompute_lines(lines.as_mut_ptr(), &point) };
        Self {
            q: *q,
            lines: Some(Arc::new(lines)),
        }
    }

    /// `e(p, q)` for this `q`: over the lines, or by arkworks' [`fixed::pairing`] for the
    /// identity of G2.
    pub(crate) fn pair(&self, p: &G1Affine) -> Fq12 {
        let Some(lines) = &self.lines else {
            return fixed::pairing(p, &self.q);
        };
        if p.is_zero() {
            return Fq12::one();
        }
        // For the owner, `p = C^(1/a)` alone gives the shared secret: every copy is wiped.
        let mut p = g1(p);
        let mut ml = blst_fp12::default();
        // SAFETY: `blst_miller_loop_lines` writes one `blst_fp12` to its first argument (a
        // live, exclusively borrowed local) and reads exactly `LINES` `blst_fp6` values from
        // its second (our shared array of that length, filled by `blst_precompute_lines`) and
        // one affine point from its third (a live local, not the identity).
        unsafe { blst::blst_miller_loop_lines(&mut ml, lines.as_ptr(), &p) };
        let mut t = ml.final_exp();
        let out = gt(&t);
        p.x.l.zeroize();
        p.y.l.zeroize();
        wipe(&mut ml);
        wipe(&mut t);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};

    #[test]
    fn both_libraries_keep_the_same_montgomery_limbs() {
        // blst's one (its `Fp12` default) is arkworks' one, limb for limb: same R = 2^384,
        // same limb order. If either library changed its representation, this fails first.
        let one = blst_fp12::default();
        assert_eq!(one.fp6[0].fp2[0].fp[0].l, Fq::one().0 .0);
        assert_eq!(fp12(&Fq12::one()), one);
        assert_eq!(gt(&one), Fq12::one());
    }

    #[test]
    fn cyclotomic_exp_matches_arkworks() {
        let z = fixed::pairing(&G1Affine::generator(), &G2Affine::generator());
        for e in [0u64, 1, 2, 0xd201_0000_0001_0000, u64::MAX] {
            // Against the plain exponentiation (arkworks' `cyclotomic_exp` itself is wrong for
            // exponents whose NAF is longer than 64 digits, such as 2^64 - 1).
            assert!(
                cyclotomic_exp(&z, e) == ark_ff::Field::pow(&z, [e]),
                "e = {e:#x}"
            );
        }
        assert!(z.cyclotomic_exp([u64::MAX]) != ark_ff::Field::pow(&z, [u64::MAX]));
        let u = 0xd201_0000_0001_0000u64;
        assert!(z.cyclotomic_exp([u]) == ark_ff::Field::pow(&z, [u]));
    }

    #[test]
    fn the_identity_is_left_to_the_reference_path() {
        // No lines for the identity of G2: the pairing falls back to arkworks (one).
        let identity = Prepared::new(&G2Affine::zero());
        assert!(identity.lines.is_none());
        assert_eq!(identity.pair(&G1Affine::generator()), Fq12::one());
        let q = (ark_bls12_381::G2Projective::generator() * ark_bls12_381::Fr::from(5u64))
            .into_affine();
        let lines = Prepared::new(&q);
        assert!(lines.lines.is_some(), "a non-identity point has lines");
        // A G1 identity pairs to one, as arkworks' pairing says.
        assert_eq!(lines.pair(&G1Affine::zero()), Fq12::one());
        assert_eq!(fixed::pairing(&G1Affine::zero(), &q), Fq12::one());
        let p = G1Affine::generator();
        assert_eq!(lines.pair(&p), fixed::pairing(&p, &q));
        assert_ne!(lines.pair(&p), Fq12::one());
    }
}
