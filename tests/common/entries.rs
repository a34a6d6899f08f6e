//! A record with one section, a writer and a reader behind an SRS: the fixture of the
//! streaming tests (`tests/stream.rs`, `tests/stream_1gib.rs`).
#![allow(dead_code)]

use sesphr::phr::{
    BodyHeader, Change, History, MasterSecret, Owner, Role, SectionId, SectionName, SignedAcl,
    Timestamp, VerifiedAcl,
};
use sesphr::pre::ReCapsule;
use sesphr::srs::{Accepted, Operation, Reencrypted, Response};
use sesphr::Error;

use super::world::{Actor, World};

pub const UNTIL: Timestamp = Timestamp(10_000_000);

pub struct Entries {
    pub srv: World,
    pub owner: Owner,
    pub owner_a: Actor,
    pub hospital: Actor,
    pub doctor: Actor,
    pub medical: SectionId,
    /// Every ACL version, oldest first.
    pub acls: Vec<SignedAcl>,
}

impl Entries {
    /// An SRS, a patient with one record and a "medical" section the hospital writes and the
    /// doctor reads.
    pub fn new(seed: u8) -> Self {
        let mut srv = World::new(seed);
        let owner = Owner::from_master(MasterSecret::from_raw([seed; 32])).unwrap();
        let owner_a = srv.enrol(Role::Patient, owner.keys().clone());
        let hospital = srv.actor(Role::Hospital);
        let doctor = srv.actor(Role::Doctor);
        let medical = owner.section_id(&SectionName::new("medical").unwrap());
        let update = owner
            .create_record(
                owner.record_id("main").unwrap(),
                UNTIL,
                &[
                    Change::AddSection { section: medical },
                    Change::GrantWrite {
                        section: medical,
                        writer: hospital.keys.bundle(),
                    },
                    Change::GrantRead {
                        section: medical,
                        reader: doctor.keys.bundle(),
                        history: History::None,
                    },
                ],
                &mut srv.rng,
            )
            .unwrap();
        assert_eq!(
            srv.run(&owner_a, Operation::ApplyUpdate(update.clone())),
            Ok(Response::Done)
        );
        Self {
            srv,
            owner,
            owner_a,
            hospital,
            doctor,
            medical,
            acls: vec![update.acl().clone()],
        }
    }

    /// The newest ACL, verified.
    pub fn acl(&self) -> VerifiedAcl {
        self.acl_version(self.acls.len() as u64)
    }

    /// ACL version `v`, verified.
    pub fn acl_version(&self, v: u64) -> VerifiedAcl {
        self.acls[v as usize - 1]
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    /// The owner's next update, applied.
    pub fn update(&mut self, changes: &[Change]) {
        let acl = self.acl();
        let u = self
            .owner
            .update(&acl, UNTIL, changes, &mut self.srv.rng)
            .unwrap();
        let owner = self.owner_a.clone();
        assert_eq!(
            self.srv.run(&owner, Operation::ApplyUpdate(u.clone())),
            Ok(Response::Done)
        );
        self.acls.push(u.acl().clone());
    }

    /// `who` submits an entry (a `submission()`) to the write gate; its verified receipt.
    pub fn submit(
        &mut self,
        who: &Actor,
        submission: Operation,
        header: &BodyHeader,
    ) -> Result<Accepted, Error> {
        match self.srv.run(who, submission)? {
            Response::Accepted(r) => r.verify(&self.srv.srs.verifying_key(), header),
            other => panic!("unexpected response {other:?}"),
        }
    }

    /// The SRS's re-encryption of an entry for `reader`.
    pub fn reencrypt(&mut self, reader: &Actor, header: &BodyHeader) -> Reencrypted {
        self.srv
            .reencrypt(reader, header.record(), vec![header.entry()])
            .unwrap()
            .pop()
            .unwrap()
            .unwrap()
    }

    /// The doctor's re-encrypted capsule for an entry.
    pub fn doctor_capsule(&mut self, header: &BodyHeader) -> ReCapsule {
        let doctor = self.doctor.clone();
        self.reencrypt(&doctor, header).recapsule
    }
}
