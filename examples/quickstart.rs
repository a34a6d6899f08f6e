//! Quickstart: an owner creates a record section, grants a doctor, a hospital writes an entry,
//! the SRS re-encrypts it for the doctor, the doctor decrypts it. Prints each step and the
//! sizes of what crossed the wire.
//!
//!     cargo run --release --example quickstart

use sesphr::phr::{
    Change, History, Owner, PrincipalId, PrincipalKeys, Role, SectionName, Srs, Timestamp,
};
use sesphr::rand_core::OsRng;

fn main() -> Result<(), sesphr::Error> {
    let mut rng = OsRng;
    let now = Timestamp(1_764_000_000);
    let until = Timestamp(now.0 + 365 * 24 * 3600);

    // The SRS and its administrator.
    let admin = PrincipalKeys::random(&mut rng);
    let admin_id = PrincipalId::random(&mut rng);
    let mut srs = Srs::new(admin_id, admin.bundle(), &admin.prove_possession(&mut rng)?)?;

    // Every principal makes its own keys; the SRS never sees a secret.
    let owner = Owner::random(&mut rng);
    let hospital = PrincipalKeys::random(&mut rng);
    let doctor = PrincipalKeys::random(&mut rng);
    let (owner_id, hospital_id, doctor_id) = (
        PrincipalId::random(&mut rng),
        PrincipalId::random(&mut rng),
        PrincipalId::random(&mut rng),
    );
    for (id, role, keys) in [
        (owner_id, Role::Patient, owner.keys()),
        (hospital_id, Role::Hospital, &hospital),
        (doctor_id, Role::Doctor, &doctor),
    ] {
        srs.register(id, role, keys.bundle(), &keys.prove_possession(&mut rng)?)?;
        srs.activate(admin_id, id)?;
        println!(
            "registered and activated {role:?}, key fingerprint {}",
            keys.bundle().fingerprint().short()
        );
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
    srs.apply_update(owner_id, &update, now)?;
    println!(
        "owner signed ACL v{} ({} bytes) and sent {} re-encryption key(s) ({} bytes each)",
        update.acl().acl_unverified().version().0,
        update.acl().to_bytes().len(),
        update.keys_to_add().len(),
        sesphr::pre::ReKey::SIZE
    );

    // The hospital checks the ACL against the owner's key and writes an entry.
    let acl = update.acl().verify(&owner.verifying_key())?;
    let plaintext = b"2025-11-24 HbA1c 5.4 % (ref. 4.0-5.6)";
    let entry = hospital.seal_entry(&acl, medical, plaintext, now, &mut rng)?;
    let entry_bytes = entry.to_bytes()?;
    println!(
        "hospital sealed a {}-byte entry into {} bytes (signed, to the section key)",
        plaintext.len(),
        entry_bytes.len()
    );

    // The SRS re-encrypts the capsule for the doctor: 48 bytes in, 626 bytes out.
    let recapsule = srs.reencrypt(doctor_id, entry.header(), entry.key_block(), now)?;
    println!(
        "SRS re-encrypted the capsule for the doctor: {} bytes",
        recapsule.to_bytes().len()
    );

    // The doctor decrypts; the owner can too.
    let opened = doctor.open_entry(
        &sesphr::phr::SealedEntry::from_bytes(&entry_bytes)?,
        &recapsule,
        &acl,
    )?;
    assert_eq!(opened, plaintext);
    println!("doctor decrypted: {:?}", String::from_utf8_lossy(&opened));
    assert_eq!(owner.open_entry(&entry, &acl)?, plaintext);
    println!("owner decrypted it with the derived section key");

    // Someone else is refused by the SRS.
    let stranger = PrincipalKeys::random(&mut rng);
    let stranger_id = PrincipalId::random(&mut rng);
    srs.register(
        stranger_id,
        Role::Researcher,
        stranger.bundle(),
        &stranger.prove_possession(&mut rng)?,
    )?;
    srs.activate(admin_id, stranger_id)?;
    let refused = srs
        .reencrypt(stranger_id, entry.header(), entry.key_block(), now)
        .unwrap_err();
    println!("SRS refused a researcher without a grant: {refused}");
    Ok(())
}
