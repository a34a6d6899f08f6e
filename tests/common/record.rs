//! A patient's record at an SRS over an in-memory store: a section the hospital writes and
//! doctor 0 reads, with helpers to update the ACL, write and read entries.
#![allow(dead_code)]

use super::world::{Actor, World};
use sesphr::phr::{
    Change, History, MasterSecret, Owner, RecordId, Role, SealedEntry, SectionId, SectionName,
    SignedAcl, Timestamp, VerifiedAcl,
};
use sesphr::srs::Operation;
use sesphr::Error;

pub const UNTIL: Timestamp = Timestamp::new(10_000_000);

/// A world with a patient's record: a section the hospital writes and doctor 0 reads.
pub struct Record {
    pub w: World,
    pub owner: Owner,
    pub patient: Actor,
    pub hospital: Actor,
    pub doctors: Vec<Actor>,
    pub record: RecordId,
    pub section: SectionId,
    pub acls: Vec<SignedAcl>,
}

impl Record {
    pub fn new(seed: u8) -> Self {
        let mut w = World::new(seed);
        let owner = Owner::from_master(MasterSecret::from_raw([seed; 32])).unwrap();
        let patient = w.enrol(Role::Patient, owner.keys().clone());
        let hospital = w.actor(Role::Hospital);
        let doctors = vec![w.actor(Role::Doctor), w.actor(Role::Doctor)];
        let record = owner.record_id("main").unwrap();
        let section = owner.section_id(&SectionName::new("medical").unwrap());
        let mut r = Self {
            w,
            owner,
            patient,
            hospital,
            doctors,
            record,
            section,
            acls: Vec::new(),
        };
        let changes = [
            Change::AddSection { section },
            Change::GrantWrite {
                section,
                writer: r.hospital.keys.bundle(),
            },
            Change::GrantRead {
                section,
                reader: r.doctors[0].keys.bundle(),
                history: History::None,
            },
        ];
        let u = r
            .owner
            .create_record(record, UNTIL, &changes, &mut r.w.rng)
            .unwrap();
        let p = r.patient.clone();
        r.w.run(&p, Operation::ApplyUpdate(u.clone())).unwrap();
        r.acls.push(u.acl().clone());
        r
    }

    pub fn acl(&self) -> VerifiedAcl {
        self.acls
            .last()
            .unwrap()
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    pub fn named(&self, e: &SealedEntry) -> VerifiedAcl {
        self.acls[e.header().acl_version().get() as usize - 1]
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    pub fn update_op(&mut self, changes: &[Change]) -> (Operation, SignedAcl) {
        let acl = self.acl();
        let u = self
            .owner
            .update(&acl, UNTIL, changes, &mut self.w.rng)
            .unwrap();
        (Operation::ApplyUpdate(u.clone()), u.acl().clone())
    }

    pub fn update(&mut self, changes: &[Change]) {
        let (op, acl) = self.update_op(changes);
        let p = self.patient.clone();
        self.w.run(&p, op).unwrap();
        self.acls.push(acl);
    }

    pub fn seal(&mut self, writer: &Actor, acl: &VerifiedAcl, body: &[u8]) -> SealedEntry {
        writer
            .keys
            .seal_entry(acl, self.section, body, self.w.now, &mut self.w.rng)
            .unwrap()
    }

    pub fn write(&mut self, body: &[u8]) -> SealedEntry {
        let (h, acl) = (self.hospital.clone(), self.acl());
        let e = self.seal(&h, &acl, body);
        self.w.submit(&h, &e).unwrap();
        e
    }

    pub fn read(&mut self, doctor: usize, e: &SealedEntry) -> Result<Vec<u8>, Error> {
        let (d, acl) = (self.doctors[doctor].clone(), self.named(e));
        self.w.open(&d, e, &acl)
    }
}
