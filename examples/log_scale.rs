//! The disclosure log's costs (issue 13, BENCHMARKS.md "The disclosure log"), for criterion
//! (`benches/srs.rs`, group "log") and instruction counts under callgrind:
//!
//! - a served re-encryption of one entry, which appends its disclosure event, signs the
//!   checkpoint and returns the receipt, with the record's log holding `N` leaves (10³ or
//!   10⁶), against the same operation on a handle with the log turned off, same store;
//! - the owner's audit of 10 000 events: the SRS serving the pages, the owner verifying them.
//!
//! ```sh
//! cargo build --release --example log_scale
//! valgrind --tool=callgrind --toggle-collect='log_scale::measured_*' \
//!     target/release/examples/log_scale 1000000 reencrypt 20
//! target/release/examples/log_scale 1000 reencrypt 100  # interleaved wall-clock ratio
//! target/release/examples/log_scale 10000 audit 3      # audit of 10 000 events
//! ```
//!
//! The log is grown to `N` leaves by writing rows directly (copies of the record's first
//! leaf, the head's frontier and checkpoint rebuilt to match; the checkpoint's signature is
//! not re-made, which nothing on the measured path checks): building a 10⁶-event log through
//! signed operations would take a quarter of an hour. An append reads only the head row.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::log::{
    Accounting, AuditPage, Frontier, LogLeaf, LogView, SignedCheckpoint, MAX_AUDIT_PAGE,
};
use sesphr::srs::{Operation, Response, SignedOperation, SrsConfig, Store};

#[allow(dead_code)]
#[path = "srs_scale.rs"]
pub mod scale;

pub use scale::{Handle, Op, World, NOW};

const LOG_HEAD: u8 = 0x0f;
const LOG_LEAF: u8 = 0x10;
const ROW_VERSION: u8 = 0x01;

/// A world (10 000 key rows) whose record's log holds `leaves` leaves.
pub fn world(leaves: u64, rng: &mut ChaCha20Rng) -> World {
    let world = World::new(10_000, rng);
    grow(&world, leaves);
    world
}

/// Grows the record's log to `leaves` leaves with copies of its first leaf.
fn grow(world: &World, leaves: u64) {
    let (record, _) = world.record();
    let store = world.store();
    let head_key = [&[LOG_HEAD][..], record.as_bytes()].concat();
    let head = store.get(&head_key).expect("get").expect("a log");
    let mut prefix = vec![LOG_LEAF];
    prefix.extend_from_slice(record.as_bytes());
    let rows = store.scan(&prefix, None, usize::MAX).expect("scan");
    let first = rows.first().expect("a leaf").value.clone();
    let leaf = LogLeaf::from_bytes(&first[2..]).expect("leaf");
    let mut frontier = Frontier::new();
    let real: Vec<_> = rows
        .iter()
        .map(|r| LogLeaf::from_bytes(&r.value[2..]).expect("leaf").hash())
        .collect();
    frontier.extend(&real).expect("extend");
    let copy = leaf.hash();
    for i in rows.len() as u64..leaves {
        let mut k = prefix.clone();
        k.extend_from_slice(&i.to_be_bytes());
        store.put_raw(k, first.clone()).expect("put");
        frontier.extend([&copy]).expect("extend");
    }
    // The head: the checkpoint with the new size and root, then the frontier.
    let cp_len = SignedCheckpoint::SIZE - 2;
    let mut value = head.value[..2 + cp_len].to_vec();
    let body = 2 + 32 + 16;
    value[body..body + 8].copy_from_slice(&frontier.size().to_be_bytes());
    value[body + 8..body + 40].copy_from_slice(&frontier.root());
    value.extend_from_slice(&frontier.size().to_be_bytes());
    value.push(frontier.hashes().len() as u8);
    for h in frontier.hashes() {
        value.extend_from_slice(h);
    }
    assert_eq!(value[0], LOG_HEAD);
    assert_eq!(value[1], ROW_VERSION);
    store.put_raw(head_key, value).expect("put");
}

/// One served re-encryption with the log (callgrind collects inside `measured_*` only).
#[inline(never)]
pub fn measured_reencrypt_logged(
    srs: &mut Handle<'_>,
    op: &SignedOperation,
    rng: &mut ChaCha20Rng,
) -> Response {
    black_box("logged");
    srs.execute(black_box(op), NOW, rng).expect("operation")
}

/// The same on a handle with the log turned off.
#[inline(never)]
pub fn measured_reencrypt_unlogged(
    srs: &mut Handle<'_>,
    op: &SignedOperation,
    rng: &mut ChaCha20Rng,
) -> Response {
    black_box("unlogged");
    srs.execute(black_box(op), NOW, rng).expect("operation")
}

/// A handle without the log.
pub fn unlogged(world: &World) -> Handle<'_> {
    world.handle_with(SrsConfig {
        disclosure_log: false,
        ..SrsConfig::default()
    })
}

/// A world whose record's log holds `events` real events (requests filed), for the audit.
pub fn audited_world(events: u64, rng: &mut ChaCha20Rng) -> World {
    let world = World::new(10_000, rng);
    let (record, section) = world.record();
    let mut srs = world.handle();
    let mut size = srs
        .checkpoint(record)
        .expect("log")
        .map_or(0, |c| c.checkpoint_unverified().size);
    while size < events {
        let ask = Operation::Request {
            record,
            right: sesphr::phr::Right::Write,
            sections: vec![section],
        };
        scale::run(&mut srs, &world.sign_as(false, ask, rng), rng);
        size += 1;
    }
    world
}

/// The owner's signed audit operations for every page of a log of `events` events
/// (signing is the owner's cost, done beforehand).
pub fn audit_ops(world: &World, events: u64, rng: &mut ChaCha20Rng) -> Vec<SignedOperation> {
    let (record, _) = world.record();
    (0..events)
        .step_by(MAX_AUDIT_PAGE)
        .map(|from| world.sign_as(true, Operation::Audit { record, from }, rng))
        .collect()
}

/// The SRS serves every page of the owner's audit.
#[inline(never)]
pub fn measured_audit_serve(
    srs: &mut Handle<'_>,
    ops: &[SignedOperation],
    rng: &mut ChaCha20Rng,
) -> Vec<AuditPage> {
    ops.iter()
        .map(|op| match srs.execute(op, NOW, rng).expect("audit") {
            Response::Audit(page) => *page,
            _ => panic!("not an audit page"),
        })
        .collect()
}

/// The owner verifies the pages into its accounting.
#[inline(never)]
pub fn measured_audit_verify(
    world: &World,
    key: &sesphr::sign::VerifyingKey,
    pages: &[AuditPage],
) -> Accounting {
    let (record, _) = world.record();
    let mut view = LogView::new(record);
    let mut audit = view.audit();
    for p in pages {
        audit.add_page(p, key).expect("verified");
    }
    audit.finish(&mut view).expect("complete")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let leaves: u64 = args.get(1).map_or(1000, |a| a.parse().expect("log leaves"));
    let which = args.get(2).map_or("reencrypt", String::as_str);
    let runs: usize = args.get(3).map_or(10, |a| a.parse().expect("runs"));
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let mut exec = ChaCha20Rng::seed_from_u64(14);
    let t = Instant::now();
    if which == "audit" {
        let world = audited_world(leaves, &mut rng);
        println!("audited world: {leaves} events (setup {:.1?})", t.elapsed());
        let mut srs = world.handle();
        let key = srs.verifying_key();
        for _ in 0..runs {
            let ops = audit_ops(&world, leaves, &mut rng);
            let t = Instant::now();
            let pages = measured_audit_serve(&mut srs, &ops, &mut exec);
            let served = t.elapsed();
            let t = Instant::now();
            let accounting = measured_audit_verify(&world, &key, &pages);
            let verified = t.elapsed();
            println!(
                "audit of {} events: {} pages, SRS {served:.2?}, owner verifies {verified:.2?}",
                accounting.events().len(),
                pages.len()
            );
        }
        return;
    }
    let world = world(leaves, &mut rng);
    println!(
        "store: {} rows, log of {leaves} leaves (setup {:.1?})",
        world.store().len(),
        t.elapsed()
    );
    let mut setup = world.handle();
    let mut logged = world.handle();
    let mut plain = unlogged(&world);
    let mut prepare = |rng: &mut ChaCha20Rng| match world.prepare(Op::Reencrypt, &mut setup, rng) {
        scale::Prepared::Op(op) => op,
        _ => unreachable!("a signed operation"),
    };
    // Warm-up (caches), unmeasured.
    measured_reencrypt_logged(&mut logged, &prepare(&mut rng), &mut exec);
    measured_reencrypt_unlogged(&mut plain, &prepare(&mut rng), &mut exec);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut touched = (0, 0);
    for _ in 0..runs.max(1) {
        let (a, b) = (prepare(&mut rng), prepare(&mut rng));
        let t = Instant::now();
        black_box(measured_reencrypt_logged(&mut logged, &a, &mut exec));
        with.push(t.elapsed());
        touched.0 = logged.rows_touched();
        let t = Instant::now();
        black_box(measured_reencrypt_unlogged(&mut plain, &b, &mut exec));
        without.push(t.elapsed());
        touched.1 = plain.rows_touched();
    }
    let (w, wo) = (median(with), median(without));
    println!(
        "reencrypt, log of {leaves}: with the log {w:.2?} ({} rows touched), without {wo:.2?} ({} rows), ratio {:.3}",
        touched.0,
        touched.1,
        w.as_secs_f64() / wo.as_secs_f64()
    );
}
