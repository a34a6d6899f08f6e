//! Precomputed fixed-base tables for the generators `g1`, `g2` and `Z = e(g1, g2)`, built once,
//! lazily, and shared (with the `std` feature; without it they are rebuilt per call, which is
//! correct but slow).
//!
//! Each table holds, for each of the 32 eight-bit windows `w` of a scalar, the 255 non-zero
//! multiples `j·256^w·base`. An exponentiation is then 32 table look-ups and 32 group
//! operations, no doublings. A writer's table for one section key ([`g1_key_table`]) uses
//! 4-bit windows: 64 × 15 points, a tenth of the memory and build time.
//!
//! Also here: variable-base multiplication in G1 and G2 by the GLV method (the scalar split
//! into two ~128-bit halves with the curve's endomorphism, `k = k1 + λ·k2`), each half in
//! width-5 NAF over a table of odd multiples, so about 128 doublings and 43 mixed additions
//! instead of the ~255 doublings and ~128 additions of a plain double-and-add; and the
//! width-w NAF recoding the GT exponentiation of [`super::gt`] shares.

use alloc::vec::Vec;

use ark_bls12_381::{Bls12_381, Fq12, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup, PrimeGroup};
#[cfg(not(feature = "blst"))]
use ark_ff::One;
use ark_ff::{PrimeField, Zero};
use zeroize::Zeroize;

/// The generators' shared tables: 8-bit windows (32 × 255 entries).
const WINDOW_BITS: usize = 8;
/// Bits of a scalar of Fr (below 2^255); the windows cover 256.
const SCALAR_BITS: usize = 256;

/// A fixed-base table over some group written with an operation `op`: for each window `w` of
/// `bits` bits, the `2^bits - 1` non-zero multiples `j·2^(bits·w)·base`.
#[derive(Clone)]
pub struct Table<E> {
    bits: usize,
    entries: Vec<E>,
}

impl<E: Clone> Table<E> {
    /// `bits` in 1..=8 (clamped).
    fn build<A: Clone>(
        bits: usize,
        base: A,
        op: impl Fn(&A, &A) -> A,
        finish: impl Fn(&[A]) -> Vec<E>,
    ) -> Self {
        let bits = bits.clamp(1, 8);
        let windows = SCALAR_BITS.div_ceil(bits);
        let per_window = (1usize << bits) - 1;
        let mut all: Vec<A> = Vec::with_capacity(windows * per_window);
        let mut window_base = base;
        for _ in 0..windows {
            let mut cur = window_base.clone();
            for _ in 0..per_window {
                all.push(cur.clone());
                cur = op(&cur, &window_base);
            }
            // `cur` is now 2^bits·window_base.
            window_base = cur;
        }
        Self {
            bits,
            entries: finish(&all),
        }
    }

    /// Folds the table entries selected by the `bits`-bit digits of `e` into `acc`.
    fn apply<A>(&self, e: &Fr, mut acc: A, op: impl Fn(&mut A, &E)) -> A {
        let mut limbs = e.into_bigint().0;
        let per_window = (1usize << self.bits) - 1;
        for w in 0..SCALAR_BITS.div_ceil(self.bits) {
            let digit = digit(&limbs, w * self.bits, self.bits);
            if digit != 0 {
                if let Some(entry) = self.entries.get(w * per_window + digit - 1) {
                    op(&mut acc, entry);
                }
            }
        }
        limbs.zeroize();
        acc
    }

    /// Heap bytes held by the entries.
    pub fn heap_bytes(&self) -> usize {
        self.entries.len() * core::mem::size_of::<E>()
    }
}

/// The `bits`-bit digit of `limbs` (little-endian) starting at bit `at` (zero past the end).
fn digit(limbs: &[u64; 4], at: usize, bits: usize) -> usize {
    let word = |i: usize| limbs.get(i).copied().unwrap_or(0);
    let (i, shift) = (at / 64, at % 64);
    let mut v = word(i) >> shift;
    if shift + bits > 64 {
        v |= word(i + 1) << (64 - shift);
    }
    (v & ((1u64 << bits) - 1)) as usize
}

/// The window width of a writer's per-key table ([`G1Table`]): 4 bits, 64 windows × 15
/// points (92 KiB), 64 mixed additions per multiplication. BENCHMARKS.md has the measured
/// build cost, per-use saving and break-even.
pub const KEY_TABLE_BITS: usize = 4;

/// A fixed-base table for one G1 point (a section public key a writer encapsulates to again
/// and again).
pub type G1Table = Table<G1Affine>;

/// The table of `base` with [`KEY_TABLE_BITS`]-bit windows.
pub fn g1_key_table(base: &G1Affine) -> G1Table {
    Table::build(
        KEY_TABLE_BITS,
        G1Projective::from(*base),
        |a, b| *a + b,
        G1Projective::normalize_batch,
    )
}

/// `e·base` by `table`.
pub fn g1_table_mul(table: &G1Table, e: &Fr) -> G1Projective {
    table.apply(e, G1Projective::default(), |acc, entry| *acc += entry)
}

fn z_table_new() -> Table<Fq12> {
    Table::build(WINDOW_BITS, z(), |a, b| *a * b, |all| all.to_vec())
}

fn g1_table_new() -> Table<G1Affine> {
    Table::build(
        WINDOW_BITS,
        G1Projective::generator(),
        |a, b| *a + b,
        G1Projective::normalize_batch,
    )
}

fn g2_table_new() -> Table<G2Affine> {
    Table::build(
        WINDOW_BITS,
        G2Projective::generator(),
        |a, b| *a + b,
        G2Projective::normalize_batch,
    )
}

/// `Z = e(g1, g2)`.
pub fn z() -> Fq12 {
    Bls12_381::pairing(G1Projective::generator(), G2Projective::generator()).0
}

#[cfg(feature = "std")]
mod cache {
    use super::*;
    use std::sync::OnceLock;

    pub fn z_table() -> &'static Table<Fq12> {
        static T: OnceLock<Table<Fq12>> = OnceLock::new();
        T.get_or_init(z_table_new)
    }
    pub fn g1_table() -> &'static Table<G1Affine> {
        static T: OnceLock<Table<G1Affine>> = OnceLock::new();
        T.get_or_init(g1_table_new)
    }
    pub fn g2_table() -> &'static Table<G2Affine> {
        static T: OnceLock<Table<G2Affine>> = OnceLock::new();
        T.get_or_init(g2_table_new)
    }
    #[cfg(feature = "blst")]
    pub fn g2_lines() -> &'static super::super::blst::Prepared {
        static T: OnceLock<super::super::blst::Prepared> = OnceLock::new();
        T.get_or_init(|| super::super::blst::Prepared::new(&G2Affine::generator()))
    }
    #[cfg(not(feature = "blst"))]
    pub fn g2_prepared() -> &'static <Bls12_381 as Pairing>::G2Prepared {
        static T: OnceLock<<Bls12_381 as Pairing>::G2Prepared> = OnceLock::new();
        T.get_or_init(|| <G2Affine as ark_ec::AffineRepr>::generator().into())
    }
}

/// `Z^e` by the fixed-base table.
pub fn z_pow(e: &Fr) -> Fq12 {
    #[cfg(feature = "std")]
    let table = cache::z_table();
    #[cfg(not(feature = "std"))]
    let table = &z_table_new();
    #[cfg(feature = "blst")]
    return table
        .apply(e, super::blst::Product::one(), |acc, entry| acc.mul(entry))
        .value();
    #[cfg(not(feature = "blst"))]
    table.apply(e, Fq12::one(), |acc, entry| *acc *= entry)
}

/// `g1^e` by the fixed-base table.
pub fn g1_mul(e: &Fr) -> G1Affine {
    #[cfg(feature = "std")]
    let table = cache::g1_table();
    #[cfg(not(feature = "std"))]
    let table = &g1_table_new();
    table
        .apply(e, G1Projective::default(), |acc, entry| *acc += entry)
        .into_affine()
}

/// `g2^e` by the fixed-base table.
pub fn g2_mul(e: &Fr) -> G2Affine {
    #[cfg(feature = "std")]
    let table = cache::g2_table();
    #[cfg(not(feature = "std"))]
    let table = &g2_table_new();
    table
        .apply(e, G2Projective::default(), |acc, entry| *acc += entry)
        .into_affine()
}

/// `e(p, g2)` with the generator's Miller-loop lines precomputed (blst's with the `blst`
/// feature).
#[cfg(feature = "blst")]
pub fn pair_with_g2(p: &G1Affine) -> Fq12 {
    #[cfg(feature = "std")]
    let lines = cache::g2_lines();
    #[cfg(not(feature = "std"))]
    let lines = &super::blst::Prepared::new(&G2Affine::generator());
    lines.pair(p)
}

/// `e(p, q)` on arkworks alone, whatever the features: the reference the `blst` path is
/// checked against, and its fallback for the identity of G2.
pub fn pairing(p: &G1Affine, q: &G2Affine) -> Fq12 {
    Bls12_381::pairing(p, q).0
}

/// `e(p, g2)` with the generator's Miller-loop lines precomputed.
#[cfg(not(feature = "blst"))]
pub fn pair_with_g2(p: &G1Affine) -> Fq12 {
    #[cfg(feature = "std")]
    let prepared = cache::g2_prepared().clone();
    #[cfg(not(feature = "std"))]
    let prepared: <Bls12_381 as Pairing>::G2Prepared =
        <G2Affine as ark_ec::AffineRepr>::generator().into();
    let ml = Bls12_381::multi_miller_loop([*p], [prepared]);
    // The final exponentiation of a Miller loop output is never undefined for valid inputs.
    Bls12_381::final_exponentiation(ml)
        .map(|o| o.0)
        .unwrap_or_else(Fq12::one)
}

/// Room for the width-w NAF of a 256-bit integer (one more digit than bits, for the carry).
pub const NAF_LEN: usize = 4 * 64 + 1;

/// The width-`w` non-adjacent form of the little-endian integer `limbs` (at most four limbs,
/// `2 ≤ w ≤ 7`): digits odd and in `(-2^(w-1), 2^(w-1))`, or zero, least significant first, no
/// two non-zero digits within `w` positions. Returns the digits and how many are significant.
pub fn wnaf(limbs: &[u64], w: usize) -> ([i8; NAF_LEN], usize) {
    debug_assert!((2..=7).contains(&w) && limbs.len() <= 4);
    let mut naf = [0i8; NAF_LEN];
    let width = 1u64 << w;
    let mask = width - 1;
    let bits = 64 * limbs.len();
    let limb = |i: usize| limbs.get(i).copied().unwrap_or(0);
    let mut pos = 0;
    let mut carry = 0u64;
    let mut len = 0;
    while pos <= bits {
        let (i, b) = (pos / 64, pos % 64);
        let buf = if b == 0 {
            limb(i)
        } else {
            (limb(i) >> b) | (limb(i + 1) << (64 - b))
        };
        let window = carry + (buf & mask);
        if window & 1 == 0 {
            pos += 1;
            continue;
        }
        // `window < 2^w ≤ 128`, so both digits fit in an i8.
        let digit = if window < width / 2 {
            carry = 0;
            window as i8
        } else {
            carry = 1;
            (window as i16 - width as i16) as i8
        };
        if let Some(slot) = naf.get_mut(pos) {
            *slot = digit;
            len = pos + 1;
        }
        pos += w;
    }
    (naf, len)
}

/// The NAF width of the variable-base multiplications: 8 odd multiples per table.
const GLV_WINDOW: usize = 5;

/// `[1, 3, 5, …, 15]·p` in affine form (one shared inversion).
fn odd_multiples<P: GLVConfig>(p: &Affine<P>) -> Vec<Affine<P>> {
    let double = p.into_group().double();
    let mut t = Vec::with_capacity(1 << (GLV_WINDOW - 2));
    let mut cur = p.into_group();
    for _ in 0..(1 << (GLV_WINDOW - 2)) {
        t.push(cur);
        cur += double;
    }
    Projective::normalize_batch(&t)
}

fn add_digit<P: GLVConfig>(acc: &mut Projective<P>, table: &[Affine<P>], digit: i8) {
    let index = usize::from(digit.unsigned_abs() >> 1);
    if let Some(q) = table.get(index) {
        if digit > 0 {
            *acc += q;
        } else if digit < 0 {
            *acc -= q;
        }
    }
}

/// `k·p` for a variable base `p` by GLV with width-5 NAF halves.
fn glv_mul<P: GLVConfig<ScalarField = Fr>>(p: &Affine<P>, k: &Fr) -> Projective<P> {
    if p.is_zero() {
        return Projective::zero();
    }
    let ((pos1, mut k1), (pos2, mut k2)) = P::scalar_decomposition(*k);
    let t = odd_multiples(p);
    let t1: Vec<Affine<P>> = t.iter().map(|q| if pos1 { *q } else { -*q }).collect();
    let t2: Vec<Affine<P>> = t
        .iter()
        .map(|q| {
            let e = P::endomorphism_affine(q);
            if pos2 {
                e
            } else {
                -e
            }
        })
        .collect();
    let mut b1 = k1.into_bigint();
    let mut b2 = k2.into_bigint();
    let (mut n1, l1) = wnaf(&b1.0, GLV_WINDOW);
    let (mut n2, l2) = wnaf(&b2.0, GLV_WINDOW);
    let mut acc = Projective::<P>::zero();
    for i in (0..l1.max(l2)).rev() {
        acc.double_in_place();
        add_digit(&mut acc, &t1, n1.get(i).copied().unwrap_or(0));
        add_digit(&mut acc, &t2, n2.get(i).copied().unwrap_or(0));
    }
    k1.zeroize();
    k2.zeroize();
    b1.0.zeroize();
    b2.0.zeroize();
    n1.zeroize();
    n2.zeroize();
    acc
}

/// `k·p` in G1 for a variable base (GLV, width-5 NAF).
pub fn g1_var_mul(p: &G1Affine, k: &Fr) -> G1Projective {
    glv_mul(p, k)
}

/// `k·p` in G2 for a variable base (GLV, width-5 NAF).
pub fn g2_var_mul(p: &G2Affine, k: &Fr) -> G2Projective {
    glv_mul(p, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One};
    use ark_std::UniformRand;

    #[test]
    fn tables_match_plain_arithmetic() {
        let mut rng = ark_std::test_rng();
        for _ in 0..4 {
            let e = Fr::rand(&mut rng);
            assert_eq!(z_pow(&e), z().pow(e.into_bigint()));
            assert_eq!(g1_mul(&e), (G1Projective::generator() * e).into_affine());
            assert_eq!(g2_mul(&e), (G2Projective::generator() * e).into_affine());
            let p = (G1Projective::generator() * Fr::rand(&mut rng)).into_affine();
            let table = g1_key_table(&p);
            assert_eq!(
                g1_table_mul(&table, &e).into_affine(),
                (p * e).into_affine()
            );
        }
        // Digits at the top of the scalar (above bit 254, always zero for Fr).
        let p = (G1Projective::generator() * Fr::from(3u64)).into_affine();
        let table = g1_key_table(&p);
        for e in [
            Fr::from(0u64),
            Fr::from(1u64),
            -Fr::from(1u64),
            Fr::from(u64::MAX),
        ] {
            assert_eq!(
                g1_table_mul(&table, &e).into_affine(),
                (p * e).into_affine()
            );
        }
        let p = (G1Projective::generator() * Fr::from(7u64)).into_affine();
        assert_eq!(pair_with_g2(&p), z().pow([7u64]));
    }

    #[test]
    fn digits_match_a_bit_by_bit_extraction() {
        // Every width 1..=8 at every position, including digits that straddle two limbs
        // (widths that do not divide 64) and positions past the end.
        let limbs = [
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            0x8000_0000_0000_0001,
            0x7fff_ffff_ffff_fffe,
        ];
        let bit = |i: usize| limbs.get(i / 64).map_or(0, |l| (l >> (i % 64)) & 1) as usize;
        for bits in 1..=8 {
            for at in 0..=260 {
                let naive = (0..bits).map(|b| bit(at + b) << b).sum::<usize>();
                assert_eq!(digit(&limbs, at, bits), naive, "bits {bits} at {at}");
            }
        }
    }

    #[test]
    fn variable_base_matches_plain_arithmetic() {
        let mut rng = ark_std::test_rng();
        let edge = [
            Fr::from(0u64),
            Fr::from(1u64),
            Fr::from(15u64),
            Fr::from(16u64),
            -Fr::one(),
            -Fr::from(2u64),
            Fr::from(u64::MAX),
        ];
        let random: Vec<Fr> = (0..32).map(|_| Fr::rand(&mut rng)).collect();
        for k in edge.into_iter().chain(random) {
            let p1 = G1Projective::rand(&mut rng).into_affine();
            let p2 = G2Projective::rand(&mut rng).into_affine();
            assert_eq!(g1_var_mul(&p1, &k), p1 * k);
            assert_eq!(g2_var_mul(&p2, &k), p2 * k);
        }
        assert!(g1_var_mul(&G1Affine::zero(), &Fr::from(3u64)).is_zero());
    }

    #[test]
    fn wnaf_recombines() {
        let mut rng = ark_std::test_rng();
        for w in 2..=7usize {
            for _ in 0..64 {
                let e = Fr::rand(&mut rng);
                let (naf, len) = wnaf(&e.into_bigint().0, w);
                let mut back = Fr::from(0u64);
                for &d in naf[..len].iter().rev() {
                    back = back.double() + Fr::from(i64::from(d));
                }
                assert_eq!(back, e);
                let half = 1i16 << (w - 1);
                for (i, &d) in naf.iter().enumerate() {
                    assert!(d == 0 || (d % 2 != 0 && i16::from(d).abs() < half));
                    if d != 0 {
                        assert!(naf[i + 1..].iter().take(w - 1).all(|&x| x == 0));
                    }
                }
            }
            for x in [0u64, 1, u64::MAX, u64::MAX - 1, 0xd201_0000_0001_0000] {
                let (naf, len) = wnaf(&[x], w);
                let back = naf[..len]
                    .iter()
                    .rev()
                    .fold(0i128, |acc, &d| 2 * acc + i128::from(d));
                assert_eq!(back, i128::from(x));
                assert!(len <= 65);
            }
        }
    }
}
