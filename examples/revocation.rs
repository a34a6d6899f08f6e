//! Reference integration: what revocation protects, with epochs, re-wrap and re-seal.
//!
//! 1. Revoking a reader rotates the section's epoch: entries written afterwards use a key the
//!    reader can never be given (forward access control).
//! 2. Older entries keep their old key block. An SRS that (wrongly) kept the old
//!    re-encryption key could still serve them; **re-wrap** moves them to the new epoch
//!    without touching bodies or writer signatures, so that stops working for any reader who
//!    never obtained the entry's data key.
//! 3. A reader who already opened an entry knows its data key: only **re-seal** (fresh data
//!    key, new body) cuts that off.
//!
//!     cargo run --example revocation

use sesphr::phr::{
    Change, History, Owner, PrincipalId, PrincipalKeys, Role, SectionName, Srs, Timestamp,
};
use sesphr::pre::ReCapsule;
use sesphr::rand_core::OsRng;
use sesphr::Error;

fn main() -> Result<(), Error> {
    let mut rng = OsRng;
    let now = Timestamp(1_764_000_000);
    let until = Timestamp(now.0 + 86_400 * 365);
    let admin = PrincipalKeys::random(&mut rng);
    let admin_id = PrincipalId::random(&mut rng);
    let mut srs = Srs::new(admin_id, admin.bundle(), &admin.prove_possession(&mut rng)?)?;
    let owner = Owner::random(&mut rng);
    let (hospital, doctor) = (
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
    );
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
    }
    let record = owner.record_id("record")?;
    let mh = owner.section_id(&SectionName::new("mental-health")?);
    let v1 = owner.create_record(
        record,
        until,
        &[
            Change::AddSection { section: mh },
            Change::GrantWrite {
                section: mh,
                writer: hospital.bundle(),
            },
            Change::GrantRead {
                section: mh,
                reader: doctor.bundle(),
                history: History::None,
            },
        ],
        &mut rng,
    )?;
    srs.apply_update(owner_id, &v1, now)?;
    let acl1 = v1.acl().verify(&owner.verifying_key())?;
    println!(
        "epoch {} — the doctor is a reader",
        acl1.section(&mh).expect("section").epoch().0
    );

    let seen = hospital.seal_entry(
        &acl1,
        mh,
        b"session notes, read by the doctor",
        now,
        &mut rng,
    )?;
    let unseen = hospital.seal_entry(
        &acl1,
        mh,
        b"session notes, never opened by the doctor",
        now,
        &mut rng,
    )?;
    let rc_seen = srs.reencrypt(doctor_id, seen.header(), seen.key_block(), now)?;
    doctor.open_entry(&seen, &rc_seen, &acl1)?;
    println!("the doctor opened one of two entries");
    // What a misbehaving SRS could keep: a re-encryption of the unseen entry's capsule made
    // before revocation (equivalently, the old re-encryption key).
    let kept: ReCapsule = srs.reencrypt(doctor_id, unseen.header(), unseen.key_block(), now)?;

    let revoke = owner.update(
        &acl1,
        until,
        &[Change::RevokeRead {
            section: mh,
            reader: doctor.bundle().fingerprint(),
        }],
        &mut rng,
    )?;
    srs.apply_update(owner_id, &revoke, now)?;
    let acl2 = revoke.acl().verify(&owner.verifying_key())?;
    println!(
        "revoked: {} key(s) deleted at the SRS, section moved to epoch {}",
        revoke.keys_to_delete().len(),
        acl2.section(&mh).expect("section").epoch().0
    );

    let after = hospital.seal_entry(&acl2, mh, b"written after revocation", now, &mut rng)?;
    println!(
        "new entry at epoch {}: SRS says {}",
        after.key_block().epoch().0,
        srs.reencrypt(doctor_id, after.header(), after.key_block(), now)
            .unwrap_err()
    );

    println!(
        "without re-wrap, a kept re-encryption still opens the unseen old entry: {}",
        doctor
            .open_entry(&unseen, &kept, &acl1)
            .map(|_| "yes")
            .unwrap_or("no")
    );
    let rewrapped = unseen
        .clone()
        .with_key_block(owner.rewrap(&unseen, &acl2, &mut rng)?);
    println!(
        "after re-wrap (epoch {}, body and writer signature unchanged: {}), the kept one opens it: {}",
        rewrapped.key_block().epoch().0,
        rewrapped.body() == unseen.body(),
        doctor.open_entry(&rewrapped, &kept, &acl1).map(|_| "yes").unwrap_or("no")
    );

    // Re-wrap cannot help against a reader that already holds the data key of `seen`:
    // the body is the same, so that key still opens it. Re-seal replaces the data key.
    let resealed = owner.reseal(&seen, &acl1, &acl2, now, &mut rng)?;
    println!(
        "re-seal: new body ({} bytes, differs: {}), signed by the owner; the old data key no longer applies",
        resealed.body().len(),
        resealed.body() != seen.body()
    );
    println!(
        "owner reads the re-sealed entry: {:?}",
        String::from_utf8_lossy(&owner.open_entry(&resealed, &acl2)?)
    );
    Ok(())
}
