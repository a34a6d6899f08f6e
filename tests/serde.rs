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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SRS's signed operations, and the record values an operation carries, travel as JSON
/// hex of their canonical bytes; what comes out is what the SRS verifies and runs.
#[test]
fn signed_operations_and_record_values_round_trip_through_json() {
    use common::world::{World, NOW};
    use sesphr::dem::WrappedKey;
    use sesphr::phr::{
        AclUpdate, Change, History, KeyBlock, MasterSecret, Owner, Role, SectionName, SignedAcl,
        Timestamp,
    };
    use sesphr::sign::{ProofOfPossession, Signature};
    use sesphr::srs::{Operation, Response, SignedOperation};

    fn round_trip<T>(v: &T, bytes: &[u8])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(v).unwrap();
        assert_eq!(json, format!("\"{}\"", hex(bytes)));
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), v);
    }

    let mut w = World::new(61);
    let owner = Owner::from_master(MasterSecret::from_raw([61; 32])).unwrap();
    let owner_a = w.enrol(Role::Patient, owner.keys().clone());
    let hospital = w.actor(Role::Hospital);
    let section = owner.section_id(&SectionName::new("medical").unwrap());
    let update = owner
        .create_record(
            owner.record_id("main").unwrap(),
            Timestamp::new(NOW.get() + 1_000),
            &[
                Change::AddSection { section },
                Change::GrantWrite {
                    section,
                    writer: hospital.keys.bundle(),
                },
                Change::GrantRead {
                    section,
                    reader: hospital.keys.bundle(),
                    history: History::None,
                },
            ],
            &mut w.rng,
        )
        .unwrap();
    round_trip(&update, &update.to_bytes());
    round_trip(update.acl(), &update.acl().to_bytes());

    // An operation crosses the wire as JSON and runs: its signature survives the trip.
    let op = w.sign(&owner_a, Operation::ApplyUpdate(update.clone()));
    round_trip(&op, &op.to_bytes());
    let json = serde_json::to_string(&op).unwrap();
    let received: SignedOperation = serde_json::from_str(&json).unwrap();
    assert_eq!(
        w.srs.execute(&received, NOW, &mut w.rng),
        Ok(Response::Done)
    );

    let acl = update.acl().verify(&owner.verifying_key()).unwrap();
    let entry = hospital
        .keys
        .seal_entry(&acl, section, b"labs", NOW, &mut w.rng)
        .unwrap();
    round_trip(entry.key_block(), &entry.key_block().to_bytes());
    round_trip(entry.signature(), &entry.signature().to_bytes());
    let submit = w.sign(&hospital, entry.submission());
    round_trip(&submit, &submit.to_bytes());
    let received: SignedOperation =
        serde_json::from_str(&serde_json::to_string(&submit).unwrap()).unwrap();
    assert!(matches!(
        w.srs.execute(&received, NOW, &mut w.rng),
        Ok(Response::Accepted(_))
    ));
    let pop = hospital.keys.prove_possession(&mut w.rng).unwrap();
    round_trip(&pop, &pop.to_bytes());

    // Decoding runs every check of `from_bytes`: an unknown operation type, a truncated
    // operation, a tampered signature, and another type's bytes are refused.
    let mut unknown = op.to_bytes();
    unknown[2 + 32 + 16 + 32 + 8 + 16] = 0xff;
    let truncated = &op.to_bytes()[..op.to_bytes().len() - 1];
    let mut zero_s = op.to_bytes();
    let n = zero_s.len();
    zero_s[n - 32..].fill(0);
    for bad in [&unknown[..], truncated, &zero_s[..], &update.to_bytes()[..]] {
        let json = format!("\"{}\"", hex(bad));
        assert!(serde_json::from_str::<SignedOperation>(&json).is_err());
    }
    let err = serde_json::from_str::<SignedOperation>(&format!("\"{}\"", hex(&unknown)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("operation"), "{err}");
    for bad in ["\"0\"", "\"zz\"", "\"\"", "17"] {
        assert!(
            serde_json::from_str::<SignedOperation>(bad).is_err(),
            "{bad}"
        );
    }
    // Bytes of one type are not another's.
    let as_acl = format!("\"{}\"", hex(&op.to_bytes()));
    assert!(serde_json::from_str::<SignedAcl>(&as_acl).is_err());
    assert!(serde_json::from_str::<AclUpdate>(&as_acl).is_err());
    assert!(serde_json::from_str::<KeyBlock>(&as_acl).is_err());
    assert!(serde_json::from_str::<Signature>(&as_acl).is_err());
    assert!(serde_json::from_str::<WrappedKey>(&as_acl).is_err());
    assert!(serde_json::from_str::<ProofOfPossession>(&as_acl).is_err());
}
