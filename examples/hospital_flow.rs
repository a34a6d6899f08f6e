//! Reference integration: the hospital / patient / doctor flow of SeSPHR.
//!
//! A patient registers; two hospitals register and are activated by the admin; a hospital
//! writes lab results and imaging; a doctor requests access to both sections, and the patient
//! approves one and declines the other; the doctor reads; a pharmacist is granted medications
//! only; the doctor leaves and is revoked; new entries are unreadable to them.
//!
//!     cargo run --example hospital_flow

use sesphr::phr::{
    Change, History, Owner, PrincipalId, PrincipalKeys, Right, Role, SectionName, SignedAcl, Srs,
    Timestamp, VerifiedAcl,
};
use sesphr::rand_core::OsRng;
use sesphr::Error;

/// The cloud store of this story: signed ACL versions, kept by the application (readers
/// check each entry against the ACL version it names).
struct AclHistory(Vec<SignedAcl>);

impl AclHistory {
    fn named(&self, entry: &sesphr::phr::SealedEntry, owner: &Owner) -> Result<VerifiedAcl, Error> {
        let v = entry.header().acl_version().0 as usize;
        self.0[v - 1].verify(&owner.verifying_key())
    }
    fn current(&self, owner: &Owner) -> Result<VerifiedAcl, Error> {
        self.0[self.0.len() - 1].verify(&owner.verifying_key())
    }
}

fn main() -> Result<(), Error> {
    let mut rng = OsRng;
    let mut clock = 1_764_000_000u64;
    let until = Timestamp(clock + 3600 * 24 * 365);
    let mut now = || {
        clock += 60;
        Timestamp(clock)
    };

    println!("== registration");
    let admin = PrincipalKeys::random(&mut rng);
    let admin_id = PrincipalId::random(&mut rng);
    let mut srs = Srs::new(admin_id, admin.bundle(), &admin.prove_possession(&mut rng)?)?;
    let patient = Owner::random(&mut rng);
    let (st_mary, city_lab, doctor, pharmacist) = (
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
        PrincipalKeys::random(&mut rng),
    );
    let ids: Vec<PrincipalId> = (0..5).map(|_| PrincipalId::random(&mut rng)).collect();
    let (patient_id, st_mary_id, city_lab_id, doctor_id, pharmacist_id) =
        (ids[0], ids[1], ids[2], ids[3], ids[4]);
    for (id, role, keys, name) in [
        (patient_id, Role::Patient, patient.keys(), "patient"),
        (st_mary_id, Role::Hospital, &st_mary, "St Mary's hospital"),
        (city_lab_id, Role::Hospital, &city_lab, "City Lab"),
        (doctor_id, Role::Doctor, &doctor, "Dr Okafor"),
        (pharmacist_id, Role::Pharmacist, &pharmacist, "pharmacist"),
    ] {
        srs.register(id, role, keys.bundle(), &keys.prove_possession(&mut rng)?)?;
        println!(
            "  {name:<20} registered as {role:?}; fingerprint to compare: {}",
            keys.bundle().fingerprint().short()
        );
    }
    for id in &ids {
        srs.activate(admin_id, *id)?;
    }
    println!("  admin activated all five after comparing fingerprints out of band");
    let ch = srs.login_challenge(doctor_id, &mut rng)?;
    srs.login(doctor_id, &doctor.answer_login(doctor_id, &ch, &mut rng)?)?;
    println!("  Dr Okafor logged in (challenge–response signature)");

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
    srs.apply_update(patient_id, &v1, now())?;
    let mut acls = AclHistory(vec![v1.acl().clone()]);
    println!(
        "  sections {} (names stay on the patient's phone; the SRS sees opaque ids)",
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    println!("== hospitals write");
    let acl = acls.current(&patient)?;
    let hba1c = city_lab.seal_entry(&acl, lab, b"HbA1c 5.4 % (2025-11-20)", now(), &mut rng)?;
    let xray = st_mary.seal_entry(
        &acl,
        imaging,
        b"Chest X-ray: no acute findings",
        now(),
        &mut rng,
    )?;
    println!(
        "  City Lab wrote lab results ({} bytes sealed); St Mary's wrote imaging ({} bytes)",
        hba1c.to_bytes()?.len(),
        xray.to_bytes()?.len()
    );
    match city_lab.seal_entry(&acl, imaging, b"not mine to write", now(), &mut rng) {
        Err(e) => println!("  City Lab writing imaging: refused ({e})"),
        Ok(_) => unreachable!("City Lab has no write right on imaging"),
    }

    println!("== the doctor asks for lab results and imaging");
    let req = srs.request(
        doctor_id,
        record,
        Right::Read(Some(History::All)),
        &[lab, imaging],
        now(),
    )?;
    let approval = patient.update(
        &acls.current(&patient)?,
        until,
        &[Change::GrantRead {
            section: lab,
            reader: doctor.bundle(),
            history: History::All,
        }],
        &mut rng,
    )?;
    srs.approve(patient_id, req, &approval, now())?;
    acls.0.push(approval.acl().clone());
    let r = srs.request_by_id(req).expect("just approved");
    println!(
        "  patient approved lab results, declined imaging: request {:?}, granted {} of {} sections",
        r.state(),
        r.granted().len(),
        r.sections().len()
    );
    for (state, at) in r.history() {
        println!("    {state} at t={}", at.0);
    }

    println!("== the doctor reads");
    let t = now();
    let rc = srs.reencrypt(doctor_id, hba1c.header(), hba1c.key_block(), t)?;
    let text = doctor.open_entry(&hba1c, &rc, &acls.named(&hba1c, &patient)?)?;
    println!(
        "  lab results: {:?} (re-encrypted capsule: {} bytes)",
        String::from_utf8_lossy(&text),
        rc.to_bytes().len()
    );
    match srs.reencrypt(doctor_id, xray.header(), xray.key_block(), t) {
        Err(e) => println!("  imaging: refused by the SRS ({e})"),
        Ok(_) => unreachable!("imaging was declined"),
    }

    println!("== a pharmacist gets medications only");
    let rx_req = srs.request(pharmacist_id, record, Right::Read(None), &[meds], now())?;
    let grant = patient.update(
        &acls.current(&patient)?,
        until,
        &[Change::GrantRead {
            section: meds,
            reader: pharmacist.bundle(),
            history: History::None,
        }],
        &mut rng,
    )?;
    srs.approve(patient_id, rx_req, &grant, now())?;
    acls.0.push(grant.acl().clone());
    let rx = st_mary.seal_entry(
        &acls.current(&patient)?,
        meds,
        b"Metformin 500 mg twice daily",
        now(),
        &mut rng,
    )?;
    let rc = srs.reencrypt(pharmacist_id, rx.header(), rx.key_block(), now())?;
    println!(
        "  pharmacist reads: {:?}",
        String::from_utf8_lossy(&pharmacist.open_entry(&rx, &rc, &acls.named(&rx, &patient)?)?)
    );
    for (name, entry) in [("lab results", &hba1c), ("imaging", &xray)] {
        if let Err(e) = srs.reencrypt(pharmacist_id, entry.header(), entry.key_block(), now()) {
            println!("  pharmacist asking for {name}: refused ({e})");
        }
    }

    println!("== the doctor leaves and is revoked");
    let revoke = patient.update(
        &acls.current(&patient)?,
        until,
        &[Change::RevokeRead {
            section: lab,
            reader: doctor.bundle().fingerprint(),
        }],
        &mut rng,
    )?;
    srs.apply_update(patient_id, &revoke, now())?;
    acls.0.push(revoke.acl().clone());
    let acl = acls.current(&patient)?;
    println!(
        "  SRS deleted {} re-encryption key(s); lab-results moved to epoch {}",
        revoke.keys_to_delete().len(),
        acl.section(&lab).expect("section exists").epoch().0
    );
    let later = city_lab.seal_entry(&acl, lab, b"HbA1c 5.1 % (2026-02-01)", now(), &mut rng)?;
    for (what, entry) in [("the new lab result", &later), ("the old one", &hba1c)] {
        match srs.reencrypt(doctor_id, entry.header(), entry.key_block(), now()) {
            Err(e) => println!("  former doctor asking for {what}: refused ({e})"),
            Ok(_) => unreachable!("revoked"),
        }
    }
    println!(
        "  the patient still reads everything: {:?}",
        String::from_utf8_lossy(&patient.open_entry(&later, &acl)?)
    );
    Ok(())
}
