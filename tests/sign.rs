//! Schnorr signatures: purpose separation, proofs of possession, encodings.

mod common;

use common::rng;
use sesphr::sign::{ProofOfPossession, Purpose, Signature, SigningKey, VerifyingKey};
use sesphr::Error;

#[test]
fn signatures_verify_only_for_their_key_purpose_and_fields() {
    let mut r = rng(30);
    let sk = SigningKey::random(&mut r);
    let vk = sk.verifying_key();
    let sig = sk
        .sign(Purpose::Entry, &[b"header hash", b"body hash"], &mut r)
        .unwrap();
    assert_eq!(
        vk.verify(Purpose::Entry, &[b"header hash", b"body hash"], &sig),
        Ok(())
    );
    // Same fields under another purpose tag: refused.
    for p in [Purpose::Acl, Purpose::Rewrap, Purpose::Op, Purpose::Pop] {
        assert_eq!(
            vk.verify(p, &[b"header hash", b"body hash"], &sig),
            Err(Error::BadSignature)
        );
    }
    // Changed, re-split or missing fields: refused (fields are length-prefixed).
    assert_eq!(
        vk.verify(Purpose::Entry, &[b"header hasH", b"body hash"], &sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        vk.verify(Purpose::Entry, &[b"header has", b"hbody hash"], &sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        vk.verify(Purpose::Entry, &[b"header hash"], &sig),
        Err(Error::BadSignature)
    );
    // Another key.
    let other = SigningKey::random(&mut r).verifying_key();
    assert_eq!(
        other.verify(Purpose::Entry, &[b"header hash", b"body hash"], &sig),
        Err(Error::BadSignature)
    );
}

#[test]
fn signature_and_keys_round_trip_and_tampering_fails() {
    let mut r = rng(31);
    let sk = SigningKey::from_seed(&[5; 32]).unwrap();
    let vk = sk.verifying_key();
    let sig = sk.sign(Purpose::Acl, &[b"digest"], &mut r).unwrap();
    let bytes = sig.to_bytes();
    assert_eq!(Signature::from_bytes(&bytes).unwrap(), sig);
    assert_eq!(VerifyingKey::from_bytes(&vk.to_bytes()).unwrap(), vk);
    assert_eq!(
        SigningKey::from_bytes(&sk.to_bytes()[..])
            .unwrap()
            .verifying_key(),
        vk
    );
    // Flip a bit of s (the last bytes): either non-canonical or a different valid scalar.
    let mut t = bytes;
    t[Signature::SIZE - 5] ^= 1;
    match Signature::from_bytes(&t) {
        Ok(s) => assert_eq!(
            vk.verify(Purpose::Acl, &[b"digest"], &s),
            Err(Error::BadSignature)
        ),
        Err(e) => assert!(matches!(e, Error::NonCanonicalScalar { .. })),
    }
    // Zero s.
    let mut z = bytes;
    z[2 + 48..].fill(0);
    assert_eq!(
        Signature::from_bytes(&z),
        Err(Error::ZeroScalar { what: "signature" })
    );
    assert!(format!("{sk:?}").contains(".."));
}

#[test]
fn proof_of_possession_binds_the_key() {
    let mut r = rng(32);
    let sk = SigningKey::random(&mut r);
    let other = SigningKey::random(&mut r);
    let pop = sk.prove_possession(&mut r).unwrap();
    assert_eq!(ProofOfPossession::from_bytes(&pop.to_bytes()).unwrap(), pop);
    assert_eq!(sk.verifying_key().verify_possession(&pop), Ok(()));
    assert_eq!(
        other.verifying_key().verify_possession(&pop),
        Err(Error::BadSignature)
    );
    // A PoP is not a login or an ACL signature, and vice versa.
    let login = sk
        .sign(Purpose::Op, &[&sk.verifying_key().to_bytes()], &mut r)
        .unwrap();
    let forged = ProofOfPossession::from_bytes(&{
        let mut b = pop.to_bytes();
        b[2..].copy_from_slice(&login.to_bytes());
        b
    })
    .unwrap();
    assert_eq!(
        sk.verifying_key().verify_possession(&forged),
        Err(Error::BadSignature)
    );
}

#[test]
fn overlong_fields_are_refused() {
    let mut r = rng(33);
    let sk = SigningKey::random(&mut r);
    assert_eq!(
        sk.sign(Purpose::Entry, &[&vec![0u8; 70_000]], &mut r)
            .unwrap_err(),
        Error::TooLong {
            what: "signed field"
        }
    );
}
