//! A stream of writes cut by SIGKILL, then the check that every acknowledged write is there,
//! whole.

use std::io::Write as _;
use std::path::Path;

use sesphr::phr::SealedEntry;
use srs_server::parties::save_json;

use crate::story::{current_acl, Cast, Story};
use crate::{ensure, f, now, Ctx, Outcome};

/// Appends a line and syncs it before going on.
fn append(path: &Path, line: &str) -> Outcome {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(file, "{line}")
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn pending_path(acked: &Path) -> std::path::PathBuf {
    acked.with_extension("pending")
}

pub fn writes(ctx: &Ctx, acked: &Path, count: usize) -> Outcome {
    let cast = Cast::load(ctx)?;
    let story = Story::load(ctx)?;
    let (record, section) = (story.record()?, story.section()?);
    let acl = current_acl(ctx, &cast, record)?;
    let mut n = 0;
    for i in 0..count {
        let body = format!("crash stream entry {i}");
        let sealed = cast
            .hospital
            .keys
            .seal_entry(&acl, section, body.as_bytes(), now(), &mut rand_core::OsRng)
            .map_err(|e| e.to_string())?;
        let bytes = sealed.to_bytes().map_err(|e| e.to_string())?;
        let entry = hex::encode(sealed.header().entry().as_bytes());
        // What may be in flight when the server dies: the entry and its blob.
        let blob = match ctx.remote.put_blob(ctx.remote.next(), &bytes) {
            Ok(b) => b,
            Err(e) if e.status == 0 => break,
            Err(e) => return Err(format!("upload: {e}")),
        };
        append(&pending_path(acked), &format!("{entry} {blob}"))?;
        let op = ctx.sign(cast.hospital.id, &cast.hospital.keys, sealed.submission())?;
        match ctx.remote.op(ctx.remote.next(), &op) {
            Ok(sesphr::srs::Response::Accepted(_)) => append(acked, &entry)?,
            Ok(other) => return Err(format!("submit: answered {other:?}")),
            Err(e) if e.status == 0 => break,
            Err(e) => return Err(format!("submit: {e}")),
        }
        n += 1;
    }
    println!("{n} writes acknowledged");
    Ok(())
}

pub fn check(ctx: &Ctx, acked: &Path) -> Outcome {
    let mut story = Story::load(ctx)?;
    let (record, section) = (story.record()?, story.section()?);
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let acked_ids: Vec<String> = read(acked)?.lines().map(str::to_string).collect();
    let pending: Vec<(String, String)> = read(&pending_path(acked))?
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let listed = ctx
        .remote
        .entries(ctx.remote.next(), record, section)
        .map_err(f("list"))?;
    let listed_hex: Vec<String> = listed.iter().map(|e| hex::encode(e.as_bytes())).collect();
    for a in &acked_ids {
        ensure(
            listed_hex.contains(a),
            format!("acknowledged entry {a} is present"),
        )?;
    }
    // Every listed entry (acknowledged or caught in flight) is whole: its receipt verifies
    // against the header in its blob. Entries from before the stream are in the story.
    let mut in_flight = 0;
    for (id, hexid) in listed.iter().zip(&listed_hex) {
        let blob = pending
            .iter()
            .find(|(e, _)| e == hexid)
            .map(|(_, b)| b.clone())
            .or_else(|| {
                story
                    .entries
                    .iter()
                    .find(|s| s.entry == *hexid)
                    .map(|s| s.blob.clone())
            })
            .ok_or_else(|| format!("listed entry {hexid} was never written by this client"))?;
        let bytes = ctx
            .remote
            .get_blob(ctx.remote.next(), &blob)
            .map_err(f("blob"))?;
        let e = SealedEntry::from_bytes(&bytes).map_err(|e| e.to_string())?;
        ensure(e.header().entry() == *id, "the blob is the entry's")?;
        let receipt = ctx
            .remote
            .receipt(ctx.remote.next(), record, *id)
            .map_err(f("receipt"))?;
        receipt
            .verify(&ctx.info.key, e.header())
            .map_err(|e| format!("receipt of {hexid}: {e}"))?;
        if !acked_ids.contains(hexid) && pending.iter().any(|(p, _)| p == hexid) {
            in_flight += 1;
        }
    }
    ensure(
        in_flight <= 1,
        "at most the one write in flight is present unacknowledged",
    )?;
    // Later steps know these entries too.
    for (e, b) in &pending {
        if listed_hex.contains(e) && !story.entries.iter().any(|s| s.entry == *e) {
            story.entries.push(crate::story::Stored {
                entry: e.clone(),
                blob: b.clone(),
                body: String::new(),
            });
        }
    }
    save_json(&ctx.dir, "story", &story)?;
    println!(
        "crash check: {} acknowledged writes all present, {} listed entries whole, {} in flight kept",
        acked_ids.len(),
        listed.len(),
        in_flight
    );
    Ok(())
}
