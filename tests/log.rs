//! The disclosure log (SPEC §9): events appended exactly when their change commits, readers'
//! receipts, the owner's audit and accounting, witnesses, and every tampering caught with its
//! typed error.

mod common;

use common::record::Record;
use std::sync::Arc;

use common::world::{refused, Actor};
use sesphr::log::{
    Accounting, AuditPage, ConsistencyProof, DisclosureReceipt, Event, LogProblem, LogView,
    SignedCheckpoint, Witness, WitnessPolicy, MAX_AUDIT_PAGE,
};
use sesphr::phr::{Change, History, RequestState, Right, SealedEntry};
use sesphr::sign::SigningKey;
use sesphr::srs::{
    MemoryStore, Operation, Reencrypted, Refusal, Response, SignedOperation, Srs, SrsConfig,
};
use sesphr::Error;

fn size(r: &Record) -> u64 {
    r.w.srs
        .checkpoint(r.record)
        .unwrap()
        .map_or(0, |c| c.checkpoint_unverified().size)
}

fn last_event(r: &Record) -> Event {
    let n = size(r);
    let (leaf, proof) = r.w.srs.inclusion(r.record, n - 1, n).unwrap();
    let c = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    let c = c.verify(&r.w.srs.verifying_key()).unwrap();
    assert!(proof.verify(&leaf.hash(), c.size, &c.root));
    leaf.event().clone()
}

/// Asks for `entries` as `reader`; returns the signed operation and the response.
fn ask(r: &mut Record, reader: &Actor, entries: &[&SealedEntry]) -> (SignedOperation, Response) {
    let op = Operation::Reencrypt {
        record: r.record,
        entries: entries.iter().map(|e| e.header().entry()).collect(),
    };
    let signed = r.w.sign(reader, op);
    let response = r.w.srs.execute(&signed, r.w.now, &mut r.w.rng).unwrap();
    (signed, response)
}

fn items_of(response: &Response) -> Vec<Result<Reencrypted, Refusal>> {
    match response {
        Response::Reencrypted { items, .. } => items.clone(),
        other => panic!("{other:?}"),
    }
}

fn receipt_of(response: &Response) -> Option<DisclosureReceipt> {
    match response {
        Response::Reencrypted { receipt, .. } => receipt.as_deref().cloned(),
        other => panic!("{other:?}"),
    }
}

/// The owner's full audit through signed operations, page by page.
fn audit(r: &mut Record, view: &mut LogView) -> Result<Accounting, Error> {
    let mut a = view.audit();
    loop {
        let p = r.patient.clone();
        let page = match r.w.run(
            &p,
            Operation::Audit {
                record: r.record,
                from: a.next_from(),
            },
        )? {
            Response::Audit(page) => *page,
            other => panic!("{other:?}"),
        };
        if a.add_page(&page, &r.w.srs.verifying_key())? {
            return a.finish(view);
        }
    }
}

fn page(r: &mut Record, from: u64) -> AuditPage {
    let p = r.patient.clone();
    match r.w.run(
        &p,
        Operation::Audit {
            record: r.record,
            from,
        },
    ) {
        Ok(Response::Audit(page)) => *page,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_event_is_appended_exactly_when_its_change_commits() {
    let mut r = Record::new(1);
    // Creating the record applied its first ACL.
    assert_eq!(size(&r), 1);
    assert!(matches!(last_event(&r), Event::AclApplied { version, .. } if version.get() == 1));

    // An accepted entry.
    let e = r.write(b"note");
    assert_eq!(size(&r), 2);
    assert!(
        matches!(last_event(&r), Event::EntryAccepted { entry, writer, .. }
            if entry == e.header().entry() && writer == r.hospital.keys.bundle().fingerprint())
    );

    // A served re-encryption: one leaf for the batch.
    let d = r.doctors[0].clone();
    let (signed, response) = ask(&mut r, &d, &[&e]);
    assert_eq!(size(&r), 3);
    match last_event(&r) {
        Event::Disclosed {
            operation,
            reader,
            items,
        } => {
            assert_eq!(operation, signed.hash());
            assert_eq!(reader, d.keys.bundle().fingerprint());
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].entry, e.header().entry());
            assert_eq!(items[0].section, r.section);
        }
        other => panic!("{other:?}"),
    }
    receipt_of(&response)
        .unwrap()
        .verify(&r.w.srs.verifying_key(), &signed, &items_of(&response))
        .unwrap();

    // A batch in which nothing is served discloses nothing: no leaf, no receipt.
    let stranger = r.doctors[1].clone();
    let (_, response) = ask(&mut r, &stranger, &[&e]);
    assert!(receipt_of(&response).is_none());
    assert_eq!(size(&r), 3);

    // Request transitions: filed, then rejected.
    let filed = r.w.run(
        &stranger,
        Operation::Request {
            record: r.record,
            right: Right::Read(Some(History::None)),
            sections: vec![r.section],
        },
    );
    let Ok(Response::RequestFiled(id)) = filed else {
        panic!("{filed:?}")
    };
    assert_eq!(size(&r), 4);
    assert_eq!(
        last_event(&r),
        Event::Request {
            request: id,
            state: RequestState::Pending
        }
    );
    let p = r.patient.clone();
    r.w.run(&p, Operation::Reject { request: id }).unwrap();
    assert_eq!(size(&r), 5);
    assert_eq!(
        last_event(&r),
        Event::Request {
            request: id,
            state: RequestState::Rejected
        }
    );

    // A later ACL version.
    r.update(&[Change::Rotate { section: r.section }]);
    assert_eq!(size(&r), 6);
    assert!(matches!(last_event(&r), Event::AclApplied { version, .. } if version.get() == 2));
}

#[test]
fn refused_operations_leave_the_log_unchanged() {
    // `refuses` checks that the whole store, log rows included, is unchanged.
    let mut r = Record::new(2);
    let h = r.hospital.clone();
    let acl = r.acl();
    let stale = r.seal(&h, &acl, b"sealed before the rotation");
    r.update(&[Change::Rotate { section: r.section }]);
    let after_update = size(&r);
    r.w.refuses(refused(Refusal::KeyBlockNotCurrent), &h, stale.submission());
    let d1 = r.doctors[1].clone();
    r.w.refuses(
        refused(Refusal::NotOwner),
        &d1,
        Operation::Audit {
            record: r.record,
            from: 0,
        },
    );
    assert_eq!(size(&r), after_update);
}

/// A record whose log holds every kind of event, two readers' disclosures among them.
/// A reader's request, the SRS's answer and the receipt in it.
struct Served {
    op: SignedOperation,
    items: Vec<Result<Reencrypted, Refusal>>,
    receipt: DisclosureReceipt,
}

fn busy_record(seed: u8) -> (Record, Vec<Served>) {
    let mut r = Record::new(seed);
    let d1 = r.doctors[1].keys.bundle();
    r.update(&[Change::GrantRead {
        section: r.section,
        reader: d1,
        history: History::None,
    }]);
    let mut receipts = Vec::new();
    for i in 0..3u8 {
        let e = r.write(&[i; 10]);
        for d in 0..2 {
            let reader = r.doctors[d].clone();
            let (op, response) = ask(&mut r, &reader, &[&e]);
            receipts.push(Served {
                op,
                items: items_of(&response),
                receipt: receipt_of(&response).unwrap(),
            });
        }
    }
    (r, receipts)
}

#[test]
fn the_owners_audit_accounts_for_every_disclosure_and_matches_readers_receipts() {
    let (mut r, receipts) = busy_record(3);
    let mut view = LogView::new(r.record);
    let accounting = audit(&mut r, &mut view).unwrap();
    assert_eq!(view.size(), size(&r));
    let disclosures: Vec<_> = accounting.disclosures().collect();
    assert_eq!(disclosures.len(), 6);
    let key = r.w.srs.verifying_key();
    for (s, d) in receipts.iter().zip(&disclosures) {
        assert_eq!(*d.operation, s.op.hash());
        assert_eq!(d.items.len(), 1);
        s.receipt.verify(&key, &s.op, &s.items).unwrap();
        accounting.check_receipt(&s.receipt, &key).unwrap();
    }
    let readers: Vec<_> = disclosures.iter().map(|d| *d.reader).collect();
    let fp = |i: usize| r.doctors[i].keys.bundle().fingerprint();
    assert_eq!(readers, [fp(0), fp(1), fp(0), fp(1), fp(0), fp(1)]);

    // An incremental audit returns only what is new, from the saved view.
    let saved = view.to_bytes();
    let e = r.write(b"later");
    let d = r.doctors[0].clone();
    let (signed, response) = ask(&mut r, &d, &[&e]);
    let mut view = LogView::from_bytes(&saved).unwrap();
    let next = audit(&mut r, &mut view).unwrap();
    assert_eq!(next.events().len(), 2);
    next.check_receipt(&receipt_of(&response).unwrap(), &r.w.srs.verifying_key())
        .unwrap();
    assert_eq!(next.disclosures().next().unwrap().operation, &signed.hash());
    // The earlier receipts are outside this accounting.
    assert_eq!(
        next.check_receipt(&receipts[0].receipt, &key),
        Err(Error::Log(LogProblem::NotAudited))
    );
    // A receipt is for its own operation, reader and items only.
    let (a, b) = (&receipts[0], &receipts[1]);
    let other_entry = &receipts[2].items;
    for (op, items) in [(&b.op, &a.items), (&a.op, other_entry), (&a.op, &vec![])] {
        assert_eq!(
            a.receipt.verify(&key, op, items),
            Err(Error::Log(LogProblem::NotThisDisclosure))
        );
    }
}

#[test]
fn an_audit_spans_pages() {
    let mut r = Record::new(4);
    let d1 = r.doctors[1].clone();
    // Requests filed and withdrawn: two events each, cheap to make.
    while size(&r) <= MAX_AUDIT_PAGE as u64 + 10 {
        let filed = r.w.run(
            &d1,
            Operation::Request {
                record: r.record,
                right: Right::Write,
                sections: vec![r.section],
            },
        );
        let Ok(Response::RequestFiled(id)) = filed else {
            panic!("{filed:?}")
        };
        r.w.run(&d1, Operation::Withdraw { request: id }).unwrap();
    }
    let first = page(&mut r, 0);
    assert_eq!(first.leaves().len(), MAX_AUDIT_PAGE);
    let mut view = LogView::new(r.record);
    let accounting = audit(&mut r, &mut view).unwrap();
    assert_eq!(accounting.events().len() as u64, size(&r));
    let end = size(&r);
    assert_eq!(page(&mut r, end).leaves().len(), 0, "nothing after the end");
    let p = r.patient.clone();
    r.w.refuses(
        Error::Log(LogProblem::WrongPosition),
        &p,
        Operation::Audit {
            record: r.record,
            from: size(&r) + 1,
        },
    );
}

/// Checks one page as a fresh audit would, going on with the SRS's honest pages after it.
fn check(r: &mut Record, page: &AuditPage) -> Result<bool, Error> {
    let mut a = LogView::new(r.record).audit();
    let key = r.w.srs.verifying_key();
    let mut next = page.clone();
    while !a.add_page(&next, &key)? {
        next = self::page(r, a.next_from());
    }
    Ok(true)
}

fn with_leaves(page: &AuditPage, leaves: Vec<sesphr::log::LogLeaf>) -> AuditPage {
    // Re-encode through bytes: the page's fields are the SRS's to fill.
    let mut bytes = page.to_bytes();
    let fresh = AuditPage::from_bytes(&bytes).unwrap();
    assert_eq!(&fresh, page);
    let head = 2 + SignedCheckpoint::SIZE - 2 + 8;
    bytes.truncate(head);
    bytes.extend_from_slice(&(leaves.len() as u32).to_be_bytes());
    for l in &leaves {
        let b = l.to_bytes();
        bytes.extend_from_slice(&(b.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&b);
    }
    AuditPage::from_bytes(&bytes).unwrap()
}

#[test]
fn every_tampering_of_an_audit_is_caught() {
    let (mut r, _) = busy_record(5);
    let honest = page(&mut r, 0);
    assert_eq!(check(&mut r, &honest), Ok(true));
    let leaves = honest.leaves().to_vec();
    let n = leaves.len();

    let mut dropped = leaves.clone();
    dropped.remove(4);
    let mut reordered = leaves.clone();
    reordered.swap(3, 4);
    let mut invented = leaves.clone();
    invented.insert(2, leaves[5].clone());
    let mut altered = leaves.clone();
    altered[6] = leaves[4].clone();
    for (name, tampered) in [
        ("dropped", dropped),
        ("reordered", reordered),
        ("invented", invented),
        ("altered", altered),
    ] {
        let got = check(&mut r, &with_leaves(&honest, tampered));
        assert!(
            matches!(
                got,
                Err(Error::Log(
                    LogProblem::EventsDoNotMatch | LogProblem::OutOfOrder | LogProblem::ShortPage
                ))
            ),
            "{name}: {got:?}"
        );
    }
    // A leaf stamped after its checkpoint.
    let mut bytes = leaves[1].to_bytes();
    bytes[2 + 16 + 16..2 + 16 + 16 + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    let mut t = leaves.clone();
    t[1] = sesphr::log::LogLeaf::from_bytes(&bytes).unwrap();
    assert_eq!(
        check(&mut r, &with_leaves(&honest, t)),
        Err(Error::Log(LogProblem::OutOfOrder))
    );
    // A flipped byte in any leaf.
    for i in 0..n {
        let mut bytes = leaves[i].to_bytes();
        let at = 2 + 16 + 16 + 8 + 1; // inside the event
        bytes[at] ^= 1;
        let Ok(leaf) = sesphr::log::LogLeaf::from_bytes(&bytes) else {
            continue;
        };
        let mut t = leaves.clone();
        t[i] = leaf;
        let got = check(&mut r, &with_leaves(&honest, t));
        assert!(
            matches!(
                got,
                Err(Error::Log(
                    LogProblem::EventsDoNotMatch | LogProblem::StaleAcl
                ))
            ),
            "leaf {i}: {got:?}"
        );
    }

    // Another record's log, another signer.
    let (mut other, _) = busy_record(6);
    let foreign = page(&mut other, 0);
    assert_eq!(
        LogView::new(r.record)
            .audit()
            .add_page(&foreign, &other.w.srs.verifying_key()),
        Err(Error::Log(LogProblem::WrongRecord))
    );
    assert_eq!(
        check(&mut r, &foreign),
        Err(Error::Log(LogProblem::WrongSigner))
    );
    // A page that does not start where the view stands.
    let late = page(&mut r, 1);
    assert_eq!(
        check(&mut r, &late),
        Err(Error::Log(LogProblem::WrongPosition))
    );
}

/// What a forking SRS shows someone else: a copy of the store, served by a handle with the
/// same key, on which history goes another way.
fn fork(r: &Record) -> Srs<Arc<MemoryStore>> {
    let copy = Arc::new(MemoryStore::from_rows(r.w.rows()));
    Srs::new(copy, r.w.srs_key.clone(), "test", SrsConfig::default())
}

fn ask_on(
    r: &mut Record,
    srs: &mut Srs<Arc<MemoryStore>>,
    reader: &Actor,
    e: &SealedEntry,
) -> (SignedOperation, DisclosureReceipt) {
    let op = Operation::Reencrypt {
        record: r.record,
        entries: vec![e.header().entry()],
    };
    let signed = r.w.sign(reader, op);
    let response = srs.execute(&signed, r.w.now, &mut r.w.rng).unwrap();
    (signed, receipt_of(&response).unwrap())
}

#[test]
fn a_forked_log_is_caught_by_the_owner_and_by_a_witness() {
    let (mut r, _) = busy_record(7);
    let srs_key = r.w.srs.verifying_key();
    let mut witness = Witness::new(SigningKey::random(&mut r.w.rng), srs_key);
    let mut view = LogView::new(r.record);
    audit(&mut r, &mut view).unwrap();
    let c0 = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    let empty = ConsistencyProof::new(0, 0, vec![]).unwrap();
    witness.cosign(&c0, &empty, r.w.now, &mut r.w.rng).unwrap();

    // The SRS forks: doctor 1 is served on the fork only (it keeps its receipt), while the
    // owner's view goes on with another event of the same size.
    let e = r.write(b"x");
    let mut forked = fork(&r);
    let d1 = r.doctors[1].clone();
    let (_, hidden) = ask_on(&mut r, &mut forked, &d1, &e);
    let d0 = r.doctors[0].clone();
    ask(&mut r, &d0, &[&e]);

    let main = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    let other = forked.checkpoint(r.record).unwrap().unwrap();
    assert_eq!(
        main.checkpoint_unverified().size,
        other.checkpoint_unverified().size
    );
    assert_ne!(main, other);

    // The owner's accounting does not contain the reader's receipt: evidence.
    let accounting = audit(&mut r, &mut view).unwrap();
    match accounting.check_receipt(&hidden, &srs_key) {
        Err(Error::LogFork(e)) => {
            assert_eq!(e.first, other);
            assert_eq!(e.second, main);
        }
        other => panic!("{other:?}"),
    }

    // The witness cosigns one branch and refuses the other, with both checkpoints.
    let from = c0.checkpoint_unverified().size;
    let to = main.checkpoint_unverified().size;
    let proof = r.w.srs.consistency(r.record, from, to).unwrap();
    witness
        .cosign(&main, &proof, r.w.now, &mut r.w.rng)
        .unwrap();
    let fork_proof = forked.consistency(r.record, from, to).unwrap();
    match witness.cosign(&other, &fork_proof, r.w.now, &mut r.w.rng) {
        Err(Error::LogFork(e)) => assert_eq!((e.first, e.second), (main.clone(), other.clone())),
        other => panic!("{other:?}"),
    }
    // The same checkpoint again is cosigned again; a newer one needs a proof from the
    // witness's size, and one between other sizes is refused as such.
    witness
        .cosign(&main, &proof, r.w.now, &mut r.w.rng)
        .unwrap();
    r.write(b"y");
    let newer = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    assert_eq!(
        witness.cosign(
            &newer,
            &ConsistencyProof::new(1, 2, vec![]).unwrap(),
            r.w.now,
            &mut r.w.rng
        ),
        Err(Error::Log(LogProblem::BadProof))
    );

    // An audit page from the fork, after the owner verified the main branch.
    let fork_page = match forked.execute(
        &r.w.sign(
            &r.patient.clone(),
            Operation::Audit {
                record: r.record,
                from: view.size(),
            },
        ),
        r.w.now,
        &mut r.w.rng,
    ) {
        Ok(Response::Audit(p)) => *p,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        view.audit().add_page(&fork_page, &srs_key),
        Err(Error::LogFork(_))
    ));
}

#[test]
fn a_database_rolled_back_is_caught_by_the_witness() {
    let mut r = Record::new(8);
    let srs_key = r.w.srs.verifying_key();
    let mut witness = Witness::new(SigningKey::random(&mut r.w.rng), srs_key);
    let old_rows = r.w.rows();
    let c1 = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    let none = ConsistencyProof::new(0, 0, vec![]).unwrap();
    witness.cosign(&c1, &none, r.w.now, &mut r.w.rng).unwrap();
    // The owner revokes doctor 0; the witness sees it.
    let d0 = r.doctors[0].keys.bundle().fingerprint();
    r.update(&[Change::RevokeRead {
        section: r.section,
        reader: d0,
    }]);
    let c2 = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    let (from, to) = (
        c1.checkpoint_unverified().size,
        c2.checkpoint_unverified().size,
    );
    let p = r.w.srs.consistency(r.record, from, to).unwrap();
    witness.cosign(&c2, &p, r.w.now, &mut r.w.rng).unwrap();

    // Someone who can write the database restores the old rows (the old ACL and the
    // revoked reader's keys). The SRS serves doctor 0 again, and its next checkpoint is the
    // size the witness already cosigned with another root.
    let restored = Arc::new(MemoryStore::from_rows(old_rows));
    let mut rolled = Srs::new(restored, r.w.srs_key.clone(), "test", SrsConfig::default());
    let e = r.write(b"written after the revocation");
    let _ = e;
    let doctor = r.doctors[0].clone();
    let old_entry = {
        let h = r.hospital.clone();
        let acl = r.acls[0].verify(&r.owner.verifying_key()).unwrap();
        r.seal(&h, &acl, b"old")
    };
    let submit = r.w.sign(&r.hospital.clone(), old_entry.submission());
    rolled.execute(&submit, r.w.now, &mut r.w.rng).unwrap();
    let at_two = rolled.checkpoint(r.record).unwrap().unwrap();
    let (_, receipt) = ask_on(&mut r, &mut rolled, &doctor, &old_entry);
    let bad = receipt.checkpoint().clone();
    let held = witness.last(r.record).unwrap().checkpoint_unverified().size;
    let p = rolled
        .consistency(r.record, held, bad.checkpoint_unverified().size)
        .unwrap();
    // The rolled-back log does not extend the cosigned one: refused, nothing cosigned.
    let got = witness.cosign(&bad, &p, r.w.now, &mut r.w.rng);
    assert_eq!(got, Err(Error::Log(LogProblem::BadProof)));
    assert_eq!(witness.last(r.record), Some(&c2));
    // Shown the rolled-back log's checkpoint of the size it holds, the witness has
    // evidence: two SRS-signed checkpoints of one size with two roots.
    assert_eq!(
        at_two.checkpoint_unverified().size,
        c2.checkpoint_unverified().size
    );
    let same = ConsistencyProof::new(held, held, vec![]).unwrap();
    assert!(matches!(
        witness.cosign(&at_two, &same, r.w.now, &mut r.w.rng),
        Err(Error::LogFork(e)) if e.first == c2 && e.second == at_two
    ));
    // An older checkpoint replayed to the witness is stale, not a fork.
    assert_eq!(
        witness.cosign(&c1, &none, r.w.now, &mut r.w.rng),
        Err(Error::Log(LogProblem::Stale))
    );

    // A witness's state survives a restart.
    let saved = witness.state_to_bytes();
    let key = SigningKey::random(&mut r.w.rng);
    let again = Witness::from_state(key, srs_key, &saved).unwrap();
    assert_eq!(again.last(r.record), Some(&c2));
}

#[test]
fn a_quorum_of_witnesses_is_required() {
    let mut r = Record::new(9);
    let srs_key = r.w.srs.verifying_key();
    let mut ws: Vec<Witness> = (0..3)
        .map(|_| Witness::new(SigningKey::random(&mut r.w.rng), srs_key))
        .collect();
    let c = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    let none = ConsistencyProof::new(0, 0, vec![]).unwrap();
    let policy = WitnessPolicy::new(ws.iter().map(Witness::verifying_key).collect(), 2).unwrap();
    let one = ws[0].cosign(&c, &none, r.w.now, &mut r.w.rng).unwrap();
    assert_eq!(
        policy.check(&srs_key, &c, &[one.clone(), one.clone()]),
        Err(Error::Log(LogProblem::QuorumNotMet))
    );
    let two = ws[2].cosign(&c, &none, r.w.now, &mut r.w.rng).unwrap();
    policy
        .check(&srs_key, &c, &[one.clone(), two.clone()])
        .unwrap();
    // A cosignature of another checkpoint does not count.
    r.write(b"z");
    let newer = r.w.srs.checkpoint(r.record).unwrap().unwrap();
    assert_eq!(
        policy.check(&srs_key, &newer, &[one, two]),
        Err(Error::Log(LogProblem::QuorumNotMet))
    );
    assert!(WitnessPolicy::new(vec![ws[1].verifying_key(); 2], 2).is_err());
}

#[test]
fn a_rotated_srs_key_is_an_event_in_the_log() {
    let mut r = Record::new(10);
    let mut view = LogView::new(r.record);
    audit(&mut r, &mut view).unwrap();
    let old = sesphr::log::KeyId::of(&r.w.srs.verifying_key());
    let new_key = SigningKey::random(&mut r.w.rng);
    r.w.srs = Srs::new(
        r.w.store.clone(),
        new_key.clone(),
        "test",
        SrsConfig::default(),
    );
    r.w.srs_key = new_key;
    r.write(b"after the rotation");
    let accounting = audit(&mut r, &mut view).unwrap();
    let events: Vec<_> = accounting.events().iter().map(|e| e.leaf.event()).collect();
    assert_eq!(
        events[0],
        &Event::KeyRotated {
            old,
            new: sesphr::log::KeyId::of(&r.w.srs.verifying_key())
        }
    );
    assert!(matches!(events[1], Event::EntryAccepted { .. }));
    assert!(r.w.srs.audit().unwrap().is_clean());
}

#[test]
fn encodings_round_trip_and_decoders_refuse_truncation() {
    let (mut r, receipts) = busy_record(11);
    let p = page(&mut r, 0);
    let c = p.checkpoint().clone();
    let proof = r.w.srs.consistency(r.record, 2, 5).unwrap();
    let receipt = receipts[0].receipt.clone();
    let mut view = LogView::new(r.record);
    audit(&mut r, &mut view).unwrap();
    let encodings: Vec<Vec<u8>> = vec![
        p.to_bytes(),
        c.to_bytes().to_vec(),
        proof.to_bytes(),
        receipt.to_bytes(),
        view.to_bytes(),
        p.leaves()[0].to_bytes(),
    ];
    assert_eq!(AuditPage::from_bytes(&encodings[0]).unwrap(), p);
    assert_eq!(SignedCheckpoint::from_bytes(&encodings[1]).unwrap(), c);
    assert_eq!(ConsistencyProof::from_bytes(&encodings[2]).unwrap(), proof);
    assert_eq!(
        DisclosureReceipt::from_bytes(&encodings[3]).unwrap(),
        receipt
    );
    assert_eq!(LogView::from_bytes(&encodings[4]).unwrap(), view);
    for bytes in &encodings {
        for cut in 0..bytes.len() {
            let b = &bytes[..cut];
            assert!(AuditPage::from_bytes(b).is_err());
            assert!(SignedCheckpoint::from_bytes(b).is_err());
            assert!(ConsistencyProof::from_bytes(b).is_err());
            assert!(DisclosureReceipt::from_bytes(b).is_err());
            assert!(LogView::from_bytes(b).is_err());
            assert!(sesphr::log::LogLeaf::from_bytes(b).is_err());
        }
    }
    // A truncated inclusion proof in a receipt fails to verify.
    let mut short = receipt.to_bytes();
    let path_len_at = 2 + SignedCheckpoint::SIZE - 2 + 8;
    short[path_len_at] -= 1;
    short.drain(path_len_at + 1..path_len_at + 33);
    let short = DisclosureReceipt::from_bytes(&short).unwrap();
    assert_eq!(
        short.verify(
            &r.w.srs.verifying_key(),
            &receipts[0].op,
            &receipts[0].items
        ),
        Err(Error::Log(LogProblem::BadProof))
    );
}

#[test]
fn an_acl_rolled_back_under_a_kept_log_is_caught_by_the_owners_audit() {
    let mut r = Record::new(12);
    let old_rows = r.w.rows();
    let d0 = r.doctors[0].keys.bundle().fingerprint();
    r.update(&[Change::RevokeRead {
        section: r.section,
        reader: d0,
    }]);
    let mut view = LogView::new(r.record);
    audit(&mut r, &mut view).unwrap();
    // A database writer restores every row but the log's (kinds 0x0f..=0x11) and the
    // record's clock (0x0e) to before the revocation: the old, owner-signed ACL and the
    // revoked reader's key are back, and the log goes on growing consistently.
    let is_log = |k: &[u8]| (0x0e..=0x11).contains(&k[0]);
    let mut rows: Vec<_> = old_rows
        .into_iter()
        .filter(|row| !is_log(&row.key))
        .collect();
    rows.extend(r.w.rows().into_iter().filter(|row| is_log(&row.key)));
    let restored = Arc::new(MemoryStore::from_rows(rows));
    r.w.srs = Srs::new(restored, r.w.srs_key.clone(), "test", SrsConfig::default());
    let h = r.hospital.clone();
    let acl = r.acls[0].verify(&r.owner.verifying_key()).unwrap();
    let e = r.seal(&h, &acl, b"after the rollback");
    r.w.submit(&h, &e).unwrap();
    let d = r.doctors[0].clone();
    let (_, response) = ask(&mut r, &d, &[&e]);
    assert!(
        receipt_of(&response).is_some(),
        "the revoked reader is served"
    );
    // The owner's audit sees checkpoints naming the old ACL after the new one was applied.
    assert_eq!(
        audit(&mut r, &mut view).map(|_| ()),
        Err(Error::Log(LogProblem::StaleAcl))
    );
}

#[test]
fn the_audit_operation_crosses_the_wire() {
    // Every operation type decodes from its bytes (an audit sent over HTTP once did not).
    let mut r = Record::new(13);
    let p = r.patient.clone();
    let signed = r.w.sign(
        &p,
        Operation::Audit {
            record: r.record,
            from: 0,
        },
    );
    let decoded = SignedOperation::from_bytes(&signed.to_bytes()).unwrap();
    assert_eq!(decoded, signed);
    assert!(matches!(
        decoded.operation(),
        Ok(Operation::Audit { from: 0, .. })
    ));
    let page = r.w.srs.execute(&decoded, r.w.now, &mut r.w.rng).unwrap();
    assert!(matches!(page, Response::Audit(_)), "{page:?}");
}

#[test]
fn a_mixed_batch_keeps_its_order_and_discloses_exactly_what_it_served() {
    // The SRS checks and reads a batch in order, then pairs the passing items together
    // (across cores with `rayon`): the answer must stay in request order, each item paired
    // with its own entry's capsule, and the log must list exactly the served items, in order.
    let mut r = Record::new(23);
    let lab = r
        .owner
        .section_id(&sesphr::phr::SectionName::new("lab").unwrap());
    r.update(&[
        Change::AddSection { section: lab },
        Change::GrantWrite {
            section: lab,
            writer: r.hospital.keys.bundle(),
        },
    ]);
    let a = r.write(b"a");
    let b = r.write(b"b");
    let c = r.write(b"c");
    let acl = r.acl();
    let h = r.hospital.clone();
    let unknown = r.seal(&h, &acl, b"never submitted");
    let not_granted = h
        .keys
        .seal_entry(&acl, lab, b"lab", r.w.now, &mut r.w.rng)
        .unwrap();
    r.w.submit(&h, &not_granted).unwrap();

    let d = r.doctors[0].clone();
    let batch = [&a, &unknown, &b, &not_granted, &c];
    let (signed, response) = ask(&mut r, &d, &batch);
    let items = items_of(&response);
    assert_eq!(items.len(), 5);
    assert_eq!(items[1], Err(Refusal::UnknownEntry));
    assert_eq!(items[3], Err(Refusal::NoReadRight));
    for (at, e) in [(0, &a), (2, &b), (4, &c)] {
        let item = items[at].as_ref().unwrap();
        assert_eq!(item.entry, e.header().entry());
        assert_eq!(item.recapsule.capsule(), e.key_block().capsule());
        // Each recapsule opens its own entry.
        let entry = e.clone().with_key_block(item.key_block);
        let accepted =
            r.w.srs
                .receipt(r.record, e.header().entry())
                .unwrap()
                .unwrap()
                .verify(&r.w.srs.verifying_key(), entry.header())
                .unwrap();
        let plain = d
            .keys
            .open_entry(&entry, &accepted, &item.recapsule, &r.named(e))
            .unwrap();
        let expected: &[u8] = [b"a", b"b", b"c"][at / 2];
        assert_eq!(plain, expected);
    }
    match last_event(&r) {
        Event::Disclosed {
            operation, items, ..
        } => {
            assert_eq!(operation, signed.hash());
            let served: Vec<_> = items.iter().map(|i| i.entry).collect();
            assert_eq!(
                served,
                [a.header().entry(), b.header().entry(), c.header().entry()]
            );
        }
        other => panic!("{other:?}"),
    }
    receipt_of(&response)
        .unwrap()
        .verify(&r.w.srs.verifying_key(), &signed, &items)
        .unwrap();
}
