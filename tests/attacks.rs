//! The known attacks on the protocol, one test each, performed through the public API as a
//! hostile party would (SPEC §7). Each asserts the typed refusal; each fails if its attack
//! works again. The allocation-bounded attacks (epoch jumps) are in `tests/bounded_work.rs`.

mod common;

use common::world::{refused, Actor, World as Srv};
use sesphr::phr::{
    AclProblem, AclUpdate, Change, Epoch, History, KeyBundle, Limits, MasterSecret, Owner,
    ReKeyGrant, RequestState, Right, Role, SealedEntry, SectionId, SectionName, SignedAcl,
    Timestamp, VerifiedAcl,
};
use sesphr::srs::{Operation, Refusal, Response, SrsConfig};
use sesphr::Error;

const UNTIL: Timestamp = Timestamp::new(10_000_000);

/// An SRS with a patient, a hospital and four readers, and the patient's record with one
/// section the hospital writes.
struct World {
    srv: Srv,
    owner: Owner,
    owner_a: Actor,
    hospital: Actor,
    readers: Vec<Actor>,
    section: SectionId,
    acls: Vec<SignedAcl>,
}

impl World {
    fn new(seed: u8) -> Self {
        Self::with_config(seed, SrsConfig::default())
    }

    fn with_config(seed: u8, config: SrsConfig) -> Self {
        let mut srv = Srv::new(seed);
        srv.srs = sesphr::srs::Srs::new(srv.store.clone(), srv.srs_key.clone(), "test", config);
        let owner = Owner::from_master(MasterSecret::from_raw([seed; 32])).unwrap();
        let owner_a = srv.enrol(Role::Patient, owner.keys().clone());
        let hospital = srv.actor(Role::Hospital);
        let readers: Vec<Actor> = (0..4).map(|_| srv.actor(Role::Doctor)).collect();
        let section = owner.section_id(&SectionName::new("medical").unwrap());
        let first = owner
            .create_record(
                owner.record_id("main").unwrap(),
                UNTIL,
                &[
                    Change::AddSection { section },
                    Change::GrantWrite {
                        section,
                        writer: hospital.keys.bundle(),
                    },
                ],
                &mut srv.rng,
            )
            .unwrap();
        srv.run(&owner_a, Operation::ApplyUpdate(first.clone()))
            .unwrap();
        Self {
            srv,
            owner,
            owner_a,
            hospital,
            readers,
            section,
            acls: vec![first.acl().clone()],
        }
    }

    fn acl(&self) -> VerifiedAcl {
        self.acls
            .last()
            .unwrap()
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    fn bundle(&self, i: usize) -> KeyBundle {
        self.readers[i].keys.bundle()
    }

    /// The owner's next update, not yet applied.
    fn build(&mut self, changes: &[Change]) -> AclUpdate {
        let acl = self.acl();
        self.owner
            .update(&acl, UNTIL, changes, &mut self.srv.rng)
            .unwrap()
    }

    /// Runs an update as the owner.
    fn apply(&mut self, u: &AclUpdate) -> Result<Response, Error> {
        let owner = self.owner_a.clone();
        self.srv.run(&owner, Operation::ApplyUpdate(u.clone()))
    }

    /// The owner's next update, applied.
    fn update(&mut self, changes: &[Change]) -> AclUpdate {
        let u = self.build(changes);
        self.apply(&u).unwrap();
        self.acls.push(u.acl().clone());
        u
    }

    /// `u` must be refused with `expected`, the store unchanged.
    fn refuses_update(&mut self, expected: Error, u: &AclUpdate) {
        let owner = self.owner_a.clone();
        self.srv
            .refuses(expected, &owner, Operation::ApplyUpdate(u.clone()));
    }

    /// The hospital seals an entry and the SRS's write gate accepts it.
    fn write(&mut self, body: &[u8]) -> SealedEntry {
        let acl = self.acl();
        let e = self
            .hospital
            .keys
            .seal_entry(&acl, self.section, body, self.srv.now, &mut self.srv.rng)
            .unwrap();
        let h = self.hospital.clone();
        self.srv.submit(&h, &e).unwrap();
        e
    }

    /// Reader `i` asks the SRS for `entry` and opens it.
    fn read(&mut self, i: usize, entry: &SealedEntry) -> Result<Vec<u8>, Error> {
        let named = &self.acls[entry.header().acl_version().get() as usize - 1];
        let acl = named.verify(&self.owner.verifying_key()).unwrap();
        let r = self.readers[i].clone();
        self.srv.open(&r, entry, &acl)
    }

    fn grant(&self, i: usize, history: History) -> Change {
        Change::GrantRead {
            section: self.section,
            reader: self.bundle(i),
            history,
        }
    }
}

/// Stops: an attacker on the owner→SRS path swapping a new reader's key for a revoked
/// reader's captured key, so the SRS serves re-encryptions the revoked reader opens.
#[test]
fn a_revoked_readers_captured_key_cannot_be_substituted_for_a_new_readers_key() {
    let mut w = World::new(1);
    let g = w.grant(0, History::None);
    let grant_old = w.update(&[g]);
    let captured = grant_old.keys_to_add()[0].clone();
    let secret = w.write(b"HIV test: positive");
    assert_eq!(w.read(0, &secret).unwrap(), b"HIV test: positive");
    // The patient revokes reader 0, then grants reader 1 with history.
    let fp0 = w.bundle(0).fingerprint();
    w.update(&[Change::RevokeRead {
        section: w.section,
        reader: fp0,
    }]);
    let g = w.grant(1, History::All);
    let genuine = w.build(&[g]);
    // The attacker replaces reader 1's key for the secret's epoch by reader 0's old key.
    let mut add = genuine.keys_to_add().to_vec();
    let slot = add
        .iter()
        .position(|k| k.id.epoch == captured.id.epoch)
        .unwrap();
    add[slot].rekey = captured.rekey.clone();
    let forged = AclUpdate::from_parts(
        genuine.acl().clone(),
        add,
        genuine.keys_to_delete().to_vec(),
    );
    // Had it been stored, reader 0 would open what the SRS serves "to reader 1".
    let leaked = captured.rekey.reencrypt(secret.key_block().capsule());
    let v2 = w.acls[1].verify(&w.owner.verifying_key()).unwrap();
    let receipt = w
        .srv
        .srs
        .receipt(v2.record(), secret.header().entry())
        .unwrap()
        .unwrap();
    let accepted = receipt
        .verify(&w.srv.srs.verifying_key(), secret.header())
        .unwrap();
    assert_eq!(
        w.readers[0]
            .keys
            .open_entry(&secret, &accepted, &leaked, &v2)
            .unwrap(),
        b"HIV test: positive"
    );
    // The SRS refuses it: the value is not the one the patient signed.
    w.refuses_update(refused(Refusal::KeyNotCommitted), &forged);
    // Through the wire encoding too.
    let forged = AclUpdate::from_bytes(&forged.to_bytes()).unwrap();
    w.refuses_update(refused(Refusal::KeyNotCommitted), &forged);
    // The genuine update applies; reader 1 reads; reader 0 stays out.
    w.apply(&genuine).unwrap();
    w.acls.push(genuine.acl().clone());
    assert_eq!(w.read(1, &secret).unwrap(), b"HIV test: positive");
    assert_eq!(
        w.read(0, &secret).unwrap_err(),
        refused(Refusal::NoReadRight)
    );
}

/// A three-reader grant with history over three epochs: 9 keys to add.
fn rich_update(w: &mut World) -> AclUpdate {
    for _ in 0..2 {
        let s = w.section;
        w.update(&[Change::Rotate { section: s }]);
    }
    let changes = [
        w.grant(0, History::All),
        w.grant(1, History::All),
        w.grant(2, History::FromEpoch(Epoch::new(1))),
    ];
    w.build(&changes)
}

/// Stops: any change to the key material of a signed update (bit flips in key values,
/// dropped, extra, duplicated, reordered or swapped keys, moved proofs).
#[test]
fn every_tampering_with_the_keys_of_an_update_is_refused() {
    let mut w = World::new(2);
    let genuine = rich_update(&mut w);
    let add = genuine.keys_to_add().to_vec();
    assert_eq!(add.len(), 3 + 3 + 2);
    let acl = genuine.acl().clone();
    let del = genuine.keys_to_delete().to_vec();
    let with = |keys: Vec<ReKeyGrant>| AclUpdate::from_parts(acl.clone(), keys, del.clone());

    // Every bit of every key value (the update's decoder decodes each key with
    // `ReKey::from_bytes`; flipping the value there is the same as on the wire).
    let mut decoded_flips = 0;
    for (i, k) in add.iter().enumerate() {
        let value = k.rekey.to_bytes();
        for bit in 0..value.len() * 8 {
            let mut v = value;
            v[bit / 8] ^= 1 << (bit % 8);
            // Most flips leave the curve or the subgroup; the rest must meet the commitment.
            if let Ok(rekey) = sesphr::pre::ReKey::from_bytes(&v) {
                decoded_flips += 1;
                let mut keys = add.clone();
                keys[i].rekey = rekey;
                let r = w.apply(&with(keys));
                assert_eq!(
                    r,
                    Err(refused(Refusal::KeyNotCommitted)),
                    "bit {bit} of key {:?}",
                    k.id
                );
            }
        }
    }
    // (The sign bit of a compressed point gives the negated key, a valid point: those reach
    // the SRS and must be refused there.)
    assert!(
        decoded_flips >= add.len() && decoded_flips < 16 * add.len(),
        "{decoded_flips}"
    );

    // Dropped, duplicated, extra (from another update), reordered keys.
    for i in 0..add.len() {
        let mut fewer = add.clone();
        fewer.remove(i);
        w.refuses_update(refused(Refusal::KeyMaterialMismatch), &with(fewer));
        let mut dup = add.clone();
        dup.insert(i, add[i].clone());
        w.refuses_update(refused(Refusal::KeyMaterialMismatch), &with(dup));
    }
    let mut other_world = World::new(3);
    let foreign = rich_update(&mut other_world).keys_to_add()[0].clone();
    let mut extra = add.clone();
    extra.push(foreign);
    w.refuses_update(refused(Refusal::KeyMaterialMismatch), &with(extra));
    let mut reordered = add.clone();
    reordered.swap(0, 5);
    w.refuses_update(refused(Refusal::KeyMaterialMismatch), &with(reordered));

    // Values swapped between two keys; a proof moved to another key.
    let mut swapped = add.clone();
    let v0 = swapped[0].rekey.clone();
    swapped[0].rekey = swapped[4].rekey.clone();
    swapped[4].rekey = v0;
    w.refuses_update(refused(Refusal::KeyNotCommitted), &with(swapped));
    let mut moved = add.clone();
    moved[1].proof = add[2].proof.clone();
    w.refuses_update(refused(Refusal::KeyNotCommitted), &with(moved));
    // One bit of one proof hash.
    let mut path = add[3].proof.path().to_vec();
    path[0][0] ^= 1;
    let mut bent = add.clone();
    bent[3].proof = sesphr::merkle::InclusionProof::new(add[3].proof.index(), path).unwrap();
    w.refuses_update(refused(Refusal::KeyNotCommitted), &with(bent));

    // The untouched update applies.
    w.apply(&genuine).unwrap();
}

/// Stops: replaying an update from another branch of the record's history (two versions
/// built on the same predecessor), and old-format updates without a key-set commitment.
#[test]
fn forks_and_old_format_updates_are_refused() {
    let mut w = World::new(4);
    let g0 = w.grant(0, History::None);
    let branch_a = w.build(&[g0]);
    let g1 = w.grant(1, History::None);
    let branch_b = w.build(&[g1]);
    w.apply(&branch_a).unwrap();
    // Same version on the other branch: stale.
    assert!(matches!(
        w.apply(&branch_b),
        Err(Error::AclRejected {
            problem: AclProblem::AlreadySeen,
            ..
        })
    ));
    // The next version of the other branch: does not chain to what the SRS holds.
    let on_b = branch_b.acl().verify(&w.owner.verifying_key()).unwrap();
    let s = w.section;
    let next_b = w
        .owner
        .update(
            &on_b,
            UNTIL,
            &[Change::Rotate { section: s }],
            &mut w.srv.rng,
        )
        .unwrap();
    w.refuses_update(
        Error::AclRejected {
            record: next_b.acl().acl_unverified().record(),
            version: next_b.acl().acl_unverified().version(),
            problem: AclProblem::BrokenChain,
        },
        &next_b,
    );
    // A version-1 update (the format before the key-set commitment) is refused by name.
    let mut old = branch_a.to_bytes();
    old[1] = 1;
    assert_eq!(
        AclUpdate::from_bytes(&old).unwrap_err(),
        Error::UnknownVersion {
            what: "ACL update",
            version: 1
        }
    );
    let mut old_acl = branch_a.acl().to_bytes();
    old_acl[1] = 1;
    assert_eq!(
        SignedAcl::from_bytes(&old_acl).unwrap_err(),
        Error::UnknownVersion {
            what: "signed ACL",
            version: 1
        }
    );
}

/// Stops: one update's revocations rotating a section several times (each revoke used to
/// rotate on its own), while still revoking every reader it names.
#[test]
fn revoking_two_readers_in_one_update_rotates_once_and_cuts_both_off() {
    let mut w = World::new(5);
    let changes = [
        w.grant(0, History::None),
        w.grant(1, History::None),
        w.grant(2, History::None),
    ];
    w.update(&changes);
    let before = w.acl().section(&w.section).unwrap().epoch();
    let old = w.write(b"before");
    let (s, fp0, fp1) = (
        w.section,
        w.bundle(0).fingerprint(),
        w.bundle(1).fingerprint(),
    );
    let u = w.update(&[
        Change::RevokeRead {
            section: s,
            reader: fp0,
        },
        Change::RevokeRead {
            section: s,
            reader: fp1,
        },
    ]);
    let after = w.acl().section(&w.section).unwrap().epoch();
    assert_eq!(
        after.get(),
        before.get() + 1,
        "one rotation for two revocations"
    );
    // Reader 2 gets exactly one new key; readers 0 and 1 lose all of theirs.
    assert_eq!(u.keys_to_add().len(), 1);
    assert_eq!(u.keys_to_delete().len(), 2);
    let new = w.write(b"after");
    assert_eq!(w.read(2, &new).unwrap(), b"after");
    assert_eq!(w.read(2, &old).unwrap(), b"before");
    for r in [0, 1] {
        assert_eq!(w.read(r, &new).unwrap_err(), refused(Refusal::NoReadRight));
        assert_eq!(w.read(r, &old).unwrap_err(), refused(Refusal::NoReadRight));
    }
}

/// Stops: updates beyond the operator's limits (each limit is a typed refusal).
#[test]
fn limits_refuse_oversized_updates_with_a_typed_error() {
    let strict = Limits {
        sections_per_record: 1,
        readers_per_section: 2,
        writers_per_section: 1,
        keys_per_record: 4,
        key_changes_per_update: 3,
    };
    let config = |limits| SrsConfig {
        limits,
        ..SrsConfig::default()
    };
    let mut w = World::with_config(6, config(strict));
    assert_eq!(w.srv.srs.config().limits, strict);
    let cases: Vec<(Vec<Change>, &str, u64)> = vec![
        (
            vec![Change::AddSection {
                section: SectionId::new([9; 16]),
            }],
            "sections per record",
            1,
        ),
        (
            vec![
                w.grant(0, History::None),
                w.grant(1, History::None),
                w.grant(2, History::None),
            ],
            "readers per section",
            2,
        ),
        (
            vec![Change::GrantWrite {
                section: w.section,
                writer: w.bundle(3),
            }],
            "writers per section",
            1,
        ),
    ];
    for (changes, what, limit) in cases {
        let u = w.build(&changes);
        w.refuses_update(Error::LimitExceeded { what, limit }, &u);
    }
    // Keys: one reader over four epochs is four changes (> 3); a second reader over three
    // more makes seven keys (> 4).
    let s = w.section;
    for _ in 0..3 {
        w.update(&[Change::Rotate { section: s }]);
    }
    let u = w.build(&[w.grant(0, History::All)]);
    w.refuses_update(
        Error::LimitExceeded {
            what: "key changes per update",
            limit: 3,
        },
        &u,
    );
    // Another instance over the same store, configured with a larger change limit.
    w.srv.srs = sesphr::srs::Srs::new(
        w.srv.store.clone(),
        w.srv.srs_key.clone(),
        "test",
        config(Limits {
            key_changes_per_update: 100,
            ..strict
        }),
    );
    w.update(&[w.grant(0, History::All)]);
    let u = w.build(&[w.grant(1, History::FromEpoch(Epoch::new(1)))]);
    w.refuses_update(
        Error::LimitExceeded {
            what: "re-encryption keys per record",
            limit: 4,
        },
        &u,
    );
}

/// Stops: a removed and re-added section handing its predecessor's epochs to a reader
/// granted `History::All` (or an early `FromEpoch`) on the new one.
#[test]
fn a_re_added_section_does_not_leak_its_predecessor() {
    let mut w = World::new(7);
    let g = w.grant(0, History::None);
    w.update(&[g]);
    let old = w.write(b"before removal");
    let s = w.section;
    // Removing and adding back in one version is refused (the key would be reused).
    let acl = w.acl();
    assert!(matches!(
        w.owner.update(
            &acl,
            UNTIL,
            &[
                Change::RemoveSection { section: s },
                Change::AddSection { section: s }
            ],
            &mut w.srv.rng
        ),
        Err(Error::InvalidChange { .. })
    ));
    w.update(&[Change::RemoveSection { section: s }]);
    w.update(&[Change::AddSection { section: s }]);
    let policy = w.acl().section(&s).unwrap().clone();
    assert_eq!(policy.first(), policy.epoch());
    let hospital = w.hospital.keys.bundle();
    let changes = [
        w.grant(1, History::All),
        w.grant(2, History::FromEpoch(Epoch::new(0))),
        Change::GrantWrite {
            section: s,
            writer: hospital,
        },
    ];
    let u = w.update(&changes);
    // Keys only from the re-creation on: one per new reader.
    assert_eq!(u.keys_to_add().len(), 2);
    assert!(u.keys_to_add().iter().all(|k| k.id.epoch >= policy.first()));
    for r in [1, 2] {
        assert_eq!(w.read(r, &old).unwrap_err(), refused(Refusal::NoReadRight));
        let grant = w.acl().section(&s).unwrap().clone();
        let from = grant
            .readers()
            .find(|(fp, _)| **fp == w.bundle(r).fingerprint())
            .unwrap()
            .1
            .from;
        assert_eq!(from, policy.first());
    }
    let new = w.write(b"after re-adding");
    assert_eq!(w.read(1, &new).unwrap(), b"after re-adding");
    assert_eq!(w.read(2, &new).unwrap(), b"after re-adding");
}

/// Stops: an approval silently granting less history than requested (the requester
/// believes it was approved as asked).
#[test]
fn an_approval_narrower_than_the_request_is_a_distinct_recorded_outcome() {
    let mut w = World::new(8);
    let s = w.section;
    w.update(&[Change::Rotate { section: s }]);
    let record = w.acl().record();
    let ask = |w: &mut World, who: usize| {
        let r = w.readers[who].clone();
        let op = Operation::Request {
            record,
            right: Right::Read(Some(History::All)),
            sections: vec![s],
        };
        match w.srv.run(&r, op).unwrap() {
            Response::RequestFiled(id) => id,
            other => panic!("{other:?}"),
        }
    };
    let approve = |w: &mut World, request, update: &AclUpdate| {
        let owner = w.owner_a.clone();
        let op = Operation::Approve {
            request,
            update: update.clone(),
        };
        let r = w.srv.run(&owner, op);
        if r.is_ok() {
            w.acls.push(update.acl().clone());
        }
        r
    };
    // Asked for everything, granted only what comes next.
    let narrow_req = ask(&mut w, 0);
    let narrow = w.build(&[w.grant(0, History::None)]);
    assert_eq!(
        approve(&mut w, narrow_req, &narrow),
        Ok(Response::Approved(RequestState::ApprovedNarrower))
    );
    let seen_by_requester = w.srv.srs.request(narrow_req).unwrap().unwrap();
    assert_eq!(seen_by_requester.state(), RequestState::ApprovedNarrower);
    assert_eq!(seen_by_requester.granted(), &[s]);
    // Asked for everything, granted everything.
    let full_req = ask(&mut w, 1);
    let full = w.build(&[w.grant(1, History::All)]);
    assert_eq!(
        approve(&mut w, full_req, &full),
        Ok(Response::Approved(RequestState::Approved))
    );
    assert_eq!(
        w.srv.srs.request(full_req).unwrap().unwrap().state(),
        RequestState::Approved
    );
}

/// Stops: back-dating a request's history. The SRS stamps transitions itself with
/// `max(its clock, the request's last time)`, so an instance whose clock lags still records
/// a monotonic history; a history going backwards is refused by the request's own check and
/// by its decoder.
#[test]
fn request_histories_never_go_backwards() {
    let mut w = World::new(9);
    let s = w.section;
    let record = w.acl().record();
    w.srv.now = Timestamp::new(w.srv.now.get() + 200);
    let r0 = w.readers[0].clone();
    let Response::RequestFiled(req) = w
        .srv
        .run(
            &r0,
            Operation::Request {
                record,
                right: Right::Write,
                sections: vec![s],
            },
        )
        .unwrap()
    else {
        panic!()
    };
    // An instance whose clock is 100 s behind rejects it: stamped at the last time.
    let filed = w.srv.now;
    w.srv.now = Timestamp::new(filed.get() - 100);
    let owner = w.owner_a.clone();
    w.srv
        .run(&owner, Operation::Reject { request: req })
        .unwrap();
    let request = w.srv.srs.request(req).unwrap().unwrap();
    assert_eq!(
        request.history(),
        &[
            (RequestState::Pending, filed),
            (RequestState::Rejected, filed)
        ]
    );
    assert_eq!(
        request.check_time(Timestamp::new(filed.get() - 1)),
        Err(Error::ClockWentBackwards {
            last: filed,
            offered: Timestamp::new(filed.get() - 1),
        })
    );
    // A back-dated history does not decode.
    let mut bytes = request.to_bytes().unwrap();
    let n = bytes.len();
    bytes[n - 8..].copy_from_slice(&(filed.get() - 1).to_be_bytes());
    assert_eq!(
        sesphr::phr::AccessRequest::from_bytes(&bytes).unwrap_err(),
        Error::InvalidEncoding {
            what: "access request",
            field: Some("states, sections or grants (not a reachable request)"),
        }
    );
}
