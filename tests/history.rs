//! The ACL history (`sesphr::phr::AclHistory`): what a writer, reader or owner keeps between
//! runs. The restart test is the issue's: a fresh verifier accepts a rolled-back ACL; a
//! history seeded from its saved bytes refuses it, and a writer sealing through it never
//! seals to the retired epoch.

mod common;

use std::num::NonZeroU16;

use common::world::{Actor, World};
use sesphr::phr::{
    AclHistory, AclProblem, AclUpdate, AclVerifier, AclVersion, Change, History, MasterSecret,
    Owner, Role, SealedEntry, SectionId, SectionName, SignedAcl, Timestamp, VerifiedAcl,
};
use sesphr::srs::{Accepted, Operation};
use sesphr::Error;

const UNTIL: Timestamp = Timestamp::new(2_000_000);

/// An owner with a record whose "medical" section the hospital writes and the doctor and the
/// pharmacy read; v2 revokes the pharmacy (the section rotates).
struct Fixture {
    w: World,
    owner: Owner,
    owner_actor: Actor,
    hospital: Actor,
    doctor: Actor,
    pharmacy: Actor,
    section: SectionId,
    v1: AclUpdate,
}

impl Fixture {
    fn new(seed: u8) -> Self {
        let mut w = World::new(seed);
        let owner = Owner::from_master(MasterSecret::from_raw([seed; 32])).unwrap();
        let owner_actor = w.enrol(Role::Patient, owner.keys().clone());
        let hospital = w.actor(Role::Hospital);
        let doctor = w.actor(Role::Doctor);
        let pharmacy = w.actor(Role::Pharmacist);
        let record = owner.record_id("main").unwrap();
        let section = owner.section_id(&SectionName::new("medical").unwrap());
        let v1 = owner
            .create_record(
                record,
                UNTIL,
                &[
                    Change::AddSection { section },
                    Change::GrantWrite {
                        section,
                        writer: hospital.keys.bundle(),
                    },
                    Change::GrantRead {
                        section,
                        reader: doctor.keys.bundle(),
                        history: History::All,
                    },
                    Change::GrantRead {
                        section,
                        reader: pharmacy.keys.bundle(),
                        history: History::All,
                    },
                ],
                &mut w.rng,
            )
            .unwrap();
        w.run(&owner_actor, Operation::ApplyUpdate(v1.clone()))
            .unwrap();
        Self {
            w,
            owner,
            owner_actor,
            hospital,
            doctor,
            pharmacy,
            section,
            v1,
        }
    }

    fn verified(&self, u: &AclUpdate) -> VerifiedAcl {
        u.acl().verify(&self.owner.verifying_key()).unwrap()
    }

    /// The next version with `changes`, applied at the SRS.
    fn next(&mut self, current: &AclUpdate, changes: &[Change]) -> AclUpdate {
        let current = self.verified(current);
        let u = self
            .owner
            .update(&current, UNTIL, changes, &mut self.w.rng)
            .unwrap();
        let owner = self.owner_actor.clone();
        self.w
            .run(&owner, Operation::ApplyUpdate(u.clone()))
            .unwrap();
        u
    }

    fn revoke_pharmacy(&mut self) -> AclUpdate {
        let v1 = self.v1.clone();
        let change = Change::RevokeRead {
            section: self.section,
            reader: self.pharmacy.keys.bundle().fingerprint(),
        };
        self.next(&v1, &[change])
    }

    fn history(&self) -> AclHistory {
        AclHistory::new(
            self.v1.acl().acl_unverified().record(),
            self.owner.verifying_key(),
        )
    }

    /// Submits `entry` and returns the SRS's verified receipt.
    fn accepted(&mut self, entry: &SealedEntry) -> Result<Accepted, Error> {
        let writer = self.hospital.clone();
        let receipt = self.w.submit(&writer, entry)?;
        receipt.verify(&self.w.srs.verifying_key(), entry.header())
    }

    /// The doctor's re-encryption of `entry`, opened through `history`.
    fn doctor_reads(
        &mut self,
        entry: &SealedEntry,
        history: &AclHistory,
    ) -> Result<Vec<u8>, Error> {
        let record = entry.header().record();
        let doctor = self.doctor.clone();
        let item = self
            .w
            .reencrypt(&doctor, record, vec![entry.header().entry()])?
            .pop()
            .unwrap()
            .map_err(common::world::refused)?;
        let entry = entry.clone().with_key_block(item.key_block);
        let receipt = self.w.srs.receipt(record, entry.header().entry())?.unwrap();
        let accepted = receipt.verify(&self.w.srs.verifying_key(), entry.header())?;
        self.doctor
            .keys
            .open_entry_with_history(&entry, &accepted, &item.recapsule, history)
    }
}

/// The refusal of an older version after version `seen`.
/// A first ACL version of `record` by `owner` with only `section` (no rights): what the
/// tests forge or fork with.
fn bare_record<R: rand_core::RngCore + rand_core::CryptoRng>(
    owner: &Owner,
    record: sesphr::phr::RecordId,
    section: SectionId,
    rng: &mut R,
) -> AclUpdate {
    owner
        .create_record(record, UNTIL, &[Change::AddSection { section }], rng)
        .unwrap()
}

fn stale(seen: u64) -> AclProblem {
    AclProblem::Stale {
        seen: AclVersion::new(seen),
    }
}

/// The problem of an ACL refusal.
fn problem(e: Error) -> AclProblem {
    match e {
        Error::AclRejected { problem, .. } => problem,
        other => panic!("not an ACL refusal: {other:?}"),
    }
}

#[test]
fn restart_a_seeded_history_refuses_the_rollback_a_fresh_verifier_accepted() {
    let mut fx = Fixture::new(1);
    let now = fx.w.now;
    let record = fx.v1.acl().acl_unverified().record();

    // Before the restart: the hospital has seen v1, then v2 (the pharmacy revoked, the
    // section rotated), and saved its history.
    let v2 = fx.revoke_pharmacy();
    let mut hospital_history = fx.history();
    hospital_history.accept(fx.v1.acl(), now).unwrap();
    hospital_history.accept(v2.acl(), now).unwrap();
    let saved = hospital_history.to_bytes().unwrap();
    let mut verifier = AclVerifier::new(record, fx.owner.verifying_key());
    verifier.accept(v2.acl(), now).unwrap();
    let saved_highest = verifier.highest().unwrap();
    drop((hospital_history, verifier));

    // After the restart, someone (an SRS rolled back, an attacker on the path) serves v1.
    // The bug: a fresh verifier accepts it, and the hospital would seal to the retired epoch.
    let mut fresh = AclVerifier::new(record, fx.owner.verifying_key());
    let rolled_back = fresh.accept(fx.v1.acl(), now).unwrap();
    assert_eq!(rolled_back.version(), AclVersion::new(1));
    let retired_epoch = rolled_back.section(&fx.section).unwrap().epoch();
    let to_retired = fx
        .hospital
        .keys
        .seal_entry(
            &rolled_back,
            fx.section,
            b"to a retired epoch",
            now,
            &mut fx.w.rng,
        )
        .unwrap();
    assert_eq!(to_retired.key_block().epoch(), retired_epoch);

    // The fix: a history seeded from its saved bytes (or a verifier resumed with the saved
    // highest version) refuses the rollback, and changes nothing when it does.
    let mut seeded = AclHistory::from_bytes(&saved, &fx.owner.verifying_key()).unwrap();
    assert_eq!(seeded.to_bytes().unwrap(), saved);
    assert_eq!(seeded.highest(), Some(AclVersion::new(2)));
    assert_eq!(
        problem(seeded.accept(fx.v1.acl(), now).unwrap_err()),
        stale(2)
    );
    assert_eq!(seeded.to_bytes().unwrap(), saved);
    let mut resumed = AclVerifier::resume(record, fx.owner.verifying_key(), saved_highest);
    assert_eq!(
        problem(resumed.accept(fx.v1.acl(), now).unwrap_err()),
        stale(2)
    );
    resumed.accept(v2.acl(), now).unwrap();

    // The writer refuses to seal to the non-newest version: handed the rolled-back ACL it
    // says so, and sealing through the history goes to v2's epoch, which the SRS accepts.
    assert_eq!(
        problem(seeded.check_current(&rolled_back).unwrap_err()),
        stale(2)
    );
    let v2_verified = fx.verified(&v2);
    seeded.check_current(&v2_verified).unwrap();
    let entry = fx
        .hospital
        .keys
        .seal_entry_with_history(&seeded, fx.section, b"after restart", now, &mut fx.w.rng)
        .unwrap();
    assert_eq!(entry.header().acl_version(), AclVersion::new(2));
    let current_epoch = v2_verified.section(&fx.section).unwrap().epoch();
    assert_eq!(current_epoch, retired_epoch.next().unwrap());
    assert_eq!(entry.key_block().epoch(), current_epoch);
    fx.accepted(&entry).unwrap();
    // The entry sealed by the fresh verifier is the one the SRS's write gate must catch.
    assert!(fx.accepted(&to_retired).is_err());
}

#[test]
fn a_streaming_writer_seals_through_the_history_to_the_newest_version() {
    let mut fx = Fixture::new(2);
    let now = fx.w.now;
    let v2 = fx.revoke_pharmacy();
    let mut h = fx.history();
    h.accept(fx.v1.acl(), now).unwrap();
    h.accept(v2.acl(), now).unwrap();
    let sealer = sesphr::phr::EntrySealer::with_history(
        &fx.hospital.keys,
        &h,
        fx.section,
        now,
        &mut fx.w.rng,
    )
    .unwrap();
    assert_eq!(sealer.header().0.acl_version(), AclVersion::new(2));
    // After its not_after, the newest version is no longer something to seal to.
    let late = Timestamp::new(UNTIL.get() + 1);
    assert!(matches!(
        problem(h.sealing_acl(late).unwrap_err()),
        AclProblem::Expired { .. }
    ));
    assert!(fx
        .hospital
        .keys
        .seal_entry_with_history(&h, fx.section, b"x", late, &mut fx.w.rng)
        .is_err());
    // An empty history has nothing to seal to.
    assert_eq!(
        fx.history().sealing_acl(now).unwrap_err(),
        Error::NotFound { what: "ACL" }
    );
}

#[test]
fn readers_and_the_owner_find_the_version_each_entry_names() {
    let mut fx = Fixture::new(3);
    let now = fx.w.now;
    let mut writer = fx.history();
    writer.accept(fx.v1.acl(), now).unwrap();
    let old = fx
        .hospital
        .keys
        .seal_entry_with_history(&writer, fx.section, b"under v1", now, &mut fx.w.rng)
        .unwrap();
    let old_accepted = fx.accepted(&old).unwrap();
    let v2 = fx.revoke_pharmacy();
    writer.accept(v2.acl(), now).unwrap();
    let new = fx
        .hospital
        .keys
        .seal_entry_with_history(&writer, fx.section, b"under v2", now, &mut fx.w.rng)
        .unwrap();
    let new_accepted = fx.accepted(&new).unwrap();

    // The doctor learnt only v2 as current, then fetched v1 to open the older entry.
    let mut doctor = fx.history();
    doctor.accept(v2.acl(), now).unwrap();
    assert_eq!(
        fx.doctor_reads(&old, &doctor).unwrap_err(),
        Error::NotFound {
            what: "ACL version the entry names"
        }
    );
    doctor.remember_past(fx.v1.acl()).unwrap();
    assert_eq!(doctor.current().unwrap().version(), AclVersion::new(2));
    let doctor =
        AclHistory::from_bytes(&doctor.to_bytes().unwrap(), &fx.owner.verifying_key()).unwrap();
    assert_eq!(
        doctor.versions().collect::<Vec<_>>(),
        [AclVersion::new(1), AclVersion::new(2)]
    );
    assert_eq!(fx.doctor_reads(&old, &doctor).unwrap(), b"under v1");
    assert_eq!(fx.doctor_reads(&new, &doctor).unwrap(), b"under v2");

    // The owner keeps its own history and opens and re-seals through it.
    let mut own = fx.history();
    own.accept(fx.v1.acl(), now).unwrap();
    own.accept(v2.acl(), now).unwrap();
    assert_eq!(
        fx.owner
            .open_entry_with_history(&old, &old_accepted, &own)
            .unwrap(),
        b"under v1"
    );
    let resealed = fx
        .owner
        .reseal_with_history(&new, &new_accepted, &own, now, &mut fx.w.rng)
        .unwrap();
    assert_eq!(resealed.header().acl_version(), AclVersion::new(2));

    // A history of another record finds nothing for these entries.
    let other = Owner::from_master(MasterSecret::from_raw([0x77; 32])).unwrap();
    let foreign = AclHistory::new(other.record_id("main").unwrap(), fx.owner.verifying_key());
    assert!(matches!(
        problem(foreign.for_entry(old.header()).unwrap_err()),
        AclProblem::WrongRecord { .. }
    ));
}

#[test]
fn remember_past_keeps_older_versions_only() {
    let mut fx = Fixture::new(4);
    let now = fx.w.now;
    let v2 = fx.revoke_pharmacy();
    let mut h = fx.history();
    // Nothing current yet: a past version has nothing to be older than.
    assert!(matches!(
        problem(h.remember_past(fx.v1.acl()).unwrap_err()),
        AclProblem::VersionMismatch { .. }
    ));
    h.accept(v2.acl(), now).unwrap();
    assert!(matches!(
        problem(h.remember_past(v2.acl()).unwrap_err()),
        AclProblem::VersionMismatch { .. }
    ));
    // An expired past version is still a valid record of what was.
    h.remember_past(fx.v1.acl()).unwrap();
    assert_eq!(h.highest(), Some(AclVersion::new(2)));
    // Accepting the newest again is harmless.
    h.accept(v2.acl(), now).unwrap();
    assert_eq!(h.versions().count(), 2);
}

#[test]
fn the_history_is_bounded_and_never_drops_the_newest() {
    let mut fx = Fixture::new(5);
    let now = fx.w.now;
    let v2 = fx.revoke_pharmacy();
    let v3 = fx.next(
        &v2,
        &[Change::Rotate {
            section: fx.section,
        }],
    );
    let record = fx.v1.acl().acl_unverified().record();
    let two = NonZeroU16::new(2).unwrap();
    let mut h = AclHistory::with_capacity(record, fx.owner.verifying_key(), two);
    for u in [&fx.v1, &v2, &v3] {
        h.accept(u.acl(), now).unwrap();
    }
    assert_eq!(h.capacity(), two);
    assert_eq!(
        h.versions().collect::<Vec<_>>(),
        [AclVersion::new(2), AclVersion::new(3)]
    );
    let before = h.to_bytes().unwrap();
    assert_eq!(
        h.remember_past(fx.v1.acl()).unwrap_err(),
        Error::LimitExceeded {
            what: "ACL versions kept",
            limit: 2
        }
    );
    assert_eq!(h.to_bytes().unwrap(), before);

    // Capacity one: only the newest.
    let mut one = AclHistory::with_capacity(record, fx.owner.verifying_key(), NonZeroU16::MIN);
    one.accept(fx.v1.acl(), now).unwrap();
    one.accept(v3.acl(), now).unwrap();
    assert_eq!(one.versions().collect::<Vec<_>>(), [AclVersion::new(3)]);
    assert_eq!(one.get(AclVersion::new(1)), None);
    assert_eq!(AclHistory::DEFAULT_CAPACITY.get(), 64);
}

#[test]
fn equivocation_and_broken_chains_are_refused() {
    let mut fx = Fixture::new(6);
    let now = fx.w.now;
    let record = fx.v1.acl().acl_unverified().record();
    let v1 = fx.verified(&fx.v1.clone());
    // Two different version-2 ACLs, both signed by the owner.
    let a = fx
        .owner
        .update(
            &v1,
            UNTIL,
            &[Change::Rotate {
                section: fx.section,
            }],
            &mut fx.w.rng,
        )
        .unwrap();
    let b = fx
        .owner
        .update(
            &v1,
            UNTIL,
            &[Change::SetDefaultHistory(History::All)],
            &mut fx.w.rng,
        )
        .unwrap();
    let mut h = fx.history();
    h.accept(a.acl(), now).unwrap();
    let before = h.to_bytes().unwrap();
    assert!(matches!(
        problem(h.accept(b.acl(), now).unwrap_err()),
        AclProblem::BrokenChain
    ));
    assert_eq!(h.to_bytes().unwrap(), before);

    // A version 1 that version 2 does not chain to (the owner created the record twice).
    let other_v1 = bare_record(&fx.owner, record, fx.section, &mut fx.w.rng);
    assert!(matches!(
        problem(h.remember_past(other_v1.acl()).unwrap_err()),
        AclProblem::BrokenChain
    ));
    h.remember_past(fx.v1.acl()).unwrap();

    // A different owner's ACL for the same record, and an ACL of another record.
    let stranger = Owner::from_master(MasterSecret::from_raw([0x55; 32])).unwrap();
    let forged = bare_record(&stranger, record, fx.section, &mut fx.w.rng);
    let mut fresh = fx.history();
    assert!(matches!(
        problem(fresh.accept(forged.acl(), now).unwrap_err()),
        AclProblem::WrongOwner
    ));
    let elsewhere = bare_record(
        &fx.owner,
        fx.owner.record_id("other").unwrap(),
        fx.section,
        &mut fx.w.rng,
    );
    assert!(matches!(
        problem(fresh.accept(elsewhere.acl(), now).unwrap_err()),
        AclProblem::WrongRecord { .. }
    ));
    assert!(matches!(
        problem(
            fresh
                .accept(fx.v1.acl(), Timestamp::new(UNTIL.get() + 1))
                .unwrap_err()
        ),
        AclProblem::Expired { .. }
    ));
    assert_eq!(fresh.highest(), None);
    assert_eq!(
        fresh.check_current(&v1).unwrap_err(),
        Error::NotFound { what: "ACL" }
    );
    fresh.accept(fx.v1.acl(), now).unwrap();
    let a_verified = a.acl().verify(&fx.owner.verifying_key()).unwrap();
    assert!(matches!(
        problem(fresh.check_current(&a_verified).unwrap_err()),
        AclProblem::VersionMismatch { .. }
    ));
}

/// A saved history of v1 and v2, and where its parts are.
fn saved(fx: &mut Fixture) -> (Vec<u8>, SignedAcl, SignedAcl) {
    let now = fx.w.now;
    let v2 = fx.revoke_pharmacy();
    let mut h = fx.history();
    h.accept(fx.v1.acl(), now).unwrap();
    h.accept(v2.acl(), now).unwrap();
    (h.to_bytes().unwrap(), fx.v1.acl().clone(), v2.acl().clone())
}

/// Offsets in the encoding: tag, version, record (16), owner key (50), capacity (2), count (4).
const CAPACITY_AT: usize = 2 + 16 + 50;
const COUNT_AT: usize = CAPACITY_AT + 2;
const FIRST_AT: usize = COUNT_AT + 4;

fn rebuild(head: &[u8], acls: &[&SignedAcl]) -> Vec<u8> {
    let mut out = head[..COUNT_AT].to_vec();
    out.extend_from_slice(&(acls.len() as u32).to_be_bytes());
    for a in acls {
        let b = a.to_bytes();
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(&b);
    }
    out
}

#[test]
fn decoding_re_checks_everything() {
    let mut fx = Fixture::new(7);
    let (bytes, v1, v2) = saved(&mut fx);
    let owner = fx.owner.verifying_key();
    let decode = |b: &[u8]| AclHistory::from_bytes(b, &owner).map(drop);
    assert_eq!(decode(&rebuild(&bytes, &[&v1, &v2])), Ok(()));
    assert_eq!(rebuild(&bytes, &[&v1, &v2]), bytes);

    // Another owner's key: the caller's key must be the saved one.
    let stranger = Owner::from_master(MasterSecret::from_raw([0x66; 32])).unwrap();
    assert!(matches!(
        problem(AclHistory::from_bytes(&bytes, &stranger.verifying_key()).unwrap_err()),
        AclProblem::WrongOwner
    ));
    // Envelope.
    let mut t = bytes.clone();
    t[0] = 0x16;
    assert_eq!(
        decode(&t).unwrap_err(),
        Error::UnknownTag {
            what: "ACL history",
            tag: 0x16
        }
    );
    let mut t = bytes.clone();
    t[1] = 2;
    assert_eq!(
        decode(&t).unwrap_err(),
        Error::UnknownVersion {
            what: "ACL history",
            version: 2
        }
    );
    let invalid = Error::InvalidEncoding {
        what: "ACL history",
        field: None,
    };
    assert_eq!(
        loose(decode(&bytes[..bytes.len() - 1]).unwrap_err()),
        invalid
    );
    let mut t = bytes.clone();
    t.push(0);
    assert_eq!(loose(decode(&t).unwrap_err()), invalid);
    // Capacity zero, and more versions than the capacity.
    let mut t = bytes.clone();
    t[CAPACITY_AT..COUNT_AT].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(loose(decode(&t).unwrap_err()), invalid);
    let mut t = bytes.clone();
    t[CAPACITY_AT..COUNT_AT].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(loose(decode(&t).unwrap_err()), invalid);
    // A huge count is refused before anything is allocated for it.
    let mut t = bytes.clone();
    t[COUNT_AT..FIRST_AT].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(loose(decode(&t).unwrap_err()), invalid);
    // Out of order, or the same version twice.
    assert_eq!(
        loose(decode(&rebuild(&bytes, &[&v2, &v1])).unwrap_err()),
        Error::InvalidEncoding {
            what: "ACL history (order)",
            field: None
        }
    );
    assert_eq!(
        loose(decode(&rebuild(&bytes, &[&v1, &v1])).unwrap_err()),
        Error::InvalidEncoding {
            what: "ACL history (order)",
            field: None
        }
    );
    // A tampered signature.
    let mut t = bytes.clone();
    let last = t.len() - 1;
    t[last - 40] ^= 1;
    assert!(decode(&t).is_err());
    // The least significant byte of `s`: still a canonical scalar, no longer the signature.
    let mut forged = v2.to_bytes();
    let n = forged.len();
    forged[n - 32] ^= 1;
    let forged = SignedAcl::from_bytes(&forged).unwrap();
    assert_eq!(
        decode(&rebuild(&bytes, &[&v1, &forged])).unwrap_err(),
        Error::BadSignature
    );
    // A version 2 that does not chain to the kept version 1.
    let record = v1.acl_unverified().record();
    let other_v1 = bare_record(&fx.owner, record, fx.section, &mut fx.w.rng);
    assert!(matches!(
        problem(decode(&rebuild(&bytes, &[other_v1.acl(), &v2])).unwrap_err()),
        AclProblem::BrokenChain
    ));
    // An empty history round-trips.
    let empty = fx.history().to_bytes().unwrap();
    assert_eq!(empty.len(), FIRST_AT);
    let back = AclHistory::from_bytes(&empty, &owner).unwrap();
    assert_eq!(back.highest(), None);
    assert_eq!(back.capacity(), AclHistory::DEFAULT_CAPACITY);
}

/// The error with the decoder's field context dropped (these tests check which value was
/// refused; `tests/errors.rs` checks the fields).
fn loose(e: impl std::borrow::Borrow<Error>) -> Error {
    match e.borrow() {
        Error::InvalidEncoding { what, .. } => Error::InvalidEncoding { what, field: None },
        other => other.clone(),
    }
}
