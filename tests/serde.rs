//! serde goes through the canonical bytes: hex in JSON, and decoding runs every check.
#![cfg(feature = "serde")]

mod common;

use sesphr::phr::{KeyBundle, PrincipalKeys};
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderSecretKey, SectionPublicKey, SectionSecretKey,
};

#[test]
fn json_round_trips_as_hex_and_checks_on_the_way_in() {
    let mut rng = common::rng(60);
    let a = SectionSecretKey::random(&mut rng);
    let b = ReaderSecretKey::random(&mut rng);
    let (c, _) = encapsulate(&a.public_key(), b"", &mut rng).unwrap();
    let rc = ReKey::new(&a, &b.public_key()).reencrypt(&c);

    let json = serde_json::to_string(&a.public_key()).unwrap();
    let hex: String = a
        .public_key()
        .to_bytes()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    assert_eq!(json, format!("\"{hex}\""));
    assert_eq!(
        serde_json::from_str::<SectionPublicKey>(&json).unwrap(),
        a.public_key()
    );
    assert_eq!(
        serde_json::from_str::<Capsule>(&serde_json::to_string(&c).unwrap()).unwrap(),
        c
    );
    assert_eq!(
        serde_json::from_str::<ReCapsule>(&serde_json::to_string(&rc).unwrap()).unwrap(),
        rc
    );
    let bundle = PrincipalKeys::random(&mut rng).bundle();
    assert_eq!(
        serde_json::from_str::<KeyBundle>(&serde_json::to_string(&bundle).unwrap()).unwrap(),
        bundle
    );

    // A capsule's bytes are not a section key, odd hex and junk are refused.
    assert!(serde_json::from_str::<SectionPublicKey>(&serde_json::to_string(&c).unwrap()).is_err());
    assert!(serde_json::from_str::<SectionPublicKey>("\"0\"").is_err());
    assert!(serde_json::from_str::<SectionPublicKey>("\"zz\"").is_err());
    let mut t_one = rc.to_bytes();
    t_one[50..].fill(0);
    t_one[50] = 1;
    let j: String = t_one.iter().map(|x| format!("{x:02x}")).collect();
    assert!(serde_json::from_str::<ReCapsule>(&format!("\"{j}\"")).is_err());
}
