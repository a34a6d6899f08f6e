//! The SRS as a service (issue 11, SPEC §8): each operation through `Srs::execute` over a
//! `MemoryStore` holding 10 000 and 1 000 000 re-encryption key rows, against
//! `ReKey::reencrypt` alone (the floor) in the same group.
//!
//! Run: `cargo bench --bench srs -- --warm-up-time 1 --measurement-time 3`.
//!
//! The world (one real record with 100 accepted entries, filler key rows for random other
//! records) is `examples/srs_scale.rs`'s, the driver used for instruction counts under
//! callgrind, so both measure the same thing. Every measured operation is signed in the
//! untimed setup (signing is the client's cost) with a fresh nonce; the ones that change
//! state get fresh ids (a new principal, a new request, a fresh record to grant on or to
//! approve a request on, prepared through a second handle). The measuring handle keeps its
//! cache across iterations, as a running instance does.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

// `log_scale` includes `srs_scale` as `log_scale::scale` (one copy of the world).
#[allow(dead_code)]
#[path = "../examples/log_scale.rs"]
mod log_scale;

use log_scale::scale::{Op, World, BATCH};

/// Key rows in the store.
const SIZES: [usize; 2] = [10_000, 1_000_000];

fn srs(c: &mut Criterion) {
    let mut g = c.benchmark_group("srs");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    for keys in SIZES {
        g.sample_size(if keys >= 1_000_000 { 10 } else { 20 });
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let world = World::new(keys, &mut rng);
        assert_eq!(world.key_rows(), keys);
        let mut setup = world.handle();
        let mut srs = world.handle();
        let mut exec_rng = ChaCha20Rng::seed_from_u64(12);
        for op in Op::ALL {
            g.throughput(Throughput::Elements(if op == Op::Batch {
                BATCH as u64
            } else {
                1
            }));
            g.bench_function(BenchmarkId::new(op.bench_name(), keys), |b| {
                b.iter_batched(
                    || world.prepare(op, &mut setup, &mut rng),
                    // Returned, so criterion drops it (and a cold handle) outside the timing.
                    |mut p| {
                        let touched = world.measure(op, &mut srs, &mut p, &mut exec_rng);
                        (p, black_box(touched))
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

/// The disclosure log (issue 13): a served re-encryption (event, checkpoint, receipt) with the
/// record's log at 10³ and 10⁶ leaves, against the same operation with the log off, same
/// store; and the owner's audit of 10 000 events, served and verified.
fn log(c: &mut Criterion) {
    let mut g = c.benchmark_group("log");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    for leaves in [1_000u64, 1_000_000] {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let world = log_scale::world(leaves, &mut rng);
        let mut setup = world.handle();
        let mut logged = world.handle();
        let mut plain = log_scale::unlogged(&world);
        let mut exec = ChaCha20Rng::seed_from_u64(14);
        let mut prepare = |rng: &mut ChaCha20Rng| match world.prepare(
            log_scale::Op::Reencrypt,
            &mut setup,
            rng,
        ) {
            log_scale::scale::Prepared::Op(op) => op,
            _ => unreachable!("a signed operation"),
        };
        let name = "Srs::execute Reencrypt (1 entry, with the log)";
        g.bench_function(BenchmarkId::new(name, leaves), |b| {
            b.iter_batched(
                || prepare(&mut rng),
                |op| log_scale::measured_reencrypt_logged(&mut logged, &op, &mut exec),
                BatchSize::SmallInput,
            )
        });
        let name = "Srs::execute Reencrypt (1 entry, log off)";
        g.bench_function(BenchmarkId::new(name, leaves), |b| {
            b.iter_batched(
                || prepare(&mut rng),
                |op| log_scale::measured_reencrypt_unlogged(&mut plain, &op, &mut exec),
                BatchSize::SmallInput,
            )
        });
    }
    let events = 10_000;
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let world = log_scale::audited_world(events, &mut rng);
    let mut srs = world.handle();
    let key = srs.verifying_key();
    let mut exec = ChaCha20Rng::seed_from_u64(16);
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function(
        BenchmarkId::new("Srs::execute Audit (every page)", events),
        |b| {
            b.iter_batched(
                || log_scale::audit_ops(&world, events, &mut rng),
                |ops| log_scale::measured_audit_serve(&mut srs, &ops, &mut exec),
                BatchSize::SmallInput,
            )
        },
    );
    let ops = log_scale::audit_ops(&world, events, &mut rng);
    let pages = log_scale::measured_audit_serve(&mut srs, &ops, &mut exec);
    g.bench_function(BenchmarkId::new("Audit::add_page + finish", events), |b| {
        b.iter(|| log_scale::measured_audit_verify(&world, &key, &pages))
    });
    g.finish();
}

criterion_group!(benches, srs, log);
criterion_main!(benches);
