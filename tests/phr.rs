//! The PHR model through the SRS service core: every refusal (whole operations and single
//! items of a re-encryption batch), every illegal request transition, atomic failures (a
//! refused operation leaves the store unchanged), the registry and login, ACL rollback and
//! expiry, the write gate and its receipts, forward and backward access control, re-wrap
//! and re-seal, streaming entries, a store changed behind the SRS's back, and encodings.

mod common;

use std::sync::Arc;

use common::world::{refused, refused_in, Actor, World, NOW};
use sesphr::phr::{
    AccessRequest, Acl, AclProblem, AclUpdate, AclVerifier, BodyHeader, Change, EntrySealer, Epoch,
    History, KeyBlock, KeyBundle, MasterSecret, Owner, PrincipalId, PrincipalKeys, ReKeyId,
    RecordId, RequestAction, RequestId, RequestState, Right, Role, SealedEntry, SectionId,
    SectionName, SignedAcl, Timestamp, VerifiedAcl,
};
use sesphr::pre::{ReCapsule, ReKey};
use sesphr::srs::{
    Accepted, Client, MemoryStore, Operation, Receipt, Reencrypted, Refusal, Response, Row,
    SignedOperation, Srs, SrsConfig,
};
use sesphr::Error;

const UNTIL: Timestamp = Timestamp::new(10_000_000);

/// The error refusing `acl` (its record and version) because of `problem`.
fn rejected(acl: &sesphr::phr::Acl, problem: AclProblem) -> Error {
    Error::AclRejected {
        record: acl.record(),
        version: acl.version(),
        problem,
    }
}

/// The principals of the fixture.
#[derive(Clone, Copy, Debug)]
enum Who {
    Owner,
    Hospital,
    Doctor,
    Pharmacist,
}

struct Fx {
    srv: World,
    owner: Owner,
    actors: [Actor; 4],
    medical: SectionId,
    prescription: SectionId,
    acls: Vec<SignedAcl>,
}

impl Fx {
    /// An SRS with the owner (a patient), a hospital (writer of medical and prescription), a
    /// doctor (reader of medical) and a pharmacist (registered and active, no grant), all
    /// active, and the owner's record with both sections.
    fn new() -> Self {
        let mut srv = World::new(50);
        let owner = Owner::from_master(MasterSecret::from_raw([7; 32])).unwrap();
        let owner_a = srv.enrol(Role::Patient, owner.keys().clone());
        let hospital = srv.actor(Role::Hospital);
        let doctor = srv.actor(Role::Doctor);
        let pharmacist = srv.actor(Role::Pharmacist);
        let medical = owner.section_id(&SectionName::new("medical").unwrap());
        let prescription = owner.section_id(&SectionName::new("prescription").unwrap());
        let update = owner
            .create_record(
                owner.record_id("main").unwrap(),
                UNTIL,
                &[
                    Change::AddSection { section: medical },
                    Change::AddSection {
                        section: prescription,
                    },
                    Change::GrantWrite {
                        section: medical,
                        writer: hospital.keys.bundle(),
                    },
                    Change::GrantWrite {
                        section: prescription,
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
            actors: [owner_a, hospital, doctor, pharmacist],
            medical,
            prescription,
            acls: vec![update.acl().clone()],
        }
    }

    fn who(&self, w: Who) -> Actor {
        self.actors[w as usize].clone()
    }

    fn id(&self, w: Who) -> PrincipalId {
        self.actors[w as usize].id
    }

    fn keys(&self, w: Who) -> &PrincipalKeys {
        &self.actors[w as usize].keys
    }

    fn bundle(&self, w: Who) -> KeyBundle {
        self.keys(w).bundle()
    }

    fn run(&mut self, w: Who, op: Operation) -> Result<Response, Error> {
        let a = self.who(w);
        self.srv.run(&a, op)
    }

    /// `op` by `w` must fail with `expected`, the store unchanged.
    fn refuses(&mut self, expected: Error, w: Who, op: Operation) {
        let a = self.who(w);
        self.srv.refuses(expected, &a, op);
    }

    fn set_active(&mut self, w: Who, active: bool) {
        let target = self.id(w);
        let admin = self.srv.admin.clone();
        let op = if active {
            Operation::Activate { target }
        } else {
            Operation::Deactivate { target }
        };
        assert_eq!(self.srv.run(&admin, op), Ok(Response::Done));
    }

    fn record(&self) -> RecordId {
        self.acls[0].acl_unverified().record()
    }

    fn acl(&self) -> VerifiedAcl {
        self.acls
            .last()
            .unwrap()
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    /// The ACL version an entry names.
    fn acl_v(&self, entry: &SealedEntry) -> VerifiedAcl {
        self.acls[entry.header().acl_version().get() as usize - 1]
            .verify(&self.owner.verifying_key())
            .unwrap()
    }

    /// The owner's next update, not applied.
    fn build(&mut self, changes: &[Change]) -> AclUpdate {
        let acl = self.acl();
        self.owner
            .update(&acl, UNTIL, changes, &mut self.srv.rng)
            .unwrap()
    }

    fn apply(&mut self, u: &AclUpdate) -> Result<Response, Error> {
        self.run(Who::Owner, Operation::ApplyUpdate(u.clone()))
    }

    /// The owner's next update, applied.
    fn update(&mut self, changes: &[Change]) -> AclUpdate {
        let u = self.build(changes);
        assert_eq!(self.apply(&u), Ok(Response::Done));
        self.acls.push(u.acl().clone());
        u
    }

    /// The hospital seals an entry to the newest ACL (not submitted).
    fn seal(&mut self, section: SectionId, text: &[u8]) -> SealedEntry {
        let acl = self.acl();
        let now = self.srv.now;
        self.actors[Who::Hospital as usize]
            .keys
            .seal_entry(&acl, section, text, now, &mut self.srv.rng)
            .unwrap()
    }

    /// `w` submits `entry` to the write gate.
    fn submit(&mut self, w: Who, entry: &SealedEntry) -> Result<Receipt, Error> {
        let a = self.who(w);
        self.srv.submit(&a, entry)
    }

    /// The hospital seals an entry and the write gate accepts it.
    fn write(&mut self, section: SectionId, text: &[u8]) -> SealedEntry {
        let e = self.seal(section, text);
        let receipt = self.submit(Who::Hospital, &e).unwrap();
        assert_eq!(
            self.srv.srs.receipt(self.record(), e.header().entry()),
            Ok(Some(receipt))
        );
        e
    }

    /// The SRS's receipt for an accepted entry, verified with the SRS's key.
    fn accepted(&self, entry: &SealedEntry) -> Accepted {
        self.srv
            .srs
            .receipt(entry.header().record(), entry.header().entry())
            .unwrap()
            .expect("an accepted entry")
            .verify(&self.srv.srs.verifying_key(), entry.header())
            .unwrap()
    }

    /// `w` asks the SRS for `entry` and opens it with the ACL version it names.
    fn read(&mut self, w: Who, entry: &SealedEntry) -> Result<Vec<u8>, Error> {
        let acl = self.acl_v(entry);
        let a = self.who(w);
        self.srv.open(&a, entry, &acl)
    }

    /// The owner opens an accepted entry with its receipt.
    fn owner_open(&self, entry: &SealedEntry) -> Result<Vec<u8>, Error> {
        self.owner
            .open_entry(entry, &self.accepted(entry), &self.acl_v(entry))
    }

    /// `w` asks for re-encryptions of `entries` of the record: one result per entry, and no
    /// registry, record, key, entry or request row changes.
    fn items(&mut self, w: Who, entries: &[&SealedEntry]) -> Vec<Result<Reencrypted, Refusal>> {
        let before = state(&self.srv);
        let a = self.who(w);
        let ids = entries.iter().map(|e| e.header().entry()).collect();
        let record = self.record();
        let items = self.srv.reencrypt(&a, record, ids).unwrap();
        assert_eq!(items.len(), entries.len());
        assert_eq!(
            state(&self.srv),
            before,
            "a re-encryption changed access-control state"
        );
        items
    }

    fn item(&mut self, w: Who, entry: &SealedEntry) -> Result<Reencrypted, Refusal> {
        self.items(w, &[entry]).pop().unwrap()
    }

    /// A new SRS handle over a store holding exactly `rows` (as an operator restoring a
    /// backup, or an attacker with write access to the database, would make it).
    fn restore(&mut self, rows: Vec<Row>) {
        self.srv.store = Arc::new(MemoryStore::from_rows(rows));
        self.srv.srs = Srs::new(
            self.srv.store.clone(),
            self.srv.srs_key.clone(),
            "test",
            SrsConfig::default(),
        );
    }
}

// Row keys, as the SRS lays them out (`src/srs/rows.rs`): a kind byte, then the fields that
// name the row. The tests below play an operator or an attacker with the database.
const PRINCIPAL_ROW: u8 = 0x01;
const HEAD_ROW: u8 = 0x03;
const KEY_ROW: u8 = 0x05;
/// Registry, records, ACL versions, keys, key leaves, entries, requests and their indexes:
/// what access control rests on (replay rows, and any log rows, are not).
const STATE_ROWS: core::ops::RangeInclusive<u8> = 0x01..=0x0b;

fn principal_row(id: PrincipalId) -> Vec<u8> {
    [&[PRINCIPAL_ROW][..], id.as_bytes()].concat()
}

fn key_row(id: &ReKeyId) -> Vec<u8> {
    [
        &[KEY_ROW][..],
        id.record.as_bytes(),
        id.section.as_bytes(),
        &id.epoch.get().to_be_bytes(),
        id.reader.as_bytes(),
    ]
    .concat()
}

/// The rows access control rests on.
fn state(srv: &World) -> Vec<Row> {
    srv.rows()
        .into_iter()
        .filter(|r| STATE_ROWS.contains(&r.key[0]))
        .collect()
}

fn id(n: u8) -> PrincipalId {
    PrincipalId::new([n; 16])
}

#[test]
fn the_flow_works_and_fingerprints_are_short_and_stable() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"MRI: no findings");
    assert_eq!(fx.read(Who::Doctor, &e).unwrap(), b"MRI: no findings");
    assert_eq!(fx.owner_open(&e).unwrap(), b"MRI: no findings");
    // The SRS lists the accepted entry under its section, and the doctor's grant.
    let record = fx.record();
    assert_eq!(
        fx.srv.srs.entries(record, fx.medical, None, 10),
        Ok(vec![e.header().entry()])
    );
    assert_eq!(
        fx.srv.srs.entries(record, fx.prescription, None, 10),
        Ok(vec![])
    );
    let fp = fx.bundle(Who::Doctor).fingerprint();
    assert_eq!(
        fx.srv.srs.records_of_reader(&fp, None, 10),
        Ok(vec![record])
    );
    assert_eq!(fp.short().len(), 24);
    assert_eq!(fp.short(), fx.bundle(Who::Doctor).fingerprint().short());
    assert_ne!(fp, fx.bundle(Who::Pharmacist).fingerprint());
}

#[test]
fn every_reencryption_refusal_names_its_condition() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"x");
    let record = fx.record();
    let ask = |entries: Vec<&SealedEntry>| Operation::Reencrypt {
        record,
        entries: entries.iter().map(|e| e.header().entry()).collect(),
    };
    // Unknown principal: keys the registry never saw.
    let stranger = Actor {
        id: id(99),
        keys: PrincipalKeys::random(&mut fx.srv.rng),
    };
    fx.srv
        .refuses(refused(Refusal::UnknownPrincipal), &stranger, ask(vec![&e]));
    // Registered and active, but no grant: refused item by item.
    assert_eq!(
        fx.items(Who::Pharmacist, &[&e]),
        vec![Err(Refusal::NoReadRight)]
    );
    // An entry sealed but never accepted by the write gate is unknown to the SRS; the
    // other items of the batch are still served.
    let unsubmitted = fx.seal(fx.medical, b"never submitted");
    let items = fx.items(Who::Doctor, &[&unsubmitted, &e]);
    assert_eq!(items[0], Err(Refusal::UnknownEntry));
    let served = items[1].clone().unwrap();
    assert_eq!(served.entry, e.header().entry());
    assert_eq!(served.key_block, *e.key_block());
    // Expired ACL: the whole operation.
    fx.srv.now = Timestamp::new(UNTIL.get() + 1);
    fx.refuses(refused(Refusal::AclExpired), Who::Doctor, ask(vec![&e]));
    fx.srv.now = NOW;
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
                    writer: fx.bundle(Who::Hospital),
                },
            ],
            &mut common::rng(51),
        )
        .unwrap();
    let foreign = fx
        .keys(Who::Hospital)
        .seal_entry(
            &foreign_acl.acl().verify(&stranger.verifying_key()).unwrap(),
            fx.medical,
            b"z",
            NOW,
            &mut common::rng(52),
        )
        .unwrap();
    fx.refuses(
        refused(Refusal::NoAcl),
        Who::Doctor,
        Operation::Reencrypt {
            record: foreign.header().record(),
            entries: vec![foreign.header().entry()],
        },
    );
    fx.refuses(refused(Refusal::NoAcl), Who::Hospital, foreign.submission());
    // Inactive reader: the whole operation, until the admin activates it again.
    fx.set_active(Who::Doctor, false);
    fx.refuses(refused(Refusal::Inactive), Who::Doctor, ask(vec![&e]));
    fx.set_active(Who::Doctor, true);
    assert!(fx.item(Who::Doctor, &e).is_ok());
}

#[test]
fn unknown_section_is_refused_for_readers_and_writers() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"x");
    let late = fx.seal(fx.medical, b"sealed before the removal");
    let imaging = fx.owner.section_id(&SectionName::new("imaging").unwrap());
    let acl = fx.acl();
    assert_eq!(
        fx.keys(Who::Hospital)
            .seal_entry(&acl, imaging, b"x", NOW, &mut common::rng(1))
            .unwrap_err(),
        refused_in(Refusal::UnknownSection, imaging, None, None)
    );
    let key_rows = |fx: &Fx| fx.srv.rows().iter().filter(|r| r.key[0] == KEY_ROW).count();
    assert_eq!(key_rows(&fx), 1);
    let fp = fx.bundle(Who::Doctor).fingerprint();
    fx.update(&[Change::RemoveSection {
        section: fx.medical,
    }]);
    assert_eq!(
        fx.item(Who::Doctor, &e).unwrap_err(),
        Refusal::UnknownSection
    );
    fx.refuses(
        refused_in(Refusal::UnknownSection, fx.medical, None, None),
        Who::Hospital,
        late.submission(),
    );
    // Removing deleted every key of the section, and the doctor's grant from the listing.
    assert_eq!(key_rows(&fx), 0);
    assert_eq!(fx.srv.srs.records_of_reader(&fp, None, 10), Ok(vec![]));
    assert!(fx.srv.srs.audit().unwrap().is_clean());
}

#[test]
fn a_store_that_lost_or_changed_a_key_row_serves_nothing_from_it_and_fails_audit() {
    // A store that lost a key (restored from a partial backup, or edited behind the SRS's
    // back) no longer matches the key set its ACL commits to: the SRS serves nothing from
    // it, and the operator's audit names the record.
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"x");
    let record = fx.record();
    let doctor_key = ReKeyId {
        record,
        section: fx.medical,
        epoch: Epoch::new(1),
        reader: fx.bundle(Who::Doctor).fingerprint(),
    };
    let rows = fx.srv.rows();
    let keys: Vec<&Row> = rows.iter().filter(|r| r.key[0] == KEY_ROW).collect();
    assert_eq!(keys.len(), 1, "exactly one stored key");
    assert_eq!(keys[0].key, key_row(&doctor_key));
    let intact = rows.clone();
    assert!(fx.srv.srs.audit().unwrap().is_clean());

    // Lost.
    fx.restore(
        rows.iter()
            .filter(|r| r.key != key_row(&doctor_key))
            .cloned()
            .collect(),
    );
    assert_eq!(fx.item(Who::Doctor, &e).unwrap_err(), Refusal::NoKeyStored);
    assert_eq!(
        fx.read(Who::Doctor, &e).unwrap_err(),
        refused(Refusal::NoKeyStored)
    );
    let head_row = [&[HEAD_ROW][..], record.as_bytes()].concat();
    let report = fx.srv.srs.audit().unwrap();
    assert!(
        report
            .problems
            .contains(&(head_row.clone(), Error::NotFound { what: "row" })),
        "{report:?}"
    );

    // Changed: the row holds another valid re-encryption key (the pharmacist's, for the same
    // section and epoch, as an attacker with the database would make it).
    fx.restore(intact.clone());
    fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.bundle(Who::Pharmacist),
        history: History::FromEpoch(Epoch::new(1)),
    }]);
    let pharmacist_key = ReKeyId {
        reader: fx.bundle(Who::Pharmacist).fingerprint(),
        ..doctor_key
    };
    let value = |fx: &Fx, id: &ReKeyId| {
        fx.srv
            .rows()
            .into_iter()
            .find(|r| r.key == key_row(id))
            .unwrap()
            .value
    };
    let swapped = value(&fx, &pharmacist_key);
    assert_ne!(swapped, value(&fx, &doctor_key));
    fx.srv.store.put_raw(key_row(&doctor_key), swapped).unwrap();
    assert_eq!(
        fx.item(Who::Doctor, &e).unwrap_err(),
        Refusal::KeyNotCommitted
    );
    assert!(fx.item(Who::Pharmacist, &e).is_ok());
    // The audit names the record (its key set no longer checks) and the key row.
    let report = fx.srv.srs.audit().unwrap();
    let flagged: Vec<&[u8]> = report.problems.iter().map(|(k, _)| &k[..]).collect();
    assert!(flagged.contains(&&head_row[..]), "{report:?}");
    assert!(flagged.contains(&&key_row(&doctor_key)[..]), "{report:?}");

    // The intact store still serves the entry, through a fresh handle.
    fx.restore(intact);
    fx.acls.truncate(1);
    assert_eq!(fx.read(Who::Doctor, &e).unwrap(), b"x");
}

#[test]
fn registry_and_login_refusals() {
    let mut fx = Fx::new();
    let newcomer = Actor {
        id: id(9),
        keys: PrincipalKeys::random(&mut fx.srv.rng),
    };
    let now = fx.srv.now;
    let register = |fx: &mut Fx, who: &Actor| {
        fx.srv
            .client(who)
            .register(Role::Researcher, now, &mut fx.srv.rng)
            .unwrap()
    };
    // The registration is its own proof of possession, bound to the principal id: moved to
    // another id, or claimed for a key that did not sign it, it is refused.
    let op = register(&mut fx, &newcomer);
    let mut moved = op.to_bytes();
    moved[2 + 32..2 + 32 + 16].copy_from_slice(id(8).as_bytes());
    let moved = SignedOperation::from_bytes(&moved).unwrap();
    fx.srv.refuses_signed(Error::BadSignature, &moved);
    let pharmacist = fx.who(Who::Pharmacist);
    let by_other_key = fx
        .srv
        .client(&Actor {
            id: newcomer.id,
            keys: pharmacist.keys.clone(),
        })
        .sign(
            Operation::Register {
                role: Role::Researcher,
                bundle: newcomer.keys.bundle(),
            },
            now,
            &mut fx.srv.rng,
        )
        .unwrap();
    fx.srv
        .refuses_signed(refused(Refusal::WrongSigner), &by_other_key);
    let mut claimed = by_other_key.to_bytes();
    claimed[2 + 32 + 16..2 + 32 + 16 + 32]
        .copy_from_slice(newcomer.keys.bundle().fingerprint().as_bytes());
    let claimed = SignedOperation::from_bytes(&claimed).unwrap();
    fx.srv.refuses_signed(Error::BadSignature, &claimed);
    // Taken ids and bundles.
    let taken = Actor {
        id: fx.id(Who::Doctor),
        keys: newcomer.keys.clone(),
    };
    let op_taken = register(&mut fx, &taken);
    fx.srv
        .refuses_signed(Error::AlreadyExists { what: "principal" }, &op_taken);
    assert_eq!(
        fx.srv.srs.execute(&op, now, &mut fx.srv.rng),
        Ok(Response::Done)
    );
    let again = Actor {
        id: id(10),
        keys: newcomer.keys.clone(),
    };
    let op_again = register(&mut fx, &again);
    fx.srv
        .refuses_signed(Error::AlreadyExists { what: "key bundle" }, &op_again);
    let reg = fx.srv.srs.principal(newcomer.id).unwrap().unwrap();
    assert_eq!(
        (reg.role, reg.bundle, reg.active),
        (Role::Researcher, newcomer.keys.bundle(), false)
    );
    // An inactive principal can log in (to learn it is inactive) and do nothing else.
    assert_eq!(
        fx.srv.run(&newcomer, Operation::Login),
        Ok(Response::Status {
            role: Role::Researcher,
            active: false
        })
    );
    let record = fx.record();
    let medical = fx.medical;
    fx.srv.refuses(
        refused(Refusal::Inactive),
        &newcomer,
        Operation::Request {
            record,
            right: Right::Read(None),
            sections: vec![medical],
        },
    );
    // Only an active admin activates, and only registered principals.
    let activate = Operation::Activate {
        target: newcomer.id,
    };
    fx.refuses(refused(Refusal::NotAdmin), Who::Doctor, activate.clone());
    let stranger = Actor {
        id: id(77),
        keys: PrincipalKeys::random(&mut fx.srv.rng),
    };
    fx.srv.refuses(
        refused(Refusal::UnknownPrincipal),
        &stranger,
        activate.clone(),
    );
    fx.srv.refuses(
        refused(Refusal::UnknownPrincipal),
        &stranger,
        Operation::Login,
    );
    let admin = fx.srv.admin.clone();
    fx.srv.refuses(
        Error::NotFound { what: "principal" },
        &admin,
        Operation::Activate { target: id(77) },
    );
    fx.set_active(Who::Doctor, false);
    fx.refuses(refused(Refusal::Inactive), Who::Doctor, activate.clone());
    fx.set_active(Who::Doctor, true);
    assert_eq!(fx.srv.run(&admin, activate), Ok(Response::Done));
    // Login is a signed operation: by the registered key, for this SRS, now, once.
    let login = fx.srv.sign(&newcomer, Operation::Login);
    assert_eq!(
        fx.srv.srs.execute(&login, now, &mut fx.srv.rng),
        Ok(Response::Status {
            role: Role::Researcher,
            active: true
        })
    );
    let impostor = Actor {
        id: newcomer.id,
        keys: pharmacist.keys.clone(),
    };
    fx.srv
        .refuses(refused(Refusal::WrongSigner), &impostor, Operation::Login);
    // The newcomer's login presented as the doctor's: not the doctor's registered key.
    let mut as_doctor = login.to_bytes();
    as_doctor[2 + 32..2 + 32 + 16].copy_from_slice(fx.id(Who::Doctor).as_bytes());
    let as_doctor = SignedOperation::from_bytes(&as_doctor).unwrap();
    fx.srv
        .refuses_signed(refused(Refusal::WrongSigner), &as_doctor);
    // Another SRS's login, a stale one, and another operation under a used nonce.
    let elsewhere = Client::new(
        &newcomer.keys,
        newcomer.id,
        Srs::new(
            MemoryStore::new(),
            fx.srv.srs_key.clone(),
            "other deployment",
            SrsConfig::default(),
        )
        .id(),
    )
    .sign(Operation::Login, now, &mut fx.srv.rng)
    .unwrap();
    fx.srv
        .refuses_signed(refused(Refusal::WrongSrs), &elsewhere);
    let window = fx.srv.srs.config().window;
    let stale = fx
        .srv
        .client(&newcomer)
        .sign(
            Operation::Login,
            Timestamp::new(now.get() - window - 1),
            &mut fx.srv.rng,
        )
        .unwrap();
    fx.srv
        .refuses_signed(refused(Refusal::OutsideWindow), &stale);
    let mut same_nonce = fx.srv.rng.clone();
    let first = fx
        .srv
        .client(&newcomer)
        .sign(
            Operation::Request {
                record,
                right: Right::Read(None),
                sections: vec![medical],
            },
            now,
            &mut fx.srv.rng,
        )
        .unwrap();
    // (A login is a read-only status query and records no nonce, so the replay is of a
    // request's nonce.)
    let second = fx
        .srv
        .client(&newcomer)
        .sign(Operation::Login, now, &mut same_nonce)
        .unwrap();
    assert_eq!(first.nonce(), second.nonce());
    fx.srv.srs.execute(&first, now, &mut fx.srv.rng).unwrap();
    fx.srv.refuses_signed(refused(Refusal::Replayed), &second);
    // Deactivated: the principal's operations are refused again.
    fx.srv
        .run(
            &admin,
            Operation::Deactivate {
                target: newcomer.id,
            },
        )
        .unwrap();
    assert_eq!(
        fx.srv.run(&newcomer, Operation::Login),
        Ok(Response::Status {
            role: Role::Researcher,
            active: false
        })
    );
    fx.srv.refuses(
        refused(Refusal::Inactive),
        &newcomer,
        Operation::Request {
            record,
            right: Right::Read(None),
            sections: vec![medical],
        },
    );
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
    fx.refuses(
        refused(Refusal::NotOwner),
        Who::Hospital,
        Operation::ApplyUpdate(u2.clone()),
    );
    // Another patient, not the record's owner.
    let other = Owner::from_master(MasterSecret::from_raw([9; 32])).unwrap();
    let other_a = fx.srv.enrol(Role::Patient, other.keys().clone());
    fx.srv.refuses(
        refused(Refusal::NotOwner),
        &other_a,
        Operation::ApplyUpdate(u2.clone()),
    );
    // Nor can it create a record whose ACL names someone else as owner.
    let not_its_own = fx
        .owner
        .create_record(fx.owner.record_id("second").unwrap(), UNTIL, &[], &mut rng)
        .unwrap();
    fx.srv.refuses(
        rejected(not_its_own.acl().acl_unverified(), AclProblem::WrongOwner),
        &other_a,
        Operation::ApplyUpdate(not_its_own),
    );
    // Expired.
    fx.srv.now = Timestamp::new(UNTIL.get() + 1);
    fx.refuses(
        rejected(
            u2.acl().acl_unverified(),
            AclProblem::Expired {
                not_after: UNTIL,
                now: fx.srv.now,
            },
        ),
        Who::Owner,
        Operation::ApplyUpdate(u2.clone()),
    );
    fx.srv.now = NOW;
    // Key material tampered: the added key dropped.
    let u_grant = fx
        .owner
        .update(
            &acl,
            UNTIL,
            &[Change::GrantRead {
                section: fx.prescription,
                reader: fx.bundle(Who::Pharmacist),
                history: History::All,
            }],
            &mut rng,
        )
        .unwrap();
    assert_eq!(u_grant.keys_to_add().len(), 1);
    let stripped = AclUpdate::from_parts(u_grant.acl().clone(), vec![], vec![]);
    fx.refuses(
        refused(Refusal::KeyMaterialMismatch),
        Who::Owner,
        Operation::ApplyUpdate(stripped),
    );
    // A signature that does not verify (flip a byte of the ACL inside the update).
    let mut bytes = u_grant.to_bytes();
    let pos = 2 + 4 + 2 + 4 + 2 + 16 + 8; // inside not_after of the inner ACL
    assert!(AclUpdate::from_bytes(&bytes).is_ok());
    bytes[pos] ^= 1;
    let forged = AclUpdate::from_bytes(&bytes).unwrap();
    fx.refuses(
        Error::BadSignature,
        Who::Owner,
        Operation::ApplyUpdate(forged),
    );
    // The genuine update applies; its exact retry returns the stored answer and changes
    // nothing; the same update in a new operation (same version) is refused as stale.
    let genuine = fx
        .srv
        .sign(&fx.who(Who::Owner), Operation::ApplyUpdate(u2.clone()));
    assert_eq!(
        fx.srv.srs.execute(&genuine, NOW, &mut fx.srv.rng),
        Ok(Response::Done)
    );
    fx.acls.push(u2.acl().clone());
    let rows = fx.srv.rows();
    assert_eq!(
        fx.srv.srs.execute(&genuine, NOW, &mut fx.srv.rng),
        Ok(Response::Done)
    );
    assert_eq!(fx.srv.rows(), rows);
    fx.refuses(
        rejected(u2.acl().acl_unverified(), AclProblem::AlreadySeen),
        Who::Owner,
        Operation::ApplyUpdate(u2.clone()),
    );
    assert_eq!(
        fx.srv.srs.acl(fx.record()).unwrap().unwrap(),
        u2.acl().clone()
    );
    // An inactive owner cannot update.
    fx.set_active(Who::Owner, false);
    let u3 = fx.build(&[]);
    fx.refuses(
        refused(Refusal::Inactive),
        Who::Owner,
        Operation::ApplyUpdate(u3),
    );
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
    // The SRS keeps every version: readers fetch the one an entry names.
    assert_eq!(
        fx.srv
            .srs
            .acl_version(record, v1.acl_unverified().version()),
        Ok(Some(v1.clone()))
    );
    assert_eq!(fx.srv.srs.acl(record), Ok(Some(v2.clone())));
    let mut verifier = AclVerifier::new(record, fx.owner.verifying_key());
    verifier.accept(&v2, NOW).unwrap();
    assert_eq!(
        verifier.accept(&v1, NOW).unwrap_err(),
        rejected(
            v1.acl_unverified(),
            AclProblem::Stale {
                seen: v2.acl_unverified().version()
            }
        )
    );
    assert_eq!(
        verifier
            .accept(&v2, Timestamp::new(UNTIL.get() + 1))
            .unwrap_err(),
        rejected(
            v2.acl_unverified(),
            AclProblem::Expired {
                not_after: UNTIL,
                now: Timestamp::new(UNTIL.get() + 1)
            }
        )
    );
    let mut other_record = AclVerifier::new(
        fx.owner.record_id("other").unwrap(),
        fx.owner.verifying_key(),
    );
    assert_eq!(
        other_record.accept(&v2, NOW).unwrap_err(),
        rejected(
            v2.acl_unverified(),
            AclProblem::WrongRecord {
                expected: fx.owner.record_id("other").unwrap()
            }
        )
    );
    let impostor = PrincipalKeys::random(&mut common::rng(56));
    assert_eq!(
        v2.verify(&impostor.signing_key().verifying_key())
            .unwrap_err(),
        rejected(v2.acl_unverified(), AclProblem::WrongOwner)
    );
    // Writers must rely on the newest version they know of, unexpired.
    let acl = fx.acl();
    assert_eq!(
        fx.keys(Who::Hospital)
            .seal_entry(
                &acl,
                fx.medical,
                b"x",
                Timestamp::new(UNTIL.get() + 1),
                &mut common::rng(2)
            )
            .unwrap_err(),
        rejected(
            &acl,
            AclProblem::Expired {
                not_after: UNTIL,
                now: Timestamp::new(UNTIL.get() + 1)
            }
        )
    );
}

#[test]
fn the_write_gate_accepts_only_current_entries_from_listed_writers() {
    let mut fx = Fx::new();
    let (med, pres) = (fx.medical, fx.prescription);
    // A key block that does not belong to the header.
    let e = fx.seal(med, b"e");
    let other = fx.seal(med, b"other");
    fx.refuses(
        refused(Refusal::HeaderMismatch),
        Who::Hospital,
        Operation::SubmitEntry {
            header: *e.header(),
            key_block: *other.key_block(),
            body_hash: e.body_hash(),
            signature: *e.signature(),
        },
    );
    // A body hash the writer did not sign.
    fx.refuses(
        Error::BadSignature,
        Who::Hospital,
        Operation::SubmitEntry {
            header: *e.header(),
            key_block: *e.key_block(),
            body_hash: other.body_hash(),
            signature: *e.signature(),
        },
    );
    // Another principal submitting the hospital's entry: the header names another writer.
    fx.refuses(
        refused(Refusal::NoWriteRight),
        Who::Pharmacist,
        e.submission(),
    );
    // Accepted once; an exact retry returns the same receipt; a second submission of the
    // same entry is refused.
    let submit = fx.srv.sign(&fx.who(Who::Hospital), e.submission());
    let Ok(Response::Accepted(receipt)) = fx.srv.srs.execute(&submit, NOW, &mut fx.srv.rng) else {
        panic!("not accepted")
    };
    assert_eq!(receipt.acl_version(), fx.acl().version());
    assert_eq!(receipt.time(), NOW);
    let rows = fx.srv.rows();
    assert_eq!(
        fx.srv.srs.execute(&submit, NOW, &mut fx.srv.rng),
        Ok(Response::Accepted(receipt.clone()))
    );
    assert_eq!(fx.srv.rows(), rows);
    fx.refuses(
        Error::AlreadyExists { what: "entry" },
        Who::Hospital,
        e.submission(),
    );
    // The receipt is for this entry only, and only from this SRS's key.
    let vk = fx.srv.srs.verifying_key();
    let accepted = receipt.verify(&vk, e.header()).unwrap();
    assert_eq!(
        receipt.verify(&vk, other.header()).unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    let elsewhere = sesphr::sign::SigningKey::random(&mut fx.srv.rng).verifying_key();
    assert_eq!(
        receipt.verify(&elsewhere, e.header()).unwrap_err(),
        Error::BadSignature
    );
    // Opening another entry with this entry's receipt is refused.
    let other_receipt = fx.submit(Who::Hospital, &other).unwrap();
    let other_accepted = other_receipt.verify(&vk, other.header()).unwrap();
    assert_eq!(
        fx.owner
            .open_entry(&e, &other_accepted, &fx.acl())
            .unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    let item = fx.item(Who::Doctor, &e).unwrap();
    assert_eq!(
        fx.keys(Who::Doctor)
            .open_entry(&e, &other_accepted, &item.recapsule, &fx.acl())
            .unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    assert_eq!(
        fx.keys(Who::Doctor)
            .open_entry(&e, &accepted, &item.recapsule, &fx.acl())
            .unwrap(),
        b"e"
    );

    // An entry naming an ACL version the SRS has not seen yet (the owner signed it, the
    // writer relied on it, but it was never applied).
    let unapplied = fx.build(&[Change::GrantWrite {
        section: med,
        writer: fx.bundle(Who::Pharmacist),
    }]);
    let ahead = unapplied.acl().verify(&fx.owner.verifying_key()).unwrap();
    let future = fx
        .keys(Who::Hospital)
        .seal_entry(&ahead, med, b"future", NOW, &mut common::rng(20))
        .unwrap();
    assert_eq!(
        ahead.section(&med).unwrap().key(),
        fx.acl().section(&med).unwrap().key()
    );
    fx.refuses(
        refused(Refusal::FutureAclVersion),
        Who::Hospital,
        future.submission(),
    );
    // A writer only that unapplied version lists: no right in the newest one.
    let pharmacists = fx
        .keys(Who::Pharmacist)
        .seal_entry(&ahead, med, b"not yet", NOW, &mut common::rng(21))
        .unwrap();
    fx.refuses(
        refused_in(
            Refusal::NoWriteRight,
            med,
            None,
            Some(fx.bundle(Who::Pharmacist).fingerprint()),
        ),
        Who::Pharmacist,
        pharmacists.submission(),
    );

    // Sealed before a version that kept the section's key: accepted, naming the older
    // version, with the newest version in its receipt.
    let older = fx.seal(med, b"older version");
    fx.update(&[Change::GrantRead {
        section: pres,
        reader: fx.bundle(Who::Pharmacist),
        history: History::All,
    }]);
    let r = fx.submit(Who::Hospital, &older).unwrap();
    assert_eq!(older.header().acl_version().get(), 1);
    assert_eq!(r.acl_version().get(), 2);
    assert_eq!(fx.read(Who::Doctor, &older).unwrap(), b"older version");
    // Sealed before a rotation: not the section's current key.
    let stale = fx.seal(med, b"stale key");
    fx.update(&[Change::Rotate { section: med }]);
    fx.refuses(
        refused(Refusal::KeyBlockNotCurrent),
        Who::Hospital,
        stale.submission(),
    );
    // An expired ACL accepts nothing.
    let fresh = fx.seal(med, b"fresh");
    fx.srv.now = Timestamp::new(UNTIL.get() + 1);
    fx.refuses(
        refused(Refusal::AclExpired),
        Who::Hospital,
        fresh.submission(),
    );
    fx.srv.now = NOW;
    // A writer whose right is revoked: its new entries are refused, and what it wrote
    // before stays readable.
    fx.update(&[Change::RevokeWrite {
        section: med,
        writer: fx.bundle(Who::Hospital).fingerprint(),
    }]);
    fx.refuses(
        refused_in(
            Refusal::NoWriteRight,
            fx.medical,
            None,
            Some(fx.bundle(Who::Hospital).fingerprint()),
        ),
        Who::Hospital,
        fresh.submission(),
    );
    assert_eq!(fx.read(Who::Doctor, &older).unwrap(), b"older version");
}

#[test]
fn entries_from_writers_without_the_right_or_with_bad_signatures_are_refused() {
    let mut fx = Fx::new();
    let acl = fx.acl();
    // The pharmacist holds no write right.
    assert_eq!(
        fx.keys(Who::Pharmacist)
            .seal_entry(&acl, fx.medical, b"x", NOW, &mut common::rng(3))
            .unwrap_err(),
        refused_in(
            Refusal::NoWriteRight,
            fx.medical,
            Some(acl.section(&fx.medical).unwrap().epoch()),
            Some(fx.bundle(Who::Pharmacist).fingerprint())
        )
    );
    // An entry checked against an ACL version in which its writer has no right.
    let e = fx.write(fx.medical, b"lab");
    fx.update(&[Change::RevokeWrite {
        section: fx.medical,
        writer: fx.bundle(Who::Hospital).fingerprint(),
    }]);
    let now_acl = fx.acl();
    assert_eq!(
        e.verify_writer(&now_acl).unwrap_err(),
        rejected(
            &now_acl,
            AclProblem::VersionMismatch {
                named: e.header().acl_version()
            }
        )
    );
    let v1 = fx.acl_v(&e);
    e.verify_writer(&v1).unwrap();
    let accepted = fx.accepted(&e);
    // Tampered body, header or signature: refused before decryption (by the writer signature,
    // or by the receipt, which binds header and body).
    let bytes = e.to_bytes().unwrap();
    let sig_at = bytes.len() - 20;
    let mut bad_sig = bytes.clone();
    bad_sig[sig_at] ^= 1;
    if let Ok(bad) = SealedEntry::from_bytes(&bad_sig) {
        assert_eq!(
            fx.owner.open_entry(&bad, &accepted, &v1).unwrap_err(),
            Error::BadSignature
        );
    }
    let body_at = bytes.len() - 82 - 5;
    let mut bad_body = bytes.clone();
    bad_body[body_at] ^= 1;
    let bad = SealedEntry::from_bytes(&bad_body).unwrap();
    assert_eq!(bad.verify_writer(&v1).unwrap_err(), Error::BadSignature);
    // The receipt binds the body too: another body under an accepted header is refused
    // before anything is decrypted.
    assert_eq!(
        fx.owner.open_entry(&bad, &accepted, &v1).unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    let item = fx.item(Who::Doctor, &e).unwrap();
    assert_eq!(
        fx.keys(Who::Doctor)
            .open_entry(&bad, &accepted, &item.recapsule, &v1)
            .unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
    // A header naming another writer: no right (or a different key) in the ACL, and no
    // receipt from the SRS for that header.
    let mut bad_writer = bytes.clone();
    bad_writer[2 + 2 + 48] ^= 1;
    let bad = SealedEntry::from_bytes(&bad_writer).unwrap();
    assert_eq!(
        bad.verify_writer(&v1).unwrap_err(),
        refused_in(
            Refusal::NoWriteRight,
            bad.header().section(),
            None,
            Some(bad.header().writer())
        )
    );
    assert_eq!(
        fx.owner.open_entry(&bad, &accepted, &v1).unwrap_err(),
        refused(Refusal::ReceiptMismatch)
    );
}

#[test]
fn tampered_key_blocks_and_swapped_sections_fail() {
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"note");
    let other = fx.write(fx.medical, b"other");
    let acl = fx.acl();
    let accepted = fx.accepted(&e);
    // Key block of another entry: opaque failure for owner and reader.
    let swapped = e.clone().with_key_block(*other.key_block());
    assert_eq!(
        fx.owner.open_entry(&swapped, &accepted, &acl).unwrap_err(),
        Error::DecryptionFailed
    );
    let rc = fx.item(Who::Doctor, &e).unwrap().recapsule;
    assert_eq!(
        fx.keys(Who::Doctor)
            .open_entry(&swapped, &accepted, &rc, &acl)
            .unwrap_err(),
        Error::DecryptionFailed
    );
    // A recapsule of another entry's capsule.
    let rc_other = fx.item(Who::Doctor, &other).unwrap().recapsule;
    assert_eq!(
        fx.keys(Who::Doctor)
            .open_entry(&e, &accepted, &rc_other, &acl)
            .unwrap_err(),
        Error::DecryptionFailed
    );
    // A recapsule made for someone else decrypts to garbage for this reader.
    fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.bundle(Who::Pharmacist),
        history: History::All,
    }]);
    let rc_pharm = fx.item(Who::Pharmacist, &e).unwrap().recapsule;
    assert_eq!(
        fx.keys(Who::Doctor)
            .open_entry(&e, &accepted, &rc_pharm, &fx.acl_v(&e))
            .unwrap_err(),
        Error::DecryptionFailed
    );
    assert_eq!(fx.read(Who::Pharmacist, &e).unwrap(), b"note");
    // Every byte of the key block's wrapped key and capsule matters.
    let kb = e.key_block().to_bytes();
    for i in [2 + 4 + 50 + 10, 2 + 4 + 100 + 10, 2 + 4 + 150 + 3] {
        let mut t = kb.clone();
        t[i] ^= 1;
        if let Ok(kb2) = KeyBlock::from_bytes(&t) {
            let tampered = e.clone().with_key_block(kb2);
            assert!(
                fx.owner
                    .open_entry(&tampered, &accepted, &fx.acl_v(&e))
                    .is_err(),
                "byte {i}"
            );
        }
    }
}

#[test]
fn forward_access_control_revocation_rewrap_and_reseal() {
    let mut fx = Fx::new();
    let record = fx.record();
    let before = fx.write(fx.medical, b"before revocation");
    let opened_by_doctor = fx.write(fx.medical, b"doctor read this one");
    let rc = fx.item(Who::Doctor, &opened_by_doctor).unwrap().recapsule;
    let accepted = fx.accepted(&opened_by_doctor);
    assert!(fx
        .keys(Who::Doctor)
        .open_entry(
            &opened_by_doctor,
            &accepted,
            &rc,
            &fx.acl_v(&opened_by_doctor)
        )
        .is_ok());
    // Revoke: keys deleted, epoch rotated.
    let u = fx.update(&[Change::RevokeRead {
        section: fx.medical,
        reader: fx.bundle(Who::Doctor).fingerprint(),
    }]);
    assert_eq!(u.keys_to_delete().len(), 1);
    assert!(u.keys_to_add().is_empty());
    assert_eq!(
        fx.acl().section(&fx.medical).unwrap().epoch(),
        Epoch::new(2)
    );
    // Everything afterwards is refused: old entries and new ones.
    let after = fx.write(fx.medical, b"after revocation");
    for e in [&before, &after] {
        assert_eq!(
            fx.read(Who::Doctor, e).unwrap_err(),
            refused(Refusal::NoReadRight)
        );
    }
    // Re-wrap moves old entries to the new epoch: the owner signs the new key block and
    // replaces the one the SRS stores.
    let acl = fx.acl();
    let kb = fx.owner.rewrap(&before, &acl, &mut common::rng(4)).unwrap();
    let rewrapped = before.clone().with_key_block(kb);
    assert_eq!(kb.epoch(), Epoch::new(2));
    assert!(kb.is_rewrapped());
    assert_eq!(
        fx.owner
            .open_entry(&rewrapped, &fx.accepted(&before), &fx.acl_v(&before))
            .unwrap(),
        b"before revocation"
    );
    let rewrap = |entry: &SealedEntry, key_block: KeyBlock| Operation::Rewrap {
        record,
        entry: entry.header().entry(),
        key_block,
    };
    // Only the owner replaces a key block, only with a re-wrapped block for that entry
    // under the section's current key, only of an accepted entry.
    fx.refuses(
        refused(Refusal::NotOwner),
        Who::Hospital,
        rewrap(&before, kb),
    );
    fx.refuses(
        refused(Refusal::HeaderMismatch),
        Who::Owner,
        rewrap(&opened_by_doctor, kb),
    );
    fx.refuses(
        refused(Refusal::KeyBlockNotCurrent),
        Who::Owner,
        rewrap(&before, *before.key_block()),
    );
    let unsubmitted = fx.seal(fx.medical, b"never accepted");
    let unsubmitted_kb = fx
        .owner
        .rewrap(&unsubmitted, &acl, &mut common::rng(5))
        .unwrap();
    fx.refuses(
        Error::NotFound { what: "entry" },
        Who::Owner,
        rewrap(&unsubmitted, unsubmitted_kb),
    );
    assert_eq!(fx.run(Who::Owner, rewrap(&before, kb)), Ok(Response::Done));
    // A reader of the new epoch now gets the re-wrapped block from the SRS and reads it.
    fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.bundle(Who::Pharmacist),
        history: History::FromEpoch(Epoch::new(2)),
    }]);
    let item = fx.item(Who::Pharmacist, &before).unwrap();
    assert_eq!(item.key_block, kb);
    assert_eq!(
        fx.read(Who::Pharmacist, &before).unwrap(),
        b"before revocation"
    );
    assert_eq!(
        fx.read(Who::Doctor, &before).unwrap_err(),
        refused(Refusal::NoReadRight)
    );
    // A colluding SRS that kept the doctor's epoch-1 key still opens what was not
    // re-wrapped, but the re-wrapped block is out of its reach.
    let kept = ReKey::new(
        &fx.owner
            .section_key(record, fx.medical, Epoch::new(1))
            .unwrap(),
        fx.bundle(Who::Doctor).reader_key(),
    );
    let (accepted, named) = (fx.accepted(&before), fx.acl_v(&before));
    let doctor = fx.keys(Who::Doctor);
    let leaked = kept.reencrypt(before.key_block().capsule());
    assert_eq!(
        doctor
            .open_entry(&before, &accepted, &leaked, &named)
            .unwrap(),
        b"before revocation"
    );
    assert_eq!(
        doctor
            .open_entry(&rewrapped, &accepted, &kept.reencrypt(kb.capsule()), &named)
            .unwrap_err(),
        Error::DecryptionFailed
    );
    assert_eq!(
        doctor
            .open_entry(&rewrapped, &accepted, &leaked, &named)
            .unwrap_err(),
        Error::DecryptionFailed
    );
    // A forged re-wrap signature is refused by those who open it.
    let mut forged = kb.to_bytes();
    let last = forged.len() - 3;
    forged[last] ^= 1;
    if let Ok(forged) = KeyBlock::from_bytes(&forged) {
        assert!(fx
            .owner
            .open_entry(
                &before.clone().with_key_block(forged),
                &fx.accepted(&before),
                &fx.acl_v(&before)
            )
            .is_err());
    }
    // Re-seal: a fresh data key, the owner as signer, a new entry through the write gate;
    // readers of the new epoch read it, the revoked doctor does not.
    let named = fx.acl_v(&opened_by_doctor);
    let acl = fx.acl();
    let resealed = fx
        .owner
        .reseal(
            &opened_by_doctor,
            &fx.accepted(&opened_by_doctor),
            &named,
            &acl,
            NOW,
            &mut common::rng(5),
        )
        .unwrap();
    assert_eq!(
        resealed.header().writer(),
        fx.owner.keys().bundle().fingerprint()
    );
    assert_ne!(resealed.header().entry(), opened_by_doctor.header().entry());
    assert_ne!(resealed.body(), opened_by_doctor.body());
    fx.submit(Who::Owner, &resealed).unwrap();
    assert_eq!(fx.owner_open(&resealed).unwrap(), b"doctor read this one");
    assert_eq!(
        fx.read(Who::Pharmacist, &resealed).unwrap(),
        b"doctor read this one"
    );
    assert_eq!(
        fx.read(Who::Doctor, &resealed).unwrap_err(),
        refused(Refusal::NoReadRight)
    );
}

#[test]
fn backward_access_control_without_and_with_history() {
    let mut fx = Fx::new();
    let old = fx.write(fx.medical, b"old");
    // Without history: rotation first; the newcomer reads only new entries.
    let u = fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.bundle(Who::Pharmacist),
        history: History::None,
    }]);
    // The doctor (from epoch 1) gets the new epoch too; the pharmacist only the new one.
    assert_eq!(u.keys_to_add().len(), 2);
    let new = fx.write(fx.medical, b"new");
    assert_eq!(
        fx.read(Who::Pharmacist, &old).unwrap_err(),
        refused(Refusal::NoReadRight)
    );
    assert_eq!(fx.read(Who::Pharmacist, &new).unwrap(), b"new");
    assert_eq!(fx.read(Who::Doctor, &old).unwrap(), b"old");
    // With history from a chosen epoch: keys for every epoch from it.
    let u = fx.update(&[Change::RevokeRead {
        section: fx.medical,
        reader: fx.bundle(Who::Pharmacist).fingerprint(),
    }]);
    assert_eq!(u.keys_to_delete().len(), 1);
    let u = fx.update(&[Change::GrantRead {
        section: fx.medical,
        reader: fx.bundle(Who::Pharmacist),
        history: History::FromEpoch(Epoch::new(1)),
    }]);
    assert_eq!(u.keys_to_add().len(), 3); // epochs 1, 2, 3
    assert_eq!(fx.read(Who::Pharmacist, &old).unwrap(), b"old");
    // A history starting in the future is an invalid change.
    let acl = fx.acl();
    let r = fx.owner.update(
        &acl,
        UNTIL,
        &[Change::GrantRead {
            section: fx.prescription,
            reader: fx.bundle(Who::Doctor),
            history: History::FromEpoch(Epoch::new(9)),
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
            reader: fx.bundle(Who::Doctor),
            history: History::All,
        },
        Change::RevokeRead {
            section: fx.medical,
            reader: fx.bundle(Who::Pharmacist).fingerprint(),
        },
        Change::GrantWrite {
            section: fx.medical,
            writer: fx.bundle(Who::Hospital),
        },
        Change::RevokeWrite {
            section: fx.medical,
            writer: fx.bundle(Who::Doctor).fingerprint(),
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
        rejected(&acl, AclProblem::WrongOwner)
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
    let record = fx.record();
    let (med, pres) = (fx.medical, fx.prescription);
    let owner_id = fx.id(Who::Owner);
    let request = |right, sections: &[SectionId]| Operation::Request {
        record,
        right,
        sections: sections.to_vec(),
    };
    // Requests need a registered, active requester, an ACL, known and distinct sections.
    let stranger = Actor {
        id: id(99),
        keys: PrincipalKeys::random(&mut fx.srv.rng),
    };
    fx.srv.refuses(
        refused(Refusal::UnknownPrincipal),
        &stranger,
        request(Right::Read(None), &[med]),
    );
    fx.refuses(
        refused(Refusal::NoAcl),
        Who::Pharmacist,
        Operation::Request {
            record: RecordId::new([0; 16]),
            right: Right::Read(None),
            sections: vec![med],
        },
    );
    fx.refuses(
        refused(Refusal::UnknownSection),
        Who::Pharmacist,
        request(Right::Read(None), &[SectionId::new([5; 16])]),
    );
    for sections in [&[][..], &[med, med][..]] {
        assert!(matches!(
            fx.run(Who::Pharmacist, request(Right::Read(None), sections)),
            Err(Error::InvalidChange { .. })
        ));
    }
    let file = |fx: &mut Fx, right, sections: &[SectionId]| match fx
        .run(Who::Pharmacist, request(right, sections))
        .unwrap()
    {
        Response::RequestFiled(id) => id,
        other => panic!("{other:?}"),
    };

    // The pharmacist asks for two sections; the owner approves one.
    fx.srv.now = Timestamp::new(NOW.get() + 1);
    let r1 = file(&mut fx, Right::Read(Some(History::All)), &[med, pres]);
    assert_eq!(
        fx.srv.srs.requests_of_owner(owner_id, None, 10),
        Ok(vec![r1])
    );
    fx.srv.now = Timestamp::new(NOW.get() + 2);
    let approve = fx.build(&[Change::GrantRead {
        section: pres,
        reader: fx.bundle(Who::Pharmacist),
        history: History::All,
    }]);
    let approval = |request: RequestId, update: &AclUpdate| Operation::Approve {
        request,
        update: update.clone(),
    };
    fx.refuses(
        refused(Refusal::NotOwner),
        Who::Doctor,
        approval(r1, &approve),
    );
    let nothing = fx.build(&[Change::Rotate { section: med }]);
    fx.refuses(
        refused(Refusal::ApprovalMismatch),
        Who::Owner,
        approval(r1, &nothing),
    );
    // An approval binds its request id.
    fx.refuses(
        Error::NotFound { what: "request" },
        Who::Owner,
        approval(RequestId::new([7; 16]), &approve),
    );
    // One of two sections: a distinct, recorded outcome.
    assert_eq!(
        fx.run(Who::Owner, approval(r1, &approve)),
        Ok(Response::Approved(RequestState::ApprovedNarrower))
    );
    fx.acls.push(approve.acl().clone());
    let req = fx.srv.srs.request(r1).unwrap().unwrap();
    assert_eq!(req.id(), r1);
    assert_eq!(req.state(), RequestState::ApprovedNarrower);
    assert_eq!(req.granted(), &[pres]);
    assert_eq!(
        req.history(),
        &[
            (RequestState::Pending, Timestamp::new(NOW.get() + 1)),
            (
                RequestState::ApprovedNarrower,
                Timestamp::new(NOW.get() + 2)
            )
        ]
    );
    assert_eq!(
        AccessRequest::from_bytes(&req.to_bytes().unwrap()).unwrap(),
        req
    );
    let p = fx.write(pres, b"prescription");
    assert_eq!(fx.read(Who::Pharmacist, &p).unwrap(), b"prescription");

    // Every illegal transition from every closed state, and deletion of a pending request.
    let r2 = file(&mut fx, Right::Write, &[med]);
    fx.refuses(
        Error::IllegalTransition {
            from: RequestState::Pending,
            action: RequestAction::Delete,
        },
        Who::Pharmacist,
        Operation::DeleteRequest { request: r2 },
    );
    fx.refuses(
        refused(Refusal::NotRequester),
        Who::Doctor,
        Operation::Withdraw { request: r2 },
    );
    fx.refuses(
        refused(Refusal::NotOwner),
        Who::Pharmacist,
        Operation::Reject { request: r2 },
    );
    assert_eq!(
        fx.run(Who::Pharmacist, Operation::Withdraw { request: r2 }),
        Ok(Response::Done)
    );
    let r3 = file(&mut fx, Right::Write, &[med]);
    assert_eq!(
        fx.run(Who::Owner, Operation::Reject { request: r3 }),
        Ok(Response::Done)
    );
    let any_update = fx.build(&[Change::GrantWrite {
        section: med,
        writer: fx.bundle(Who::Pharmacist),
    }]);
    for (r, from) in [
        (r1, RequestState::ApprovedNarrower),
        (r2, RequestState::Withdrawn),
        (r3, RequestState::Rejected),
    ] {
        let illegal = |action| Error::IllegalTransition { from, action };
        fx.refuses(
            illegal(RequestAction::Approve),
            Who::Owner,
            approval(r, &any_update),
        );
        fx.refuses(
            illegal(RequestAction::Reject),
            Who::Owner,
            Operation::Reject { request: r },
        );
        fx.refuses(
            illegal(RequestAction::Withdraw),
            Who::Pharmacist,
            Operation::Withdraw { request: r },
        );
        // Closed requests are deleted by their requester or the record's owner only.
        fx.refuses(
            refused(Refusal::NotRequester),
            Who::Doctor,
            Operation::DeleteRequest { request: r },
        );
    }
    let mut listed = fx.srv.srs.requests_of_owner(owner_id, None, 10).unwrap();
    listed.sort();
    let mut all = vec![r1, r2, r3];
    all.sort();
    assert_eq!(listed, all);
    // Paged.
    let first = fx.srv.srs.requests_of_owner(owner_id, None, 2).unwrap();
    let rest = fx
        .srv
        .srs
        .requests_of_owner(owner_id, Some(first[1]), 2)
        .unwrap();
    assert_eq!([first, rest].concat(), all);
    for (r, by) in [
        (r1, Who::Pharmacist),
        (r2, Who::Owner),
        (r3, Who::Pharmacist),
    ] {
        assert_eq!(
            fx.run(by, Operation::DeleteRequest { request: r }),
            Ok(Response::Done)
        );
        fx.refuses(
            Error::NotFound { what: "request" },
            by,
            Operation::DeleteRequest { request: r },
        );
        assert_eq!(fx.srv.srs.request(r), Ok(None));
    }
    assert_eq!(fx.srv.srs.requests_of_owner(owner_id, None, 10), Ok(vec![]));
}

#[test]
fn the_store_round_trips_through_its_rows_and_garbage_rows_are_refused() {
    let mut fx = Fx::new();
    let record = fx.record();
    let e = fx.write(fx.medical, b"kept");
    let Response::RequestFiled(req) = fx
        .run(
            Who::Pharmacist,
            Operation::Request {
                record,
                right: Right::Read(None),
                sections: vec![fx.medical],
            },
        )
        .unwrap()
    else {
        panic!()
    };
    // Every row out, every row in: a new handle over the copy is the same SRS.
    let rows = fx.srv.rows();
    let copy = MemoryStore::from_rows(rows.clone());
    assert_eq!(copy.rows().unwrap(), rows);
    let old = Srs::new(
        fx.srv.store.clone(),
        fx.srv.srs_key.clone(),
        "test",
        SrsConfig::default(),
    );
    fx.restore(rows);
    let new = &fx.srv.srs;
    assert_eq!(new.id(), old.id());
    for w in [Who::Owner, Who::Doctor] {
        assert_eq!(new.principal(fx.id(w)), old.principal(fx.id(w)));
    }
    assert_eq!(new.acl(record), old.acl(record));
    assert_eq!(new.request(req), old.request(req));
    assert_eq!(
        new.receipt(record, e.header().entry()),
        old.receipt(record, e.header().entry())
    );
    assert!(new.audit().unwrap().is_clean());
    assert_eq!(fx.read(Who::Doctor, &e).unwrap(), b"kept");
    // A later commit gets a version above every restored row's.
    let max = fx.srv.rows().iter().map(|r| r.version).max().unwrap();
    fx.write(fx.medical, b"after the restore");
    assert!(fx.srv.rows().iter().any(|r| r.version > max));

    // Garbage rows: an unknown format version, a truncated value. Each is a typed error
    // for every operation that reads it (which changes nothing), and the audit names it.
    let key = principal_row(fx.id(Who::Pharmacist));
    let genuine = fx
        .srv
        .rows()
        .into_iter()
        .find(|r| r.key == key)
        .unwrap()
        .value;
    let mut future = genuine.clone();
    future[1] = 9;
    let truncated = genuine[..genuine.len() - 1].to_vec();
    for (value, error) in [
        (
            future,
            Error::UnknownVersion {
                what: "principal row",
                version: 9,
            },
        ),
        (
            truncated,
            Error::InvalidEncoding {
                what: "principal row",
                field: None,
            },
        ),
    ] {
        fx.srv.store.put_raw(key.clone(), value).unwrap();
        assert_eq!(
            fx.srv.srs.principal(fx.id(Who::Pharmacist)),
            Err(error.clone())
        );
        fx.refuses(error.clone(), Who::Pharmacist, Operation::Login);
        let report = fx.srv.srs.audit().unwrap();
        assert!(
            report.problems.contains(&(key.clone(), error)),
            "{report:?}"
        );
    }
    fx.srv.store.put_raw(key, genuine).unwrap();
    assert!(fx.srv.srs.audit().unwrap().is_clean());
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
    let b = fx.bundle(Who::Doctor);
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
    // The SRS's wire values: operations, responses, receipts.
    let receipt = fx
        .srv
        .srs
        .receipt(fx.record(), e.header().entry())
        .unwrap()
        .unwrap();
    assert_eq!(Receipt::from_bytes(&receipt.to_bytes()).unwrap(), receipt);
    assert_eq!(receipt.to_bytes().len(), Receipt::SIZE);
    let op = fx.srv.sign(
        &fx.who(Who::Doctor),
        Operation::Reencrypt {
            record: fx.record(),
            entries: vec![e.header().entry(), sesphr::phr::EntryId::new([1; 16])],
        },
    );
    let decoded = SignedOperation::from_bytes(&op.to_bytes()).unwrap();
    assert_eq!(decoded, op);
    assert_eq!(decoded.hash(), op.hash());
    // The decoded operation is the one the SRS runs (its signature survives the trip).
    let Ok(response) = fx.srv.srs.execute(&decoded, NOW, &mut fx.srv.rng) else {
        panic!()
    };
    let Response::Reencrypted { items, .. } = &response else {
        panic!()
    };
    assert_eq!(items[1], Err(Refusal::UnknownEntry));
    let rc = items[0].as_ref().unwrap().recapsule.clone();
    assert_eq!(ReCapsule::from_bytes(&rc.to_bytes()).unwrap(), rc);
    assert_eq!(
        Response::from_bytes(&response.to_bytes()).unwrap(),
        response
    );
    for r in [
        Response::Done,
        Response::Status {
            role: Role::Family,
            active: true,
        },
        Response::RequestFiled(RequestId::new([3; 16])),
        Response::Approved(RequestState::ApprovedNarrower),
        Response::Accepted(Box::new(receipt)),
        Response::Reencrypted {
            items: Refusal::ALL.iter().map(|r| Err(*r)).collect(),
            receipt: None,
        },
    ] {
        assert_eq!(Response::from_bytes(&r.to_bytes()).unwrap(), r);
    }
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
    let mut sealer =
        EntrySealer::new(fx.keys(Who::Hospital), &acl, fx.medical, NOW, &mut rng).unwrap();
    let (header, kb) = (*sealer.header().0, *sealer.header().1);
    let mut body = Vec::new();
    body.extend(sealer.seal_segment(&data[..seg]).unwrap());
    body.extend(sealer.seal_segment(&data[seg..2 * seg]).unwrap());
    let (last, sig) = sealer.finish(&data[2 * seg..], &mut rng).unwrap();
    body.extend(&last);
    // The writer submits header, key block, body hash and signature; never the body.
    let body_hash: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&body).into()
    };
    let Ok(Response::Accepted(receipt)) = fx.run(
        Who::Hospital,
        Operation::SubmitEntry {
            header,
            key_block: kb,
            body_hash,
            signature: sig,
        },
    ) else {
        panic!("not accepted")
    };
    let accepted = receipt
        .verify(&fx.srv.srs.verifying_key(), &header)
        .unwrap();
    let record = fx.record();
    let doctor = fx.who(Who::Doctor);
    let item = fx
        .srv
        .reencrypt(&doctor, record, vec![header.entry()])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let rc = item.recapsule;
    // Segment by segment.
    let mut opener = doctor
        .keys
        .entry_opener(&header, &item.key_block, &accepted, &rc, &acl)
        .unwrap();
    let mut out = Vec::new();
    for c in body.chunks(sesphr::dem::SEALED_SEGMENT_SIZE).take(2) {
        out.extend(opener.open_segment(c).unwrap().into_unverified());
    }
    out.extend(opener.finish(&last, &sig).unwrap());
    assert_eq!(out, data);
    // A wrong signature is caught at finish, after the segments were returned unverified.
    let other_sig = fx
        .keys(Who::Hospital)
        .signing_key()
        .sign(sesphr::sign::Purpose::Entry, &[b"x"], &mut rng)
        .unwrap();
    let mut opener = doctor
        .keys
        .entry_opener(&header, &kb, &accepted, &rc, &acl)
        .unwrap();
    for c in body.chunks(sesphr::dem::SEALED_SEGMENT_SIZE).take(2) {
        opener.open_segment(c).unwrap();
    }
    assert_eq!(
        opener.finish(&last, &other_sig).unwrap_err(),
        Error::BadSignature
    );
    // No opener without the receipt for this header.
    let other = fx.write(fx.medical, b"");
    let other_accepted = fx.accepted(&other);
    assert_eq!(
        doctor
            .keys
            .entry_opener(&header, &kb, &other_accepted, &rc, &acl)
            .err(),
        Some(refused(Refusal::ReceiptMismatch))
    );
}

#[test]
fn owner_and_reader_paths_round_trip_at_segment_boundaries() {
    let mut fx = Fx::new();
    let seg = sesphr::dem::SEGMENT_SIZE;
    for n in [0, 1, seg - 1, seg, seg + 1, 1 << 20] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
        let e = fx.write(fx.medical, &data);
        let e = SealedEntry::from_bytes(&e.to_bytes().unwrap()).unwrap();
        assert_eq!(fx.read(Who::Doctor, &e).unwrap(), data, "reader, size {n}");
        assert_eq!(fx.owner_open(&e).unwrap(), data, "owner, size {n}");
    }
}

#[test]
fn a_key_swapped_in_the_registry_gets_nothing() {
    // The SRS is not trusted for key authenticity: if its registry says the doctor's id has
    // the attacker's keys, the ACL (which names the doctor's fingerprint) grants it nothing,
    // and the operator's audit flags the row.
    let mut fx = Fx::new();
    let e = fx.write(fx.medical, b"secret");
    let genuine_rc = fx.item(Who::Doctor, &e).unwrap().recapsule;
    let attacker = Actor {
        id: fx.id(Who::Doctor),
        keys: PrincipalKeys::random(&mut common::rng(57)),
    };
    let key = principal_row(attacker.id);
    let mut value = fx
        .srv
        .rows()
        .into_iter()
        .find(|r| r.key == key)
        .unwrap()
        .value;
    let genuine = fx.bundle(Who::Doctor).to_bytes();
    let at = value
        .windows(genuine.len())
        .position(|w| w == genuine.as_slice())
        .unwrap();
    value[at..at + genuine.len()].copy_from_slice(&attacker.keys.bundle().to_bytes());
    fx.srv.store.put_raw(key.clone(), value).unwrap();
    assert_eq!(
        fx.srv.srs.principal(attacker.id).unwrap().unwrap().bundle,
        attacker.keys.bundle()
    );
    // The attacker acts under the doctor's id, and is served nothing.
    let record = fx.record();
    assert_eq!(
        fx.srv
            .reencrypt(&attacker, record, vec![e.header().entry()])
            .unwrap(),
        vec![Err(Refusal::NoReadRight)]
    );
    // The genuine doctor's signatures no longer match the registry.
    fx.refuses(
        refused(Refusal::WrongSigner),
        Who::Doctor,
        Operation::Reencrypt {
            record,
            entries: vec![e.header().entry()],
        },
    );
    let report = fx.srv.srs.audit().unwrap();
    assert!(report.problems.iter().any(|(k, _)| *k == key), "{report:?}");
    // And the genuine re-encryption opens only for the genuine key.
    assert_eq!(
        attacker
            .keys
            .open_entry(&e, &fx.accepted(&e), &genuine_rc, &fx.acl())
            .unwrap_err(),
        Error::DecryptionFailed
    );
}

/// Every refusal the SRS can give is expected by name somewhere in this file (a new
/// refusal without a test fails here).
#[test]
fn every_refusal_is_expected_by_a_test() {
    let source = include_str!("phr.rs");
    for r in Refusal::ALL {
        let name = format!("Refusal::{r:?}");
        let named = source.match_indices(&name).any(|(at, _)| {
            !source[at + name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        assert!(named, "no test expects {name}");
    }
}
