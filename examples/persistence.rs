//! Reference integration: every party's state saved to files, the process "restarts" (all
//! state dropped, everything reloaded from the files), and the flow continues.
//!
//! The parties: a patient (the record owner), a hospital (writer), a doctor and a pharmacy
//! (readers), and the SRS. What each one keeps:
//!
//! | party | file | what |
//! |---|---|---|
//! | patient | `patient.owner`, `patient.acls` | [`Owner::to_bytes`] (66 bytes); its [`AclHistory`] |
//! | hospital, doctor, pharmacy | `NAME.keys`, `NAME.acls` | [`PrincipalKeys::to_bytes`] (102 bytes); its [`AclHistory`] |
//! | everyone | `NAME.id`, `trust.*` | its principal id; the owner's and the SRS's verifying keys, authenticated out of band |
//! | SRS | `srs.key`, `srs.rows` | its signing key; its store's rows ([`MemoryStore::rows`] → [`MemoryStore::from_rows`]) |
//! | the cloud | `entry-N` | sealed entries ([`SealedEntry::to_bytes`]) |
//!
//! Before the restart the patient creates a record, the hospital writes a lab result and a
//! prescription, the doctor and the pharmacy read what they were granted. After it, the
//! patient revokes the doctor and grants the pharmacy the medical section with its history;
//! a rolled-back ACL is refused by the restored histories; the hospital writes again (to the
//! new epoch) and the pharmacy reads old and new entries while the doctor is refused.
//!
//!     cargo run --example persistence

use std::fs;
use std::path::PathBuf;

use sesphr::phr::{
    AclHistory, AclProblem, AclVersion, Change, History, Owner, PrincipalId, PrincipalKeys,
    RecordId, Role, SealedEntry, SectionId, SectionName, Timestamp,
};
use sesphr::rand_core::{CryptoRng, OsRng, RngCore};
use sesphr::sign::{SigningKey, VerifyingKey};
use sesphr::srs::{
    Accepted, Client, MemoryStore, Operation, Refusal, Response, Row, RowVersion, Srs, SrsConfig,
};
use sesphr::Error;

const SRS_NAME: &str = "persistence-demo";
const READERS: [&str; 3] = ["hospital", "doctor", "pharmacy"];

/// A directory of "files": what each party would keep on its own disk.
struct Disk(PathBuf);

impl Disk {
    fn save(&self, name: &str, bytes: &[u8]) {
        fs::write(self.0.join(name), bytes).expect("write a state file");
    }

    fn load(&self, name: &str) -> Vec<u8> {
        fs::read(self.0.join(name)).expect("read a state file")
    }
}

/// The SRS's rows as one file: count, then per row `u32 len ‖ key ‖ u64 version ‖ u32 len ‖
/// value`. A real deployment keeps them in a database; the crate only needs them back.
fn encode_rows(rows: &[Row]) -> Vec<u8> {
    let mut out = (rows.len() as u64).to_be_bytes().to_vec();
    for r in rows {
        out.extend_from_slice(&(r.key.len() as u32).to_be_bytes());
        out.extend_from_slice(&r.key);
        out.extend_from_slice(&r.version.0.to_be_bytes());
        out.extend_from_slice(&(r.value.len() as u32).to_be_bytes());
        out.extend_from_slice(&r.value);
    }
    out
}

fn decode_rows(mut b: &[u8]) -> Vec<Row> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, tail) = b.split_at(n);
        *b = tail;
        head
    }
    let n = u64::from_be_bytes(take(&mut b, 8).try_into().unwrap());
    (0..n)
        .map(|_| {
            let k = u32::from_be_bytes(take(&mut b, 4).try_into().unwrap()) as usize;
            let key = take(&mut b, k).to_vec();
            let version = RowVersion(u64::from_be_bytes(take(&mut b, 8).try_into().unwrap()));
            let v = u32::from_be_bytes(take(&mut b, 4).try_into().unwrap()) as usize;
            let value = take(&mut b, v).to_vec();
            Row {
                key,
                version,
                value,
            }
        })
        .collect()
}

/// Signs `op` as `who` and runs it at `now`.
fn act<R: RngCore + CryptoRng>(
    srs: &mut Srs<MemoryStore>,
    who: &Client<'_>,
    op: Operation,
    now: Timestamp,
    rng: &mut R,
) -> Result<Response, Error> {
    srs.execute(&who.sign(op, now, rng)?, now, rng)
}

/// Submits an entry through the write gate; the writer keeps nothing but the receipt check.
fn submit<R: RngCore + CryptoRng>(
    srs: &mut Srs<MemoryStore>,
    writer: &Client<'_>,
    entry: &SealedEntry,
    now: Timestamp,
    rng: &mut R,
) -> Result<(), Error> {
    let Response::Accepted(receipt) = act(srs, writer, entry.submission(), now, rng)? else {
        unreachable!("an accepted entry is answered with its receipt")
    };
    receipt.verify(&srs.verifying_key(), entry.header())?;
    Ok(())
}

/// What a reader (or the owner) fetches to open an entry: the SRS's receipt, checked with
/// the SRS key the reader trusts.
fn accepted(
    srs: &Srs<MemoryStore>,
    srs_key: &VerifyingKey,
    entry: &SealedEntry,
) -> Result<Accepted, Error> {
    let h = entry.header();
    let receipt = srs
        .receipt(h.record(), h.entry())?
        .ok_or(Error::NotAuthorized {
            refusal: Refusal::UnknownEntry,
            section: None,
            epoch: None,
            principal: None,
        })?;
    receipt.verify(srs_key, h)
}

/// A reader asks the SRS for `entry` and opens it with the ACL version its header names,
/// from the reader's own history.
fn read<R: RngCore + CryptoRng>(
    srs: &mut Srs<MemoryStore>,
    srs_key: &VerifyingKey,
    reader: &Client<'_>,
    history: &AclHistory,
    entry: &SealedEntry,
    now: Timestamp,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let h = entry.header();
    let op = Operation::Reencrypt {
        record: h.record(),
        entries: vec![h.entry()],
    };
    let Response::Reencrypted { mut items, .. } = act(srs, reader, op, now, rng)? else {
        unreachable!("a re-encryption batch is answered item by item")
    };
    let item = items
        .pop()
        .expect("one item per entry")
        .map_err(|refusal| Error::NotAuthorized {
            refusal,
            section: None,
            epoch: None,
            principal: None,
        })?;
    let entry = entry.clone().with_key_block(item.key_block);
    let accepted = accepted(srs, srs_key, &entry)?;
    reader
        .keys()
        .open_entry_with_history(&entry, &accepted, &item.recapsule, history)
}

fn id_of(disk: &Disk, name: &str) -> PrincipalId {
    PrincipalId::new(
        disk.load(&format!("{name}.id"))
            .try_into()
            .expect("16 bytes"),
    )
}

fn entries(disk: &Disk) -> Vec<SealedEntry> {
    let mut out = Vec::new();
    while let Ok(b) = fs::read(disk.0.join(format!("entry-{}", out.len()))) {
        out.push(SealedEntry::from_bytes(&b).expect("a stored entry decodes"));
    }
    out
}

fn put_entry(disk: &Disk, entry: &SealedEntry) -> Result<(), Error> {
    let n = entries(disk).len();
    disk.save(&format!("entry-{n}"), &entry.to_bytes()?);
    Ok(())
}

/// The names the patient gives its record and sections (they never leave its device).
fn names(owner: &Owner) -> Result<(RecordId, SectionId, SectionId), Error> {
    Ok((
        owner.record_id("main")?,
        owner.section_id(&SectionName::new("medical")?),
        owner.section_id(&SectionName::new("prescription")?),
    ))
}

/// Run 1: set everything up, write, read, save every party's state, drop it all.
fn first_run(disk: &Disk, now: Timestamp, until: Timestamp) -> Result<(), Error> {
    let mut rng = OsRng;
    let srs_signing = SigningKey::random(&mut rng);
    let mut srs = Srs::new(
        MemoryStore::new(),
        srs_signing.clone(),
        SRS_NAME,
        SrsConfig::default(),
    );
    let srs_key = srs.verifying_key();
    let admin = PrincipalKeys::random(&mut rng);
    let patient = Owner::random(&mut rng);
    let keys: Vec<PrincipalKeys> = READERS
        .iter()
        .map(|_| PrincipalKeys::random(&mut rng))
        .collect();
    let admin_c = Client::new(&admin, PrincipalId::random(&mut rng), srs.id());
    srs.bootstrap(&admin_c.register(Role::Admin, now, &mut rng)?, now)?;
    let patient_c = Client::new(patient.keys(), PrincipalId::random(&mut rng), srs.id());
    let clients: Vec<Client<'_>> = keys
        .iter()
        .map(|k| Client::new(k, PrincipalId::random(&mut rng), srs.id()))
        .collect();
    let roles = [Role::Hospital, Role::Doctor, Role::Pharmacist];
    for (c, role) in std::iter::once((&patient_c, Role::Patient)).chain(clients.iter().zip(roles)) {
        srs.execute(&c.register(role, now, &mut rng)?, now, &mut rng)?;
        let activate = Operation::Activate { target: c.id() };
        act(&mut srs, &admin_c, activate, now, &mut rng)?;
    }
    let (hospital, doctor, pharmacy) = (&clients[0], &clients[1], &clients[2]);
    let (hospital_k, doctor_k, pharmacy_k) = (&keys[0], &keys[1], &keys[2]);

    // The patient's record: the hospital writes both sections, the doctor reads "medical",
    // the pharmacy "prescription".
    let (record, medical, prescription) = names(&patient)?;
    let v1 = patient.create_record(
        record,
        until,
        &[
            Change::AddSection { section: medical },
            Change::AddSection {
                section: prescription,
            },
            Change::GrantWrite {
                section: medical,
                writer: hospital_k.bundle(),
            },
            Change::GrantWrite {
                section: prescription,
                writer: hospital_k.bundle(),
            },
            Change::GrantRead {
                section: medical,
                reader: doctor_k.bundle(),
                history: History::None,
            },
            Change::GrantRead {
                section: prescription,
                reader: pharmacy_k.bundle(),
                history: History::None,
            },
        ],
        &mut rng,
    )?;
    act(
        &mut srs,
        &patient_c,
        Operation::ApplyUpdate(v1.clone()),
        now,
        &mut rng,
    )?;

    // Every party keeps an ACL history of the record, with the owner's key it authenticated
    // out of band: patient, hospital, doctor, pharmacy.
    let owner_key = patient.verifying_key();
    let mut histories: Vec<AclHistory> =
        (0..4).map(|_| AclHistory::new(record, owner_key)).collect();
    for h in &mut histories {
        h.accept(v1.acl(), now)?;
    }

    // The hospital writes; the doctor and the pharmacy read.
    let lab = hospital_k.seal_entry_with_history(
        &histories[1],
        medical,
        b"HbA1c 5.4 %",
        now,
        &mut rng,
    )?;
    let rx = hospital_k.seal_entry_with_history(
        &histories[1],
        prescription,
        b"metformin 500 mg",
        now,
        &mut rng,
    )?;
    for e in [&lab, &rx] {
        submit(&mut srs, hospital, e, now, &mut rng)?;
        put_entry(disk, e)?;
    }
    let (d, p) = (&histories[2], &histories[3]);
    assert_eq!(
        read(&mut srs, &srs_key, doctor, d, &lab, now, &mut rng)?,
        b"HbA1c 5.4 %"
    );
    assert_eq!(
        read(&mut srs, &srs_key, pharmacy, p, &rx, now, &mut rng)?,
        b"metformin 500 mg"
    );
    println!("run 1: record created (ACL v1), 2 entries written and read");

    // Save every party's state, each to its own files.
    disk.save("srs.key", &srs_signing.to_bytes()[..]);
    disk.save(
        "srs.rows",
        &encode_rows(&srs.store().rows().map_err(Error::Store)?),
    );
    disk.save("admin.keys", &admin.to_bytes()[..]);
    disk.save("admin.id", admin_c.id().as_bytes());
    disk.save("patient.owner", &patient.to_bytes()[..]);
    disk.save("patient.id", patient_c.id().as_bytes());
    disk.save("patient.acls", &histories[0].to_bytes()?);
    for (i, name) in READERS.iter().enumerate() {
        disk.save(&format!("{name}.keys"), &keys[i].to_bytes()[..]);
        disk.save(&format!("{name}.id"), clients[i].id().as_bytes());
        disk.save(&format!("{name}.acls"), &histories[i + 1].to_bytes()?);
    }
    disk.save("trust.owner", &owner_key.to_bytes());
    disk.save("trust.srs", &srs_key.to_bytes());
    // The rolled-back ACL an attacker will replay after the restart.
    disk.save("attacker.v1", &v1.acl().to_bytes());
    Ok(())
}

/// Run 2: nothing in memory; everything comes back from the files, and the flow goes on.
fn second_run(disk: &Disk, now: Timestamp, until: Timestamp) -> Result<(), Error> {
    let mut rng = OsRng;
    // The trust anchors every party authenticated before (fingerprints compared out of band).
    let owner_key = VerifyingKey::from_bytes(&disk.load("trust.owner"))?;
    let srs_key = VerifyingKey::from_bytes(&disk.load("trust.srs"))?;

    // The SRS: its key and its rows.
    let rows = decode_rows(&disk.load("srs.rows"));
    let mut srs = Srs::new(
        MemoryStore::from_rows(rows),
        SigningKey::from_bytes(&disk.load("srs.key"))?,
        SRS_NAME,
        SrsConfig::default(),
    );
    assert_eq!(srs.verifying_key(), srs_key);
    assert!(srs.audit()?.is_clean(), "the restored store audits clean");

    // The patient, the principals and their ACL histories (re-verified against the owner key).
    let patient = Owner::from_bytes(&disk.load("patient.owner"))?;
    assert_eq!(patient.verifying_key(), owner_key);
    let patient_c = Client::new(patient.keys(), id_of(disk, "patient"), srs.id());
    let keys: Vec<PrincipalKeys> = READERS
        .iter()
        .map(|n| PrincipalKeys::from_bytes(&disk.load(&format!("{n}.keys"))))
        .collect::<Result<_, _>>()?;
    let clients: Vec<Client<'_>> = READERS
        .iter()
        .zip(&keys)
        .map(|(n, k)| Client::new(k, id_of(disk, n), srs.id()))
        .collect();
    let mut histories: Vec<AclHistory> = std::iter::once("patient")
        .chain(READERS)
        .map(|n| AclHistory::from_bytes(&disk.load(&format!("{n}.acls")), &owner_key))
        .collect::<Result<_, _>>()?;
    let (hospital, doctor, pharmacy) = (&clients[0], &clients[1], &clients[2]);
    let (hospital_k, doctor_k, pharmacy_k) = (&keys[0], &keys[1], &keys[2]);
    let (record, medical, _) = names(&patient)?;
    let stored = entries(disk);
    let (lab, rx) = (&stored[0], &stored[1]);

    // The patient still opens its record through its restored history.
    let lab_accepted = accepted(&srs, &srs_key, lab)?;
    assert_eq!(
        patient.open_entry_with_history(lab, &lab_accepted, &histories[0])?,
        b"HbA1c 5.4 %"
    );

    // A grant and a revoke after the restart: the doctor loses "medical"; the pharmacy gets
    // it with its history (it can read the lab result written before).
    let current = histories[0]
        .current()
        .expect("the patient's newest ACL")
        .clone();
    let v2 = patient.update(
        &current,
        until,
        &[
            Change::RevokeRead {
                section: medical,
                reader: doctor_k.bundle().fingerprint(),
            },
            Change::GrantRead {
                section: medical,
                reader: pharmacy_k.bundle(),
                history: History::All,
            },
        ],
        &mut rng,
    )?;
    act(
        &mut srs,
        &patient_c,
        Operation::ApplyUpdate(v2.clone()),
        now,
        &mut rng,
    )?;
    for h in &mut histories {
        h.accept(v2.acl(), now)?;
    }

    // Someone replays the older ACL: every restored history refuses it (a fresh verifier
    // would have accepted it, and the hospital would have sealed to the retired epoch).
    let v1 = sesphr::phr::SignedAcl::from_bytes(&disk.load("attacker.v1"))?;
    for h in &mut histories {
        assert!(matches!(
            h.accept(&v1, now).unwrap_err(),
            Error::AclRejected {
                problem: AclProblem::Stale { seen },
                ..
            } if seen == AclVersion::new(2)
        ));
    }

    // The hospital writes to the newest version it knows: the rotated epoch.
    let new_lab =
        hospital_k.seal_entry_with_history(&histories[1], medical, b"eGFR 92", now, &mut rng)?;
    assert_eq!(new_lab.header().acl_version(), AclVersion::new(2));
    assert_eq!(
        new_lab.key_block().epoch(),
        histories[1]
            .current()
            .and_then(|a| a.section(&medical))
            .map(|s| s.epoch())
            .expect("medical section")
    );
    submit(&mut srs, hospital, &new_lab, now, &mut rng)?;
    put_entry(disk, &new_lab)?;

    // The pharmacy reads the old entry (its header names v1, kept in the history) and the
    // new one (v2); the doctor is refused both.
    let p = &histories[3];
    for (entry, text) in [
        (lab, &b"HbA1c 5.4 %"[..]),
        (&new_lab, b"eGFR 92"),
        (rx, b"metformin 500 mg"),
    ] {
        assert_eq!(
            read(&mut srs, &srs_key, pharmacy, p, entry, now, &mut rng)?,
            text
        );
    }
    let d = &histories[2];
    for entry in [lab, &new_lab] {
        assert!(matches!(
            read(&mut srs, &srs_key, doctor, d, entry, now, &mut rng).unwrap_err(),
            Error::NotAuthorized {
                refusal: Refusal::NoReadRight,
                ..
            }
        ));
    }
    assert_eq!(record, new_lab.header().record());
    println!(
        "run 2: state reloaded from {} files; ACL v2 (doctor revoked, pharmacy granted with \
         history); rollback to v1 refused by all 4 histories; 1 entry written to the new \
         epoch; pharmacy read 3 entries, doctor refused 2",
        fs::read_dir(&disk.0).map(|d| d.count()).unwrap_or(0)
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("sesphr-persistence-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("create a temporary directory");
    let disk = Disk(dir);
    let now = Timestamp::new(1_764_000_000);
    let until = Timestamp::new(now.get() + 365 * 24 * 3600);

    first_run(&disk, now, until)?;
    // Everything of run 1 is dropped here: run 2 starts from the files alone.
    let later = Timestamp::new(now.get() + 3600);
    let result = second_run(&disk, later, until);
    fs::remove_dir_all(&disk.0).expect("remove the temporary directory");
    result?;
    println!("persistence: ok");
    Ok(())
}
