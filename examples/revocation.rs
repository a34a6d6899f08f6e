//! Reference integration: what revocation protects, with epochs, the write gate, re-wrap and
//! re-seal. Every operation is signed by the principal it acts for; the SRS keeps its state
//! in a store (here in memory).
//!
//! 1. Revoking a reader rotates the section's epoch: entries written afterwards use a key the
//!    reader can never be given (forward access control).
//! 2. Revoking a writer needs no rotation: the SRS's write gate refuses its new entries, so
//!    they get no receipt and nobody opens them; the store is left unchanged.
//! 3. Older entries keep their old key block. An SRS that (wrongly) kept the old
//!    re-encryption key could still serve them; **re-wrap** moves the stored key block to the
//!    new epoch without touching bodies or writer signatures, so that stops working for any
//!    reader who never obtained the entry's data key. Readers still granted get the new key
//!    block from the SRS with each re-encryption.
//! 4. A reader who already opened an entry knows its data key: only **re-seal** (fresh data
//!    key, new body, a new entry submitted by the owner) cuts that off.
//!
//!     cargo run --example revocation

use sesphr::phr::{
    Change, History, Owner, PrincipalId, PrincipalKeys, RecordId, Role, SealedEntry, SectionName,
    Timestamp, VerifiedAcl,
};
use sesphr::rand_core::{CryptoRng, OsRng, RngCore};
use sesphr::sign::SigningKey;
use sesphr::srs::{
    Accepted, Client, MemoryStore, Operation, Reencrypted, Refusal, Response, Srs, SrsConfig,
};
use sesphr::Error;

type Service<'s> = Srs<&'s MemoryStore>;

/// Signs `op` as `who` and runs it at `now`.
fn act<R: RngCore + CryptoRng>(
    srs: &mut Service<'_>,
    who: &Client<'_>,
    op: Operation,
    now: Timestamp,
    rng: &mut R,
) -> Result<Response, Error> {
    srs.execute(&who.sign(op, now, rng)?, now, rng)
}

/// Submits an entry to the write gate; returns its verified receipt.
fn submit<R: RngCore + CryptoRng>(
    srs: &mut Service<'_>,
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

/// One batch of re-encryptions for `reader`: one result per entry, in order.
fn reencrypt<R: RngCore + CryptoRng>(
    srs: &mut Service<'_>,
    reader: &Client<'_>,
    record: RecordId,
    entries: &[&SealedEntry],
    now: Timestamp,
    rng: &mut R,
) -> Result<Vec<Result<Reencrypted, Refusal>>, Error> {
    let entries = entries.iter().map(|e| e.header().entry()).collect();
    let op = Operation::Reencrypt { record, entries };
    let Response::Reencrypted { items, .. } = act(srs, reader, op, now, rng)? else {
        unreachable!("a re-encryption batch is answered item by item")
    };
    Ok(items)
}

fn yes_no<T>(r: Result<T, Error>) -> &'static str {
    r.map(|_| "yes").unwrap_or("no")
}

fn main() -> Result<(), Error> {
    let mut rng = OsRng;
    let now = Timestamp::new(1_764_000_000);
    let until = Timestamp::new(now.get() + 86_400 * 365);
    let store = MemoryStore::new();
    let mut srs = Srs::new(
        &store,
        SigningKey::random(&mut rng),
        "revocation",
        SrsConfig::default(),
    );
    let admin = PrincipalKeys::random(&mut rng);
    let admin_c = Client::new(&admin, PrincipalId::random(&mut rng), srs.id());
    srs.bootstrap(&admin_c.register(Role::Admin, now, &mut rng)?, now)?;
    let owner = Owner::random(&mut rng);
    let [hospital, locum, doctor, therapist] = [(); 4].map(|_| PrincipalKeys::random(&mut rng));
    let owner_c = Client::new(owner.keys(), PrincipalId::random(&mut rng), srs.id());
    let hospital_c = Client::new(&hospital, PrincipalId::random(&mut rng), srs.id());
    let locum_c = Client::new(&locum, PrincipalId::random(&mut rng), srs.id());
    let doctor_c = Client::new(&doctor, PrincipalId::random(&mut rng), srs.id());
    let therapist_c = Client::new(&therapist, PrincipalId::random(&mut rng), srs.id());
    for (c, role) in [
        (owner_c, Role::Patient),
        (hospital_c, Role::Hospital),
        (locum_c, Role::Hospital),
        (doctor_c, Role::Doctor),
        (therapist_c, Role::Doctor),
    ] {
        srs.execute(&c.register(role, now, &mut rng)?, now, &mut rng)?;
        act(
            &mut srs,
            &admin_c,
            Operation::Activate { target: c.id() },
            now,
            &mut rng,
        )?;
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
            Change::GrantWrite {
                section: mh,
                writer: locum.bundle(),
            },
            Change::GrantRead {
                section: mh,
                reader: doctor.bundle(),
                history: History::None,
            },
            Change::GrantRead {
                section: mh,
                reader: therapist.bundle(),
                history: History::None,
            },
        ],
        &mut rng,
    )?;
    let acl1: VerifiedAcl = v1.acl().verify(&owner.verifying_key())?;
    act(
        &mut srs,
        &owner_c,
        Operation::ApplyUpdate(v1),
        now,
        &mut rng,
    )?;
    let epoch = |acl: &VerifiedAcl| acl.section(&mh).expect("section").epoch().get();
    println!(
        "epoch {}: the hospital and a locum clinic write, the doctor and a therapist read",
        epoch(&acl1)
    );

    let seen = hospital.seal_entry(
        &acl1,
        mh,
        b"session notes, read by the doctor",
        now,
        &mut rng,
    )?;
    let seen_ok = submit(&mut srs, &hospital_c, &seen, now, &mut rng)?;
    let unseen = hospital.seal_entry(
        &acl1,
        mh,
        b"session notes, never opened by the doctor",
        now,
        &mut rng,
    )?;
    let unseen_ok = submit(&mut srs, &hospital_c, &unseen, now, &mut rng)?;
    let mut items = reencrypt(
        &mut srs,
        &doctor_c,
        record,
        &[&seen, &unseen],
        now,
        &mut rng,
    )?
    .into_iter();
    let (Some(Ok(for_seen)), Some(Ok(kept))) = (items.next(), items.next()) else {
        unreachable!("the doctor reads both")
    };
    doctor.open_entry(&seen, &seen_ok, &for_seen.recapsule, &acl1)?;
    println!("the doctor asked for two entries in one batch and opened one");
    // `kept` is what a misbehaving SRS could keep: a re-encryption of the unseen entry's
    // capsule made before revocation (equivalently, the old re-encryption key).

    let revoke = owner.update(
        &acl1,
        until,
        &[
            Change::RevokeRead {
                section: mh,
                reader: doctor.bundle().fingerprint(),
            },
            Change::RevokeWrite {
                section: mh,
                writer: locum.bundle().fingerprint(),
            },
        ],
        &mut rng,
    )?;
    let acl2 = revoke.acl().verify(&owner.verifying_key())?;
    let deleted = revoke.keys_to_delete().len();
    act(
        &mut srs,
        &owner_c,
        Operation::ApplyUpdate(revoke),
        now,
        &mut rng,
    )?;
    println!(
        "revoked the doctor's read and the locum's write: {deleted} key(s) deleted at the SRS, \
         section moved to epoch {}",
        epoch(&acl2)
    );

    let after = hospital.seal_entry(&acl2, mh, b"written after revocation", now, &mut rng)?;
    submit(&mut srs, &hospital_c, &after, now, &mut rng)?;
    for item in reencrypt(&mut srs, &doctor_c, record, &[&after], now, &mut rng)? {
        if let Err(refusal) = item {
            println!(
                "new entry at epoch {}: SRS says to the doctor: {refusal}",
                after.key_block().epoch().get()
            );
        }
    }

    // The locum still holds ACL v1, which lists it as a writer, and seals with it.
    let rows = store.rows().map_err(Error::Store)?;
    let late = locum.seal_entry(&acl1, mh, b"written by a revoked writer", now, &mut rng)?;
    match act(&mut srs, &locum_c, late.submission(), now, &mut rng) {
        Err(Error::NotAuthorized {
            refusal: Refusal::NoWriteRight,
            ..
        }) => println!(
            "the revoked locum's new entry: refused at the write gate (no write right), no \
             receipt, store unchanged: {}",
            store.rows().map_err(Error::Store)? == rows
        ),
        other => unreachable!("a revoked writer is refused: {other:?}"),
    }

    println!(
        "without re-wrap, a kept re-encryption still opens the unseen old entry: {}",
        yes_no(doctor.open_entry(&unseen, &unseen_ok, &kept.recapsule, &acl1))
    );
    let key_block = owner.rewrap(&unseen, &acl2, &mut rng)?;
    let rewrap = Operation::Rewrap {
        record,
        entry: unseen.header().entry(),
        key_block,
    };
    act(&mut srs, &owner_c, rewrap, now, &mut rng)?;
    let rewrapped = unseen.clone().with_key_block(key_block);
    println!(
        "after re-wrap at the SRS (epoch {}, body and writer signature unchanged: {}), the kept one opens it: {}",
        rewrapped.key_block().epoch().get(),
        rewrapped.body() == unseen.body(),
        yes_no(doctor.open_entry(&rewrapped, &unseen_ok, &kept.recapsule, &acl1))
    );
    // A reader still granted gets the re-wrapped key block with its re-encryption.
    for item in reencrypt(&mut srs, &therapist_c, record, &[&unseen], now, &mut rng)? {
        let item = item.map_err(|refusal| Error::NotAuthorized {
            refusal,
            section: None,
            epoch: None,
            principal: None,
        })?;
        let entry = unseen.clone().with_key_block(item.key_block);
        let opened = therapist.open_entry(&entry, &unseen_ok, &item.recapsule, &acl1)?;
        println!(
            "the therapist gets the epoch-{} key block from the SRS and reads: {:?}",
            item.key_block.epoch().get(),
            String::from_utf8_lossy(&opened)
        );
    }

    // Re-wrap cannot help against a reader that already holds the data key of `seen`:
    // the body is the same, so that key still opens it. Re-seal replaces the data key; the
    // result is a new entry, written by the owner, that passes the write gate like any other.
    let resealed = owner.reseal(&seen, &seen_ok, &acl1, &acl2, now, &mut rng)?;
    let resealed_ok = submit(&mut srs, &owner_c, &resealed, now, &mut rng)?;
    println!(
        "re-seal: new entry ({} body bytes, body differs: {}), signed by the owner and accepted \
         by the write gate; the old data key no longer applies",
        resealed.body().len(),
        resealed.body() != seen.body()
    );
    println!(
        "owner reads the re-sealed entry: {:?}",
        String::from_utf8_lossy(&owner.open_entry(&resealed, &resealed_ok, &acl2)?)
    );
    for item in reencrypt(&mut srs, &doctor_c, record, &[&resealed], now, &mut rng)? {
        if let Err(refusal) = item {
            println!("the doctor asking for it: {refusal}");
        }
    }
    Ok(())
}
