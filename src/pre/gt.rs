//! Arithmetic in GT, the order-r subgroup of `Fq12^*`: the two membership checks of [SPEC §2](crate::notes::spec)
//! and exponentiation with the 4-way Frobenius decomposition of the exponent.
//!
//! For BLS12-381, `p ≡ u (mod r)` with `u = -0xd201000000010000`. On elements of order r the
//! Frobenius map `f ↦ f^p` is therefore the same as `f ↦ f^u`, so an exponent `e < r` written in
//! base `|u|` as `e = d0 + d1·|u| + d2·|u|² + d3·|u|³` (four 64-bit digits) gives
//! `f^e = f^d0 · (f^(-p))^d1 · (f^(p²))^d2 · (f^(-p³))^d3`: one 64-step multi-exponentiation
//! with cheap Frobenius maps instead of a 255-step exponentiation. Each digit is recoded in
//! width-5 NAF (inversion in GT is a conjugation, so negative digits are free).

use ark_bls12_381::{Fq12, Fr};
use ark_ff::{CyclotomicMultSubgroup, Field, One, PrimeField, Zero};
use zeroize::Zeroize;

use crate::error::{Error, GtCheck};
#[cfg(feature = "blst")]
use crate::pre::blst::naf_product;
use crate::pre::fixed;

/// `|u|`, the absolute value of the BLS12-381 curve parameter (which is negative).
const U_ABS: u64 = 0xd201_0000_0001_0000;

/// Runs the checks of [SPEC §2](crate::notes::spec) on an element claimed to be in GT: not zero, not one, in the
/// cyclotomic subgroup, then of order r.
pub fn check(f: &Fq12) -> Result<(), Error> {
    if f.is_zero() || f.is_one() {
        return Err(Error::InvalidGtElement(GtCheck::Trivial));
    }
    let mut f2 = *f;
    f2.frobenius_map_in_place(2);
    let mut f4 = f2;
    f4.frobenius_map_in_place(2);
    if f4 * f != f2 {
        return Err(Error::InvalidGtElement(GtCheck::NotCyclotomic));
    }
    // Only valid in the cyclotomic subgroup, where inversion is conjugation.
    let mut fp = *f;
    fp.frobenius_map_in_place(1);
    if fp != pow_u(f) {
        return Err(Error::InvalidGtElement(GtCheck::WrongOrder));
    }
    Ok(())
}

/// `f^u` for a cyclotomic `f` (u is negative: `f^u = conj(f^|u|)`).
fn pow_u(f: &Fq12) -> Fq12 {
    #[cfg(feature = "blst")]
    let mut out = super::blst::cyclotomic_exp(f, U_ABS);
    #[cfg(not(feature = "blst"))]
    let mut out = f.cyclotomic_exp([U_ABS]);
    out.cyclotomic_inverse_in_place();
    out
}

/// Writes `e` in base `|u|`: four digits, each below `|u| < 2^64`. Exact because `e < r < |u|^4`.
pub fn decompose(e: &Fr) -> [u64; 4] {
    let mut limbs = e.into_bigint().0;
    let mut digits = [0u64; 4];
    for d in &mut digits {
        let mut rem: u128 = 0;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            // The quotient of a value below |u|·2^64 by |u| fits in 64 bits.
            *limb = (cur / u128::from(U_ABS)) as u64;
            rem = cur % u128::from(U_ABS);
        }
        *d = rem as u64;
    }
    limbs.zeroize();
    digits
}

/// The NAF width of [`pow`]: 8 odd powers per base.
const POW_WINDOW: usize = 5;
const TABLE_LEN: usize = 1 << (POW_WINDOW - 2);

/// `f, f^3, f^5, …, f^15` for a cyclotomic `f`.
fn odd_powers(f: &Fq12) -> [Fq12; TABLE_LEN] {
    let f2 = f.cyclotomic_square();
    let mut table = [*f; TABLE_LEN];
    let mut cur = *f;
    for slot in table.iter_mut().skip(1) {
        cur *= f2;
        *slot = cur;
    }
    table
}

/// The odd powers of the Frobenius base `f^((-p)^k)` from those of `f`: the Frobenius map is a
/// ring homomorphism, so it carries `f^j` to `(f^(p^k))^j`, and inversion is conjugation.
fn frobenius_table(table: &[Fq12; TABLE_LEN], k: usize) -> [Fq12; TABLE_LEN] {
    let mut out = *table;
    for x in &mut out {
        x.frobenius_map_in_place(k);
        if k % 2 == 1 {
            x.cyclotomic_inverse_in_place();
        }
    }
    out
}

/// `f^e` for `f` of order r (checked by the caller or by construction).
///
/// The exponent is written in base `|u|` (`decompose`) and each of its four 64-bit digits in
/// width-5 NAF, against the bases `f, f^(-p), f^(p²), f^(-p³)` (negative digits multiply by the
/// conjugate): about 64 cyclotomic squarings and 43 multiplications, plus 8 for the table of
/// odd powers of `f` (the other three tables are its Frobenius images).
pub fn pow(f: &Fq12, e: &Fr) -> Fq12 {
    let mut digits = decompose(e);
    let t0 = odd_powers(f);
    let mut tables = [
        t0,
        frobenius_table(&t0, 1),
        frobenius_table(&t0, 2),
        frobenius_table(&t0, 3),
    ];
    let mut nafs = digits.map(|d| fixed::wnaf(&[d], POW_WINDOW));
    let len = nafs.iter().map(|(_, len)| *len).max().unwrap_or(0);
    let acc = naf_product(&tables, &nafs, len);
    digits.zeroize();
    nafs.iter_mut().for_each(|(naf, _)| naf.zeroize());
    tables.iter_mut().flatten().for_each(Zeroize::zeroize);
    acc
}

/// The main loop of [`pow`] on arkworks (blst's with the `blst` feature).
#[cfg(not(feature = "blst"))]
fn naf_product(
    tables: &[[Fq12; TABLE_LEN]; 4],
    nafs: &[([i8; fixed::NAF_LEN], usize); 4],
    len: usize,
) -> Fq12 {
    let mut acc = Fq12::one();
    let mut started = false;
    for i in (0..len).rev() {
        if started {
            acc.cyclotomic_square_in_place();
        }
        for ((naf, _), table) in nafs.iter().zip(tables) {
            let digit = naf.get(i).copied().unwrap_or(0);
            if digit == 0 {
                continue;
            }
            if let Some(x) = table.get(usize::from(digit.unsigned_abs() >> 1)) {
                if digit > 0 {
                    acc *= x;
                } else {
                    let mut conj = *x;
                    conj.cyclotomic_inverse_in_place();
                    acc *= conj;
                }
                started = true;
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::Bls12_381;
    use ark_ec::pairing::Pairing;
    use ark_ec::PrimeGroup;
    use ark_std::UniformRand;

    fn z() -> Fq12 {
        Bls12_381::pairing(
            ark_bls12_381::G1Projective::generator(),
            ark_bls12_381::G2Projective::generator(),
        )
        .0
    }

    #[test]
    fn decomposition_recombines() {
        let mut rng = ark_std::test_rng();
        let u = Fr::from(U_ABS);
        for _ in 0..64 {
            let e = Fr::rand(&mut rng);
            let d = decompose(&e);
            let back =
                Fr::from(d[0]) + u * (Fr::from(d[1]) + u * (Fr::from(d[2]) + u * Fr::from(d[3])));
            assert_eq!(back, e);
            assert!(d.iter().all(|&x| x < U_ABS));
        }
        let max = -Fr::one();
        let d = decompose(&max);
        assert!(d.iter().all(|&x| x < U_ABS));
    }

    #[test]
    fn frobenius_pow_matches_naive_pow() {
        let mut rng = ark_std::test_rng();
        let z = z();
        for _ in 0..8 {
            let x = Fr::rand(&mut rng);
            let f = z.pow(x.into_bigint());
            let e = Fr::rand(&mut rng);
            assert_eq!(pow(&f, &e), f.pow(e.into_bigint()));
        }
        assert_eq!(pow(&z, &Fr::one()), z);
        assert_eq!(pow(&z, &Fr::zero()), Fq12::one());
        // Digits at their extremes: |u| - 1, |u|, all-ones 64-bit digits, r - 1.
        let u = Fr::from(U_ABS);
        for e in [
            u - Fr::one(),
            u,
            u * u * u,
            Fr::from(u64::MAX),
            -Fr::one(),
            -Fr::from(2u64),
            (u - Fr::one()) * (Fr::one() + u + u * u + u * u * u),
        ] {
            assert_eq!(pow(&z, &e), z.pow(e.into_bigint()));
        }
    }

    #[test]
    fn check_accepts_gt_and_refuses_others() {
        let z = z();
        assert_eq!(check(&z), Ok(()));
        assert_eq!(
            check(&Fq12::one()),
            Err(Error::InvalidGtElement(GtCheck::Trivial))
        );
        assert_eq!(
            check(&Fq12::zero()),
            Err(Error::InvalidGtElement(GtCheck::Trivial))
        );
        // A generic field element is not cyclotomic.
        let mut rng = ark_std::test_rng();
        let g = Fq12::rand(&mut rng);
        assert_eq!(
            check(&g),
            Err(Error::InvalidGtElement(GtCheck::NotCyclotomic))
        );
    }
}
