//! Reference integration: the hospital / patient / doctor flow of SeSPHR, on an SRS run as a
//! service: two SRS instances (the admin desk's and the clinic's) share one store, and every
//! operation is signed by the principal it acts for.
//!
//! A patient registers; two hospitals register and are activated by the admin; the doctor
//! logs in with a signed operation; the hospitals write lab results and imaging through the
//! SRS's write gate; a doctor requests access to both sections, and the patient approves one
//! and declines the other; the doctor reads both in one batch and gets one refusal; a
//! pharmacist is granted medications only; the doctor leaves and is revoked; new entries are
//! unreadable to them.
//!
//!     cargo run --example hospital_flow

use std::sync::Arc;

use sesphr::phr::{
    Change, History, Owner, PrincipalId, PrincipalKeys, RecordId, Right, Role, SealedEntry,
    SectionName, Timestamp, VerifiedAcl,
};
use sesphr::rand_core::{CryptoRng, OsRng, RngCore};
use sesphr::sign::{SigningKey, VerifyingKey};
use sesphr::srs::{
    Accepted, Client, MemoryStore, Operation, Refusal, Response, Srs, SrsConfig, StoreError,
};
use sesphr::Error;

/// An SRS instance of this deployment: its handle over the shared store.
type Instance = Srs<Arc<MemoryStore>>;

/// Signs `op` as `who` at `now` and runs it on `srs`. A conflict means another instance
/// changed a row this operation read; nothing was written, so the same signed operation is
/// simply run again.
fn act<R: RngCore + CryptoRng>(
    srs: &mut Instance,
    who: &Client<'_>,
    op: Operation,
    now: Timestamp,
    rng: &mut R,
) -> Result<Response, Error> {
    let signed = who.sign(op, now, rng)?;
    let mut tries = 0;
    loop {
        match srs.execute(&signed, now, rng) {
            Err(Error::Store(StoreError::Conflict)) if tries < 3 => tries += 1,
            other => return other,
        }
    }
}

/// A writer's submission to the write gate: the SRS's receipt, checked.
fn submit<R: RngCore + CryptoRng>(
    srs: &mut Instance,
    writer: &Client<'_>,
    entry: &SealedEntry,
    now: Timestamp,
    rng: &mut R,
) -> Result<Accepted, Error> {
    let Response::Accepted(receipt) = act(srs, writer, entry.submission(), now, rng)? else {
        unreachable!("an accepted entry is answered with its receipt")
    };
    receipt.verify(&srs.verifying_key(), entry.header())
}

/// A reader's batch: one signed operation asks for every entry; each item is opened with
/// the SRS's current key block, the entry's receipt and the ACL version the entry names
/// (fetched from the SRS, checked against the patient's key), or shows the SRS's refusal.
#[allow(clippy::too_many_arguments)]
fn read_batch<R: RngCore + CryptoRng>(
    srs: &mut Instance,
    reader: &Client<'_>,
    who: &str,
    record: RecordId,
    entries: &[(&str, &SealedEntry, &Accepted)],
    patient: &VerifyingKey,
    now: Timestamp,
    rng: &mut R,
) -> Result<(), Error> {
    let ids = entries.iter().map(|(_, e, _)| e.header().entry()).collect();
    let op = Operation::Reencrypt {
        record,
        entries: ids,
    };
    let Response::Reencrypted { items, .. } = act(srs, reader, op, now, rng)? else {
        unreachable!("a re-encryption batch is answered item by item")
    };
    for ((name, entry, accepted), item) in entries.iter().zip(items) {
        match item {
            Ok(item) => {
                let named = acl(srs, record, Some(entry), patient)?;
                let size = item.recapsule.to_bytes().len();
                let entry = (*entry).clone().with_key_block(item.key_block);
                let text = reader
                    .keys()
                    .open_entry(&entry, accepted, &item.recapsule, &named)?;
                println!(
                    "  {who} reads {name}: {:?} (re-encrypted capsule: {size} bytes)",
                    String::from_utf8_lossy(&text)
                );
            }
            Err(refusal) => println!("  {who} asking for {name}: refused by the SRS ({refusal})"),
        }
    }
    Ok(())
}

/// What a reader or writer fetches from the SRS: an ACL version of the record (the newest,
/// or the one an entry names), accepted only with the patient's signature.
fn acl(
    srs: &Instance,
    record: RecordId,
    entry: Option<&SealedEntry>,
    patient: &VerifyingKey,
) -> Result<VerifiedAcl, Error> {
    let signed = match entry {
        Some(e) => srs.acl_version(record, e.header().acl_version())?,
        None => srs.acl(record)?,
    };
    signed
        .ok_or(Error::NotAuthorized {
            refusal: Refusal::NoAcl,
            section: None,
            epoch: None,
            principal: None,
        })?
        .verify(patient)
}

fn main() -> Result<(), Error> {
    let mut rng = OsRng;
    let mut clock = 1_764_000_000u64;
    let until = Timestamp::new(clock + 3600 * 24 * 365);
    let mut now = || {
        clock += 60;
        Timestamp::new(clock)
    };

    println!("== the service");
    // One store (a database in production) and two SRS instances over it, configured alike:
    // same signing key and deployment name, hence the same SRS id.
    let store = Arc::new(MemoryStore::new());
    let srs_key = SigningKey::random(&mut rng);
    let config = SrsConfig::default();
    let mut desk = Srs::new(store.clone(), srs_key.clone(), "hospital-flow", config);
    let mut clinic = Srs::new(store.clone(), srs_key, "hospital-flow", config);
    assert_eq!(desk.id(), clinic.id());
    println!("  two SRS instances, id {:?}, one shared store", desk.id());

    println!("== registration (at the admin desk's instance)");
    let admin = PrincipalKeys::random(&mut rng);
    let admin_c = Client::new(&admin, PrincipalId::random(&mut rng), desk.id());
    let t = now();
    desk.bootstrap(&admin_c.register(Role::Admin, t, &mut rng)?, t)?;
    let patient = Owner::random(&mut rng);
    let (st_mary, city_lab, doctor, pharmacist) = (
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
    );
    let srs_id = desk.id();
    let patient_c = Client::new(patient.keys(), PrincipalId::random(&mut rng), srs_id);
    let st_mary_c = Client::new(&st_mary, PrincipalId::random(&mut rng), srs_id);
    let city_lab_c = Client::new(&city_lab, PrincipalId::random(&mut rng), srs_id);
    let doctor_c = Client::new(&doctor, PrincipalId::random(&mut rng), srs_id);
    let pharmacist_c = Client::new(&pharmacist, PrincipalId::random(&mut rng), srs_id);
    let everyone = [
        (patient_c, Role::Patient, "patient"),
        (st_mary_c, Role::Hospital, "St Mary's hospital"),
        (city_lab_c, Role::Hospital, "City Lab"),
        (doctor_c, Role::Doctor, "Dr Okafor"),
        (pharmacist_c, Role::Pharmacist, "pharmacist"),
    ];
    for (c, role, name) in everyone {
        let t = now();
        desk.execute(&c.register(role, t, &mut rng)?, t, &mut rng)?;
        println!(
            "  {name:<20} registered as {role:?}; fingerprint to compare: {}",
            c.keys().bundle().fingerprint().short()
        );
    }
    for (c, ..) in everyone {
        let target = c.id();
        act(
            &mut desk,
            &admin_c,
            Operation::Activate { target },
            now(),
            &mut rng,
        )?;
    }
    println!("  admin activated all five after comparing fingerprints out of band");
    // Everything from here on goes to the clinic's instance: the registrations are rows in
    // the shared store, so it knows everyone.
    if let Response::Status { role, active } =
        act(&mut clinic, &doctor_c, Operation::Login, now(), &mut rng)?
    {
        println!("  Dr Okafor logged in at the clinic's instance (signed operation): {role:?}, active: {active}");
    }

    println!("== the patient's record");
    let names =
        ["lab-results", "imaging", "medications"].map(|n| SectionName::new(n).expect("valid name"));
    let [lab, imaging, meds] = names.clone().map(|n| patient.section_id(&n));
    let record = patient.record_id("my record")?;
    let v1 = patient.create_record(
        record,
        until,
        &[
            Change::AddSection { section: lab },
            Change::AddSection { section: imaging },
            Change::AddSection { section: meds },
            Change::GrantWrite {
                section: lab,
                writer: city_lab.bundle(),
            },
            Change::GrantWrite {
                section: imaging,
                writer: st_mary.bundle(),
            },
            Change::GrantWrite {
                section: meds,
                writer: st_mary.bundle(),
            },
        ],
        &mut rng,
    )?;
    act(
        &mut clinic,
        &patient_c,
        Operation::ApplyUpdate(v1),
        now(),
        &mut rng,
    )?;
    let patient_key = patient.verifying_key();
    println!(
        "  sections {} (names stay on the patient's phone; the SRS sees opaque ids)",
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    println!("== hospitals write through the write gate");
    let acl1 = acl(&clinic, record, None, &patient_key)?;
    let hba1c = city_lab.seal_entry(&acl1, lab, b"HbA1c 5.4 % (2025-11-20)", now(), &mut rng)?;
    let hba1c_ok = submit(&mut clinic, &city_lab_c, &hba1c, now(), &mut rng)?;
    let xray = st_mary.seal_entry(
        &acl1,
        imaging,
        b"Chest X-ray: no acute findings",
        now(),
        &mut rng,
    )?;
    let xray_ok = submit(&mut clinic, &st_mary_c, &xray, now(), &mut rng)?;
    println!(
        "  City Lab wrote lab results ({} bytes sealed); St Mary's wrote imaging ({} bytes); \
         both accepted with signed receipts",
        hba1c.to_bytes()?.len(),
        xray.to_bytes()?.len()
    );
    match city_lab.seal_entry(&acl1, imaging, b"not mine to write", now(), &mut rng) {
        Err(e) => println!("  City Lab writing imaging: refused ({e})"),
        Ok(_) => unreachable!("City Lab has no write right on imaging"),
    }

    println!("== the doctor asks for lab results and imaging");
    let ask = Operation::Request {
        record,
        right: Right::Read(Some(History::All)),
        sections: vec![lab, imaging],
    };
    let Response::RequestFiled(req) = act(&mut clinic, &doctor_c, ask, now(), &mut rng)? else {
        unreachable!("a request is answered with its id")
    };
    let approval = patient.update(
        &acl(&clinic, record, None, &patient_key)?,
        until,
        &[Change::GrantRead {
            section: lab,
            reader: doctor.bundle(),
            history: History::All,
        }],
        &mut rng,
    )?;
    let approve = Operation::Approve {
        request: req,
        update: approval,
    };
    act(&mut clinic, &patient_c, approve, now(), &mut rng)?;
    // The admin desk's instance sees the clinic's writes: one store.
    let r = desk.request(req)?.expect("just approved");
    println!(
        "  patient approved lab results, declined imaging: request {}, granted {} of {} sections",
        r.state(),
        r.granted().len(),
        r.sections().len()
    );
    for (state, at) in r.history() {
        println!("    {state} at t={}", at.get());
    }

    println!("== the doctor reads (one batch)");
    read_batch(
        &mut clinic,
        &doctor_c,
        "Dr Okafor",
        record,
        &[
            ("lab results", &hba1c, &hba1c_ok),
            ("imaging", &xray, &xray_ok),
        ],
        &patient_key,
        now(),
        &mut rng,
    )?;

    println!("== a pharmacist gets medications only");
    let ask = Operation::Request {
        record,
        right: Right::Read(None),
        sections: vec![meds],
    };
    let Response::RequestFiled(rx_req) = act(&mut clinic, &pharmacist_c, ask, now(), &mut rng)?
    else {
        unreachable!("a request is answered with its id")
    };
    let grant = patient.update(
        &acl(&clinic, record, None, &patient_key)?,
        until,
        &[Change::GrantRead {
            section: meds,
            reader: pharmacist.bundle(),
            history: History::None,
        }],
        &mut rng,
    )?;
    let approve = Operation::Approve {
        request: rx_req,
        update: grant,
    };
    if let Response::Approved(state) = act(&mut clinic, &patient_c, approve, now(), &mut rng)? {
        println!("  request {state}");
    }
    let current = acl(&clinic, record, None, &patient_key)?;
    let rx = st_mary.seal_entry(
        &current,
        meds,
        b"Metformin 500 mg twice daily",
        now(),
        &mut rng,
    )?;
    let rx_ok = submit(&mut clinic, &st_mary_c, &rx, now(), &mut rng)?;
    read_batch(
        &mut clinic,
        &pharmacist_c,
        "the pharmacist",
        record,
        &[
            ("medications", &rx, &rx_ok),
            ("lab results", &hba1c, &hba1c_ok),
            ("imaging", &xray, &xray_ok),
        ],
        &patient_key,
        now(),
        &mut rng,
    )?;

    println!("== the doctor leaves and is revoked");
    let revoke = patient.update(
        &acl(&clinic, record, None, &patient_key)?,
        until,
        &[Change::RevokeRead {
            section: lab,
            reader: doctor.bundle().fingerprint(),
        }],
        &mut rng,
    )?;
    let deleted = revoke.keys_to_delete().len();
    act(
        &mut clinic,
        &patient_c,
        Operation::ApplyUpdate(revoke),
        now(),
        &mut rng,
    )?;
    let current = acl(&clinic, record, None, &patient_key)?;
    println!(
        "  SRS deleted {deleted} re-encryption key(s); lab-results moved to epoch {}",
        current.section(&lab).expect("section exists").epoch().get()
    );
    let later = city_lab.seal_entry(&current, lab, b"HbA1c 5.1 % (2026-02-01)", now(), &mut rng)?;
    let later_ok = submit(&mut clinic, &city_lab_c, &later, now(), &mut rng)?;
    read_batch(
        &mut clinic,
        &doctor_c,
        "the former doctor",
        record,
        &[
            ("the new lab result", &later, &later_ok),
            ("the old one", &hba1c, &hba1c_ok),
        ],
        &patient_key,
        now(),
        &mut rng,
    )?;
    let text = patient.open_entry(&later, &later_ok, &current)?;
    println!(
        "  the patient still reads everything: {:?}",
        String::from_utf8_lossy(&text)
    );
    println!(
        "  the store now holds {} rows; the last operation touched {}",
        store.len(),
        clinic.rows_touched()
    );
    Ok(())
}
