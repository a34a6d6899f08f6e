//! The SRS as a service (SPEC §8): authenticated operations, the write gate, key rows checked
//! against the owner's commitment, several handles over one store racing, and failures that
//! leave the store byte-for-byte unchanged.

mod common;

use std::sync::{Arc, Mutex};

use common::world::{refused, refused_in, Actor, World};
use sesphr::phr::{
    Change, History, MasterSecret, Owner, PrincipalId, ReKeyId, RecordId, RequestState, Right,
    Role, SealedEntry, SectionId, Timestamp,
};
use sesphr::srs::{
    Changeset, MemoryStore, Operation, Refusal, Response, Row, SignedOperation, Srs, SrsConfig,
    Store, StoreError,
};
use sesphr::Error;

use common::record::{Record, UNTIL};

/// One operation of every kind, as `who` would send it.
fn every_operation(r: &mut Record) -> Vec<(Actor, Operation)> {
    let e = r.write(b"x");
    let (p, h, d) = (r.patient.clone(), r.hospital.clone(), r.doctors[0].clone());
    let (update, _) = r.update_op(&[Change::Rotate { section: r.section }]);
    let fresh = r.seal(&h, &r.acl(), b"y");
    vec![
        (d.clone(), Operation::Login),
        (
            r.w.admin.clone(),
            Operation::Deactivate {
                target: r.doctors[1].id,
            },
        ),
        (p.clone(), update),
        (
            d.clone(),
            Operation::Request {
                record: r.record,
                right: Right::Write,
                sections: vec![r.section],
            },
        ),
        (h.clone(), fresh.submission()),
        (
            d,
            Operation::Reencrypt {
                record: r.record,
                entries: vec![e.header().entry()],
            },
        ),
        (
            p,
            Operation::Reject {
                request: sesphr::phr::RequestId::new([1; 16]),
            },
        ),
    ]
}

#[test]
fn every_operation_is_refused_unsigned_foreign_replayed_or_out_of_time() {
    let mut r = Record::new(1);
    for (who, op) in every_operation(&mut r) {
        let good = r.w.sign(&who, op.clone());
        // A flipped bit of the signature (or no valid signature at all).
        let mut bytes = good.to_bytes();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        if let Ok(bad) = SignedOperation::from_bytes(&bytes) {
            r.w.refuses_signed(Error::BadSignature, &bad);
        }
        // Signed by someone else, claiming `who`: by the other's fingerprint, then by
        // `who`'s fingerprint (the signature does not verify under `who`'s key).
        let mallory = r.doctors[1].clone();
        let forged = SignedOperation::sign(
            &mallory.keys,
            r.w.srs.id(),
            who.id,
            op.clone(),
            r.w.now,
            &mut r.w.rng,
        )
        .unwrap();
        r.w.refuses_signed(refused(Refusal::WrongSigner), &forged);
        let mut b = forged.to_bytes();
        b[2 + 32 + 16..2 + 32 + 16 + 32]
            .copy_from_slice(who.keys.bundle().fingerprint().as_bytes());
        r.w.refuses_signed(
            Error::BadSignature,
            &SignedOperation::from_bytes(&b).unwrap(),
        );
        // For another SRS (same key, another deployment name).
        let other = Srs::new(
            MemoryStore::new(),
            r.w.srs_key.clone(),
            "other",
            SrsConfig::default(),
        );
        let foreign = SignedOperation::sign(
            &who.keys,
            other.id(),
            who.id,
            op.clone(),
            r.w.now,
            &mut r.w.rng,
        )
        .unwrap();
        r.w.refuses_signed(refused(Refusal::WrongSrs), &foreign);
        // Stamped too far in the past or the future.
        let window = r.w.srs.config().window;
        for t in [r.w.now.get() - window - 1, r.w.now.get() + window + 1] {
            let stale = SignedOperation::sign(
                &who.keys,
                r.w.srs.id(),
                who.id,
                op.clone(),
                Timestamp::new(t),
                &mut r.w.rng,
            )
            .unwrap();
            r.w.refuses_signed(refused(Refusal::OutsideWindow), &stale);
        }
        // The genuine operation: its exact retry returns the same response and changes
        // nothing; its nonce with another body is a replay.
        let first = r.w.srs.execute(&good, r.w.now, &mut r.w.rng);
        let after = r.w.rows();
        let again = r.w.srs.execute(&good, r.w.now, &mut r.w.rng);
        assert_eq!(first, again);
        assert_eq!(r.w.rows(), after, "an exact retry changed the store");
    }
}

#[test]
fn a_nonce_reused_for_another_operation_is_a_replay() {
    let mut r = Record::new(2);
    let d = r.doctors[0].clone();
    let ask = |right| Operation::Request {
        record: r.record,
        right,
        sections: vec![r.section],
    };
    let first = r.w.sign(&d, ask(Right::Write));
    r.w.srs.execute(&first, r.w.now, &mut r.w.rng).unwrap();
    let other = SignedOperation::sign_with_nonce(
        &d.keys,
        r.w.srs.id(),
        d.id,
        ask(Right::Read(None)),
        r.w.now,
        *first.nonce(),
        &mut r.w.rng,
    )
    .unwrap();
    r.w.refuses_signed(refused(Refusal::Replayed), &other);
    // After the window, the replay row may be forgotten; the operation is out of time.
    let later = Timestamp::new(r.w.now.get() + 10_000);
    assert!(r.w.srs.expire_replays(later, 1000).unwrap() >= 1);
    let before = r.w.rows();
    assert_eq!(
        r.w.srs.execute(&other, later, &mut r.w.rng).unwrap_err(),
        refused(Refusal::OutsideWindow)
    );
    assert_eq!(r.w.rows(), before);
}

#[test]
fn registration_binds_the_key_to_one_id_and_the_proof_to_that_id() {
    let mut w = World::new(3);
    let doctor = w.actor(Role::Doctor);
    // The same bundle under a second id: refused, so deactivating the first id cuts it off.
    let twin = Actor {
        id: PrincipalId::new([0x42; 16]),
        keys: doctor.keys.clone(),
    };
    let op = w
        .client(&twin)
        .register(Role::Doctor, w.now, &mut w.rng)
        .unwrap();
    w.refuses_signed(Error::AlreadyExists { what: "key bundle" }, &op);
    // A registration replayed under another id: the id is signed.
    let newcomer = Actor {
        id: PrincipalId::new([0x43; 16]),
        keys: sesphr::phr::PrincipalKeys::random(&mut w.rng),
    };
    let op = w
        .client(&newcomer)
        .register(Role::Doctor, w.now, &mut w.rng)
        .unwrap();
    let mut b = op.to_bytes();
    b[2 + 32..2 + 32 + 16].copy_from_slice(&[0x44; 16]);
    w.refuses_signed(
        Error::BadSignature,
        &SignedOperation::from_bytes(&b).unwrap(),
    );
    // Registering as someone else's id: the id is taken.
    let squatter = Actor {
        id: doctor.id,
        keys: sesphr::phr::PrincipalKeys::random(&mut w.rng),
    };
    let op = w
        .client(&squatter)
        .register(Role::Admin, w.now, &mut w.rng)
        .unwrap();
    w.refuses_signed(Error::AlreadyExists { what: "principal" }, &op);
    // The genuine registration works; the newcomer is inactive until activated.
    w.srs
        .execute(&op_for(&w, &newcomer), w.now, &mut w.rng)
        .unwrap();
    assert_eq!(
        w.run(&newcomer, Operation::Login),
        Ok(Response::Status {
            role: Role::Doctor,
            active: false
        })
    );
    w.refuses(
        refused(Refusal::Inactive),
        &newcomer,
        Operation::Request {
            record: RecordId::new([1; 16]),
            right: Right::Write,
            sections: vec![SectionId::new([1; 16])],
        },
    );
    // Only an active administrator activates.
    w.refuses(
        refused(Refusal::NotAdmin),
        &doctor,
        Operation::Activate {
            target: newcomer.id,
        },
    );
    let unknown = Actor {
        id: PrincipalId::new([0x45; 16]),
        keys: sesphr::phr::PrincipalKeys::random(&mut w.rng),
    };
    w.refuses(
        refused(Refusal::UnknownPrincipal),
        &unknown,
        Operation::Login,
    );
    // The first administrator cannot be bootstrapped twice.
    let again = w
        .client(&unknown)
        .register(Role::Admin, w.now, &mut w.rng)
        .unwrap();
    assert_eq!(
        w.srs.bootstrap(&again, w.now).unwrap_err(),
        Error::AlreadyExists { what: "SRS setup" }
    );
}

fn op_for(w: &World, a: &Actor) -> SignedOperation {
    let mut rng = common::rng(99);
    w.client(a).register(Role::Doctor, w.now, &mut rng).unwrap()
}

#[test]
fn nobody_can_disturb_anyone_elses_login() {
    let mut r = Record::new(4);
    let (victim, mallory) = (r.doctors[0].clone(), r.doctors[1].clone());
    // Mallory logs in as herself, and tries as the victim with her own key: nothing of
    // the victim's changes, and there is no challenge to reset.
    r.w.run(&mallory, Operation::Login).unwrap();
    let as_victim = SignedOperation::sign(
        &mallory.keys,
        r.w.srs.id(),
        victim.id,
        Operation::Login,
        r.w.now,
        &mut r.w.rng,
    )
    .unwrap();
    r.w.refuses_signed(refused(Refusal::WrongSigner), &as_victim);
    assert_eq!(
        r.w.run(&victim, Operation::Login),
        Ok(Response::Status {
            role: Role::Doctor,
            active: true
        })
    );
}

#[test]
fn a_revoked_writer_is_refused_at_the_gate_and_its_entries_are_read_by_nobody() {
    let mut r = Record::new(5);
    let old_acl = r.acl();
    let first = r.write(b"before revocation");
    let fp = r.hospital.keys.bundle().fingerprint();
    let s = r.section;
    r.update(&[Change::RevokeWrite {
        section: s,
        writer: fp,
    }]);
    // The hospital still holds the old ACL version and seals against it.
    let h = r.hospital.clone();
    let late = r.seal(&h, &old_acl, b"after revocation");
    r.w.refuses(
        refused_in(Refusal::NoWriteRight, s, None, Some(fp)),
        &h,
        late.submission(),
    );
    // Nobody gets it re-encrypted: the SRS never accepted it.
    let d = r.doctors[0].clone();
    let items =
        r.w.reencrypt(&d, r.record, vec![late.header().entry()])
            .unwrap();
    assert_eq!(items, vec![Err(Refusal::UnknownEntry)]);
    // And without a receipt for it nobody opens it: another entry's receipt does not fit.
    let receipt =
        r.w.srs
            .receipt(r.record, first.header().entry())
            .unwrap()
            .unwrap();
    assert_eq!(
        receipt
            .verify(&r.w.srs.verifying_key(), late.header())
            .unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    assert!(r
        .w
        .srs
        .receipt(r.record, late.header().entry())
        .unwrap()
        .is_none());
    // The earlier entry stays readable.
    assert_eq!(r.read(0, &first).unwrap(), b"before revocation");
    // Another body under the accepted header (what a writer who knows the entry's data key
    // could sign after its revocation) does not match the receipt, which binds the body.
    let mut bytes = first.to_bytes().unwrap();
    let at = bytes.len() - sesphr::sign::Signature::SIZE - 1;
    bytes[at] ^= 1;
    let swapped = SealedEntry::from_bytes(&bytes).unwrap();
    let accepted = receipt
        .verify(&r.w.srs.verifying_key(), swapped.header())
        .unwrap();
    let d = r.doctors[0].clone();
    let item =
        r.w.reencrypt(&d, r.record, vec![first.header().entry()])
            .unwrap()
            .pop()
            .unwrap()
            .unwrap();
    assert_eq!(
        d.keys
            .open_entry(&swapped, &accepted, &item.recapsule, &r.named(&first))
            .unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    // A receipt by another SRS key does not verify.
    let stranger = sesphr::sign::SigningKey::random(&mut r.w.rng).verifying_key();
    assert_eq!(
        receipt.verify(&stranger, first.header()).unwrap_err(),
        Error::BadSignature
    );
}

fn key_row(id: &ReKeyId) -> Vec<u8> {
    let mut k = vec![0x05];
    k.extend_from_slice(id.record.as_bytes());
    k.extend_from_slice(id.section.as_bytes());
    k.extend_from_slice(&id.epoch.get().to_be_bytes());
    k.extend_from_slice(id.reader.as_bytes());
    k
}

#[test]
fn key_rows_written_behind_the_srss_back_are_never_served() {
    let mut r = Record::new(6);
    let e = r.write(b"lab results");
    assert_eq!(r.read(0, &e).unwrap(), b"lab results");
    let epoch = e.key_block().epoch();
    let granted = ReKeyId {
        record: r.record,
        section: r.section,
        epoch,
        reader: r.doctors[0].keys.bundle().fingerprint(),
    };
    let value = r.w.store.get(&key_row(&granted)).unwrap().unwrap().value;
    // A key row for an ungranted reader, inserted into the database: never served.
    let intruder = ReKeyId {
        reader: r.doctors[1].keys.bundle().fingerprint(),
        ..granted
    };
    r.w.store
        .put_raw(key_row(&intruder), value.clone())
        .unwrap();
    assert_eq!(r.read(1, &e).unwrap_err(), refused(Refusal::NoReadRight));
    assert!(!r.w.srs.audit().unwrap().is_clean());
    // The granted reader's row replaced by a key made for the intruder (a valid point):
    // refused, it is not the key the owner committed to.
    let section_key = r.owner.section_key(r.record, r.section, epoch).unwrap();
    let forged =
        sesphr::pre::ReKey::new(&section_key, &r.doctors[1].keys.reader_key().public_key());
    let mut v = vec![0x05, 1];
    v.extend_from_slice(&forged.to_bytes());
    r.w.store.put_raw(key_row(&granted), v).unwrap();
    assert_eq!(
        r.read(0, &e).unwrap_err(),
        refused(Refusal::KeyNotCommitted)
    );
    let report = r.w.srs.audit().unwrap();
    assert!(report.problems.len() >= 2, "{report:?}");
    // Restored, it is served again (and the cache kept nothing stale).
    r.w.store.put_raw(key_row(&granted), value).unwrap();
    assert_eq!(r.read(0, &e).unwrap(), b"lab results");
}

#[test]
fn listings_page_through_index_rows() {
    let mut r = Record::new(7);
    let mut ids: Vec<_> = (0..5).map(|i| r.write(&[i]).header().entry()).collect();
    ids.sort();
    let page1 = r.w.srs.entries(r.record, r.section, None, 3).unwrap();
    let page2 =
        r.w.srs
            .entries(r.record, r.section, page1.last().copied(), 3)
            .unwrap();
    assert_eq!([page1, page2].concat(), ids);
    let fp = r.doctors[0].keys.bundle().fingerprint();
    assert_eq!(
        r.w.srs.records_of_reader(&fp, None, 10).unwrap(),
        vec![r.record]
    );
    let d = r.doctors[1].clone();
    let Response::RequestFiled(req) =
        r.w.run(
            &d,
            Operation::Request {
                record: r.record,
                right: Right::Read(None),
                sections: vec![r.section],
            },
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        r.w.srs.requests_of_owner(r.patient.id, None, 10).unwrap(),
        vec![req]
    );
    assert!(r.w.srs.audit().unwrap().is_clean());
}

/// A store shared by two handles whose next commit first lets another operation commit:
/// the first operation read its rows before the second changed them.
struct Racing {
    inner: Arc<MemoryStore>,
    before_commit: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Store for Racing {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        self.inner.get(key)
    }
    fn scan(&self, p: &[u8], a: Option<&[u8]>, l: usize) -> Result<Vec<Row>, StoreError> {
        self.inner.scan(p, a, l)
    }
    fn commit(&self, c: &Changeset) -> Result<(), StoreError> {
        if let Some(f) = self.before_commit.lock().unwrap().take() {
            f();
        }
        self.inner.commit(c)
    }
}

/// Runs `first` on a racing handle while `second` commits on another handle in between;
/// returns both results.
fn race(
    w: &mut World,
    first: SignedOperation,
    second: SignedOperation,
) -> (Result<Response, Error>, Result<Response, Error>) {
    let racing = Arc::new(Racing {
        inner: w.store.clone(),
        before_commit: Mutex::new(None),
    });
    let mut a = Srs::new(
        racing.clone(),
        w.srs_key.clone(),
        "test",
        SrsConfig::default(),
    );
    let mut b = w.handle();
    let second_result = Arc::new(Mutex::new(None));
    let out = second_result.clone();
    let now = w.now;
    *racing.before_commit.lock().unwrap() = Some(Box::new(move || {
        let mut rng = common::rng(200);
        *out.lock().unwrap() = Some(b.execute(&second, now, &mut rng));
    }));
    let first_result = a.execute(&first, now, &mut w.rng);
    let second_result = second_result.lock().unwrap().take().expect("second ran");
    (first_result, second_result)
}

fn conflict() -> Error {
    Error::Store(StoreError::Conflict)
}

#[test]
fn a_revocation_racing_a_reencryption_wins_and_releases_nothing() {
    let mut r = Record::new(8);
    let e = r.write(b"x-ray");
    let d = r.doctors[0].clone();
    let ask = r.w.sign(
        &d,
        Operation::Reencrypt {
            record: r.record,
            entries: vec![e.header().entry()],
        },
    );
    let fp = d.keys.bundle().fingerprint();
    let s = r.section;
    let (revoke, acl) = r.update_op(&[Change::RevokeRead {
        section: s,
        reader: fp,
    }]);
    let p = r.patient.clone();
    let revoke = r.w.sign(&p, revoke);
    let (first, second) = race(&mut r.w, ask.clone(), revoke);
    // The re-encryption read the old ACL; the revocation committed first: the
    // re-encryption's commit fails and nothing is released.
    assert_eq!(first, Err(conflict()));
    assert_eq!(second, Ok(Response::Done));
    r.acls.push(acl);
    // Retried, it is refused: the serial order is revocation, then request.
    let items = r.w.srs.execute(&ask, r.w.now, &mut r.w.rng).unwrap();
    assert_eq!(
        items,
        Response::Reencrypted {
            items: vec![Err(Refusal::NoReadRight)],
            receipt: None,
        }
    );
}

#[test]
fn two_approvals_on_one_record_never_lose_an_update() {
    let mut r = Record::new(9);
    let (d1, h) = (r.doctors[1].clone(), r.hospital.clone());
    let ask = |r: &mut Record, who: &Actor, right| {
        let op = Operation::Request {
            record: r.record,
            right,
            sections: vec![r.section],
        };
        match r.w.run(who, op).unwrap() {
            Response::RequestFiled(id) => id,
            other => panic!("{other:?}"),
        }
    };
    let q1 = ask(&mut r, &d1, Right::Read(Some(History::None)));
    let q2 = ask(&mut r, &h, Right::Read(Some(History::All)));
    let s = r.section;
    let (u1, _) = r.update_op(&[Change::GrantRead {
        section: s,
        reader: d1.keys.bundle(),
        history: History::None,
    }]);
    let (u2, _) = r.update_op(&[Change::GrantRead {
        section: s,
        reader: h.keys.bundle(),
        history: History::All,
    }]);
    let (Operation::ApplyUpdate(u1), Operation::ApplyUpdate(u2)) = (u1, u2) else {
        panic!()
    };
    let p = r.patient.clone();
    let a1 = r.w.sign(
        &p,
        Operation::Approve {
            request: q1,
            update: u1,
        },
    );
    let a2 = r.w.sign(
        &p,
        Operation::Approve {
            request: q2,
            update: u2.clone(),
        },
    );
    let (first, second) = race(&mut r.w, a1, a2);
    assert_eq!(first, Err(conflict()));
    assert_eq!(second, Ok(Response::Approved(RequestState::Approved)));
    // The loser, rebuilt on the winner's ACL, applies: both grants hold.
    r.acls.push(u2.acl().clone());
    let (u1, acl) = r.update_op(&[Change::GrantRead {
        section: s,
        reader: d1.keys.bundle(),
        history: History::None,
    }]);
    let Operation::ApplyUpdate(u1) = u1 else {
        panic!()
    };
    assert_eq!(
        r.w.run(
            &p,
            Operation::Approve {
                request: q1,
                update: u1
            }
        ),
        Ok(Response::Approved(RequestState::Approved))
    );
    r.acls.push(acl);
    let acl = r.w.srs.acl(r.record).unwrap().unwrap();
    let policy = acl.acl_unverified().section(&s).unwrap().clone();
    for who in [&d1, &h] {
        assert!(policy
            .readers()
            .any(|(fp, _)| *fp == who.keys.bundle().fingerprint()));
    }
    assert!(r.w.srs.audit().unwrap().is_clean());
}

#[test]
fn two_registrations_of_one_id_and_two_first_writes_of_one_row() {
    let mut w = World::new(10);
    let id = PrincipalId::new([0x51; 16]);
    let (k1, k2) = (
        sesphr::phr::PrincipalKeys::random(&mut w.rng),
        sesphr::phr::PrincipalKeys::random(&mut w.rng),
    );
    let r1 = w
        .client(&Actor { id, keys: k1 })
        .register(Role::Doctor, w.now, &mut w.rng)
        .unwrap();
    let r2 = w
        .client(&Actor {
            id,
            keys: k2.clone(),
        })
        .register(Role::Pharmacist, w.now, &mut w.rng)
        .unwrap();
    let (first, second) = race(&mut w, r1.clone(), r2);
    assert_eq!(first, Err(conflict()));
    assert_eq!(second, Ok(Response::Done));
    // Retried, the loser finds the id taken.
    w.refuses_signed(Error::AlreadyExists { what: "principal" }, &r1);
    assert_eq!(w.srs.principal(id).unwrap().unwrap().bundle, k2.bundle());

    // Two owners creating the same record id: one record, one owner.
    let o1 = Owner::from_master(MasterSecret::from_raw([1; 32])).unwrap();
    let o2 = Owner::from_master(MasterSecret::from_raw([2; 32])).unwrap();
    let (a1, a2) = (
        w.enrol(Role::Patient, o1.keys().clone()),
        w.enrol(Role::Patient, o2.keys().clone()),
    );
    let record = RecordId::new([0x61; 16]);
    let s = SectionId::new([1; 16]);
    let c1 = o1
        .create_record(
            record,
            UNTIL,
            &[Change::AddSection { section: s }],
            &mut w.rng,
        )
        .unwrap();
    let c2 = o2
        .create_record(
            record,
            UNTIL,
            &[Change::AddSection { section: s }],
            &mut w.rng,
        )
        .unwrap();
    let f1 = w.sign(&a1, Operation::ApplyUpdate(c1));
    let f2 = w.sign(&a2, Operation::ApplyUpdate(c2.clone()));
    let (first, second) = race(&mut w, f1.clone(), f2);
    assert_eq!(first, Err(conflict()));
    assert_eq!(second, Ok(Response::Done));
    w.refuses_signed(refused(Refusal::NotOwner), &f1);
    assert_eq!(w.srs.acl(record).unwrap().unwrap(), *c2.acl());
}

/// Rows touched per operation, with a small store and with one holding 20 000 more key rows,
/// principals and records of others: the same (no operation scans the deployment).
#[test]
fn rows_touched_per_operation_do_not_grow_with_the_store() {
    fn touched(r: &mut Record) -> Vec<usize> {
        let mut out = Vec::new();
        let e = r.write(b"x");
        out.push(r.w.srs.rows_touched());
        let f = r.write(b"y");
        let d = r.doctors[0].clone();
        let batch = vec![e.header().entry(), f.header().entry()];
        r.w.reencrypt(&d, r.record, batch).unwrap();
        out.push(r.w.srs.rows_touched());
        let s = r.section;
        r.update(&[Change::Rotate { section: s }]);
        out.push(r.w.srs.rows_touched());
        let newcomer = r.w.actor(Role::Doctor);
        out.push(r.w.srs.rows_touched());
        let op = Operation::Request {
            record: r.record,
            right: Right::Write,
            sections: vec![s],
        };
        r.w.run(&newcomer, op).unwrap();
        out.push(r.w.srs.rows_touched());
        out
    }
    let mut small = Record::new(11);
    let mut large = Record::new(11);
    for i in 0..20_000u32 {
        let mut key = vec![0x05];
        key.extend_from_slice(&[(i % 251) as u8; 16]);
        key.extend_from_slice(&i.to_be_bytes());
        key.extend_from_slice(&[7; 12 + 4 + 32]);
        large.w.store.put_raw(key, vec![0x05, 1, 0]).unwrap();
        if i % 10 == 0 {
            large
                .w
                .store
                .put_raw(vec![0x01, (i % 256) as u8, (i >> 8) as u8], vec![])
                .unwrap();
            large
                .w
                .store
                .put_raw(vec![0x03, (i % 256) as u8, (i >> 8) as u8], vec![])
                .unwrap();
        }
    }
    assert!(large.w.store.len() > small.w.store.len() + 20_000);
    let (a, b) = (touched(&mut small), touched(&mut large));
    assert_eq!(a, b);
    assert!(a.iter().all(|&n| n > 0 && n < 32), "{a:?}");
}

#[test]
fn batches_are_bounded_and_distinct_and_logins_report_the_current_status() {
    let mut r = Record::new(12);
    let e = r.write(b"x");
    let d = r.doctors[0].clone();
    let c = r.w.client(&d);
    let id = e.header().entry();
    let too_many: Vec<_> = (0..=sesphr::srs::MAX_BATCH as u16)
        .map(|i| {
            let mut b = [0u8; 16];
            b[..2].copy_from_slice(&i.to_be_bytes());
            sesphr::phr::EntryId::new(b)
        })
        .collect();
    assert!(matches!(
        c.sign(
            Operation::Reencrypt {
                record: r.record,
                entries: too_many
            },
            r.w.now,
            &mut r.w.rng
        ),
        Err(Error::LimitExceeded { .. })
    ));
    for entries in [vec![id, id], vec![]] {
        assert!(matches!(
            c.sign(
                Operation::Reencrypt {
                    record: r.record,
                    entries
                },
                r.w.now,
                &mut r.w.rng
            ),
            Err(Error::InvalidEncoding { .. })
        ));
    }
    // A login retried after a deactivation reports the deactivation.
    let login = r.w.sign(&d, Operation::Login);
    let active = Response::Status {
        role: Role::Doctor,
        active: true,
    };
    assert_eq!(r.w.srs.execute(&login, r.w.now, &mut r.w.rng), Ok(active));
    let admin = r.w.admin.clone();
    r.w.run(&admin, Operation::Deactivate { target: d.id })
        .unwrap();
    assert_eq!(
        r.w.srs.execute(&login, r.w.now, &mut r.w.rng),
        Ok(Response::Status {
            role: Role::Doctor,
            active: false
        })
    );
    // A deactivated reader gets nothing.
    r.w.refuses(
        refused(Refusal::Inactive),
        &d,
        Operation::Reencrypt {
            record: r.record,
            entries: vec![id],
        },
    );
}

#[test]
fn a_rewrap_is_validated_at_the_door() {
    let mut r = Record::new(13);
    let e = r.write(b"x");
    let s = r.section;
    r.update(&[Change::Rotate { section: s }]);
    let kb = r.owner.rewrap(&e, &r.acl(), &mut r.w.rng).unwrap();
    let mut bytes = kb.to_bytes();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let p = r.patient.clone();
    if let Ok(bad) = sesphr::phr::KeyBlock::from_bytes(&bytes) {
        r.w.refuses(
            Error::BadSignature,
            &p,
            Operation::Rewrap {
                record: r.record,
                entry: e.header().entry(),
                key_block: bad,
            },
        );
    }
    // Someone else's key block, or one for an old epoch: refused.
    let other = r.write(b"y");
    r.w.refuses(
        refused(Refusal::HeaderMismatch),
        &p,
        Operation::Rewrap {
            record: r.record,
            entry: other.header().entry(),
            key_block: kb,
        },
    );
    r.w.refuses(
        refused(Refusal::KeyBlockNotCurrent),
        &p,
        Operation::Rewrap {
            record: r.record,
            entry: e.header().entry(),
            key_block: *e.key_block(),
        },
    );
    let op = Operation::Rewrap {
        record: r.record,
        entry: e.header().entry(),
        key_block: kb,
    };
    let d = r.doctors[0].clone();
    r.w.refuses(refused(Refusal::NotOwner), &d, op.clone());
    r.w.run(&p, op).unwrap();
    assert_eq!(r.read(0, &e).unwrap(), b"x");
}

/// Review findings: who acts is proven before a body is decoded; bodies beyond a signed
/// field's 64 KiB sign and verify; a head row whose ACL the owner did not sign is never
/// acted on; a writer's submissions never make the owner's updates conflict.
#[test]
fn authentication_comes_before_decoding_and_large_updates_sign() {
    let mut r = Record::new(14);
    // An operation from nobody, whose body is garbage: refused for who sent it, not for
    // its body (the body was never decoded).
    let mallory = Actor {
        id: PrincipalId::new([0x66; 16]),
        keys: sesphr::phr::PrincipalKeys::random(&mut r.w.rng),
    };
    let ok = r.w.sign(&mallory, Operation::Login);
    let mut b = ok.to_bytes();
    let kind_at = 2 + 32 + 16 + 32 + 8 + 16;
    b[kind_at] = 5; // apply update, with a login's empty body
    let garbage = SignedOperation::from_bytes(&b).unwrap();
    assert!(garbage.operation().is_err());
    r.w.refuses_signed(refused(Refusal::UnknownPrincipal), &garbage);

    // 140 readers, then one revoked: the update is far over 64 KiB and still applies.
    let s = r.section;
    let readers: Vec<_> = (0..140)
        .map(|_| sesphr::phr::PrincipalKeys::random(&mut r.w.rng).bundle())
        .collect();
    let grants: Vec<_> = readers
        .iter()
        .map(|b| Change::GrantRead {
            section: s,
            reader: *b,
            history: History::FromEpoch(sesphr::phr::Epoch::new(1)),
        })
        .collect();
    r.update(&grants);
    let (op, acl) = r.update_op(&[Change::RevokeRead {
        section: s,
        reader: readers[0].fingerprint(),
    }]);
    let p = r.patient.clone();
    let signed = r.w.sign(&p, op);
    assert!(
        signed.to_bytes().len() > 65_536,
        "{}",
        signed.to_bytes().len()
    );
    r.w.srs.execute(&signed, r.w.now, &mut r.w.rng).unwrap();
    r.acls.push(acl);

    // The head row with a broken owner signature (a database writer's ACL): refused.
    let e = r.write(b"z");
    let key = {
        let mut k = vec![0x03];
        k.extend_from_slice(r.record.as_bytes());
        k
    };
    let head = r.w.store.get(&key).unwrap().unwrap().value;
    let mut forged = head.clone();
    let n = forged.len();
    forged[n - 1] ^= 1;
    r.w.store.put_raw(key.clone(), forged).unwrap();
    let d = r.doctors[0].clone();
    r.w.refuses(
        Error::BadSignature,
        &d,
        Operation::Reencrypt {
            record: r.record,
            entries: vec![e.header().entry()],
        },
    );
    r.w.store.put_raw(key, head).unwrap();
    assert_eq!(r.read(0, &e).unwrap(), b"z");
}

#[test]
fn a_writer_submitting_entries_delays_the_owners_revocation_by_one_retry() {
    let mut r = Record::new(15);
    let h = r.hospital.clone();
    let acl = r.acl();
    let e = r.seal(&h, &acl, b"busy");
    let submit = r.w.sign(&h, e.submission());
    let fp = h.keys.bundle().fingerprint();
    let s = r.section;
    let (revoke, _) = r.update_op(&[Change::RevokeWrite {
        section: s,
        writer: fp,
    }]);
    let p = r.patient.clone();
    let revoke = r.w.sign(&p, revoke);
    // The submission commits while the revocation is in flight. Both append to the
    // record's disclosure log, so the revocation conflicts (nothing of it is written) and
    // its retry commits: the serial order is submission, then revocation.
    let (first, second) = race(&mut r.w, revoke.clone(), submit);
    assert_eq!(first, Err(Error::Store(StoreError::Conflict)));
    assert!(matches!(second, Ok(Response::Accepted(_))), "{second:?}");
    assert_eq!(
        r.w.srs.execute(&revoke, r.w.now, &mut r.w.rng),
        Ok(Response::Done)
    );
}
