//! Every `Error` variant is produced by a real failing operation, and this test fails when a
//! variant is added to `src/error.rs` without one.

mod common;

use std::collections::BTreeSet;

use common::world::{Actor, World};
use sesphr::dem::{open_body, BodySealer, DataKey, NoncePrefix};
use sesphr::log::{ConsistencyProof, Witness};
use sesphr::phr::{
    Change, History, MasterSecret, Owner, PrincipalId, RecordId, Role, SectionId, SectionName,
    Timestamp,
};
use sesphr::pre::{Capsule, ReCapsule, SectionPublicKey, SectionSecretKey};
use sesphr::sign::{Purpose, SigningKey};
use sesphr::srs::{Changeset, Operation, Response, Row, Srs, SrsConfig, Store, StoreError};
use sesphr::Error;

fn variant(e: &Error) -> String {
    let s = format!("{e:?}");
    s.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The variant names declared in `src/error.rs`.
fn declared() -> BTreeSet<String> {
    let src = include_str!("../src/error.rs");
    let body = src
        .split("pub enum Error {")
        .nth(1)
        .unwrap()
        .split("\n}\n")
        .next()
        .unwrap();
    body.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("///") && !l.starts_with("//"))
        .filter_map(|l| {
            let name: String = l.chars().take_while(|c| c.is_alphanumeric()).collect();
            (!name.is_empty()
                && name.chars().next().unwrap().is_uppercase()
                && (l.ends_with('{') || l.ends_with(',') || l.contains('(')))
            .then_some(name)
        })
        .filter(|n| n != "Option")
        .collect()
}

/// A store whose database is down.
struct Unavailable;

impl Store for Unavailable {
    fn get(&self, _: &[u8]) -> Result<Option<Row>, StoreError> {
        Err(StoreError::Unavailable)
    }
    fn scan(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<Vec<Row>, StoreError> {
        Err(StoreError::Unavailable)
    }
    fn commit(&self, _: &Changeset) -> Result<(), StoreError> {
        Err(StoreError::Unavailable)
    }
}

fn produced() -> Vec<Error> {
    let mut rng = common::rng(90);
    let a = SectionSecretKey::random(&mut rng);
    let good = a.public_key().to_bytes();
    let mut out = Vec::new();
    out.push(SectionPublicKey::from_bytes(&good[..3]).unwrap_err());
    out.push(Capsule::from_bytes(&good).unwrap_err()); // UnknownTag
    out.push(SectionPublicKey::from_bytes(&[&[1u8, 7][..], &good[2..]].concat()).unwrap_err());
    let mut no_flag = good;
    no_flag[2] &= 0x7f;
    out.push(SectionPublicKey::from_bytes(&no_flag).unwrap_err()); // InvalidPoint
    let mut ident = vec![3u8, 1, 0xc0];
    ident.extend([0; 47]);
    out.push(Capsule::from_bytes(&ident).unwrap_err()); // IdentityPoint
    let mut x = ark_bls12_381::Fq::from(1u64);
    let off = loop {
        if let Some(p) = ark_bls12_381::G1Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                break p;
            }
        }
        x += ark_bls12_381::Fq::from(1u64);
    };
    let mut off_bytes = vec![3u8, 1];
    ark_serialize::CanonicalSerialize::serialize_compressed(&off, &mut off_bytes).unwrap();
    out.push(Capsule::from_bytes(&off_bytes).unwrap_err()); // NotInSubgroup
    out.push(SectionSecretKey::from_bytes(&[&[8u8, 1][..], &[0xff; 32]].concat()).unwrap_err());
    out.push(SectionSecretKey::from_bytes(&[&[8u8, 1][..], &[0; 32]].concat()).unwrap_err());
    let b = sesphr::pre::ReaderSecretKey::random(&mut rng);
    let (c, _) = sesphr::pre::encapsulate(&a.public_key(), b"", &mut rng).unwrap();
    let mut rc = sesphr::pre::ReKey::new(&a, &b.public_key())
        .reencrypt(&c)
        .to_bytes();
    rc[50..].fill(0);
    out.push(ReCapsule::from_bytes(&rc).unwrap_err()); // InvalidGtElement
    let dk = DataKey::random(&mut rng);
    out.push(open_body(&dk, &NoncePrefix::new([0; 7]), b"", &[0; 40]).unwrap_err()); // DecryptionFailed
    let sk = SigningKey::random(&mut rng);
    let sig = sk.sign(Purpose::Acl, &[b"a"], &mut rng).unwrap();
    out.push(
        sk.verifying_key()
            .verify(Purpose::Op, &[b"a"], &sig)
            .unwrap_err(),
    ); // BadSignature
    out.push(
        sk.sign(Purpose::Acl, &[&[0u8; 70_000]], &mut rng)
            .unwrap_err(),
    ); // TooLong
    out.push(SectionName::new("Bad Name").unwrap_err()); // InvalidName
    out.push(
        BodySealer::new(&dk, &NoncePrefix::new([0; 7]), b"")
            .seal_segment(b"short")
            .unwrap_err(),
    ); // StreamMisuse

    let mut w = World::new(91);
    let doctor = w.actor(Role::Doctor);
    out.push(
        w.run(&doctor, Operation::Activate { target: w.admin.id })
            .unwrap_err(),
    ); // NotAuthorized
    let admin = w.admin.clone();
    out.push(
        w.run(
            &admin,
            Operation::Activate {
                target: PrincipalId::new([0x77; 16]),
            },
        )
        .unwrap_err(),
    ); // NotFound
    let dup = w
        .client(&doctor)
        .register(Role::Doctor, w.now, &mut w.rng)
        .unwrap();
    out.push(w.srs.execute(&dup, w.now, &mut w.rng).unwrap_err()); // AlreadyExists
    let owner = Owner::from_master(MasterSecret::from_raw([1; 32])).unwrap();
    let s = SectionId::new([1; 16]);
    let until = Timestamp::new(w.now.get() + 10);
    let u = owner
        .create_record(
            RecordId::new([1; 16]),
            until,
            &[Change::AddSection { section: s }],
            &mut rng,
        )
        .unwrap();
    let mut v = sesphr::phr::AclVerifier::new(RecordId::new([1; 16]), owner.verifying_key());
    out.push(
        v.accept(u.acl(), Timestamp::new(until.get() + 1))
            .unwrap_err(),
    ); // AclRejected
    out.push(
        owner
            .create_record(
                RecordId::new([1; 16]),
                until,
                &[Change::RemoveSection {
                    section: SectionId::new([2; 16]),
                }],
                &mut rng,
            )
            .unwrap_err(),
    ); // InvalidChange
    let owner_a = w.enrol(Role::Patient, owner.keys().clone());
    w.run(&owner_a, Operation::ApplyUpdate(u.clone())).unwrap();
    let Response::RequestFiled(req) = w
        .run(
            &owner_a,
            Operation::Request {
                record: RecordId::new([1; 16]),
                right: sesphr::phr::Right::Read(Some(History::All)),
                sections: vec![s],
            },
        )
        .unwrap()
    else {
        panic!()
    };
    out.push(
        w.run(&owner_a, Operation::DeleteRequest { request: req })
            .unwrap_err(),
    ); // IllegalTransition
    let request = w.srs.request(req).unwrap().unwrap();
    out.push(
        request
            .check_time(Timestamp::new(w.now.get() - 1))
            .unwrap_err(),
    ); // ClockWentBackwards
    let acl = u.acl().verify(&owner.verifying_key()).unwrap();
    let next = owner
        .update(
            &acl,
            until,
            &[Change::AddSection {
                section: SectionId::new([3; 16]),
            }],
            &mut rng,
        )
        .unwrap();
    let mut strict = Srs::new(
        w.store.clone(),
        w.srs_key.clone(),
        "test",
        SrsConfig {
            limits: sesphr::phr::Limits {
                sections_per_record: 1,
                ..Default::default()
            },
            ..SrsConfig::default()
        },
    );
    let op = w.sign(&owner_a, Operation::ApplyUpdate(next));
    out.push(strict.execute(&op, w.now, &mut rng).unwrap_err()); // LimitExceeded
    let mut down = Srs::new(Unavailable, w.srs_key.clone(), "test", SrsConfig::default());
    let login = w.sign(&doctor, Operation::Login);
    out.push(down.execute(&login, w.now, &mut rng).unwrap_err()); // Store
                                                                  // The disclosure log: a checkpoint checked with another key (Log), and a witness shown
                                                                  // the same log size with two roots (LogFork).
    let record = RecordId::new([1; 16]);
    let c = w.srs.checkpoint(record).unwrap().unwrap();
    let stranger = SigningKey::random(&mut rng).verifying_key();
    out.push(c.verify(&stranger).unwrap_err()); // Log
    let mut witness = Witness::new(SigningKey::random(&mut rng), w.srs.verifying_key());
    let none = ConsistencyProof::new(0, 0, vec![]).unwrap();
    witness.cosign(&c, &none, w.now, &mut rng).unwrap();
    out.push(forked_checkpoint(&mut w, &mut witness, &owner_a, record)); // LogFork
    out
}

/// Two handles over copies of one store, each appending another event: the witness that
/// cosigned one refuses the other with both checkpoints.
fn forked_checkpoint(w: &mut World, witness: &mut Witness, who: &Actor, record: RecordId) -> Error {
    let copy = std::sync::Arc::new(sesphr::srs::MemoryStore::from_rows(w.rows()));
    let mut fork = Srs::new(copy, w.srs_key.clone(), "test", SrsConfig::default());
    let before = w.srs.checkpoint(record).unwrap().unwrap();
    let size = before.checkpoint_unverified().size;
    let section = w.srs.acl(record).unwrap().unwrap();
    let section = *section.acl_unverified().sections().next().unwrap().0;
    let ask = Operation::Request {
        record,
        right: sesphr::phr::Right::Write,
        sections: vec![section],
    };
    let (a, b) = (w.sign(who, ask.clone()), w.sign(who, ask));
    w.srs.execute(&a, w.now, &mut w.rng).unwrap();
    fork.execute(&b, w.now, &mut w.rng).unwrap();
    let main = w.srs.checkpoint(record).unwrap().unwrap();
    let other = fork.checkpoint(record).unwrap().unwrap();
    let p = w.srs.consistency(record, size, size + 1).unwrap();
    witness.cosign(&main, &p, w.now, &mut w.rng).unwrap();
    let p = fork.consistency(record, size, size + 1).unwrap();
    witness.cosign(&other, &p, w.now, &mut w.rng).unwrap_err()
}

#[test]
fn every_error_variant_is_produced_by_a_test() {
    let declared = declared();
    assert!(declared.len() >= 20, "parsed variants: {declared:?}");
    let names: BTreeSet<String> = produced().iter().map(variant).collect();
    let missing: Vec<_> = declared.difference(&names).collect();
    assert!(
        missing.is_empty(),
        "Error variants without a producing test: {missing:?}"
    );
    // Displays never carry secrets and are non-empty.
    for e in produced() {
        assert!(!e.to_string().is_empty());
    }
}

/// Errors carry the non-secret context a user needs: the record and version of a refused
/// ACL (a replay is "already applied", a rollback "older than"), the section, epoch and key
/// of a refusal, and the field of a failed decode deep in a structure.
#[test]
fn errors_name_their_context() {
    use sesphr::phr::{AclProblem, AclUpdate, AclVersion, KeyBundle, PrincipalKeys};
    use sesphr::srs::Refusal;

    let mut w = World::new(92);
    let owner = Owner::from_master(MasterSecret::from_raw([92; 32])).unwrap();
    let owner_a = w.enrol(Role::Patient, owner.keys().clone());
    let hospital = w.actor(Role::Hospital);
    let record = owner.record_id("main").unwrap();
    let s = owner.section_id(&SectionName::new("medical").unwrap());
    let until = Timestamp::new(w.now.get() + 100);
    let doctor = PrincipalKeys::random(&mut w.rng);
    let v1 = owner
        .create_record(
            record,
            until,
            &[
                Change::AddSection { section: s },
                Change::GrantRead {
                    section: s,
                    reader: doctor.bundle(),
                    history: History::All,
                },
            ],
            &mut w.rng,
        )
        .unwrap();
    w.run(&owner_a, Operation::ApplyUpdate(v1.clone())).unwrap();
    let acl1 = v1.acl().verify(&owner.verifying_key()).unwrap();
    let v2 = owner
        .update(&acl1, until, &[Change::Rotate { section: s }], &mut w.rng)
        .unwrap();
    w.run(&owner_a, Operation::ApplyUpdate(v2.clone())).unwrap();

    // The same version again: already applied, not "older than itself".
    let again = w
        .run(&owner_a, Operation::ApplyUpdate(v2.clone()))
        .unwrap_err();
    assert_eq!(
        again,
        Error::AclRejected {
            record,
            version: AclVersion::new(2),
            problem: AclProblem::AlreadySeen,
        }
    );
    let text = again.to_string();
    assert!(
        text.contains("version 2") && text.contains(&record.to_string()),
        "{text}"
    );
    assert!(text.contains("already applied"), "{text}");
    // An older version: a rollback, naming the newest one seen.
    let older = w
        .run(&owner_a, Operation::ApplyUpdate(v1.clone()))
        .unwrap_err();
    assert_eq!(
        older,
        Error::AclRejected {
            record,
            version: AclVersion::new(1),
            problem: AclProblem::Stale {
                seen: AclVersion::new(2)
            },
        }
    );
    assert!(
        older.to_string().contains("version 1 of record")
            && older.to_string().contains("older than version 2"),
        "{older}"
    );
    // Expired: when, and when it was checked.
    let mut verifier = sesphr::phr::AclVerifier::new(record, owner.verifying_key());
    let late = Timestamp::new(until.get() + 5);
    let expired = verifier.accept(v2.acl(), late).unwrap_err();
    assert_eq!(
        expired.to_string(),
        format!(
            "ACL version 2 of record {record} rejected: expired at {until} (checked at {late})"
        )
    );

    // A writer without the right: the section, the epoch and the writer's key.
    let acl2 = v2.acl().verify(&owner.verifying_key()).unwrap();
    let no_write = hospital
        .keys
        .seal_entry(&acl2, s, b"x", w.now, &mut w.rng)
        .unwrap_err();
    let fp = hospital.keys.bundle().fingerprint();
    assert_eq!(
        no_write,
        Error::NotAuthorized {
            refusal: Refusal::NoWriteRight,
            section: Some(s),
            epoch: Some(sesphr::phr::Epoch::new(1)),
            principal: Some(fp),
        }
    );
    assert_eq!(
        no_write.to_string(),
        format!(
            "not authorized: no write right on this section (section {s}, epoch 1, key {})",
            fp.short()
        )
    );

    // A decode failure deep in a structure names the innermost value and its field: a
    // reader's first epoch inside the ACL inside the signed ACL inside an update.
    let bytes = v1.to_bytes();
    let acl_bytes = v1.acl().acl_unverified().to_bytes().unwrap();
    // The reader's from-epoch is the 4 bytes after the reader's key bundle, which is the
    // only bundle after the section key; set it beyond the section's epoch.
    let bundle = doctor.bundle().to_bytes();
    let at = acl_bytes
        .windows(KeyBundle::SIZE)
        .position(|w| w == bundle)
        .unwrap()
        + KeyBundle::SIZE;
    let mut bad = acl_bytes.clone();
    bad[at..at + 4].copy_from_slice(&9u32.to_be_bytes());
    assert_eq!(
        sesphr::phr::Acl::from_bytes(&bad).unwrap_err(),
        Error::InvalidEncoding {
            what: "ACL",
            field: Some("reader from-epoch"),
        }
    );
    let mut bad_update = bytes.clone();
    let acl_at = bytes
        .windows(acl_bytes.len())
        .position(|w| w == acl_bytes)
        .unwrap();
    bad_update[acl_at + at..acl_at + at + 4].copy_from_slice(&9u32.to_be_bytes());
    let err = AclUpdate::from_bytes(&bad_update).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid encoding of ACL (at reader from-epoch)"
    );
    // Truncation and trailing bytes say so.
    assert_eq!(
        sesphr::phr::Acl::from_bytes(&acl_bytes[..40]).unwrap_err(),
        Error::InvalidEncoding {
            what: "ACL",
            field: Some("previous hash"),
        }
    );
    let trailing = [&acl_bytes[..], &[0]].concat();
    assert_eq!(
        sesphr::phr::Acl::from_bytes(&trailing)
            .unwrap_err()
            .to_string(),
        "invalid encoding of ACL (at trailing bytes)"
    );
    // Ids parsed from text name what they are.
    assert_eq!(
        "xyz".parse::<RecordId>().unwrap_err(),
        Error::InvalidEncoding {
            what: "record id",
            field: Some("length (hex digits)"),
        }
    );
    // Authentication stays opaque.
    assert_eq!(Error::DecryptionFailed.to_string(), "decryption failed");
}

/// `Timestamp` from the system clock: whole seconds since the Unix epoch, and a time before
/// it saturates to zero.
#[test]
fn timestamps_from_system_time() {
    use std::time::{Duration, UNIX_EPOCH};
    let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
    assert_eq!(Timestamp::from(t), Timestamp::new(1_700_000_000));
    assert_eq!(Timestamp::from(UNIX_EPOCH), Timestamp::new(0));
    let before = UNIX_EPOCH - Duration::from_secs(10);
    assert_eq!(Timestamp::from(before), Timestamp::new(0));
    assert_eq!(Timestamp::new(42).to_string(), "42");
    assert_eq!("42".parse::<Timestamp>().unwrap(), Timestamp::new(42));
    assert!("-1".parse::<Timestamp>().is_err());
}
