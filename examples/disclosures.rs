//! The patient's accounting of disclosures (SPEC §9): a record read by a doctor and a
//! pharmacist, a revoked reader refused, then the patient's verified accounting printed as a
//! table. Then the SRS forks its log — it serves the pharmacist from a copy of its database
//! and leaves that re-encryption out of the history the patient sees — and both the patient
//! (checking the pharmacist's receipt against its accounting) and a witness (shown both
//! checkpoints) catch it, with the two signed checkpoints as evidence.
//!
//!     cargo run --release --example disclosures

use std::collections::BTreeMap;
use std::sync::Arc;

use sesphr::log::{ConsistencyProof, DisclosureReceipt, Event, LogView, Witness};
use sesphr::phr::{
    Change, Fingerprint, History, Owner, PrincipalId, PrincipalKeys, RecordId, Role, SealedEntry,
    SectionName, Timestamp,
};
use sesphr::rand_core::OsRng;
use sesphr::sign::SigningKey;
use sesphr::srs::{
    Client, MemoryStore, Operation, Refusal, Response, SignedOperation, Srs, SrsConfig,
};
use sesphr::Error;

type Handle = Srs<Arc<MemoryStore>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a signed operation; returns its response.
fn run(srs: &mut Handle, op: &SignedOperation, now: Timestamp) -> Result<Response, Error> {
    srs.execute(op, now, &mut OsRng)
}

/// A reader asks for one entry; returns the receipt of the disclosure, if it was served.
fn read(
    srs: &mut Handle,
    reader: &Client<'_>,
    record: RecordId,
    entry: &SealedEntry,
    now: Timestamp,
) -> Result<Result<DisclosureReceipt, Refusal>, Error> {
    let ask = reader.sign(
        Operation::Reencrypt {
            record,
            entries: vec![entry.header().entry()],
        },
        now,
        &mut OsRng,
    )?;
    let Response::Reencrypted { mut items, receipt } = run(srs, &ask, now)? else {
        unreachable!("a re-encryption is answered item by item");
    };
    if let Some(receipt) = &receipt {
        // The reader checks that exactly what it was served is in the log, and keeps the
        // receipt.
        receipt.verify(&srs.verifying_key(), &ask, &items)?;
    }
    match (items.pop(), receipt) {
        (Some(Ok(_)), Some(receipt)) => Ok(Ok(*receipt)),
        (Some(Err(refusal)), None) => Ok(Err(refusal)),
        other => unreachable!("{other:?}"),
    }
}

/// The patient's audit of its record's log, from its saved view, page by page.
fn audit(
    srs: &mut Handle,
    patient: &Client<'_>,
    record: RecordId,
    view: &mut LogView,
    now: Timestamp,
) -> Result<sesphr::log::Accounting, Error> {
    let mut audit = view.audit();
    loop {
        let from = audit.next_from();
        let op = patient.sign(Operation::Audit { record, from }, now, &mut OsRng)?;
        let Response::Audit(page) = run(srs, &op, now)? else {
            unreachable!("an audit is answered with a page");
        };
        if audit.add_page(&page, &srs.verifying_key())? {
            return audit.finish(view);
        }
    }
}

fn main() -> Result<(), Error> {
    let mut rng = OsRng;
    let now = Timestamp::new(1_764_000_000);
    let until = Timestamp::new(now.get() + 365 * 24 * 3600);
    let store = Arc::new(MemoryStore::new());
    let srs_key = SigningKey::random(&mut rng);
    let mut srs = Srs::new(
        store.clone(),
        srs_key.clone(),
        "disclosures",
        SrsConfig::default(),
    );

    // The cast: an administrator, the patient, a hospital, a doctor, a pharmacist and a
    // physiotherapist who will be revoked.
    let admin = PrincipalKeys::random(&mut rng);
    let owner = Owner::random(&mut rng);
    let [hospital, doctor, pharmacist, physio] = [(); 4].map(|()| PrincipalKeys::random(&mut rng));
    let id = |_| PrincipalId::random(&mut OsRng);
    let admin_c = Client::new(&admin, id(()), srs.id());
    let patient = Client::new(owner.keys(), id(()), srs.id());
    let hospital_c = Client::new(&hospital, id(()), srs.id());
    let doctor_c = Client::new(&doctor, id(()), srs.id());
    let pharmacist_c = Client::new(&pharmacist, id(()), srs.id());
    let physio_c = Client::new(&physio, id(()), srs.id());
    srs.bootstrap(&admin_c.register(Role::Admin, now, &mut rng)?, now)?;
    for (c, role) in [
        (&patient, Role::Patient),
        (&hospital_c, Role::Hospital),
        (&doctor_c, Role::Doctor),
        (&pharmacist_c, Role::Pharmacist),
        (&physio_c, Role::Doctor),
    ] {
        run(&mut srs, &c.register(role, now, &mut rng)?, now)?;
        let activate = admin_c.sign(Operation::Activate { target: c.id() }, now, &mut rng)?;
        run(&mut srs, &activate, now)?;
    }
    // The patient's own labels for the fingerprints it approved (checked out of band).
    let labels: BTreeMap<Fingerprint, &str> = [
        (doctor.bundle().fingerprint(), "Dr. Okafor (GP)"),
        (pharmacist.bundle().fingerprint(), "Riverside Pharmacy"),
        (physio.bundle().fingerprint(), "Physio clinic"),
    ]
    .into();

    // The record: "medical" (doctor, physio) and "prescriptions" (doctor, pharmacist).
    let record = owner.record_id("main")?;
    let medical = owner.section_id(&SectionName::new("medical")?);
    let rx = owner.section_id(&SectionName::new("prescriptions")?);
    let grant = |section, reader: &PrincipalKeys| Change::GrantRead {
        section,
        reader: reader.bundle(),
        history: History::None,
    };
    let update = owner.create_record(
        record,
        until,
        &[
            Change::AddSection { section: medical },
            Change::AddSection { section: rx },
            Change::GrantWrite {
                section: medical,
                writer: hospital.bundle(),
            },
            Change::GrantWrite {
                section: rx,
                writer: hospital.bundle(),
            },
            grant(medical, &doctor),
            grant(medical, &physio),
            grant(rx, &doctor),
            grant(rx, &pharmacist),
        ],
        &mut rng,
    )?;
    run(
        &mut srs,
        &patient.sign(Operation::ApplyUpdate(update.clone()), now, &mut rng)?,
        now,
    )?;
    let acl = update.acl().verify(&owner.verifying_key())?;

    // The hospital writes a note and a prescription.
    let note = hospital.seal_entry(&acl, medical, b"knee: MRI clear", now, &mut rng)?;
    let script = hospital.seal_entry(&acl, rx, b"ibuprofen 400 mg", now, &mut rng)?;
    for e in [&note, &script] {
        run(
            &mut srs,
            &hospital_c.sign(e.submission(), now, &mut rng)?,
            now,
        )?;
    }

    // Reads: the doctor both, the pharmacist the prescription, the physio the note.
    let t = |minutes: u64| Timestamp::new(now.get() + 60 * minutes);
    read(&mut srs, &doctor_c, record, &note, t(1))?.expect("granted");
    read(&mut srs, &doctor_c, record, &script, t(2))?.expect("granted");
    read(&mut srs, &pharmacist_c, record, &script, t(3))?.expect("granted");
    read(&mut srs, &physio_c, record, &note, t(4))?.expect("granted");

    // The patient revokes the physio; its next request is refused, and not logged.
    let revoke = owner.update(
        &acl,
        until,
        &[Change::RevokeRead {
            section: medical,
            reader: physio.bundle().fingerprint(),
        }],
        &mut rng,
    )?;
    run(
        &mut srs,
        &patient.sign(Operation::ApplyUpdate(revoke), t(5), &mut rng)?,
        t(5),
    )?;
    let refused = read(&mut srs, &physio_c, record, &note, t(6))?;
    assert_eq!(refused, Err(Refusal::NoReadRight));
    println!(
        "physio after revocation: refused ({:?})",
        Refusal::NoReadRight
    );

    // A witness cosigns the log as it stands.
    let mut witness = Witness::new(SigningKey::random(&mut rng), srs.verifying_key());
    let cp = srs.checkpoint(record)?.expect("a log");
    witness.cosign(&cp, &ConsistencyProof::new(0, 0, vec![])?, t(6), &mut rng)?;

    // The patient's verified accounting.
    let mut view = LogView::new(record);
    let accounting = audit(&mut srs, &patient, record, &mut view, t(7))?;
    let section = |s| {
        if s == medical {
            "medical"
        } else {
            "prescriptions"
        }
    };
    println!(
        "\naccounting of disclosures ({} events, checkpoint of size {}):",
        accounting.events().len(),
        view.size()
    );
    println!(
        "{:<6} {:<12} {:<22} {:<14} entry",
        "leaf", "time", "reader", "section"
    );
    let mut rows = 0;
    for d in accounting.disclosures() {
        for item in d.items {
            println!(
                "{:<6} {:<12} {:<22} {:<14} {}…",
                d.index,
                format!("+{} min", (d.time.get() - now.get()) / 60),
                labels.get(d.reader).copied().unwrap_or("(unknown key)"),
                section(item.section),
                hex(&item.entry.as_bytes()[..4])
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 4, "four disclosures, the refused one not among them");
    let other = accounting
        .events()
        .iter()
        .filter(|e| !matches!(e.leaf.event(), Event::Disclosed { .. }))
        .count();
    println!("(and {other} other events: ACL versions, accepted entries)");

    // The SRS forks: it serves the pharmacist again from a copy of its database, and goes on
    // with another history for everyone else.
    let copy = Arc::new(MemoryStore::from_rows(store.rows().expect("rows")));
    let mut fork = Srs::new(copy, srs_key, "disclosures", SrsConfig::default());
    let hidden = read(&mut fork, &pharmacist_c, record, &script, t(8))?.expect("served");
    read(&mut srs, &doctor_c, record, &script, t(8))?.expect("served");
    println!(
        "\nforked: the pharmacist holds a receipt for leaf {}, the patient's log has another",
        hidden.proof().index()
    );

    // The patient audits again and checks the receipt the pharmacist forwarded.
    let latest = audit(&mut srs, &patient, record, &mut view, t(9))?;
    match latest.check_receipt(&hidden, &srs.verifying_key()) {
        Err(Error::LogFork(e)) => println!(
            "patient: fork evidence, two SRS-signed checkpoints of size {} with roots {}… and {}…",
            e.first.checkpoint_unverified().size,
            hex(&e.first.checkpoint_unverified().root[..4]),
            hex(&e.second.checkpoint_unverified().root[..4])
        ),
        other => panic!("the fork went unnoticed: {other:?}"),
    }

    // The witness, asked to cosign both branches, cosigns one and refuses the other.
    let held = witness
        .last(record)
        .expect("cosigned")
        .checkpoint_unverified()
        .size;
    let main = srs.checkpoint(record)?.expect("a log");
    let size = main.checkpoint_unverified().size;
    witness.cosign(&main, &srs.consistency(record, held, size)?, t(9), &mut rng)?;
    let forked = fork.checkpoint(record)?.expect("a log");
    let proof = fork.consistency(record, held, size)?;
    match witness.cosign(&forked, &proof, t(9), &mut rng) {
        Err(Error::LogFork(_)) => println!("witness: refuses to cosign the forked checkpoint"),
        other => panic!("the witness cosigned a fork: {other:?}"),
    }
    Ok(())
}
