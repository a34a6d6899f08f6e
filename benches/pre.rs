//! The PRE core against its floors (issue 5, SPEC §6).
//!
//! - `group ops`: the arkworks operations every PRE operation is made of, and the crate's own
//!   fixed-base / Frobenius / subgroup-check building blocks (`sesphr::pre::floor`).
//! - `pre`: the public API of `sesphr::pre`, one row per function, named as the API names it.
//!
//! - `batch of 100` (with `--features rayon`): batches on one core and on every core.
//!
//! Run: `cargo bench --bench pre` (`--features rayon` for the batches). BENCHMARKS.md turns the medians into ratios.

use std::hint::black_box;
use std::time::Duration;

use ark_bls12_381::{Bls12_381, Fq12, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{CyclotomicMultSubgroup, Field, One, PrimeField};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::UniformRand;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::pre::floor::{g1_mul, g2_mul, gt_check, gt_pow, z, z_pow};
use sesphr::pre::{
    encapsulate, Capsule, PreparedSectionKey, ReCapsule, ReKey, ReaderSecretKey, SectionSecretKey,
};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
}

fn group_ops(c: &mut Criterion) {
    let mut rng = rng(1);
    let e = Fr::rand(&mut rng);
    let p1 = G1Projective::rand(&mut rng);
    let p2 = G2Projective::rand(&mut rng);
    let a1 = p1.into_affine();
    let a2 = p2.into_affine();
    let prepared: <Bls12_381 as Pairing>::G2Prepared = a2.into();
    // A random element of GT (order r).
    let f = z_pow(&Fr::rand(&mut rng));

    let mut g1_bytes = Vec::new();
    a1.serialize_compressed(&mut g1_bytes).unwrap();
    let mut g2_bytes = Vec::new();
    a2.serialize_compressed(&mut g2_bytes).unwrap();
    let mut gt_bytes = Vec::new();
    f.serialize_uncompressed(&mut gt_bytes).unwrap();

    // Build the lazily-initialised tables outside the measurements.
    let _ = black_box((g1_mul(&e), g2_mul(&e), z_pow(&e)));

    let mut g = c.benchmark_group("group ops");
    g.bench_function("G1Projective::mul (variable base)", |b| {
        b.iter(|| black_box(black_box(p1) * black_box(e)))
    });
    g.bench_function("G2Projective::mul (variable base)", |b| {
        b.iter(|| black_box(black_box(p2) * black_box(e)))
    });
    g.bench_function("floor::g1_mul (fixed base)", |b| {
        b.iter(|| black_box(g1_mul(black_box(&e))))
    });
    g.bench_function("floor::g2_mul (fixed base)", |b| {
        b.iter(|| black_box(g2_mul(black_box(&e))))
    });
    g.bench_function("Bls12_381::pairing", |b| {
        b.iter(|| black_box(Bls12_381::pairing(black_box(a1), black_box(a2))))
    });
    // The floor of re-encryption: the Miller loop with the G2 lines precomputed, then the final
    // exponentiation. `multi_miller_loop` takes its prepared points by value, so the clone of
    // the line coefficients is part of the floor (as it is of `ReKey::reencrypt`).
    g.bench_function(
        "pairing with prepared G2 (multi_miller_loop + final_exponentiation)",
        |b| {
            b.iter(|| {
                let ml = Bls12_381::multi_miller_loop([black_box(a1)], [prepared.clone()]);
                black_box(Bls12_381::final_exponentiation(ml))
            })
        },
    );
    g.bench_function("Fq12::pow (generic GT exponentiation)", |b| {
        b.iter(|| black_box(black_box(f).pow(black_box(e).into_bigint())))
    });
    g.bench_function("CyclotomicMultSubgroup::cyclotomic_exp", |b| {
        b.iter(|| black_box(black_box(f).cyclotomic_exp(black_box(e).into_bigint())))
    });
    g.bench_function("naive subgroup check (f^r == 1)", |b| {
        b.iter(|| black_box(black_box(f).pow(Fr::MODULUS).is_one()))
    });
    g.bench_function("floor::gt_check", |b| {
        b.iter(|| black_box(gt_check(black_box(&f))))
    });
    g.bench_function("floor::gt_pow (Frobenius-decomposed)", |b| {
        b.iter(|| black_box(gt_pow(black_box(&f), black_box(&e))))
    });
    g.bench_function("floor::z_pow (fixed-base table)", |b| {
        b.iter(|| black_box(z_pow(black_box(&e))))
    });
    g.bench_function("G1Affine::deserialize_compressed (checked)", |b| {
        b.iter(|| black_box(G1Affine::deserialize_compressed(black_box(&g1_bytes[..])).unwrap()))
    });
    g.bench_function("G2Affine::deserialize_compressed (checked)", |b| {
        b.iter(|| black_box(G2Affine::deserialize_compressed(black_box(&g2_bytes[..])).unwrap()))
    });
    g.bench_function("Fq12::deserialize_uncompressed (no GT check)", |b| {
        b.iter(|| black_box(Fq12::deserialize_uncompressed(black_box(&gt_bytes[..])).unwrap()))
    });
    g.finish();

    // Sanity: the floors compute what they claim.
    assert_eq!(g1_mul(&e), (G1Projective::generator() * e).into_affine());
    assert_eq!(gt_pow(&f, &e), f.pow(e.into_bigint()));
    assert_eq!(z_pow(&e), z().pow(e.into_bigint()));
    assert!(gt_check(&f).is_ok());
    assert!(f.pow(Fr::MODULUS).is_one());
}

fn pre(c: &mut Criterion) {
    let mut rng = rng(2);
    let ctx = [0x5au8; 32];
    let a = SectionSecretKey::random(&mut rng);
    let pk = a.public_key();
    let b = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b.public_key());
    let (capsule, key) = encapsulate(&pk, &ctx, &mut rng).unwrap();
    let recapsule = rk.reencrypt(&capsule);
    let capsule_bytes = capsule.to_bytes();
    let recapsule_bytes = recapsule.to_bytes();
    assert_eq!(a.decapsulate(&capsule, &ctx).unwrap(), key);
    assert_eq!(
        b.decapsulate_reencrypted(&recapsule, &pk, &ctx).unwrap(),
        key
    );

    let mut g = c.benchmark_group("pre");
    g.bench_function("SectionSecretKey::random", |bch| {
        bch.iter(|| black_box(SectionSecretKey::random(&mut rng)))
    });
    g.bench_function("ReaderSecretKey::random", |bch| {
        bch.iter(|| black_box(ReaderSecretKey::random(&mut rng)))
    });
    let reader_pk = b.public_key();
    g.bench_function("ReKey::new", |bch| {
        bch.iter(|| black_box(ReKey::new(black_box(&a), black_box(&reader_pk))))
    });
    g.bench_function("encapsulate", |bch| {
        bch.iter(|| black_box(encapsulate(black_box(&pk), &ctx, &mut rng).unwrap()))
    });
    // A writer's per-key table: its build cost, and the encapsulation through it (the
    // break-even number of entries is build / (encapsulate - prepared encapsulate)).
    g.bench_function("PreparedSectionKey::new", |bch| {
        bch.iter(|| black_box(PreparedSectionKey::new(black_box(&pk))))
    });
    let prepared = PreparedSectionKey::new(&pk);
    g.bench_function("PreparedSectionKey::encapsulate", |bch| {
        bch.iter(|| black_box(prepared.encapsulate(&ctx, &mut rng).unwrap()))
    });
    g.bench_function("SectionSecretKey::decapsulate", |bch| {
        bch.iter(|| black_box(a.decapsulate(black_box(&capsule), &ctx).unwrap()))
    });
    g.bench_function("ReKey::reencrypt", |bch| {
        bch.iter(|| black_box(rk.reencrypt(black_box(&capsule))))
    });
    // The same pairing on arkworks alone (the reference the `blst` path is checked against).
    g.bench_function("ReKey::reencrypt_reference (arkworks)", |bch| {
        bch.iter(|| black_box(rk.reencrypt_reference(black_box(&capsule))))
    });
    // In memory, the GT checks already ran when the re-encrypted capsule was decoded (or it came
    // from the proxy's own `reencrypt`), so this row is the exponentiation and the KDF.
    g.bench_function("ReaderSecretKey::decapsulate_reencrypted", |bch| {
        bch.iter(|| {
            black_box(
                b.decapsulate_reencrypted(black_box(&recapsule), &pk, &ctx)
                    .unwrap(),
            )
        })
    });
    // What a reader does with bytes from the wire: decode (point and GT checks), then decapsulate.
    g.bench_function("ReCapsule::from_bytes + decapsulate_reencrypted", |bch| {
        bch.iter(|| {
            let rc = ReCapsule::from_bytes(black_box(&recapsule_bytes)).unwrap();
            black_box(b.decapsulate_reencrypted(&rc, &pk, &ctx).unwrap())
        })
    });
    g.bench_function("Capsule::from_bytes", |bch| {
        bch.iter(|| black_box(Capsule::from_bytes(black_box(&capsule_bytes)).unwrap()))
    });
    g.bench_function("ReCapsule::from_bytes", |bch| {
        bch.iter(|| black_box(ReCapsule::from_bytes(black_box(&recapsule_bytes)).unwrap()))
    });
    g.bench_function("Capsule::to_bytes", |bch| {
        bch.iter(|| black_box(black_box(&capsule).to_bytes()))
    });
    g.bench_function("ReCapsule::to_bytes", |bch| {
        bch.iter(|| black_box(black_box(&recapsule).to_bytes()))
    });
    // KEM turnaround, in memory: writer encapsulates, proxy re-encrypts, reader decapsulates.
    g.bench_function("kem turnaround", |bch| {
        bch.iter(|| {
            let (c, k) = encapsulate(&pk, &ctx, &mut rng).unwrap();
            let rc = rk.reencrypt(&c);
            let k2 = b.decapsulate_reencrypted(&rc, &pk, &ctx).unwrap();
            black_box(k == k2)
        })
    });
    // KEM turnaround through the wire encodings: the proxy decodes the capsule, the reader
    // decodes the re-encrypted capsule (all subgroup and GT checks).
    g.bench_function("kem turnaround (wire)", |bch| {
        bch.iter(|| {
            let (c, k) = encapsulate(&pk, &ctx, &mut rng).unwrap();
            let c = Capsule::from_bytes(&c.to_bytes()).unwrap();
            let rc = rk.reencrypt(&c);
            let rc = ReCapsule::from_bytes(&rc.to_bytes()).unwrap();
            let k2 = b.decapsulate_reencrypted(&rc, &pk, &ctx).unwrap();
            black_box(k == k2)
        })
    });
    let capsules: Vec<Capsule> = (0..16)
        .map(|_| encapsulate(&pk, &ctx, &mut rng).unwrap().0)
        .collect();
    g.bench_function("ReKey::reencrypt_many (16 capsules)", |bch| {
        bch.iter_batched(
            || capsules.clone(),
            |cs| black_box(rk.reencrypt_many(&cs)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Batches of 100 on one core and on every core, in the same run (rayon pools of 1 and of
/// `available_parallelism` threads): the speed-up of the `rayon` feature.
#[cfg(feature = "rayon")]
fn batches(c: &mut Criterion) {
    let mut rng = rng(9);
    let a = SectionSecretKey::random(&mut rng);
    let b = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b.public_key());
    let pk = a.public_key();
    let ctx = [5u8; 32];
    let capsules: Vec<Capsule> = (0..100)
        .map(|_| encapsulate(&pk, &ctx, &mut rng).unwrap().0)
        .collect();
    let recapsules = rk.reencrypt_many(&capsules);
    let items: Vec<(&ReCapsule, &sesphr::pre::SectionPublicKey, &[u8])> =
        recapsules.iter().map(|rc| (rc, &pk, &ctx[..])).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("batch of 100");
    g.sample_size(10);
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        g.bench_function(
            format!("ReKey::reencrypt_many, {threads} thread(s)"),
            |bch| bch.iter(|| pool.install(|| black_box(rk.reencrypt_many(&capsules)))),
        );
        g.bench_function(
            format!("ReaderSecretKey::decapsulate_reencrypted_many, {threads} thread(s)"),
            |bch| bch.iter(|| pool.install(|| black_box(b.decapsulate_reencrypted_many(&items)))),
        );
    }
    g.finish();
}

#[cfg(not(feature = "rayon"))]
fn batches(_: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = config();
    targets = group_ops, pre, batches
}
criterion_main!(benches);
