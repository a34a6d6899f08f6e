//! The re-encryption pairing on blst (the default `blst` feature) against arkworks' reference:
//! byte-identical re-encrypted capsules over thousands of random keys and capsules, and the
//! owner's pairing with `g2` likewise. (The known-answer vectors of `tests/vectors.rs`, made
//! on the arkworks path, run on whichever path the features select; CI runs them both ways.)
//! Also: a batch keeps its order (across cores with `rayon`); the GT exponentiations that run
//! on blst's `Fp12` arithmetic (the reader's `T^(1/b)`, the writer's `Z^r`) against arkworks'
//! plain `pow`.
#![cfg(feature = "blst")]

use ark_bls12_381::{Bls12_381, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::pre::{encapsulate, Capsule, ReKey, ReaderSecretKey, SectionSecretKey};

fn keys_and_capsule(seed: u64) -> (ReKey, Capsule) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let a = SectionSecretKey::random(&mut rng);
    let b = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b.public_key());
    let (capsule, _) = encapsulate(&a.public_key(), b"ctx", &mut rng).unwrap();
    (rk, capsule)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// `Z^e` (fixed-base table, products on blst) and `f^e` for a random `f` of GT (the
    /// Frobenius-decomposed loop on blst) against arkworks' square-and-multiply.
    #[test]
    fn gt_exponentiations_match_arkworks(e in any::<[u8; 32]>(), f in any::<u64>()) {
        use ark_ff::{Field, PrimeField};
        use sesphr::pre::floor::{gt_pow, z, z_pow};
        let e = ark_bls12_381::Fr::from_le_bytes_mod_order(&e);
        let z = z();
        prop_assert_eq!(z_pow(&e), z.pow(e.into_bigint()));
        let g = z.pow([f | 1]);
        prop_assert_eq!(gt_pow(&g, &e), g.pow(e.into_bigint()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// A fresh section key, reader key, re-encryption key and capsule per case.
    #[test]
    fn blst_and_arkworks_reencrypt_byte_identically(seed in any::<u64>()) {
        let (rk, capsule) = keys_and_capsule(seed);
        let fast = rk.reencrypt(&capsule).to_bytes();
        let reference = rk.reencrypt_reference(&capsule).to_bytes();
        prop_assert_eq!(&fast[..], &reference[..]);
    }
}

#[test]
fn one_key_many_capsules_and_the_owners_pairing_match_arkworks() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let a = SectionSecretKey::random(&mut rng);
    let b = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b.public_key());
    // The prepared lines are reused across capsules: a stale or shared buffer would show here.
    for _ in 0..200 {
        let (capsule, k) = encapsulate(&a.public_key(), b"", &mut rng).unwrap();
        assert_eq!(
            rk.reencrypt(&capsule).to_bytes()[..],
            rk.reencrypt_reference(&capsule).to_bytes()[..]
        );
        // The owner's decapsulation pairs with g2 on blst's cached lines.
        assert_eq!(a.decapsulate(&capsule, b"").unwrap(), k);
    }
    // The owner's pairing with g2 against arkworks, directly.
    for i in 1..50u64 {
        let p = (G1Affine::generator() * ark_bls12_381::Fr::from(i * 7919)).into();
        let fast = sesphr::pre::floor::pair_with_g2(&p);
        let reference = Bls12_381::pairing(p, G2Affine::generator()).0;
        assert_eq!(fast, reference);
    }
}

#[test]
fn a_batch_keeps_its_order() {
    // With the `rayon` feature the batch runs across cores; the output must stay in order.
    let (rk, _) = keys_and_capsule(3);
    let capsules: Vec<Capsule> = (0..9).map(|i| keys_and_capsule(100 + i).1).collect();
    let batch = rk.reencrypt_many(&capsules);
    assert_eq!(batch.len(), capsules.len());
    for (c, rc) in capsules.iter().zip(&batch) {
        assert_eq!(rc.to_bytes()[..], rk.reencrypt_reference(c).to_bytes()[..]);
    }
}
