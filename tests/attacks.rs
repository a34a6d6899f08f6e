//! The known attacks on the protocol, one test each, performed through the public API as a
//! hostile party would (SPEC §7). Each asserts the typed refusal; each fails if its attack
//! works again. The allocation-bounded attacks (epoch jumps) are in `tests/bounded_work.rs`.

mod common;

use rand_chacha::ChaCha20Rng;
use sesphr::phr::{
    AclProblem, AclUpdate, Change, Epoch, History, KeyBundle, Limits, MasterSecret, Owner,
    PrincipalId, PrincipalKeys, ReKeyGrant, Refusal, RequestState, Right, Role, SealedEntry,
    SectionId, SectionName, SignedAcl, Srs, Timestamp, VerifiedAcl,
};
use sesphr::Error;

const NOW: Timestamp = Timestamp(100);
const UNTIL: Timestamp = Timestamp(10_000);
const OWNER: PrincipalId = PrincipalId::new([1; 16]);
const HOSPITAL: PrincipalId = PrincipalId::new([2; 16]);

/// An SRS with a patient, a hospital and four readers, and the patient's record with one
/// section the hospital writes.
struct World {
    rng: ChaCha20Rng,
    srs: Srs,
    owner: Owner,
    hospital: PrincipalKeys,
    readers: Vec<PrincipalKeys>,
    section: SectionId,
    acls: Vec<SignedAcl>,
}

fn reader_id(i: usize) -> PrincipalId {
    PrincipalId::new([10 + i as u8; 16])
}

fn refused(r: Refusal) -> Error {
    Error::NotAuthorized(r)
}

impl World {
    fn new(seed: u8) -> Self {
        let mut rng = common::rng(seed);
        let admin = PrincipalKeys::random(&mut rng);
        let mut srs = Srs::new(
            PrincipalId::new([0; 16]),
            admin.bundle(),
            &admin.prove_possession(&mut rng).unwrap(),
        )
        .unwrap();
        let owner = Owner::from_master(MasterSecret::from_raw([seed; 32])).unwrap();
        let hospital = PrincipalKeys::random(&mut rng);
        let readers: Vec<PrincipalKeys> = (0..4).map(|_| PrincipalKeys::random(&mut rng)).collect();
        let mut cast = vec![
            (OWNER, Role::Patient, owner.keys().clone()),
            (HOSPITAL, Role::Hospital, hospital.clone()),
        ];
        for (i, r) in readers.iter().enumerate() {
            cast.push((reader_id(i), Role::Doctor, r.clone()));
        }
        for (id, role, keys) in cast {
            let pop = keys.prove_possession(&mut rng).unwrap();
            srs.register(id, role, keys.bundle(), &pop).unwrap();
            srs.activate(PrincipalId::new([0; 16]), id).unwrap();
        }
        let section = owner.section_id(&SectionName::new("medical").unwrap());
        let first = owner
            .create_record(
                owner.record_id("main").unwrap(),
                UNTIL,
                &[
                    Change::AddSection { section },
                    Change::GrantWrite {
                        section,
                        writer: hospital.bundle(),
                    },
                ],
                &mut rng,
            )
            .unwrap();
        srs.apply_update(OWNER, &first, NOW).unwrap();
        Self {
            rng,
            srs,
            owner,
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
        self.readers[i].bundle()
    }

    /// The owner's next update, not yet applied.
    fn build(&mut self, changes: &[Change]) -> AclUpdate {
        let acl = self.acl();
        self.owner
            .update(&acl, UNTIL, changes, &mut self.rng)
            .unwrap()
    }

    /// The owner's next update, applied.
    fn update(&mut self, changes: &[Change]) -> AclUpdate {
        let u = self.build(changes);
        self.srs.apply_update(OWNER, &u, NOW).unwrap();
        self.acls.push(u.acl().clone());
        u
    }

    fn write(&mut self, body: &[u8]) -> SealedEntry {
        let acl = self.acl();
        self.hospital
            .seal_entry(&acl, self.section, body, NOW, &mut self.rng)
            .unwrap()
    }

    /// Reader `i` asks the SRS for `entry` and opens it.
    fn read(&self, i: usize, entry: &SealedEntry) -> Result<Vec<u8>, Error> {
        let rc = self
            .srs
            .reencrypt(reader_id(i), entry.header(), entry.key_block(), NOW)?;
        let named = &self.acls[entry.header().acl_version().0 as usize - 1];
        let acl = named.verify(&self.owner.verifying_key()).unwrap();
        self.readers[i].open_entry(entry, &rc, &acl)
    }

    /// `f` must fail with `expected` and leave the SRS byte-for-byte as it was.
    fn refuses<T: std::fmt::Debug>(
        &mut self,
        expected: Error,
        f: impl FnOnce(&mut Srs) -> Result<T, Error>,
    ) {
        let before = self.srs.to_bytes().unwrap();
        assert_eq!(f(&mut self.srs).unwrap_err(), expected);
        assert_eq!(
            self.srs.to_bytes().unwrap(),
            before,
            "a refusal changed state"
        );
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
    assert_eq!(
        w.readers[0].open_entry(&secret, &leaked, &v2).unwrap(),
        b"HIV test: positive"
    );
    // The SRS refuses it: the value is not the one the patient signed.
    w.refuses(refused(Refusal::KeyNotCommitted), |s| {
        s.apply_update(OWNER, &forged, NOW)
    });
    // Through the wire encoding too.
    let forged = AclUpdate::from_bytes(&forged.to_bytes()).unwrap();
    w.refuses(refused(Refusal::KeyNotCommitted), |s| {
        s.apply_update(OWNER, &forged, NOW)
    });
    // The genuine update applies; reader 1 reads; reader 0 stays out.
    w.srs.apply_update(OWNER, &genuine, NOW).unwrap();
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
        w.grant(2, History::FromEpoch(Epoch(1))),
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
                let r = w.srs.apply_update(OWNER, &with(keys), NOW);
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
        w.refuses(refused(Refusal::KeyMaterialMismatch), |s| {
            s.apply_update(OWNER, &with(fewer), NOW)
        });
        let mut dup = add.clone();
        dup.insert(i, add[i].clone());
        w.refuses(refused(Refusal::KeyMaterialMismatch), |s| {
            s.apply_update(OWNER, &with(dup), NOW)
        });
    }
    let mut other_world = World::new(3);
    let foreign = rich_update(&mut other_world).keys_to_add()[0].clone();
    let mut extra = add.clone();
    extra.push(foreign);
    w.refuses(refused(Refusal::KeyMaterialMismatch), |s| {
        s.apply_update(OWNER, &with(extra), NOW)
    });
    let mut reordered = add.clone();
    reordered.swap(0, 5);
    w.refuses(refused(Refusal::KeyMaterialMismatch), |s| {
        s.apply_update(OWNER, &with(reordered), NOW)
    });

    // Values swapped between two keys; a proof moved to another key.
    let mut swapped = add.clone();
    let v0 = swapped[0].rekey.clone();
    swapped[0].rekey = swapped[4].rekey.clone();
    swapped[4].rekey = v0;
    w.refuses(refused(Refusal::KeyNotCommitted), |s| {
        s.apply_update(OWNER, &with(swapped), NOW)
    });
    let mut moved = add.clone();
    moved[1].proof = add[2].proof.clone();
    w.refuses(refused(Refusal::KeyNotCommitted), |s| {
        s.apply_update(OWNER, &with(moved), NOW)
    });
    // One bit of one proof hash.
    let mut path = add[3].proof.path().to_vec();
    path[0][0] ^= 1;
    let mut bent = add.clone();
    bent[3].proof = sesphr::merkle::InclusionProof::new(add[3].proof.index(), path).unwrap();
    w.refuses(refused(Refusal::KeyNotCommitted), |s| {
        s.apply_update(OWNER, &with(bent), NOW)
    });

    // The untouched update applies.
    w.srs.apply_update(OWNER, &genuine, NOW).unwrap();
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
    w.srs.apply_update(OWNER, &branch_a, NOW).unwrap();
    // Same version on the other branch: stale.
    assert!(matches!(
        w.srs.apply_update(OWNER, &branch_b, NOW),
        Err(Error::AclRejected(AclProblem::Stale { .. }))
    ));
    // The next version of the other branch: does not chain to what the SRS holds.
    let on_b = branch_b.acl().verify(&w.owner.verifying_key()).unwrap();
    let s = w.section;
    let next_b = w
        .owner
        .update(&on_b, UNTIL, &[Change::Rotate { section: s }], &mut w.rng)
        .unwrap();
    w.refuses(Error::AclRejected(AclProblem::BrokenChain), |srs| {
        srs.apply_update(OWNER, &next_b, NOW)
    });
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
    assert_eq!(after.0, before.0 + 1, "one rotation for two revocations");
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
    let mut w = World::new(6);
    let strict = Limits {
        sections_per_record: 1,
        readers_per_section: 2,
        writers_per_section: 1,
        keys_per_record: 4,
        key_changes_per_update: 3,
    };
    w.srs.set_limits(strict);
    assert_eq!(w.srs.limits(), &strict);
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
        w.refuses(Error::LimitExceeded { what, limit }, |s| {
            s.apply_update(OWNER, &u, NOW)
        });
    }
    // Keys: one reader over four epochs is four changes (> 3); a second reader over three
    // more makes seven keys (> 4).
    let s = w.section;
    for _ in 0..3 {
        w.update(&[Change::Rotate { section: s }]);
    }
    let u = w.build(&[w.grant(0, History::All)]);
    w.refuses(
        Error::LimitExceeded {
            what: "key changes per update",
            limit: 3,
        },
        |srs| srs.apply_update(OWNER, &u, NOW),
    );
    w.srs.set_limits(Limits {
        key_changes_per_update: 100,
        ..strict
    });
    w.update(&[w.grant(0, History::All)]);
    let u = w.build(&[w.grant(1, History::FromEpoch(Epoch(1)))]);
    w.refuses(
        Error::LimitExceeded {
            what: "re-encryption keys per record",
            limit: 4,
        },
        |srs| srs.apply_update(OWNER, &u, NOW),
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
            &mut w.rng
        ),
        Err(Error::InvalidChange { .. })
    ));
    w.update(&[Change::RemoveSection { section: s }]);
    w.update(&[Change::AddSection { section: s }]);
    let policy = w.acl().section(&s).unwrap().clone();
    assert_eq!(policy.first(), policy.epoch());
    let hospital = w.hospital.bundle();
    let changes = [
        w.grant(1, History::All),
        w.grant(2, History::FromEpoch(Epoch(0))),
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
    let ask = |w: &mut World, who: usize, t: u64| {
        w.srs
            .request(
                reader_id(who),
                record,
                Right::Read(Some(History::All)),
                &[s],
                Timestamp(t),
            )
            .unwrap()
    };
    // Asked for everything, granted only what comes next.
    let narrow_req = ask(&mut w, 0, 101);
    let narrow = w.build(&[w.grant(0, History::None)]);
    assert_eq!(
        w.srs.approve(OWNER, narrow_req, &narrow, Timestamp(102)),
        Ok(RequestState::ApprovedNarrower)
    );
    w.acls.push(narrow.acl().clone());
    let seen_by_requester = w.srs.request_by_id(narrow_req).unwrap();
    assert_eq!(seen_by_requester.state(), RequestState::ApprovedNarrower);
    assert_eq!(seen_by_requester.granted(), &[s]);
    // Asked for everything, granted everything.
    let full_req = ask(&mut w, 1, 103);
    let full = w.build(&[w.grant(1, History::All)]);
    assert_eq!(
        w.srs.approve(OWNER, full_req, &full, Timestamp(104)),
        Ok(RequestState::Approved)
    );
    assert_eq!(
        w.srs.request_by_id(full_req).unwrap().state(),
        RequestState::Approved
    );
}

/// Stops: back-dating a request's history (an action stamped before the last one).
#[test]
fn request_actions_stamped_in_the_past_are_refused() {
    let mut w = World::new(9);
    let s = w.section;
    let record = w.acl().record();
    let req = w
        .srs
        .request(reader_id(0), record, Right::Write, &[s], Timestamp(200))
        .unwrap();
    let past = Error::ClockWentBackwards {
        last: Timestamp(200),
        offered: Timestamp(199),
    };
    w.refuses(past.clone(), |srs| srs.reject(OWNER, req, Timestamp(199)));
    w.refuses(past.clone(), |srs| {
        srs.withdraw(reader_id(0), req, Timestamp(199))
    });
    let grant = w.build(&[Change::GrantWrite {
        section: s,
        writer: w.bundle(0),
    }]);
    w.refuses(past, |srs| srs.approve(OWNER, req, &grant, Timestamp(199)));
    // The same instant is fine.
    w.srs.reject(OWNER, req, Timestamp(200)).unwrap();
    // A back-dated history does not decode either.
    let mut bytes = w.srs.request_by_id(req).unwrap().to_bytes().unwrap();
    let n = bytes.len();
    bytes[n - 8..].copy_from_slice(&199u64.to_be_bytes());
    assert_eq!(
        sesphr::phr::AccessRequest::from_bytes(&bytes).unwrap_err(),
        Error::InvalidEncoding {
            what: "access request"
        }
    );
}
