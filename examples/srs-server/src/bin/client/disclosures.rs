//! The disclosure log in the story: readers keep the receipts of what they were served, the
//! patient audits its record's log over HTTP and checks those receipts against its verified
//! accounting, a witness-style client checks the log's checkpoint and consistency routes.

use std::collections::BTreeMap;

use sesphr::log::{Accounting, DisclosureReceipt, Event, LogView};
use sesphr::phr::{Fingerprint, RecordId, SectionId};
use sesphr::srs::{Operation, Response, SignedOperation};
use srs_server::parties::{load_json, save_json, Party};

use crate::story::{Cast, Story};
use crate::{ensure, f, Ctx, Outcome};

fn receipts_file(reader: &Party) -> String {
    format!("{}-receipts", reader.name)
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC; the civil-from-days algorithm of
/// H. Hinnant, so the client needs no date crate).
fn utc(t: u64) -> String {
    let (days, secs) = (t / 86_400, t % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Checks the receipt of a re-encryption against what the reader signed and was served, and
/// keeps it in the state directory (`NAME-receipts.json`, hex of the receipts' encodings).
pub fn keep_receipt(
    ctx: &Ctx,
    reader: &Party,
    signed: &SignedOperation,
    items: &[Result<sesphr::srs::Reencrypted, sesphr::srs::Refusal>],
    receipt: Option<&DisclosureReceipt>,
) -> Outcome {
    let served = items.iter().any(Result::is_ok);
    let Some(receipt) = receipt else {
        return ensure(!served, "a served re-encryption comes with its receipt");
    };
    ensure(served, "a receipt only for a served re-encryption")?;
    receipt
        .verify(&ctx.info.key, signed, items)
        .map_err(|e| format!("disclosure receipt: {e}"))?;
    let mut kept = receipts(ctx, reader)?
        .iter()
        .map(|r| hex::encode(r.to_bytes()))
        .collect::<Vec<_>>();
    kept.push(hex::encode(receipt.to_bytes()));
    save_json(&ctx.dir, &receipts_file(reader), &kept)
}

/// The receipts `reader` kept (none yet: empty).
pub fn receipts(ctx: &Ctx, reader: &Party) -> Outcome<Vec<DisclosureReceipt>> {
    let name = receipts_file(reader);
    if !ctx.dir.join(format!("{name}.json")).exists() {
        return Ok(Vec::new());
    }
    let kept: Vec<String> = load_json(&ctx.dir, &name)?;
    kept.iter()
        .map(|h| {
            let bytes = hex::decode(h).map_err(|e| format!("{name}: {e}"))?;
            DisclosureReceipt::from_bytes(&bytes).map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

/// The patient's audit of its record's log over HTTP, page by page, from its saved view
/// (`patient-log.json`), which it saves again.
pub fn audit(ctx: &Ctx, cast: &Cast, record: RecordId) -> Outcome<Accounting> {
    let patient = &cast.patient;
    let mut view = match load_json::<String>(&ctx.dir, "patient-log") {
        Ok(h) => hex::decode(&h)
            .ok()
            .and_then(|b| LogView::from_bytes(&b).ok())
            .ok_or("patient-log: not a log view")?,
        Err(_) => LogView::new(record),
    };
    let mut audit = view.audit();
    let mut pages = 0;
    loop {
        let from = audit.next_from();
        let r = ctx
            .run(
                patient.id,
                patient.owner.keys(),
                Operation::Audit { record, from },
            )
            .map_err(f("audit"))?;
        let Response::Audit(page) = r else {
            return Err(format!("audit: answered {r:?}"));
        };
        pages += 1;
        let done = audit
            .add_page(&page, &ctx.info.key)
            .map_err(|e| format!("audit page from {from}: {e}"))?;
        if done {
            break;
        }
    }
    let accounting = audit.finish(&mut view).map_err(|e| format!("audit: {e}"))?;
    save_json(&ctx.dir, "patient-log", &hex::encode(view.to_bytes()))?;
    println!(
        "patient audited its record's log: {} events in {pages} page(s), checkpoint of size {}",
        accounting.events().len(),
        view.size()
    );
    Ok(accounting)
}

/// The second half's accounting: the patient audits, prints its disclosures, checks the
/// doctor's receipts against them and asserts the disclosures the story made (three batches
/// to the doctor, of 3, 3 and 4 entries; none to the locum, none after the revocation).
pub fn account(ctx: &Ctx, cast: &Cast, story: &Story) -> Outcome {
    let record = story.record()?;
    let section = story.section()?;
    let accounting = audit(ctx, cast, record)?;
    let labels: BTreeMap<Fingerprint, &str> = [
        (cast.doctor.keys.bundle().fingerprint(), "doctor"),
        (cast.locum.keys.bundle().fingerprint(), "locum"),
    ]
    .into();
    let section_name = |s: SectionId| if s == section { "medical" } else { "(other)" };
    println!(
        "{:<6} {:<20} {:<34} {:<10} entry",
        "leaf", "time", "reader", "section"
    );
    let mut batches = Vec::new();
    for d in accounting.disclosures() {
        let who = format!(
            "{} {}",
            d.reader.short(),
            labels.get(d.reader).copied().unwrap_or("(unknown key)")
        );
        for item in d.items {
            println!(
                "{:<6} {:<20} {:<34} {:<10} {}",
                d.index,
                utc(d.time.get()),
                who,
                section_name(item.section),
                hex::encode(item.entry.as_bytes())
            );
        }
        batches.push((*d.reader, d.items.len()));
    }
    // The first half's batch of 3; after the restart, every entry written before it (n - 2,
    // the last two written after) and then with the entry written after the restart; nothing
    // after the revocation.
    let doctor = cast.doctor.keys.bundle().fingerprint();
    let n = story.entries.len();
    ensure(
        batches == [(doctor, 3), (doctor, n - 2), (doctor, n - 1)],
        format!("the accounting lists the doctor's three batches and nothing else: {batches:?}"),
    )?;
    let revoked = story.entries.last().map(|s| s.entry.as_str());
    let written: Vec<String> = story.entries.iter().map(|s| s.entry.clone()).collect();
    for d in accounting.disclosures() {
        for item in d.items {
            let entry = hex::encode(item.entry.as_bytes());
            ensure(
                item.section == section && written.contains(&entry),
                "every disclosed item is an entry the story wrote, in its section",
            )?;
            ensure(
                Some(entry.as_str()) != revoked,
                "the entry written after the revocation was never disclosed",
            )?;
        }
    }
    let others = accounting
        .events()
        .iter()
        .filter(|e| !matches!(e.leaf.event(), Event::Disclosed { .. }))
        .count();
    println!("(and {others} other events: ACL versions, accepted entries, key changes)");

    // The doctor forwards its receipts; each must be the audited leaf at its index.
    let kept = receipts(ctx, &cast.doctor)?;
    ensure(
        kept.len() == 3,
        format!("the doctor kept 3 receipts, not {}", kept.len()),
    )?;
    for (r, d) in kept.iter().zip(accounting.disclosures()) {
        accounting
            .check_receipt(r, &ctx.info.key)
            .map_err(|e| format!("the doctor's receipt for leaf {}: {e}", r.proof().index()))?;
        ensure(
            r.proof().index() == d.index
                && matches!(r.leaf().event(), Event::Disclosed { items, .. } if items == d.items),
            "each receipt is the disclosure the accounting lists, in order",
        )?;
    }
    ensure(
        receipts(ctx, &cast.locum)?.is_empty(),
        "the locum, refused everything, holds no receipt",
    )?;
    println!("the doctor's 3 receipts match the patient's accounting");

    // A witness's view over HTTP: the newest checkpoint, and consistency from the first
    // receipt's checkpoint to it.
    let head = ctx
        .remote
        .checkpoint(ctx.remote.next(), record)
        .map_err(f("checkpoint"))?;
    let head_c = *head
        .verify(&ctx.info.key)
        .map_err(|e| format!("checkpoint: {e}"))?;
    let audited = accounting.checkpoint().checkpoint_unverified();
    ensure(
        head_c.size >= audited.size,
        "the log has not shrunk since the audit",
    )?;
    let first = kept
        .first()
        .ok_or("no receipt")?
        .checkpoint()
        .checkpoint_unverified();
    let proof = ctx
        .remote
        .consistency(ctx.remote.next(), record, first.size, head_c.size)
        .map_err(f("consistency"))?;
    ensure(
        proof.verify(&first.root, &head_c.root),
        "the newest checkpoint extends the one the doctor's first receipt names",
    )?;
    let beyond = ctx
        .remote
        .consistency(ctx.remote.next(), record, first.size, head_c.size + 1);
    ensure(
        matches!(&beyond, Err(e) if e.status == 404),
        format!("a consistency proof beyond the log: {beyond:?}"),
    )?;
    println!(
        "checkpoint of size {} (root {}…) extends size {} (consistency proof of {} hashes)",
        head_c.size,
        hex::encode(&head_c.root[..8]),
        first.size,
        proof.path().len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_764_245_631), "2025-11-27 12:13:51");
    }
}
