//! Quickstart: an SRS over an in-memory store; principals register and are activated through
//! signed operations; an owner creates a record section and grants a doctor; a hospital writes
//! an entry through the SRS's write gate and gets a signed receipt; the SRS re-encrypts the
//! entry for the doctor, who opens it with the verified receipt. Prints each step and the
//! sizes of what crossed the wire.
//!
//!     cargo run --release --example quickstart

use sesphr::phr::{
    Change, History, Owner, PrincipalId, PrincipalKeys, Role, SealedEntry, SectionName, Timestamp,
};
use sesphr::rand_core::OsRng;
use sesphr::sign::SigningKey;
use sesphr::srs::{Client, MemoryStore, Operation, Receipt, Response, Srs, SrsConfig};
use sesphr::Error;

fn main() -> Result<(), Error> {
    let mut rng = OsRng;
    let now = Timestamp::new(1_764_000_000);
    let until = Timestamp::new(now.get() + 365 * 24 * 3600);

    // The SRS: a store of rows (a database in production), the key it signs receipts with,
    // and its deployment name. Clients sign every operation for this SRS id.
    let store = MemoryStore::new();
    let srs_key = SigningKey::random(&mut rng);
    let mut srs = Srs::new(&store, srs_key, "quickstart", SrsConfig::default());
    println!("SRS {:?} up over an empty in-memory store", srs.id());

    // Its first administrator registers itself, once per store.
    let admin = PrincipalKeys::random(&mut rng);
    let admin_c = Client::new(&admin, PrincipalId::random(&mut rng), srs.id());
    srs.bootstrap(&admin_c.register(Role::Admin, now, &mut rng)?, now)?;

    // Every principal makes its own keys; the SRS never sees a secret. A registration is
    // signed by the key being registered (its proof of possession); the admin activates.
    let owner = Owner::random(&mut rng);
    let hospital = PrincipalKeys::random(&mut rng);
    let doctor = PrincipalKeys::random(&mut rng);
    let owner_c = Client::new(owner.keys(), PrincipalId::random(&mut rng), srs.id());
    let hospital_c = Client::new(&hospital, PrincipalId::random(&mut rng), srs.id());
    let doctor_c = Client::new(&doctor, PrincipalId::random(&mut rng), srs.id());
    for (c, role) in [
        (owner_c, Role::Patient),
        (hospital_c, Role::Hospital),
        (doctor_c, Role::Doctor),
    ] {
        srs.execute(&c.register(role, now, &mut rng)?, now, &mut rng)?;
        let activate = admin_c.sign(Operation::Activate { target: c.id() }, now, &mut rng)?;
        srs.execute(&activate, now, &mut rng)?;
        println!(
            "registered and activated {role:?}, key fingerprint {}",
            c.keys().bundle().fingerprint().short()
        );
    }
    let login = doctor_c.sign(Operation::Login, now, &mut rng)?;
    if let Response::Status { role, active } = srs.execute(&login, now, &mut rng)? {
        println!("doctor logged in with a signed operation: {role:?}, active: {active}");
    }

    // The owner's record, its "medical" section, a writer and a reader.
    let record = owner.record_id("my health record")?;
    let medical = owner.section_id(&SectionName::new("medical")?);
    let update = owner.create_record(
        record,
        until,
        &[
            Change::AddSection { section: medical },
            Change::GrantWrite {
                section: medical,
                writer: hospital.bundle(),
            },
            Change::GrantRead {
                section: medical,
                reader: doctor.bundle(),
                history: History::None,
            },
        ],
        &mut rng,
    )?;
    let apply = owner_c.sign(Operation::ApplyUpdate(update.clone()), now, &mut rng)?;
    srs.execute(&apply, now, &mut rng)?;
    println!(
        "owner signed ACL v{} ({} bytes) and sent {} re-encryption key(s) ({} bytes each) \
         in a {}-byte signed operation",
        update.acl().acl_unverified().version().get(),
        update.acl().to_bytes().len(),
        update.keys_to_add().len(),
        sesphr::pre::ReKey::SIZE,
        apply.to_bytes().len()
    );

    // The hospital checks the ACL against the owner's key, seals an entry and submits it to
    // the SRS's write gate, which stores its header and key block and signs a receipt.
    let acl = update.acl().verify(&owner.verifying_key())?;
    let plaintext = b"2025-11-24 HbA1c 5.4 % (ref. 4.0-5.6)";
    let entry = hospital.seal_entry(&acl, medical, plaintext, now, &mut rng)?;
    let entry_bytes = entry.to_bytes()?;
    let submit = hospital_c.sign(entry.submission(), now, &mut rng)?;
    let Response::Accepted(receipt) = srs.execute(&submit, now, &mut rng)? else {
        unreachable!("an accepted entry is answered with its receipt")
    };
    println!(
        "hospital sealed a {}-byte entry into {} bytes; the write gate accepted it \
         ({}-byte submission, {}-byte signed receipt)",
        plaintext.len(),
        entry_bytes.len(),
        submit.to_bytes().len(),
        Receipt::SIZE
    );

    // The doctor asks for the entry by id; the SRS re-encrypts the key block it stored.
    let ask = Operation::Reencrypt {
        record,
        entries: vec![entry.header().entry()],
    };
    let Response::Reencrypted { items, .. } =
        srs.execute(&doctor_c.sign(ask, now, &mut rng)?, now, &mut rng)?
    else {
        unreachable!("a re-encryption batch is answered item by item")
    };
    let Some(Ok(item)) = items.into_iter().next() else {
        unreachable!("the doctor was granted the section")
    };
    println!(
        "SRS re-encrypted the capsule for the doctor: {} bytes",
        item.recapsule.to_bytes().len()
    );

    // Readers and the owner open an entry only with the SRS's receipt, checked against the
    // SRS key they were configured with.
    let accepted = receipt.verify(&srs.verifying_key(), entry.header())?;
    let fetched = SealedEntry::from_bytes(&entry_bytes)?;
    let opened = doctor.open_entry(&fetched, &accepted, &item.recapsule, &acl)?;
    assert_eq!(opened, plaintext);
    println!("doctor decrypted: {:?}", String::from_utf8_lossy(&opened));
    assert_eq!(owner.open_entry(&entry, &accepted, &acl)?, plaintext);
    println!("owner decrypted it with the derived section key");

    // Someone registered but without a grant gets a refusal for that item of its batch.
    let stranger = PrincipalKeys::random(&mut rng);
    let stranger_c = Client::new(&stranger, PrincipalId::random(&mut rng), srs.id());
    srs.execute(
        &stranger_c.register(Role::Researcher, now, &mut rng)?,
        now,
        &mut rng,
    )?;
    let activate = admin_c.sign(
        Operation::Activate {
            target: stranger_c.id(),
        },
        now,
        &mut rng,
    )?;
    srs.execute(&activate, now, &mut rng)?;
    let ask = Operation::Reencrypt {
        record,
        entries: vec![entry.header().entry()],
    };
    if let Response::Reencrypted { items, .. } =
        srs.execute(&stranger_c.sign(ask, now, &mut rng)?, now, &mut rng)?
    {
        for refusal in items.into_iter().filter_map(Result::err) {
            println!("SRS refused a researcher without a grant: {refusal}");
        }
    }

    // A network retry of the same signed submission gets the stored receipt back; nothing
    // is written twice.
    let rows = store.len();
    let Response::Accepted(again) = srs.execute(&submit, now, &mut rng)? else {
        unreachable!("a retry gets the stored response")
    };
    println!(
        "an exact retry of the submission returns the same receipt: {}; rows before and after: {rows}, {}",
        again == receipt,
        store.len()
    );
    Ok(())
}
