//! Two server processes on one database, sent conflicting operations at the same instant.

use std::sync::Barrier;

use rand_core::OsRng;
use sesphr::phr::{Change, History, SectionId, Timestamp};
use sesphr::srs::{Operation, Response, SignedOperation};
use srs_server::parties::save_json;
use srs_server::remote::Failure;

use crate::story::{current_acl, Cast, Story};
use crate::{ensure, f, now, Ctx, Outcome};

/// Sends `a` to server 0 and `b` to server 1 at once.
fn at_once(ctx: &Ctx, a: &[u8], b: &[u8]) -> (Result<Vec<u8>, Failure>, Result<Vec<u8>, Failure>) {
    let gate = Barrier::new(2);
    std::thread::scope(|s| {
        let ta = s.spawn(|| {
            gate.wait();
            ctx.remote.op_bytes(0, a, "")
        });
        let tb = s.spawn(|| {
            gate.wait();
            ctx.remote.op_bytes(1, b, "")
        });
        let unreachable = || Failure {
            status: 0,
            kind: "client".into(),
            text: "thread".into(),
        };
        (
            ta.join().unwrap_or_else(|_| Err(unreachable())),
            tb.join().unwrap_or_else(|_| Err(unreachable())),
        )
    })
}

fn stats(ctx: &Ctx, server: usize) -> u64 {
    ctx.remote
        .json(server, "/v1/stats")
        .ok()
        .and_then(|v| v["conflicts_retried"].as_u64())
        .unwrap_or(0)
}

pub fn race(ctx: &Ctx) -> Outcome {
    ensure(ctx.remote.len() >= 2, "race needs two --server")?;
    let cast = Cast::load(ctx)?;
    let mut story = Story::load(ctx)?;
    let (record, section) = (story.record()?, story.section()?);
    let patient = &cast.patient;
    let mut rng = OsRng;

    // 1. Two updates of the same ACL version, one to each server: exactly one applies.
    for round in 0..3 {
        let acl = current_acl(ctx, &cast, record)?;
        let until = Timestamp::new(story.until);
        let grant = [Change::GrantRead {
            section,
            reader: cast.locum.keys.bundle(),
            history: History::All,
        }];
        let rotate = [Change::Rotate { section }];
        let u1 = patient
            .owner
            .update(
                &acl,
                until,
                if round == 0 { &grant } else { &rotate },
                &mut rng,
            )
            .map_err(|e| e.to_string())?;
        let u2 = patient
            .owner
            .update(&acl, until, &rotate, &mut rng)
            .map_err(|e| e.to_string())?;
        let keys = patient.owner.keys();
        let o1 = ctx.sign(patient.id, keys, Operation::ApplyUpdate(u1.clone()))?;
        let o2 = ctx.sign(patient.id, keys, Operation::ApplyUpdate(u2.clone()))?;
        let (r1, r2) = at_once(ctx, &o1.to_bytes(), &o2.to_bytes());
        let done = Response::Done.to_bytes();
        let won1 = matches!(&r1, Ok(b) if *b == done);
        let won2 = matches!(&r2, Ok(b) if *b == done);
        ensure(
            won1 != won2,
            format!("exactly one of two updates of one version applies: {r1:?} / {r2:?}"),
        )?;
        let loser = if won1 { &r2 } else { &r1 };
        let Err(e) = loser else {
            return Err("the loser got an answer".into());
        };
        ensure(
            matches!(e.status, 409 | 422 | 403),
            format!("the loser is told why: {e}"),
        )?;
        let winner = if won1 { &u1 } else { &u2 };
        let served = ctx
            .remote
            .acl(ctx.remote.next(), record, None)
            .map_err(f("ACL"))?;
        ensure(
            served.to_bytes() == winner.acl().to_bytes(),
            "the stored ACL is the winner's",
        )?;
        ensure(
            served.acl_unverified().version().get() == acl.version().get() + 1,
            "one version, not two",
        )?;
        println!(
            "round {round}: server {} won the update, the other answered HTTP {} ({})",
            if won1 { 0 } else { 1 },
            e.status,
            e.text
        );
    }

    // 2. The very same operation sent to both at once: one runs it, both answer its response.
    let acl = current_acl(ctx, &cast, record)?;
    for _ in 0..3 {
        let sealed = cast
            .hospital
            .keys
            .seal_entry(&acl, section, b"sent to both servers", now(), &mut rng)
            .map_err(|e| e.to_string())?;
        let bytes = sealed.to_bytes().map_err(|e| e.to_string())?;
        let blob = ctx.remote.put_blob(0, &bytes).map_err(f("upload"))?;
        let op = ctx
            .sign(cast.hospital.id, &cast.hospital.keys, sealed.submission())?
            .to_bytes();
        let (a, b) = at_once(ctx, &op, &op);
        let (a, b) = (a.map_err(f("server 0"))?, b.map_err(f("server 1"))?);
        ensure(a == b, "both servers answer the one execution's response")?;
        story.entries.push(crate::story::Stored {
            entry: hex::encode(sealed.header().entry().as_bytes()),
            blob,
            body: "sent to both servers".into(),
        });
    }
    println!(
        "one submission sent to both servers at once, 3 times: one response each, byte for byte"
    );

    // 3. Two streams of writes, one per server, at once: every acknowledged write is kept.
    let before = ctx
        .remote
        .entries(0, record, section)
        .map_err(f("list"))?
        .len();
    let per = 8;
    let gate = Barrier::new(2);
    let written: Vec<Outcome<Vec<crate::story::Stored>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2usize)
            .map(|server| {
                let (cast, gate, acl) = (&cast, &gate, &acl);
                s.spawn(move || -> Outcome<Vec<crate::story::Stored>> {
                    gate.wait();
                    let mut out = Vec::new();
                    for i in 0..per {
                        out.push(write_to(
                            ctx,
                            cast,
                            server,
                            section,
                            acl,
                            &format!("stream {server} entry {i}"),
                        )?);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread".into())))
            .collect()
    });
    for w in written {
        story.entries.extend(w?);
    }
    let listed = ctx.remote.entries(1, record, section).map_err(f("list"))?;
    ensure(
        listed.len() == before + 2 * per,
        format!(
            "{} entries listed, {} expected",
            listed.len(),
            before + 2 * per
        ),
    )?;
    for s in &story.entries {
        ensure(
            listed.iter().any(|e| hex::encode(e.as_bytes()) == s.entry),
            "every acknowledged entry is listed",
        )?;
    }
    println!(
        "two streams of {per} writes, one per server: all {} listed; conflicts retried by the servers: {} + {}",
        2 * per,
        stats(ctx, 0),
        stats(ctx, 1)
    );
    save_json(&ctx.dir, "story", &story)?;
    println!("race: ok");
    Ok(())
}

/// Writes one entry through `server`; a conflict the server gave up on is sent again
/// (signed afresh), a bounded number of times.
fn write_to(
    ctx: &Ctx,
    cast: &Cast,
    server: usize,
    section: SectionId,
    acl: &sesphr::phr::VerifiedAcl,
    body: &str,
) -> Outcome<crate::story::Stored> {
    let sealed = cast
        .hospital
        .keys
        .seal_entry(acl, section, body.as_bytes(), now(), &mut OsRng)
        .map_err(|e| e.to_string())?;
    let bytes = sealed.to_bytes().map_err(|e| e.to_string())?;
    let blob = ctx.remote.put_blob(server, &bytes).map_err(f("upload"))?;
    for _ in 0..5 {
        let op: SignedOperation =
            ctx.sign(cast.hospital.id, &cast.hospital.keys, sealed.submission())?;
        match ctx.remote.op(server, &op) {
            Ok(Response::Accepted(_)) => {
                return Ok(crate::story::Stored {
                    entry: hex::encode(sealed.header().entry().as_bytes()),
                    blob,
                    body: body.into(),
                })
            }
            Err(e) if e.status == 409 => continue,
            other => return Err(format!("write: {other:?}")),
        }
    }
    Err("write: still conflicting after 5 tries".into())
}
