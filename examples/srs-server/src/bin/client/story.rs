//! The two halves of the story, with a server restart in between.

use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sesphr::phr::{
    Change, EntryId, History, RecordId, Role, SealedEntry, SectionId, SectionName, Timestamp,
    VerifiedAcl,
};
use sesphr::srs::{Operation, Refusal, Response};
use sesphr::Error;
use srs_server::parties::{load_json, save_json, Party, Patient};

use crate::{ensure, f, now, Ctx, Outcome};

/// What the story remembers between runs (ids, not secrets).
#[derive(Serialize, Deserialize, Clone)]
pub struct Story {
    pub srs_id: String,
    pub record: String,
    pub section: String,
    pub until: u64,
    pub entries: Vec<Stored>,
    /// A submission's exact bytes and the response it got: sent again after the restart.
    pub retry_op: String,
    pub retry_response: String,
}

/// One written entry: its id, its blob's name, its plaintext.
#[derive(Serialize, Deserialize, Clone)]
pub struct Stored {
    pub entry: String,
    pub blob: String,
    pub body: String,
}

/// Every party, loaded from the state directory.
pub struct Cast {
    pub admin: Party,
    pub patient: Patient,
    pub hospital: Party,
    pub doctor: Party,
    /// Registered and active, never granted anything.
    pub locum: Party,
}

impl Cast {
    pub fn load(ctx: &Ctx) -> Outcome<Self> {
        Ok(Self {
            admin: Party::load(&ctx.dir, "admin")?,
            patient: Patient::load(&ctx.dir, "patient")?,
            hospital: Party::load(&ctx.dir, "hospital")?,
            doctor: Party::load(&ctx.dir, "doctor")?,
            locum: Party::load(&ctx.dir, "locum")?,
        })
    }
}

fn id16(s: &str) -> Outcome<[u8; 16]> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("state: bad id {s}"))
}

impl Story {
    pub fn record(&self) -> Outcome<RecordId> {
        Ok(RecordId::new(id16(&self.record)?))
    }
    pub fn section(&self) -> Outcome<SectionId> {
        Ok(SectionId::new(id16(&self.section)?))
    }
    pub fn load(ctx: &Ctx) -> Outcome<Self> {
        let s: Story = load_json(&ctx.dir, "story")?;
        ensure(
            s.srs_id == hex::encode(ctx.info.id.as_bytes()),
            "the server is the SRS the story started on (same key, same name)",
        )?;
        Ok(s)
    }
}

/// The newest ACL, fetched and checked against the owner's key.
pub fn current_acl(ctx: &Ctx, cast: &Cast, record: RecordId) -> Outcome<VerifiedAcl> {
    let acl = ctx
        .remote
        .acl(ctx.remote.next(), record, None)
        .map_err(f("get ACL"))?;
    acl.verify(&cast.patient.owner.verifying_key())
        .map_err(|e| format!("the served ACL does not verify: {e}"))
}

/// The hospital seals `body`, uploads it to the blob store and submits it through the write
/// gate; the receipt is checked.
pub fn write_entry(ctx: &Ctx, cast: &Cast, story: &Story, body: &str) -> Outcome<Stored> {
    let acl = current_acl(ctx, cast, story.record()?)?;
    let sealed = cast
        .hospital
        .keys
        .seal_entry(&acl, story.section()?, body.as_bytes(), now(), &mut OsRng)
        .map_err(|e| format!("seal: {e}"))?;
    submit(ctx, cast, &sealed, body).map(|(s, _)| s)
}

/// Uploads and submits a sealed entry; returns it and the submission's bytes.
pub fn submit(
    ctx: &Ctx,
    cast: &Cast,
    sealed: &SealedEntry,
    body: &str,
) -> Outcome<(Stored, Vec<u8>)> {
    let bytes = sealed.to_bytes().map_err(|e| e.to_string())?;
    let blob = ctx
        .remote
        .put_blob(ctx.remote.next(), &bytes)
        .map_err(f("upload"))?;
    let op = ctx.sign(cast.hospital.id, &cast.hospital.keys, sealed.submission())?;
    let r = ctx.remote.op(ctx.remote.next(), &op).map_err(f("submit"))?;
    let Response::Accepted(receipt) = r else {
        return Err(format!("submit: answered {r:?}"));
    };
    receipt
        .verify(&ctx.info.key, sealed.header())
        .map_err(|e| format!("receipt: {e}"))?;
    Ok((
        Stored {
            entry: hex::encode(sealed.header().entry().as_bytes()),
            blob,
            body: body.to_string(),
        },
        op.to_bytes(),
    ))
}

/// The doctor downloads `entries` and asks for their re-encryption in one batch; each is
/// opened (receipt, writer, ACL version it names) and compared, or refused.
pub fn read_batch(
    ctx: &Ctx,
    cast: &Cast,
    story: &Story,
    reader: &Party,
    entries: &[Stored],
) -> Outcome<Vec<Result<(), Refusal>>> {
    let record = story.record()?;
    let owner_key = cast.patient.owner.verifying_key();
    let mut sealed = Vec::new();
    for s in entries {
        let bytes = ctx
            .remote
            .get_blob(ctx.remote.next(), &s.blob)
            .map_err(f("download"))?;
        let e = SealedEntry::from_bytes(&bytes).map_err(|e| format!("blob: {e}"))?;
        ensure(
            hex::encode(e.header().entry().as_bytes()) == s.entry,
            "the blob holds the entry it was stored for",
        )?;
        sealed.push(e);
    }
    let ids: Vec<EntryId> = sealed.iter().map(|e| e.header().entry()).collect();
    let op = Operation::Reencrypt {
        record,
        entries: ids.clone(),
    };
    let signed = ctx.sign(reader.id, &reader.keys, op)?;
    let (items, receipt) = match ctx.remote.op(ctx.remote.next(), &signed) {
        Ok(Response::Reencrypted { items, receipt }) => (items, receipt),
        Ok(other) => return Err(format!("re-encrypt: answered {other:?}")),
        Err(e) => return Err(format!("re-encrypt: {e}")),
    };
    // The disclosure log's receipt: exactly what was served, checked and kept.
    crate::disclosures::keep_receipt(ctx, reader, &signed, &items, receipt.as_deref())?;
    ensure(items.len() == sealed.len(), "one answer per entry asked")?;
    let mut out = Vec::new();
    for ((item, entry), s) in items.into_iter().zip(&sealed).zip(entries) {
        let r = match item {
            Err(refusal) => Err(refusal),
            Ok(r) => {
                ensure(
                    r.entry == entry.header().entry(),
                    "answers in the order asked",
                )?;
                let e = entry.clone().with_key_block(r.key_block);
                let receipt = ctx
                    .remote
                    .receipt(ctx.remote.next(), record, r.entry)
                    .map_err(f("receipt"))?;
                let accepted = receipt
                    .verify(&ctx.info.key, e.header())
                    .map_err(|e| format!("receipt: {e}"))?;
                let acl = ctx
                    .remote
                    .acl(ctx.remote.next(), record, Some(e.header().acl_version()))
                    .map_err(f("ACL version"))?
                    .verify(&owner_key)
                    .map_err(|e| format!("ACL version: {e}"))?;
                let body = reader
                    .keys
                    .open_entry(&e, &accepted, &r.recapsule, &acl)
                    .map_err(|e| format!("open: {e}"))?;
                ensure(
                    body == s.body.as_bytes(),
                    "the opened entry is what was written",
                )?;
                Ok(())
            }
        };
        out.push(r);
    }
    Ok(out)
}

pub fn first_half(ctx: &Ctx) -> Outcome {
    let mut rng = OsRng;
    let dir = &ctx.dir;
    let cast = Cast {
        admin: Party::create(dir, "admin", &mut rng)?,
        patient: Patient::create(dir, "patient", &mut rng)?,
        hospital: Party::create(dir, "hospital", &mut rng)?,
        doctor: Party::create(dir, "doctor", &mut rng)?,
        locum: Party::create(dir, "locum", &mut rng)?,
    };
    let (admin, hospital, doctor) = (&cast.admin, &cast.hospital, &cast.doctor);

    // The admin bootstraps the SRS; a second bootstrap is refused.
    let reg = ctx.sign(
        admin.id,
        &admin.keys,
        Operation::Register {
            role: Role::Admin,
            bundle: admin.keys.bundle(),
        },
    )?;
    ctx.remote
        .bootstrap(ctx.remote.next(), &reg)
        .map_err(f("bootstrap"))?;
    let again = ctx.remote.bootstrap(ctx.remote.next(), &reg);
    ensure(
        matches!(&again, Err(e) if e.status == 409),
        format!("a second bootstrap is refused: {again:?}"),
    )?;
    println!("admin bootstrapped the SRS");

    // Everyone registers (self-signed); inactive until the admin activates them.
    let patient_keys = cast.patient.owner.keys();
    let people = [
        (cast.patient.id, patient_keys, Role::Patient),
        (hospital.id, &hospital.keys, Role::Hospital),
        (doctor.id, &doctor.keys, Role::Doctor),
        (cast.locum.id, &cast.locum.keys, Role::Doctor),
    ];
    for (id, keys, role) in people {
        ctx.done(
            "register",
            id,
            keys,
            Operation::Register {
                role,
                bundle: keys.bundle(),
            },
        )?;
        let r = ctx.run(id, keys, Operation::Login).map_err(f("login"))?;
        ensure(
            r == Response::Status {
                role,
                active: false,
            },
            format!("registered, not active: {r:?}"),
        )?;
        ctx.done(
            "activate",
            admin.id,
            &admin.keys,
            Operation::Activate { target: id },
        )?;
    }
    // Only an admin activates.
    ctx.refused(
        "a doctor activating",
        403,
        doctor.id,
        &doctor.keys,
        Operation::Activate { target: doctor.id },
    )?;
    println!("patient, hospital, doctor and locum registered and activated");

    // The patient creates a record: a section the hospital writes and the doctor reads.
    let owner = &cast.patient.owner;
    let record = owner.record_id("main").map_err(|e| e.to_string())?;
    let section = owner.section_id(&SectionName::new("medical").map_err(|e| e.to_string())?);
    let until = Timestamp::new(now().get() + 30 * 86_400);
    let changes = [
        Change::AddSection { section },
        Change::GrantWrite {
            section,
            writer: hospital.keys.bundle(),
        },
        Change::GrantRead {
            section,
            reader: doctor.keys.bundle(),
            history: History::All,
        },
    ];
    let update = owner
        .create_record(record, until, &changes, &mut rng)
        .map_err(|e| e.to_string())?;
    ctx.done(
        "create record",
        cast.patient.id,
        patient_keys,
        Operation::ApplyUpdate(update.clone()),
    )?;
    let served = ctx
        .remote
        .acl(ctx.remote.next(), record, None)
        .map_err(f("get ACL"))?;
    ensure(
        served.to_bytes() == update.acl().to_bytes(),
        "the SRS serves the ACL the patient signed",
    )?;
    println!("patient created the record and granted the hospital write, the doctor read");

    let mut story = Story {
        srs_id: hex::encode(ctx.info.id.as_bytes()),
        record: hex::encode(record.as_bytes()),
        section: hex::encode(section.as_bytes()),
        until: until.get(),
        entries: Vec::new(),
        retry_op: String::new(),
        retry_response: String::new(),
    };

    // The hospital writes three entries: bodies to the blob store, headers through the gate.
    for i in 0..3 {
        let body = format!("entry {i}: blood pressure 12{i}/80, written before the restart");
        let acl = current_acl(ctx, &cast, record)?;
        let sealed = hospital
            .keys
            .seal_entry(&acl, section, body.as_bytes(), now(), &mut rng)
            .map_err(|e| e.to_string())?;
        let (stored, op_bytes) = submit(ctx, &cast, &sealed, &body)?;
        if i == 0 {
            // An exact retry answers the stored response (same bytes), on any instance.
            let first = ctx
                .remote
                .op_bytes(ctx.remote.next(), &op_bytes, "")
                .map_err(f("retry"))?;
            let second = ctx
                .remote
                .op_bytes(ctx.remote.next(), &op_bytes, "")
                .map_err(f("retry"))?;
            ensure(first == second, "an exact retry gets the same response")?;
            story.retry_op = hex::encode(&op_bytes);
            story.retry_response = hex::encode(&first);
        }
        story.entries.push(stored);
    }
    let listed = ctx
        .remote
        .entries(ctx.remote.next(), record, section)
        .map_err(f("list"))?;
    ensure(
        listed.len() == 3,
        format!("the section lists 3 entries, not {}", listed.len()),
    )?;
    println!("hospital uploaded 3 entries, each accepted with a verified receipt");

    // Bad input gets the right status and the crate's error text.
    let garbage = ctx
        .remote
        .op_bytes(ctx.remote.next(), b"not an operation", "");
    ensure(
        matches!(&garbage, Err(e) if e.status == 400 && e.text.contains("signed operation")),
        format!("garbage: {garbage:?}"),
    )?;
    let mut forged = ctx
        .sign(doctor.id, &doctor.keys, Operation::Login)?
        .to_bytes();
    forged[90] ^= 1; // inside the nonce: the signature no longer verifies
    let forged = ctx.remote.op_bytes(ctx.remote.next(), &forged, "");
    ensure(
        matches!(&forged, Err(e) if e.status == 401 && e.kind == "bad-signature"),
        format!("forged: {forged:?}"),
    )?;
    let wrong = ctx
        .remote
        .put_blob_as(ctx.remote.next(), &"00".repeat(32), b"body");
    ensure(
        matches!(&wrong, Err(e) if e.status == 400 && e.kind == "hash-mismatch"),
        format!("wrong hash: {wrong:?}"),
    )?;
    // e2e.sh starts the servers with --max-blob 1048576.
    let big = vec![7u8; (1 << 20) + 1];
    let too_big = ctx.remote.put_blob(ctx.remote.next(), &big);
    ensure(
        matches!(&too_big, Err(e) if e.status == 413),
        format!("an oversized blob: {too_big:?}"),
    )?;
    let missing = ctx.remote.get_blob(ctx.remote.next(), &"11".repeat(32));
    ensure(
        matches!(&missing, Err(e) if e.status == 404),
        format!("missing blob: {missing:?}"),
    )?;
    // The human view of a response.
    let login = ctx.sign(doctor.id, &doctor.keys, Operation::Login)?;
    let view = ctx
        .remote
        .op_bytes(ctx.remote.next(), &login.to_bytes(), "?view=json")
        .map_err(f("json view"))?;
    let view: serde_json::Value = serde_json::from_slice(&view).map_err(|e| e.to_string())?;
    ensure(
        view["response"]["type"] == "status" && view["response"]["active"] == true,
        format!("json view: {view}"),
    )?;
    println!("bad input: 400 decode, 401 forged signature, 400 wrong blob hash, 413 oversized, 404 missing blob");

    // The doctor downloads the entries and has them re-encrypted in one batch.
    let read = read_batch(ctx, &cast, &story, doctor, &story.entries)?;
    ensure(
        read.iter().all(Result::is_ok),
        format!("the doctor reads every entry: {read:?}"),
    )?;
    // The locum, never granted, is refused every entry.
    let locum = read_batch(ctx, &cast, &story, &cast.locum, &story.entries)?;
    ensure(locum.iter().all(Result::is_err), "the locum reads nothing")?;
    println!("doctor re-encrypted and opened all 3 entries in one batch; the locum got none");

    save_json(dir, "story", &story)?;
    println!("first half: ok");
    Ok(())
}

pub fn second_half(ctx: &Ctx) -> Outcome {
    let cast = Cast::load(ctx)?;
    let mut story = Story::load(ctx)?;
    let (record, section) = (story.record()?, story.section()?);
    let (patient, doctor) = (&cast.patient, &cast.doctor);

    // Everything is still there: the entries, their receipts, the stored response.
    let listed = ctx
        .remote
        .entries(ctx.remote.next(), record, section)
        .map_err(f("list"))?;
    for s in &story.entries {
        ensure(
            listed.iter().any(|e| hex::encode(e.as_bytes()) == s.entry),
            "every entry survived the restart",
        )?;
    }
    let retry = hex::decode(&story.retry_op).map_err(|e| e.to_string())?;
    let answer = ctx.remote.op_bytes(ctx.remote.next(), &retry, "");
    match answer {
        Ok(bytes) => ensure(
            hex::encode(bytes) == story.retry_response,
            "the stored response survived the restart",
        )?,
        // Outside the window (a long pause between the halves), the retry is refused as stale.
        Err(e) => ensure(
            e.status == 403 && e.text.contains("window"),
            format!("retry: {e}"),
        )?,
    }
    let read = read_batch(ctx, &cast, &story, doctor, &story.entries)?;
    ensure(
        read.iter().all(Result::is_ok),
        format!("the doctor still reads every entry: {read:?}"),
    )?;
    println!(
        "after the restart: all {} entries listed, re-encrypted and opened again",
        story.entries.len()
    );

    // One more entry, then the patient revokes the doctor.
    let fourth = write_entry(ctx, &cast, &story, "entry 3: written after the restart")?;
    story.entries.push(fourth);
    let read = read_batch(ctx, &cast, &story, doctor, &story.entries)?;
    ensure(
        read.iter().all(Result::is_ok),
        "the doctor reads the new entry too",
    )?;
    let acl = current_acl(ctx, &cast, record)?;
    let revoke = [Change::RevokeRead {
        section,
        reader: doctor.keys.bundle().fingerprint(),
    }];
    let update = patient
        .owner
        .update(&acl, Timestamp::new(story.until), &revoke, &mut OsRng)
        .map_err(|e| e.to_string())?;
    ctx.done(
        "revoke",
        patient.id,
        patient.owner.keys(),
        Operation::ApplyUpdate(update),
    )?;
    println!("patient revoked the doctor");

    // The doctor is refused every entry, old and new; the patient still opens them.
    let after = write_entry(ctx, &cast, &story, "entry 4: written after the revocation")?;
    story.entries.push(after);
    let read = read_batch(ctx, &cast, &story, doctor, &story.entries)?;
    ensure(
        read.iter().all(|r| r.is_err()),
        format!("the revoked doctor reads nothing: {read:?}"),
    )?;
    for s in &story.entries {
        let bytes = ctx
            .remote
            .get_blob(ctx.remote.next(), &s.blob)
            .map_err(f("download"))?;
        let e = SealedEntry::from_bytes(&bytes).map_err(|e| e.to_string())?;
        let receipt = ctx
            .remote
            .receipt(ctx.remote.next(), record, e.header().entry())
            .map_err(f("receipt"))?;
        let accepted = receipt
            .verify(&ctx.info.key, e.header())
            .map_err(|e| e.to_string())?;
        let acl = ctx
            .remote
            .acl(ctx.remote.next(), record, Some(e.header().acl_version()))
            .map_err(f("ACL"))?
            .verify(&patient.owner.verifying_key())
            .map_err(|e| e.to_string())?;
        let body = patient
            .owner
            .open_entry(&e, &accepted, &acl)
            .map_err(|e| format!("owner open: {e}"))?;
        ensure(body == s.body.as_bytes(), "the patient opens every entry")?;
    }
    println!(
        "doctor refused all {} entries; patient opened them all",
        story.entries.len()
    );

    // The patient's accounting of disclosures, audited over HTTP, against the doctor's
    // receipts.
    crate::disclosures::account(ctx, &cast, &story)?;

    // The admin deactivates the doctor: its login says so, its requests are refused.
    ctx.done(
        "deactivate",
        cast.admin.id,
        &cast.admin.keys,
        Operation::Deactivate { target: doctor.id },
    )?;
    let r = ctx
        .run(doctor.id, &doctor.keys, Operation::Login)
        .map_err(f("login"))?;
    ensure(
        r == Response::Status {
            role: Role::Doctor,
            active: false,
        },
        format!("deactivated: {r:?}"),
    )?;
    let e = ctx.refused(
        "an inactive doctor",
        403,
        doctor.id,
        &doctor.keys,
        Operation::Reencrypt {
            record,
            entries: vec![EntryId::new(id16(&story.entries[0].entry)?)],
        },
    )?;
    ensure(
        e.text.starts_with(
            &Error::NotAuthorized {
                refusal: Refusal::Inactive,
                section: None,
                epoch: None,
                principal: None,
            }
            .to_string(),
        ),
        format!("the crate's error text: {}", e.text),
    )?;
    save_json(&ctx.dir, "story", &story)?;
    println!("second half: ok");
    Ok(())
}
