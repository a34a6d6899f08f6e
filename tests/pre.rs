//! The PRE core: owner and reader round trips, and every refusal of SPEC §2.

mod common;

use ark_bls12_381::{Fq, Fq12, G1Affine};
use ark_ff::{Field, One, PrimeField, Zero};
use ark_serialize::CanonicalSerialize;
use common::rng;
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderPublicKey, ReaderSecretKey, SectionPublicKey,
    SectionSecretKey,
};
use sesphr::{Error, GtCheck};

fn setup() -> (SectionSecretKey, ReaderSecretKey, ReKey) {
    let mut rng = rng(1);
    let a = SectionSecretKey::random(&mut rng);
    let b = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b.public_key());
    (a, b, rk)
}

#[test]
fn owner_and_reader_recover_the_writers_key() {
    let (a, b, rk) = setup();
    let mut rng = rng(2);
    for ctx in [&b""[..], b"entry header hash", &[7u8; 300][..]] {
        let (capsule, k) = encapsulate(&a.public_key(), ctx, &mut rng).unwrap();
        assert_eq!(a.decapsulate(&capsule, ctx).unwrap(), k);
        let rc = rk.reencrypt(&capsule);
        assert_eq!(
            b.decapsulate_reencrypted(&rc, &a.public_key(), ctx)
                .unwrap(),
            k
        );
        // Through the wire encoding too.
        let rc2 = ReCapsule::from_bytes(&rc.to_bytes()).unwrap();
        assert_eq!(rc2, rc);
        assert_eq!(
            b.decapsulate_reencrypted(&rc2, &a.public_key(), ctx)
                .unwrap(),
            k
        );
    }
}

#[test]
fn wrong_reader_gets_a_different_key() {
    let (a, _b, rk) = setup();
    let other = ReaderSecretKey::random(&mut rng(3));
    let (capsule, k) = encapsulate(&a.public_key(), b"ctx", &mut rng(4)).unwrap();
    let rc = rk.reencrypt(&capsule);
    assert_ne!(
        other
            .decapsulate_reencrypted(&rc, &a.public_key(), b"ctx")
            .unwrap(),
        k
    );
}

#[test]
fn reader_of_another_section_gets_a_different_key() {
    let (a, b, _) = setup();
    let other_section = SectionSecretKey::random(&mut rng(5));
    let rk_other = ReKey::new(&other_section, &b.public_key());
    let (capsule, k) = encapsulate(&a.public_key(), b"ctx", &mut rng(6)).unwrap();
    // The SRS applies the wrong section's key: the reader derives garbage.
    let rc = rk_other.reencrypt(&capsule);
    assert_ne!(
        b.decapsulate_reencrypted(&rc, &a.public_key(), b"ctx")
            .unwrap(),
        k
    );
    assert_ne!(
        b.decapsulate_reencrypted(&rc, &other_section.public_key(), b"ctx")
            .unwrap(),
        k
    );
}

#[test]
fn capsule_moved_to_another_section_key_or_context_fails() {
    let (a, b, rk) = setup();
    let other = SectionSecretKey::random(&mut rng(7));
    let (capsule, k) = encapsulate(&a.public_key(), b"ctx", &mut rng(8)).unwrap();
    // Owner of another section, claimed section key, or another context: different keys.
    assert_ne!(other.decapsulate(&capsule, b"ctx").unwrap(), k);
    assert_ne!(a.decapsulate(&capsule, b"other ctx").unwrap(), k);
    let rc = rk.reencrypt(&capsule);
    assert_ne!(
        b.decapsulate_reencrypted(&rc, &other.public_key(), b"ctx")
            .unwrap(),
        k
    );
    assert_ne!(
        b.decapsulate_reencrypted(&rc, &a.public_key(), b"ctx2")
            .unwrap(),
        k
    );
}

#[test]
fn context_longer_than_a_length_prefix_is_refused() {
    let (a, _, _) = setup();
    let long = vec![0u8; 65_536];
    assert_eq!(
        encapsulate(&a.public_key(), &long, &mut rng(9)).unwrap_err(),
        Error::TooLong {
            what: "KEM context"
        }
    );
}

#[test]
fn seeded_keys_are_deterministic_and_round_trip() {
    let a1 = SectionSecretKey::from_seed(&[1; 32]).unwrap();
    let a2 = SectionSecretKey::from_seed(&[1; 32]).unwrap();
    assert_eq!(a1.public_key(), a2.public_key());
    assert_ne!(
        a1.public_key(),
        SectionSecretKey::from_seed(&[2; 32]).unwrap().public_key()
    );
    let back = SectionSecretKey::from_bytes(&a1.to_bytes()[..]).unwrap();
    assert_eq!(back.public_key(), a1.public_key());
    let b = ReaderSecretKey::from_seed(&[3; 32]).unwrap();
    let b2 = ReaderSecretKey::from_bytes(&b.to_bytes()[..]).unwrap();
    assert_eq!(b.public_key(), b2.public_key());
    assert_eq!(
        SectionPublicKey::from_bytes(&a1.public_key().to_bytes()).unwrap(),
        a1.public_key()
    );
    assert_eq!(
        ReaderPublicKey::from_bytes(&b.public_key().to_bytes()).unwrap(),
        b.public_key()
    );
    let rk = ReKey::new(&a1, &b.public_key());
    assert_eq!(ReKey::from_bytes(&rk.to_bytes()).unwrap(), rk);
}

#[test]
fn secrets_are_redacted_in_debug() {
    let (a, b, _) = setup();
    let (_, k) = encapsulate(&a.public_key(), b"", &mut rng(10)).unwrap();
    for s in [format!("{a:?}"), format!("{b:?}"), format!("{k:?}")] {
        assert!(s.contains(".."), "{s}");
    }
    let secret_hex: String = a.to_bytes()[2..]
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    assert!(!format!("{a:?}").contains(&secret_hex[..16]));
}

// ----- decoding: every rule of SPEC §2 and §5 ----------------------------------------------

#[test]
fn wrong_length_tag_version_and_trailing_bytes_are_refused() {
    let (a, _, _) = setup();
    let good = a.public_key().to_bytes();
    assert_eq!(
        SectionPublicKey::from_bytes(&good[..10]),
        Err(Error::InvalidEncoding {
            what: "section public key",
            field: None,
        })
    );
    assert_eq!(
        SectionPublicKey::from_bytes(&[]),
        Err(Error::InvalidEncoding {
            what: "section public key",
            field: Some("type tag"),
        })
    );
    let mut trailing = good.to_vec();
    trailing.push(0);
    assert_eq!(
        SectionPublicKey::from_bytes(&trailing),
        Err(Error::InvalidEncoding {
            what: "section public key",
            field: Some("trailing bytes"),
        })
    );
    let mut version = good;
    version[1] = 2;
    assert_eq!(
        SectionPublicKey::from_bytes(&version),
        Err(Error::UnknownVersion {
            what: "section public key",
            version: 2
        })
    );
    let mut tag = good;
    tag[0] = 0x03;
    assert_eq!(
        SectionPublicKey::from_bytes(&tag),
        Err(Error::UnknownTag {
            what: "section public key",
            tag: 3
        })
    );
    // A capsule is not a section key, even with the same layout.
    assert!(Capsule::from_bytes(&good).is_err());
}

fn envelope(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag, 1];
    v.extend_from_slice(body);
    v
}

#[test]
fn identity_point_is_refused() {
    let mut id = [0u8; 48];
    id[0] = 0xc0; // compressed + infinity
    assert_eq!(
        Capsule::from_bytes(&envelope(0x03, &id)),
        Err(Error::IdentityPoint { what: "capsule" })
    );
    let mut id2 = [0u8; 96];
    id2[0] = 0xc0;
    assert_eq!(
        ReKey::from_bytes(&envelope(0x04, &id2)),
        Err(Error::IdentityPoint {
            what: "re-encryption key"
        })
    );
}

/// A point on E(Fq) outside the order-r subgroup.
fn off_subgroup_g1() -> [u8; 48] {
    let mut x = Fq::from(1u64);
    loop {
        if let Some(p) = G1Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                let mut out = [0u8; 48];
                p.serialize_compressed(&mut out[..]).unwrap();
                return out;
            }
        }
        x += Fq::one();
    }
}

#[test]
fn point_outside_the_subgroup_is_refused() {
    let p = off_subgroup_g1();
    assert_eq!(
        Capsule::from_bytes(&envelope(0x03, &p)),
        Err(Error::NotInSubgroup { what: "capsule" })
    );
    assert_eq!(
        SectionPublicKey::from_bytes(&envelope(0x01, &p)),
        Err(Error::NotInSubgroup {
            what: "section public key"
        })
    );
}

#[test]
fn non_canonical_or_off_curve_point_is_refused() {
    // x = p (not reduced), with the compression flag.
    let mut x = [0u8; 48];
    Fq::MODULUS.serialize_uncompressed(&mut x[..]).ok();
    let mut be = Fq::MODULUS.to_bytes_be();
    be[0] |= 0x80;
    x.copy_from_slice(&be);
    assert_eq!(
        Capsule::from_bytes(&envelope(0x03, &x)),
        Err(Error::InvalidPoint { what: "capsule" })
    );
    // Missing compression flag.
    let (a, _, _) = setup();
    let mut raw = a.public_key().to_bytes();
    raw[2] &= 0x7f;
    assert_eq!(
        SectionPublicKey::from_bytes(&raw),
        Err(Error::InvalidPoint {
            what: "section public key"
        })
    );
    // An x with no point on the curve.
    let mut xx = Fq::from(0u64);
    loop {
        if G1Affine::get_point_from_x_unchecked(xx, true).is_none() {
            break;
        }
        xx += Fq::one();
    }
    let mut enc = [0u8; 48];
    enc.copy_from_slice(&xx.into_bigint().to_bytes_be());
    enc[0] |= 0x80;
    assert_eq!(
        Capsule::from_bytes(&envelope(0x03, &enc)),
        Err(Error::InvalidPoint { what: "capsule" })
    );
}

use ark_ff::BigInteger;

#[test]
fn zero_and_non_canonical_scalars_are_refused() {
    assert_eq!(
        SectionSecretKey::from_bytes(&envelope(0x08, &[0u8; 32])).unwrap_err(),
        Error::ZeroScalar {
            what: "section secret key"
        }
    );
    let mut r = [0u8; 32];
    r.copy_from_slice(&ark_bls12_381::Fr::MODULUS.to_bytes_le());
    assert_eq!(
        ReaderSecretKey::from_bytes(&envelope(0x09, &r)).unwrap_err(),
        Error::NonCanonicalScalar {
            what: "reader secret key"
        }
    );
    assert_eq!(
        ReaderSecretKey::from_bytes(&envelope(0x09, &[0xff; 32])).unwrap_err(),
        Error::NonCanonicalScalar {
            what: "reader secret key"
        }
    );
}

/// Replaces `T` in an encoded re-encrypted capsule.
fn with_t(rc: &ReCapsule, t: &Fq12) -> Vec<u8> {
    let mut bytes = rc.to_bytes().to_vec();
    let mut enc = Vec::new();
    t.serialize_uncompressed(&mut enc).unwrap();
    bytes[50..].copy_from_slice(&enc);
    bytes
}

fn t_of(rc: &ReCapsule) -> Fq12 {
    use ark_serialize::CanonicalDeserialize;
    Fq12::deserialize_uncompressed(&rc.to_bytes()[50..]).unwrap()
}

fn a_recapsule() -> ReCapsule {
    let (a, _, rk) = setup();
    let (capsule, _) = encapsulate(&a.public_key(), b"", &mut rng(11)).unwrap();
    rk.reencrypt(&capsule)
}

#[test]
fn gt_zero_and_one_are_refused() {
    let rc = a_recapsule();
    for t in [Fq12::zero(), Fq12::one()] {
        assert_eq!(
            ReCapsule::from_bytes(&with_t(&rc, &t)),
            Err(Error::InvalidGtElement(GtCheck::Trivial))
        );
    }
}

#[test]
fn gt_element_outside_the_cyclotomic_subgroup_is_refused() {
    let rc = a_recapsule();
    let t = t_of(&rc);
    let junk = t + Fq12::one();
    assert_eq!(
        ReCapsule::from_bytes(&with_t(&rc, &junk)),
        Err(Error::InvalidGtElement(GtCheck::NotCyclotomic))
    );
}

#[test]
fn t_times_a_cube_root_of_unity_is_refused() {
    let rc = a_recapsule();
    let w = common::cube_root_of_unity();
    let t = t_of(&rc) * w;
    // ω alone passes the order test (p ≡ u ≡ 1 mod 3): only the cyclotomic test stops it.
    let mut wp = w;
    wp.frobenius_map_in_place(1);
    assert_eq!(wp, w.pow([0xd201_0000_0001_0000u64]).inverse().unwrap());
    assert_eq!(
        ReCapsule::from_bytes(&with_t(&rc, &t)),
        Err(Error::InvalidGtElement(GtCheck::NotCyclotomic))
    );
}

#[test]
fn small_order_elements_are_refused() {
    let rc = a_recapsule();
    let s = common::order_4513();
    // Alone, and hiding behind a genuine T: both cyclotomic, neither of order r.
    for t in [s, t_of(&rc) * s] {
        assert_eq!(
            ReCapsule::from_bytes(&with_t(&rc, &t)),
            Err(Error::InvalidGtElement(GtCheck::WrongOrder))
        );
    }
}

#[test]
fn non_canonical_gt_coordinate_is_refused() {
    let rc = a_recapsule();
    let mut bytes = rc.to_bytes().to_vec();
    // First Fq coordinate set to p (little-endian in arkworks' uncompressed encoding).
    bytes[50..98].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    assert_eq!(
        ReCapsule::from_bytes(&bytes),
        Err(Error::InvalidEncoding {
            what: "re-encrypted capsule",
            field: Some("GT element"),
        })
    );
}

#[test]
fn a_genuine_t_from_another_capsule_decodes_but_gives_another_key() {
    let (a, b, rk) = setup();
    let (c1, k1) = encapsulate(&a.public_key(), b"", &mut rng(12)).unwrap();
    let (c2, _) = encapsulate(&a.public_key(), b"", &mut rng(13)).unwrap();
    let rc1 = rk.reencrypt(&c1);
    let rc2 = rk.reencrypt(&c2);
    let mut mixed = rc1.to_bytes();
    mixed[50..].copy_from_slice(&rc2.to_bytes()[50..]);
    let mixed = ReCapsule::from_bytes(&mixed).unwrap();
    assert_ne!(
        b.decapsulate_reencrypted(&mixed, &a.public_key(), b"")
            .unwrap(),
        k1
    );
}

mod properties {
    use proptest::prelude::*;
    use sesphr::pre::{encapsulate, ReKey, ReaderSecretKey, SectionSecretKey};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn any_keys_and_context_round_trip(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), r in any::<[u8; 32]>(), ctx in proptest::collection::vec(any::<u8>(), 0..200)) {
            use rand_chacha::rand_core::SeedableRng;
            let a = SectionSecretKey::from_seed(&a).unwrap();
            let b = ReaderSecretKey::from_seed(&b).unwrap();
            let mut rng = rand_chacha::ChaCha20Rng::from_seed(r);
            let (c, k) = encapsulate(&a.public_key(), &ctx, &mut rng).unwrap();
            prop_assert_eq!(&a.decapsulate(&c, &ctx).unwrap(), &k);
            let rc = ReKey::new(&a, &b.public_key()).reencrypt(&c);
            prop_assert_eq!(&b.decapsulate_reencrypted(&rc, &a.public_key(), &ctx).unwrap(), &k);
        }
    }
}

#[test]
fn a_batch_decapsulates_like_single_items_and_a_bad_item_fails_alone() {
    let (a, b, rk) = setup();
    let mut rng = rng(30);
    let other = SectionSecretKey::random(&mut rng).public_key();
    let pk = a.public_key();
    let mut keys = Vec::new();
    let mut recapsules = Vec::new();
    for i in 0..5u8 {
        let (c, k) = encapsulate(&pk, &[i], &mut rng).unwrap();
        keys.push(k);
        recapsules.push(rk.reencrypt(&c));
    }
    let contexts: Vec<[u8; 1]> = (0..5u8).map(|i| [i]).collect();
    let mut items: Vec<(&ReCapsule, &SectionPublicKey, &[u8])> = recapsules
        .iter()
        .zip(&contexts)
        .map(|(rc, ctx)| (rc, &pk, &ctx[..]))
        .collect();
    // Item 2 names another section key: its key comes out different, the others are intact.
    items[2].1 = &other;
    let out = b.decapsulate_reencrypted_many(&items);
    assert_eq!(out.len(), 5);
    for (i, (got, want)) in out.iter().zip(&keys).enumerate() {
        let got = got.as_ref().unwrap();
        assert_eq!(got == want, i != 2, "item {i}");
        assert_eq!(
            got,
            &b.decapsulate_reencrypted(items[i].0, items[i].1, items[i].2)
                .unwrap()
        );
    }
    assert!(b.decapsulate_reencrypted_many(&[]).is_empty());
}
