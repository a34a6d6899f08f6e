//! The PHR model: every SRS refusal, every illegal request transition, atomic failures,
//! ACL rollback and expiry, writers' rights, forward and backward access control, re-wrap
//! and re-seal, streaming entries, and encodings.

mod common;

use rand_chacha::ChaCha20Rng;
use sesphr::phr::{
    AccessRequest, Acl, AclProblem, AclUpdate, AclVerifier, BodyHeader, Change, EntrySealer, Epoch,
    History, KeyBlock, KeyBundle, MasterSecret, Owner, PrincipalId, PrincipalKeys, ReKeyId,
    Refusal, RequestAction, RequestState, Right, Role, SealedEntry, SectionId, SectionName,
    SignedAcl, Srs, Timestamp, VerifiedAcl,
};
use sesphr::pre::ReCapsule;
use sesphr::Error;

const NOW: Timestamp = Timestamp(100);
const UNTIL: Timestamp = Timestamp(10_000);

struct Fx {
    rng: ChaCha20Rng,
    srs: Srs,
    admin: PrincipalId,
    owner: Owner,
    owner_id: PrincipalId,
    hospital: PrincipalKeys,
    doctor: PrincipalKeys,
    doctor_id: PrincipalId,
    pharmacist: PrincipalKeys,
    pharmacist_id: PrincipalId,
    medical: SectionId,
    prescription: SectionId,
    acls: Vec<SignedAcl>,
}

fn id(n: u8) -> PrincipalId {
    PrincipalId::new([n; 16])
}

impl Fx {
    /// Owner, hospital (writer of medical and prescription), doctor (reader of medical),
    /// pharmacist (registered and active, no grant).
    fn new() -> Self {
        let mut rng = common::rng(50);
        let admin_keys = PrincipalKeys::random(&mut rng);
        let admin = id(0);
        let mut srs = Srs::new(
            admin,
            admin_keys.bundle(),
            &admin_keys.prove_possession(&mut rng).unwrap(),
        )
        .unwrap();
        let owner = Owner::from_master(MasterSecret::from_raw([7; 32])).unwrap();
        let hospital = PrincipalKeys::random(&mut rng);
        let doctor = PrincipalKeys::random(&mut rng);
        let pharmacist = PrincipalKeys::random(&mut rng);
        for (n, role, keys) in [
            (1, Role::Patient, owner.keys()),
            (2, Role::Hospital, &hospital),
            (3, Role::Doctor, &doctor),
            (4, Role::Pharmacist, &pharmacist),
        ] {
            srs.register(
                id(n),
                role,
                keys.bundle(),
                &keys.prove_possession(&mut rng).unwrap(),
            )
            .unwrap();
            srs.activate(admin, id(n)).unwrap();
        }
        let medical = owner.section_id(&SectionName::new("medical").unwrap());
        let prescription = owner.section_id(&SectionName::new("prescription").unwrap());
        let record = owner.record_id("main").unwrap();
        let update = owner
            .create_record(
                record,
                UNTIL,
                &[
                    Change::AddSection { section: medical },
                    Change::AddSection {
                        section: prescription,
                    },
                    Change::GrantWrite {
                        section: medical,
                        writer: hospital.bundle(),
                    },
                    Change::GrantWrite {
                        section: prescription,
                        writer: hospital.bundle(),
                    },
                    Change::GrantRead {
                        section: medical,
                        reader: doctor.bundle(),
                        history: History::None,
                    },
                ],
                &mut rng,
            )
            .unwrap();
        srs.apply_update(id(1), &update, NOW).unwrap();
        Self {
            rng,
            srs,
            admin,
            owner,
            owner_id: id(1),
            hospital,
            doctor,
            doctor_id: id(3),
            pharmacist,
            pharmacist_id: id(4),
            medical,
            prescription,
            acls: vec![update.acl().clone()],
        }
    }

    fn acl(&self) -> VerifiedAcl {
        self.acls
            .last()
            .unwrap()
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    fn acl_v(&self, entry: &SealedEntry) -> VerifiedAcl {
        self.acls[entry.header().acl_version().0 as usize - 1]
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    fn update(&mut self, changes: &[Change]) -> AclUpdate {
        let acl = self.acl();
        let u = self
            .owner
            .update(&acl, UNTIL, changes, &mut self.rng)
            .unwrap();
        self.srs.apply_update(self.owner_id, &u, NOW).unwrap();
        self.acls.push(u.acl().clone());
        u
    }

    fn write(&mut self, section: SectionId, text: &[u8]) -> SealedEntry {
        let acl = self.acl();
        self.hospital
            .seal_entry(&acl, section, text, NOW, &mut self.rng)
            .unwrap()
    }

    fn read(
        &self,
        who: (&PrincipalKeys, PrincipalId),
        entry: &SealedEntry,
    ) -> Result<Vec<u8>, Error> {
        let rc = self
            .srs
            .reencrypt(who.1, entry.header(), entry.key_block(), NOW)?;
        who.0.open_entry(entry, &rc, &self.acl_v(entry))
    }

    /// Runs `f` on the SRS and checks that its failure leaves the state byte-for-byte equal.
    fn fails<T: std::fmt::Debug>(
        &mut self,
        expected: Error,
        f: impl FnOnce(&mut Srs) -> Result<T, Error>,
    ) {
        let before = self.srs.to_bytes().unwrap();
        assert_eq!(f(&mut self.srs).unwrap_err(), expected);
        assert_eq!(
            self.srs.to_bytes().unwrap(),
            before,
            "state changed by a failed operation"
        );
    }
}

fn refused(r: Refusal) -> Error {
    Error::NotAuthorized(r)
}

#[test]
fn the_flow_works_and_fingerprints_are_short_and_stable() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"MRI: no findings");
    assert_eq!(
        fx.read((&fx.doctor, fx.doctor_id), &e).unwrap(),
        b"MRI: no findings"
    );
    assert_eq!(
        fx.owner.open_entry(&e, &fx.acl()).unwrap(),
        b"MRI: no findings"
    );
    let fp = fx.doctor.bundle().fingerprint();
    assert_eq!(fp.short().len(), 24);
    assert_eq!(fp.short(), fx.doctor.bundle().fingerprint().short());
    assert_ne!(fp, fx.pharmacist.bundle().fingerprint());
}

#[test]
fn every_reencryption_refusal_names_its_condition() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"x");
    let (h, kb) = (*e.header(), *e.key_block());
    // Unknown principal.
    fx.fails(refused(Refusal::UnknownPrincipal), |s| {
        s.reencrypt(id(99), &h, &kb, NOW)
    });
    // Registered but no grant.
    fx.fails(refused(Refusal::NoReadRight), |s| {
        s.reencrypt(id(4), &h, &kb, NOW)
    });
    // Expired ACL.
    fx.fails(refused(Refusal::AclExpired), |s| {
        s.reencrypt(id(3), &h, &kb, Timestamp(UNTIL.0 + 1))
    });
    // A key block from another entry.
    let other = fx.write(fx.medical, b"y");
    fx.fails(refused(Refusal::HeaderMismatch), |s| {
        s.reencrypt(id(3), &h, other.key_block(), NOW)
    });
    // A record the SRS has no ACL for (another owner's record id).
    let stranger = Owner::from_master(MasterSecret::from_raw([8; 32])).unwrap();
    let foreign_acl = stranger
        .create_record(
            stranger.record_id("x").unwrap(),
            UNTIL,
            &[
                Change::AddSection {
                    section: fx.medical,
                },
                Change::GrantWrite {
                    section: fx.medical,
                    writer: fx.hospital.bundle(),
                },
            ],
            &mut common::rng(51),
        )
        .unwrap();
    let foreign = fx
        .hospital
        .seal_entry(
            &foreign_acl.acl().verify(&stranger.verifying_key()).unwrap(),
            fx.medical,
            b"z",
            NOW,
            &mut common::rng(52),
        )
        .unwrap();
    fx.fails(refused(Refusal::NoAcl), |s| {
        s.reencrypt(id(3), foreign.header(), foreign.key_block(), NOW)
    });
    // Inactive reader.
    let admin = fx.admin;
    fx.srs.deactivate(admin, id(3)).unwrap();
    fx.fails(refused(Refusal::Inactive), |s| {
        s.reencrypt(id(3), &h, &kb, NOW)
    });
    fx.srs.activate(admin, id(3)).unwrap();
    assert!(fx.srs.reencrypt(id(3), &h, &kb, NOW).is_ok());
}

#[test]
fn unknown_section_is_refused_for_readers_and_writers() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"x");
    let imaging = fx.owner.section_id(&SectionName::new("imaging").unwrap());
    let acl = fx.acl();
    assert_eq!(
        fx.hospital
            .seal_entry(&acl, imaging, b"x", NOW, &mut common::rng(1))
            .unwrap_err(),
        refused(Refusal::UnknownSection)
    );
    fx.update(&[Change::RemoveSection {
        section: fx.medical,
    }]);
    let (h, kb) = (*e.header(), *e.key_block());
    fx.fails(refused(Refusal::UnknownSection), |s| {
        s.reencrypt(id(3), &h, &kb, NOW)
    });
    // Removing deleted every key of the section.
    assert_eq!(fx.srs.stored_keys(), 0);
}

#[test]
fn a_state_that_lost_a_key_is_refused_at_load() {
    // An SRS state that lost a key (restored from a partial backup) no longer matches the
    // key set its ACL commits to: loading it fails instead of serving a partial record.
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"x");
    let mut bytes = fx.srs.to_bytes().unwrap();
    let acl = fx.acl();
    let grant_id = ReKeyId {
        record: acl.record(),
        section: fx.medical,
        epoch: Epoch(1),
        reader: fx.doctor.bundle().fingerprint(),
    };
    assert!(fx.srs.has_key(&grant_id));
    let mut needle = Vec::new();
    needle.extend_from_slice(grant_id.record.as_bytes());
    needle.extend_from_slice(grant_id.section.as_bytes());
    needle.extend_from_slice(&1u32.to_be_bytes());
    needle.extend_from_slice(grant_id.reader.as_bytes());
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .unwrap();
    assert_eq!(
        &bytes[at - 4..at],
        &1u32.to_be_bytes(),
        "exactly one stored key"
    );
    bytes.drain(at..at + needle.len() + 98);
    bytes[at - 4..at].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(
        Srs::from_bytes(&bytes).unwrap_err(),
        Error::InvalidEncoding { what: "SRS state" }
    );
    // The intact state still serves the entry.
    assert!(fx.read((&fx.doctor, id(3)), &e).is_ok());
}

#[test]
fn registry_and_login_refusals() {
    let mut fx = Fx::new();
    let mut rng = common::rng(53);
    let newcomer = PrincipalKeys::random(&mut rng);
    // Proof of possession from another key.
    let wrong_pop = fx.pharmacist.prove_possession(&mut rng).unwrap();
    fx.fails(Error::BadSignature, |s| {
        s.register(id(9), Role::Researcher, newcomer.bundle(), &wrong_pop)
    });
    let pop = newcomer.prove_possession(&mut rng).unwrap();
    fx.fails(Error::AlreadyExists { what: "principal" }, |s| {
        s.register(id(3), Role::Researcher, newcomer.bundle(), &pop)
    });
    fx.srs
        .register(id(9), Role::Researcher, newcomer.bundle(), &pop)
        .unwrap();
    assert!(!fx.srs.principal(id(9)).unwrap().active);
    // Only an active admin activates.
    fx.fails(refused(Refusal::NotAdmin), |s| s.activate(id(3), id(9)));
    fx.fails(refused(Refusal::UnknownPrincipal), |s| {
        s.activate(id(77), id(9))
    });
    fx.fails(Error::NotFound { what: "principal" }, |s| {
        s.activate(id(0), id(77))
    });
    // Login: inactive, no challenge, wrong answer, then success once.
    let mut rng2 = common::rng(54);
    fx.fails(refused(Refusal::Inactive), |s| {
        s.login_challenge(id(9), &mut rng2)
    });
    fx.srs.activate(id(0), id(9)).unwrap();
    let early = newcomer
        .answer_login(id(9), &sesphr::phr::LoginChallenge([0; 32]), &mut rng)
        .unwrap();
    fx.fails(refused(Refusal::NoChallenge), |s| s.login(id(9), &early));
    let ch = fx.srs.login_challenge(id(9), &mut rng).unwrap();
    let replay_other_id = newcomer.answer_login(id(8), &ch, &mut rng).unwrap();
    fx.fails(Error::BadSignature, |s| s.login(id(9), &replay_other_id));
    let good = newcomer.answer_login(id(9), &ch, &mut rng).unwrap();
    fx.srs.login(id(9), &good).unwrap();
    fx.fails(refused(Refusal::NoChallenge), |s| s.login(id(9), &good));
}

#[test]
fn acl_updates_are_refused_unless_from_the_owner_newer_unexpired_and_exact() {
    let mut fx = Fx::new();
    let acl = fx.acl();
    let mut rng = common::rng(55);
    let u2 = fx
        .owner
        .update(
            &acl,
            UNTIL,
            &[Change::Rotate {
                section: fx.medical,
            }],
            &mut rng,
        )
        .unwrap();
    // Not the owner: another (active, non-patient) principal.
    fx.fails(refused(Refusal::NotOwner), |s| {
        s.apply_update(id(2), &u2, NOW)
    });
    // Another patient, not the record's owner.
    let other = Owner::from_master(MasterSecret::from_raw([9; 32])).unwrap();
    fx.srs
        .register(
            id(5),
            Role::Patient,
            other.keys().bundle(),
            &other.keys().prove_possession(&mut rng).unwrap(),
        )
        .unwrap();
    fx.srs.activate(id(0), id(5)).unwrap();
    fx.fails(refused(Refusal::NotOwner), |s| {
        s.apply_update(id(5), &u2, NOW)
    });
    // Expired.
    fx.fails(Error::AclRejected(AclProblem::Expired), |s| {
        s.apply_update(id(1), &u2, Timestamp(UNTIL.0 + 1))
    });
    // Key material tampered: a key dropped.
    let u_grant = fx
        .owner
        .update(
            &acl,
            UNTIL,
            &[Change::GrantRead {
                section: fx.prescription,
                reader: fx.pharmacist.bundle(),
                history: History::All,
            }],
            &mut rng,
        )
        .unwrap();
    let mut bytes = u_grant.to_bytes();
    let n_add = u_grant.keys_to_add().len();
    assert_eq!(n_add, 1);
    // Re-assembled without the added key.
    let stripped = AclUpdate::from_parts(u_grant.acl().clone(), vec![], vec![]);
    fx.fails(refused(Refusal::KeyMaterialMismatch), |s| {
        s.apply_update(id(1), &stripped, NOW)
    });
    // A signature that does not verify (flip a byte of the ACL inside the update).
    let pos = 2 + 4 + 2 + 4 + 2 + 16 + 8; // inside not_after of the inner ACL
    assert!(AclUpdate::from_bytes(&bytes).is_ok());
    bytes[pos] ^= 1;
    let forged = AclUpdate::from_bytes(&bytes).unwrap();
    fx.fails(Error::BadSignature, |s| s.apply_update(id(1), &forged, NOW));
    // The genuine update applies; replaying it (same version) is refused as stale.
    fx.srs.apply_update(id(1), &u2, NOW).unwrap();
    fx.fails(
        Error::AclRejected(AclProblem::Stale {
            seen: u2.acl().acl_unverified().version(),
            offered: u2.acl().acl_unverified().version(),
        }),
        |s| s.apply_update(id(1), &u2, NOW),
    );
    // An inactive owner cannot update.
    fx.srs.deactivate(id(0), id(1)).unwrap();
    let u3 = fx
        .owner
        .update(
            &u2.acl().verify(&fx.owner.verifying_key()).unwrap(),
            UNTIL,
            &[],
            &mut rng,
        )
        .unwrap();
    fx.fails(refused(Refusal::Inactive), |s| {
        s.apply_update(id(1), &u3, NOW)
    });
}

#[test]
fn verifiers_refuse_rollback_expiry_foreign_records_and_wrong_owners() {
    let mut fx = Fx::new();
    let v1 = fx.acls[0].clone();
    fx.update(&[Change::Rotate {
        section: fx.medical,
    }]);
    let v2 = fx.acls[1].clone();
    let record = v1.acl_unverified().record();
    let mut verifier = AclVerifier::new(record, fx.owner.verifying_key());
    verifier.accept(&v2, NOW).unwrap();
    assert_eq!(
        verifier.accept(&v1, NOW).unwrap_err(),
        Error::AclRejected(AclProblem::Stale {
            seen: v2.acl_unverified().version(),
            offered: v1.acl_unverified().version()
        })
    );
    assert_eq!(
        verifier.accept(&v2, Timestamp(UNTIL.0 + 1)).unwrap_err(),
        Error::AclRejected(AclProblem::Expired)
    );
    let mut other_record = AclVerifier::new(
        fx.owner.record_id("other").unwrap(),
        fx.owner.verifying_key(),
    );
    assert_eq!(
        other_record.accept(&v2, NOW).unwrap_err(),
        Error::AclRejected(AclProblem::WrongRecord)
    );
    let impostor = PrincipalKeys::random(&mut common::rng(56));
    assert_eq!(
        v2.verify(&impostor.signing_key().verifying_key())
            .unwrap_err(),
        Error::AclRejected(AclProblem::WrongOwner)
    );
    // Writers must rely on the newest version they know of, unexpired.
    let acl = fx.acl();
    assert_eq!(
        fx.hospital
            .seal_entry(
                &acl,
                fx.medical,
                b"x",
                Timestamp(UNTIL.0 + 1),
                &mut common::rng(2)
            )
            .unwrap_err(),
        Error::AclRejected(AclProblem::Expired)
    );
}

#[test]
fn entries_from_writers_without_the_right_or_with_bad_signatures_are_refused() {
    let mut fx = Fx::new();
    let acl = fx.acl();
    // The pharmacist holds no write right.
    assert_eq!(
        fx.pharmacist
            .seal_entry(&acl, fx.medical, b"x", NOW, &mut common::rng(3))
            .unwrap_err(),
        refused(Refusal::NoWriteRight)
    );
    // An entry checked against an ACL version in which its writer has no right.
    let e = fx.write(fx.medical, b"lab");
    fx.update(&[Change::RevokeWrite {
        section: fx.medical,
        writer: fx.hospital.bundle().fingerprint(),
    }]);
    let now_acl = fx.acl();
    assert_eq!(
        e.verify_writer(&now_acl).unwrap_err(),
        Error::AclRejected(AclProblem::VersionMismatch)
    );
    let v1 = fx.acl_v(&e);
    e.verify_writer(&v1).unwrap();
    // Tampered body, header or signature: the writer signature fails before decryption.
    let bytes = e.to_bytes().unwrap();
    let sig_at = bytes.len() - 20;
    let mut bad_sig = bytes.clone();
    bad_sig[sig_at] ^= 1;
    if let Ok(bad) = SealedEntry::from_bytes(&bad_sig) {
        assert_eq!(
            fx.owner.open_entry(&bad, &v1).unwrap_err(),
            Error::BadSignature
        );
    }
    let body_at = bytes.len() - 82 - 5;
    let mut bad_body = bytes.clone();
    bad_body[body_at] ^= 1;
    let bad = SealedEntry::from_bytes(&bad_body).unwrap();
    assert_eq!(
        fx.owner.open_entry(&bad, &v1).unwrap_err(),
        Error::BadSignature
    );
    // A header naming another writer: no right (or a different key) in the ACL.
    let mut bad_writer = bytes.clone();
    bad_writer[2 + 2 + 48] ^= 1;
    let bad = SealedEntry::from_bytes(&bad_writer).unwrap();
    assert_eq!(
        fx.owner.open_entry(&bad, &v1).unwrap_err(),
        refused(Refusal::NoWriteRight)
    );
}

#[test]
fn tampered_key_blocks_and_swapped_sections_fail() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"note");
    let other = fx.write(fx.medical, b"other");
    let acl = fx.acl();
    // Key block of another entry: opaque failure for owner and reader.
    let swapped = e.clone().with_key_block(*other.key_block());
    assert_eq!(
        fx.owner.open_entry(&swapped, &acl).unwrap_err(),
        Error::DecryptionFailed
    );
    let rc = fx
        .srs
        .reencrypt(fx.doctor_id, e.header(), e.key_block(), NOW)
        .unwrap();
    assert_eq!(
        fx.doctor.open_entry(&swapped, &rc, &acl).unwrap_err(),
        Error::DecryptionFailed
    );
    // A recapsule of another entry's capsule.
    let rc_other = fx
        .srs
        .reencrypt(fx.doctor_id, other.header(), other.key_block(), NOW)
        .unwrap();
    assert_eq!(
        fx.doctor.open_entry(&e, &rc_other, &acl).unwrap_err(),
        Error::DecryptionFailed
    );
    // A recapsule made for someone else decrypts to garbage for this reader.
    fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.pharmacist.bundle(),
        history: History::All,
    }]);
    let rc_pharm = fx
        .srs
        .reencrypt(fx.pharmacist_id, e.header(), e.key_block(), NOW)
        .unwrap();
    assert_eq!(
        fx.doctor
            .open_entry(&e, &rc_pharm, &fx.acl_v(&e))
            .unwrap_err(),
        Error::DecryptionFailed
    );
    // Every byte of the key block's wrapped key and capsule matters.
    let kb = e.key_block().to_bytes();
    for i in [2 + 4 + 50 + 10, 2 + 4 + 100 + 10, 2 + 4 + 150 + 3] {
        let mut t = kb.clone();
        t[i] ^= 1;
        if let Ok(kb2) = KeyBlock::from_bytes(&t) {
            let tampered = e.clone().with_key_block(kb2);
            assert!(
                fx.owner.open_entry(&tampered, &fx.acl_v(&e)).is_err(),
                "byte {i}"
            );
        }
    }
}

#[test]
fn forward_access_control_revocation_rewrap_and_reseal() {
    let mut fx = Fx::new();
    let before = fx.write(fx.medical, b"before revocation");
    let opened_by_doctor = fx.write(fx.medical, b"doctor read this one");
    let rc = fx
        .srs
        .reencrypt(
            fx.doctor_id,
            opened_by_doctor.header(),
            opened_by_doctor.key_block(),
            NOW,
        )
        .unwrap();
    assert!(fx
        .doctor
        .open_entry(&opened_by_doctor, &rc, &fx.acl_v(&opened_by_doctor))
        .is_ok());
    // Revoke: keys deleted, epoch rotated.
    let u = fx.update(&[Change::RevokeRead {
        section: fx.medical,
        reader: fx.doctor.bundle().fingerprint(),
    }]);
    assert_eq!(u.keys_to_delete().len(), 1);
    assert!(u.keys_to_add().is_empty());
    assert_eq!(fx.acl().section(&fx.medical).unwrap().epoch(), Epoch(2));
    // Everything afterwards is refused: old entries and new ones.
    let after = fx.write(fx.medical, b"after revocation");
    for e in [&before, &after] {
        assert_eq!(
            fx.read((&fx.doctor, fx.doctor_id), e).unwrap_err(),
            refused(Refusal::NoReadRight)
        );
    }
    // Even a colluding SRS that kept the old key cannot reach the new epoch: the doctor's
    // old recapsule-style key opens only epoch-1 capsules. Re-wrap moves old entries too.
    let acl = fx.acl();
    let rewrapped = before
        .clone()
        .with_key_block(fx.owner.rewrap(&before, &acl, &mut common::rng(4)).unwrap());
    assert_eq!(rewrapped.key_block().epoch(), Epoch(2));
    assert!(rewrapped.key_block().is_rewrapped());
    assert_eq!(
        fx.owner.open_entry(&rewrapped, &fx.acl_v(&before)).unwrap(),
        b"before revocation"
    );
    // The old re-encryption key (as a colluding SRS might have kept) no longer fits.
    let stale_rc = rc;
    assert_eq!(
        fx.doctor
            .open_entry(&rewrapped, &stale_rc, &fx.acl_v(&before))
            .unwrap_err(),
        Error::DecryptionFailed
    );
    // A forged re-wrap signature is refused.
    let mut kb = rewrapped.key_block().to_bytes();
    let last = kb.len() - 3;
    kb[last] ^= 1;
    if let Ok(kb) = KeyBlock::from_bytes(&kb) {
        assert!(fx
            .owner
            .open_entry(&before.clone().with_key_block(kb), &fx.acl_v(&before))
            .is_err());
    }
    // Re-seal: a fresh data key; the owner becomes the signer; readers of the new epoch read it.
    let named = fx.acl_v(&opened_by_doctor);
    let resealed = fx
        .owner
        .reseal(&opened_by_doctor, &named, &acl, NOW, &mut common::rng(5))
        .unwrap();
    assert_eq!(
        resealed.header().writer(),
        fx.owner.keys().bundle().fingerprint()
    );
    assert_eq!(
        fx.owner.open_entry(&resealed, &acl).unwrap(),
        b"doctor read this one"
    );
    assert_ne!(resealed.body(), opened_by_doctor.body());
}

#[test]
fn backward_access_control_without_and_with_history() {
    let mut fx = Fx::new();
    let old = fx.write(fx.medical, b"old");
    // Without history: rotation first; the newcomer reads only new entries.
    let u = fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.pharmacist.bundle(),
        history: History::None,
    }]);
    // The doctor (from epoch 1) gets the new epoch too; the pharmacist only the new one.
    assert_eq!(u.keys_to_add().len(), 2);
    let new = fx.write(fx.medical, b"new");
    assert_eq!(
        fx.read((&fx.pharmacist, fx.pharmacist_id), &old)
            .unwrap_err(),
        refused(Refusal::NoReadRight)
    );
    assert_eq!(
        fx.read((&fx.pharmacist, fx.pharmacist_id), &new).unwrap(),
        b"new"
    );
    assert_eq!(fx.read((&fx.doctor, fx.doctor_id), &old).unwrap(), b"old");
    // With history from a chosen epoch: keys for every epoch from it.
    let u = fx.update(&[Change::RevokeRead {
        section: fx.medical,
        reader: fx.pharmacist.bundle().fingerprint(),
    }]);
    assert_eq!(u.keys_to_delete().len(), 1);
    let u = fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.pharmacist.bundle(),
        history: History::FromEpoch(Epoch(1)),
    }]);
    assert_eq!(u.keys_to_add().len(), 3); // epochs 1, 2, 3
    assert_eq!(
        fx.read((&fx.pharmacist, fx.pharmacist_id), &old).unwrap(),
        b"old"
    );
    // A history starting in the future is an invalid change.
    let acl = fx.acl();
    let r = fx.owner.update(
        &acl,
        UNTIL,
        &[Change::GrantRead {
            section: fx.prescription,
            reader: fx.doctor.bundle(),
            history: History::FromEpoch(Epoch(9)),
        }],
        &mut common::rng(6),
    );
    assert!(matches!(r, Err(Error::InvalidChange { .. })));
}

#[test]
fn invalid_changes_are_refused() {
    let fx = Fx::new();
    let acl = fx.acl();
    let mut rng = common::rng(7);
    let bad = [
        Change::AddSection {
            section: fx.medical,
        },
        Change::RemoveSection {
            section: SectionId::new([1; 16]),
        },
        Change::GrantRead {
            section: fx.medical,
            reader: fx.doctor.bundle(),
            history: History::All,
        },
        Change::RevokeRead {
            section: fx.medical,
            reader: fx.pharmacist.bundle().fingerprint(),
        },
        Change::GrantWrite {
            section: fx.medical,
            writer: fx.hospital.bundle(),
        },
        Change::RevokeWrite {
            section: fx.medical,
            writer: fx.doctor.bundle().fingerprint(),
        },
        Change::Rotate {
            section: SectionId::new([2; 16]),
        },
    ];
    for c in bad {
        assert!(
            matches!(
                fx.owner
                    .update(&acl, UNTIL, std::slice::from_ref(&c), &mut rng),
                Err(Error::InvalidChange { .. })
            ),
            "{c:?}"
        );
    }
    // Another owner cannot update this ACL.
    let other = Owner::from_master(MasterSecret::from_raw([1; 32])).unwrap();
    assert_eq!(
        other.update(&acl, UNTIL, &[], &mut rng).unwrap_err(),
        Error::AclRejected(AclProblem::WrongOwner)
    );
}

#[test]
fn removed_sections_never_reuse_a_key() {
    let mut fx = Fx::new();
    let epoch = fx.acl().section(&fx.medical).unwrap().epoch();
    let key = *fx.acl().section(&fx.medical).unwrap().key();
    fx.update(&[Change::RemoveSection {
        section: fx.medical,
    }]);
    fx.update(&[Change::AddSection {
        section: fx.medical,
    }]);
    let acl = fx.acl();
    let p = acl.section(&fx.medical).unwrap();
    assert!(p.epoch() > epoch);
    assert_ne!(*p.key(), key);
}

#[test]
fn request_life_cycle_and_every_illegal_transition() {
    let mut fx = Fx::new();
    let record = fx.acl().record();
    let (med, pres) = (fx.medical, fx.prescription);
    // Requests need an active requester, an ACL, known and distinct sections.
    fx.fails(refused(Refusal::UnknownPrincipal), |s| {
        s.request(id(99), record, Right::Read(None), &[med], NOW)
    });
    fx.fails(refused(Refusal::NoAcl), |s| {
        s.request(
            id(4),
            sesphr::phr::RecordId::new([0; 16]),
            Right::Read(None),
            &[med],
            NOW,
        )
    });
    fx.fails(refused(Refusal::UnknownSection), |s| {
        s.request(
            id(4),
            record,
            Right::Read(None),
            &[SectionId::new([5; 16])],
            NOW,
        )
    });
    assert!(matches!(
        fx.srs.request(id(4), record, Right::Read(None), &[], NOW),
        Err(Error::InvalidChange { .. })
    ));
    assert!(matches!(
        fx.srs
            .request(id(4), record, Right::Read(None), &[med, med], NOW),
        Err(Error::InvalidChange { .. })
    ));

    // The pharmacist asks for two sections; the owner approves one.
    let r1 = fx
        .srs
        .request(
            id(4),
            record,
            Right::Read(Some(History::All)),
            &[med, pres],
            Timestamp(101),
        )
        .unwrap();
    let acl = fx.acl();
    let mut rng = common::rng(8);
    let approve = fx
        .owner
        .update(
            &acl,
            UNTIL,
            &[Change::GrantRead {
                section: pres,
                reader: fx.pharmacist.bundle(),
                history: History::All,
            }],
            &mut rng,
        )
        .unwrap();
    fx.fails(refused(Refusal::NotOwner), |s| {
        s.approve(id(3), r1, &approve, Timestamp(102))
    });
    let nothing = fx
        .owner
        .update(&acl, UNTIL, &[Change::Rotate { section: med }], &mut rng)
        .unwrap();
    fx.fails(refused(Refusal::ApprovalMismatch), |s| {
        s.approve(id(1), r1, &nothing, Timestamp(102))
    });
    // One of two sections: a distinct, recorded outcome.
    assert_eq!(
        fx.srs.approve(id(1), r1, &approve, Timestamp(102)),
        Ok(RequestState::ApprovedNarrower)
    );
    fx.acls.push(approve.acl().clone());
    let req = fx.srs.request_by_id(r1).unwrap();
    assert_eq!(req.state(), RequestState::ApprovedNarrower);
    assert_eq!(req.granted(), &[pres]);
    assert_eq!(
        req.history(),
        &[
            (RequestState::Pending, Timestamp(101)),
            (RequestState::ApprovedNarrower, Timestamp(102))
        ]
    );
    assert_eq!(
        AccessRequest::from_bytes(&req.to_bytes().unwrap()).unwrap(),
        *req
    );

    // Every illegal transition from every closed state, and deletion of a pending request.
    let r2 = fx
        .srs
        .request(id(4), record, Right::Write, &[med], Timestamp(102))
        .unwrap();
    fx.fails(
        Error::IllegalTransition {
            from: RequestState::Pending,
            action: RequestAction::Delete,
        },
        |s| s.delete_request(r2),
    );
    fx.fails(refused(Refusal::NotRequester), |s| {
        s.withdraw(id(3), r2, Timestamp(102))
    });
    fx.srs.withdraw(id(4), r2, Timestamp(102)).unwrap();
    let r3 = fx
        .srs
        .request(id(4), record, Right::Write, &[med], NOW)
        .unwrap();
    fx.srs.reject(id(1), r3, NOW).unwrap();
    let cur = fx.acl();
    let any_update = fx
        .owner
        .update(
            &cur,
            UNTIL,
            &[Change::GrantWrite {
                section: med,
                writer: fx.pharmacist.bundle(),
            }],
            &mut rng,
        )
        .unwrap();
    for (r, from) in [
        (r1, RequestState::ApprovedNarrower),
        (r2, RequestState::Withdrawn),
        (r3, RequestState::Rejected),
    ] {
        fx.fails(
            Error::IllegalTransition {
                from,
                action: RequestAction::Approve,
            },
            |s| s.approve(id(1), r, &any_update, NOW),
        );
        fx.fails(
            Error::IllegalTransition {
                from,
                action: RequestAction::Reject,
            },
            |s| s.reject(id(1), r, NOW),
        );
        fx.fails(
            Error::IllegalTransition {
                from,
                action: RequestAction::Withdraw,
            },
            |s| s.withdraw(id(4), r, NOW),
        );
    }
    for r in [r1, r2, r3] {
        fx.srs.delete_request(r).unwrap();
        fx.fails(Error::NotFound { what: "request" }, |s| s.delete_request(r));
    }
    assert_eq!(fx.srs.requests_for(record).count(), 0);
}

#[test]
fn srs_state_round_trips_and_refuses_garbage() {
    let mut fx = Fx::new();
    let record = fx.acl().record();
    fx.srs
        .request(id(4), record, Right::Read(None), &[fx.medical], NOW)
        .unwrap();
    fx.srs.login_challenge(id(3), &mut common::rng(9)).unwrap();
    let bytes = fx.srs.to_bytes().unwrap();
    let back = Srs::from_bytes(&bytes).unwrap();
    assert_eq!(back, fx.srs);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    assert!(Srs::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(Srs::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_err());
    let mut v = bytes.clone();
    v[1] = 9;
    assert_eq!(
        Srs::from_bytes(&v).unwrap_err(),
        Error::UnknownVersion {
            what: "SRS state",
            version: 9
        }
    );
}

#[test]
fn public_values_round_trip_through_bytes() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"round trip");
    assert_eq!(SealedEntry::from_bytes(&e.to_bytes().unwrap()).unwrap(), e);
    assert_eq!(
        BodyHeader::from_bytes(&e.header().to_bytes()).unwrap(),
        *e.header()
    );
    assert_eq!(
        KeyBlock::from_bytes(&e.key_block().to_bytes()).unwrap(),
        *e.key_block()
    );
    let signed = fx.acls[0].clone();
    assert_eq!(SignedAcl::from_bytes(&signed.to_bytes()).unwrap(), signed);
    let acl_bytes = signed.acl_unverified().to_bytes().unwrap();
    assert_eq!(
        Acl::from_bytes(&acl_bytes).unwrap(),
        *signed.acl_unverified()
    );
    let b = fx.doctor.bundle();
    assert_eq!(KeyBundle::from_bytes(&b.to_bytes()).unwrap(), b);
    let acl = fx.acl();
    let u = fx
        .owner
        .update(
            &acl,
            UNTIL,
            &[Change::Rotate {
                section: fx.medical,
            }],
            &mut common::rng(10),
        )
        .unwrap();
    assert_eq!(AclUpdate::from_bytes(&u.to_bytes()).unwrap(), u);
    let m = MasterSecret::from_raw([3; 32]);
    assert_eq!(format!("{m:?}"), "MasterSecret(..)");
    assert!(MasterSecret::from_bytes(&m.to_bytes()[..]).is_ok());
    let rc = fx
        .srs
        .reencrypt(fx.doctor_id, e.header(), e.key_block(), NOW)
        .unwrap();
    assert_eq!(ReCapsule::from_bytes(&rc.to_bytes()).unwrap(), rc);
}

#[test]
fn section_names_are_validated() {
    for ok in ["personal", "lab-results", "mental-health", "x1"] {
        SectionName::new(ok).unwrap();
    }
    for bad in [
        "",
        "Lab",
        "1abc",
        "lab_results",
        "lab--results",
        "lab-",
        &"a".repeat(65),
    ] {
        assert!(
            matches!(SectionName::new(bad), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
    }
    let fx = Fx::new();
    assert!(matches!(
        fx.owner.record_id(""),
        Err(Error::InvalidName { .. })
    ));
    // Names never appear on the wire: the id is opaque and owner-specific.
    let other = Owner::from_master(MasterSecret::from_raw([2; 32])).unwrap();
    let name = SectionName::new("mental-health").unwrap();
    assert_ne!(fx.owner.section_id(&name), other.section_id(&name));
}

#[test]
fn streaming_entries_match_in_memory_and_mark_plaintext_unverified() {
    let mut fx = Fx::new();
    let acl = fx.acl();
    let seg = sesphr::dem::SEGMENT_SIZE;
    let data: Vec<u8> = (0..2 * seg + 10).map(|i| i as u8).collect();
    let mut rng = common::rng(11);
    let mut sealer = EntrySealer::new(&fx.hospital, &acl, fx.medical, NOW, &mut rng).unwrap();
    let (header, kb) = (*sealer.header().0, *sealer.header().1);
    let mut body = Vec::new();
    body.extend(sealer.seal_segment(&data[..seg]).unwrap());
    body.extend(sealer.seal_segment(&data[seg..2 * seg]).unwrap());
    let (last, sig) = sealer.finish(&data[2 * seg..], &mut rng).unwrap();
    body.extend(&last);
    let rc = fx.srs.reencrypt(fx.doctor_id, &header, &kb, NOW).unwrap();
    // Segment by segment.
    let mut opener = fx.doctor.entry_opener(&header, &kb, &rc, &acl).unwrap();
    let mut out = Vec::new();
    for c in body.chunks(sesphr::dem::SEALED_SEGMENT_SIZE).take(2) {
        out.extend(opener.open_segment(c).unwrap().into_unverified());
    }
    out.extend(opener.finish(&last, &sig).unwrap());
    assert_eq!(out, data);
    // A wrong signature is caught at finish, after the segments were returned unverified.
    let other_sig = fx
        .hospital
        .signing_key()
        .sign(sesphr::sign::Purpose::Entry, &[b"x"], &mut rng)
        .unwrap();
    let mut opener = fx.doctor.entry_opener(&header, &kb, &rc, &acl).unwrap();
    for c in body.chunks(sesphr::dem::SEALED_SEGMENT_SIZE).take(2) {
        opener.open_segment(c).unwrap();
    }
    assert_eq!(
        opener.finish(&last, &other_sig).unwrap_err(),
        Error::BadSignature
    );
    let _ = fx.write(fx.medical, b"");
}

#[test]
fn owner_and_reader_paths_round_trip_at_segment_boundaries() {
    let mut fx = Fx::new();
    let seg = sesphr::dem::SEGMENT_SIZE;
    for n in [0, 1, seg - 1, seg, seg + 1, 1 << 20] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
        let e = fx.write(fx.medical, &data);
        let e = SealedEntry::from_bytes(&e.to_bytes().unwrap()).unwrap();
        assert_eq!(
            fx.read((&fx.doctor, fx.doctor_id), &e).unwrap(),
            data,
            "reader, size {n}"
        );
        assert_eq!(
            fx.owner.open_entry(&e, &fx.acl_v(&e)).unwrap(),
            data,
            "owner, size {n}"
        );
    }
}

#[test]
fn a_key_swapped_in_the_registry_gets_nothing() {
    // The SRS is not trusted for key authenticity: if its registry says the doctor's id has
    // the attacker's keys, the ACL (which names the doctor's fingerprint) grants it nothing.
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"secret");
    let attacker = PrincipalKeys::random(&mut common::rng(57));
    let mut bytes = fx.srs.to_bytes().unwrap();
    let genuine = fx.doctor.bundle().to_bytes();
    let at = bytes
        .windows(genuine.len())
        .position(|w| w == genuine.as_slice())
        .unwrap();
    bytes[at..at + genuine.len()].copy_from_slice(&attacker.bundle().to_bytes());
    let swapped = Srs::from_bytes(&bytes).unwrap();
    assert_eq!(
        swapped.principal(fx.doctor_id).unwrap().bundle,
        attacker.bundle()
    );
    assert_eq!(
        swapped
            .reencrypt(fx.doctor_id, e.header(), e.key_block(), NOW)
            .unwrap_err(),
        refused(Refusal::NoReadRight)
    );
    // And the genuine re-encryption opens only for the genuine key.
    let rc = fx
        .srs
        .reencrypt(fx.doctor_id, e.header(), e.key_block(), NOW)
        .unwrap();
    assert_eq!(
        attacker.open_entry(&e, &rc, &fx.acl()).unwrap_err(),
        Error::DecryptionFailed
    );
}
