//! Precomputed fixed-base tables for the generators `g1`, `g2` and `Z = e(g1, g2)`, built once,
//! lazily, and shared (with the `std` feature; without it they are rebuilt per call, which is
//! correct but slow).
//!
//! Each table holds, for each of the 32 eight-bit windows `w` of a scalar, the 255 non-zero
//! multiples `j·256^w·base`. An exponentiation is then 32 table look-ups and 32 group
//! operations, no doublings.

use alloc::vec::Vec;

use ark_bls12_381::{Bls12_381, Fq12, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{BigInteger, One, PrimeField};
use zeroize::Zeroize;

const WINDOW_BITS: usize = 8;
const WINDOWS: usize = 32;
const PER_WINDOW: usize = (1 << WINDOW_BITS) - 1;

/// A fixed-base table over some group written with an operation `op`.
pub struct Table<E> {
    entries: Vec<E>,
}

impl<E: Clone> Table<E> {
    fn build<A: Clone>(base: A, op: impl Fn(&A, &A) -> A, finish: impl Fn(&[A]) -> Vec<E>) -> Self {
        let mut all: Vec<A> = Vec::with_capacity(WINDOWS * PER_WINDOW);
        let mut window_base = base;
        for _ in 0..WINDOWS {
            let mut cur = window_base.clone();
            for _ in 0..PER_WINDOW {
                all.push(cur.clone());
                cur = op(&cur, &window_base);
            }
            // `cur` is now 256·window_base.
            window_base = cur;
        }
        Self {
            entries: finish(&all),
        }
    }

    /// Folds the table entries selected by the bytes of `e` into `acc`.
    fn apply<A>(&self, e: &Fr, mut acc: A, op: impl Fn(&mut A, &E)) -> A {
        let mut bytes = e.into_bigint().to_bytes_le();
        for (w, &byte) in bytes.iter().enumerate().take(WINDOWS) {
            if byte != 0 {
                if let Some(entry) = self.entries.get(w * PER_WINDOW + usize::from(byte) - 1) {
                    op(&mut acc, entry);
                }
            }
        }
        bytes.zeroize();
        acc
    }
}

fn z_table_new() -> Table<Fq12> {
    Table::build(z(), |a, b| *a * b, |all| all.to_vec())
}

fn g1_table_new() -> Table<G1Affine> {
    Table::build(
        G1Projective::generator(),
        |a, b| *a + b,
        G1Projective::normalize_batch,
    )
}

fn g2_table_new() -> Table<G2Affine> {
    Table::build(
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

/// `e(p, g2)` with the generator's Miller-loop lines precomputed.
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

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Field;
    use ark_std::UniformRand;

    #[test]
    fn tables_match_plain_arithmetic() {
        let mut rng = ark_std::test_rng();
        for _ in 0..4 {
            let e = Fr::rand(&mut rng);
            assert_eq!(z_pow(&e), z().pow(e.into_bigint()));
            assert_eq!(g1_mul(&e), (G1Projective::generator() * e).into_affine());
            assert_eq!(g2_mul(&e), (G2Projective::generator() * e).into_affine());
        }
        let p = (G1Projective::generator() * Fr::from(7u64)).into_affine();
        assert_eq!(pair_with_g2(&p), z().pow([7u64]));
    }
}
