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

#[allow(dead_code)]
#[path = "../examples/srs_scale.rs"]
mod scale;

use scale::{Op, World, BATCH};

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

criterion_group!(benches, srs);
criterion_main!(benches);
