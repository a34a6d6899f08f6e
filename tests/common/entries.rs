//! A record with one section, a writer and a reader behind an SRS: the fixture of the
//! streaming tests (`tests/stream.rs`, `tests/stream_1gib.rs`).
#![allow(dead_code)]

use std::io::{self, Read, Seek, SeekFrom, Write};

use sesphr::phr::{
    stream_error, BodyHeader, Change, History, MasterSecret, Owner, Role, SealedEntry, SectionId,
    SectionName, SignedAcl, Timestamp, VerifiedAcl,
};
use sesphr::pre::ReCapsule;
use sesphr::srs::{Accepted, Operation, Reencrypted, Response};
use sesphr::Error;

use super::world::{Actor, World, NOW};

pub const UNTIL: Timestamp = Timestamp::new(10_000_000);

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

/// A plaintext whose segments all differ.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31) % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

pub fn write_chunked(w: &mut impl Write, data: &[u8], chunk: usize) {
    for c in data.chunks(chunk) {
        w.write_all(c).unwrap();
    }
}

/// Reads to the end with reads of `chunk` bytes: the plaintext, or what was released before
/// the error and the error.
pub fn read_chunked(r: &mut impl Read, chunk: usize) -> Result<Vec<u8>, (Vec<u8>, Error)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err((out, typed(e))),
        }
    }
}

/// The crate error inside an I/O error.
pub fn typed(e: io::Error) -> Error {
    stream_error(&e)
        .cloned()
        .unwrap_or_else(|| panic!("not a sesphr error: {e}"))
}

/// An input that hands out at most `max` bytes per read (and seeks like its inner input).
pub struct Trickle<R> {
    pub inner: R,
    pub max: usize,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.max);
        self.inner.read(&mut buf[..n])
    }
}

impl<R: Seek> Seek for Trickle<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// An entry, accepted by the SRS, with the doctor's re-encrypted capsule.
pub struct Sealed {
    pub entry: SealedEntry,
    pub bytes: Vec<u8>,
    pub accepted: Accepted,
    pub recapsule: ReCapsule,
}

pub fn seal_and_submit(fx: &mut Entries, pt: &[u8], seed: u8) -> Sealed {
    let acl = fx.acl();
    let entry = fx
        .hospital
        .keys
        .seal_entry(&acl, fx.medical, pt, NOW, &mut super::rng(seed))
        .unwrap();
    let hospital = fx.hospital.clone();
    let accepted = fx
        .submit(&hospital, entry.submission(), entry.header())
        .unwrap();
    let recapsule = fx.doctor_capsule(entry.header());
    Sealed {
        bytes: entry.to_bytes().unwrap(),
        entry,
        accepted,
        recapsule,
    }
}
