//! The body cipher against raw `aes-gcm` (issue 5, SPEC §3, §6).
//!
//! Run twice: `cargo bench --bench dem` (one thread) and `cargo bench --bench dem --features
//! rayon` (segments in parallel); the rows of the second run carry a ` (rayon)` suffix. The raw
//! floor is AES-256-GCM over the same bytes in 64 KiB chunks on one thread, in place for
//! encryption and from ciphertext into a separate buffer for decryption — the same work the
//! STREAM body does, without the segment framing, the allocation of the output or any copy.

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sesphr::dem::{
    open_body, open_body_owned, seal_body, seal_body_owned, sealed_len, BodyOpener, BodySealer,
    DataKey, NoncePrefix, SEALED_SEGMENT_SIZE, SEGMENT_SIZE,
};

const SIZES: [(usize, &str); 4] = [
    (1 << 10, "1 KiB"),
    (64 << 10, "64 KiB"),
    (1 << 20, "1 MiB"),
    (16 << 20, "16 MiB"),
];

fn suffix() -> &'static str {
    if cfg!(feature = "rayon") {
        " (rayon)"
    } else {
        ""
    }
}

fn dem(c: &mut Criterion) {
    let key = DataKey::from_raw([7u8; 32]);
    let prefix = NoncePrefix::new([1, 2, 3, 4, 5, 6, 7]);
    let aad = [9u8; 32];
    let raw = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::default();

    let mut g = c.benchmark_group("dem");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.sample_size(30);
    if !cfg!(feature = "rayon") {
        // Every body has its own data key: the key schedule and GHASH key are per body.
        g.bench_function("Aes256Gcm::new (key setup, once per body)", |b| {
            b.iter(|| black_box(Aes256Gcm::new(black_box(&[7u8; 32]).into())))
        });
    }
    for (n, label) in SIZES {
        let plaintext: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        let sealed = seal_body(&key, &prefix, &aad, &plaintext).unwrap();
        assert_eq!(
            open_body(&key, &prefix, &aad, &sealed).unwrap(),
            plaintext,
            "round trip"
        );
        g.throughput(Throughput::Bytes(n as u64));

        g.bench_with_input(
            BenchmarkId::new(format!("seal_body{}", suffix()), label),
            &plaintext,
            |b, pt| b.iter(|| black_box(seal_body(&key, &prefix, &aad, black_box(pt)).unwrap())),
        );
        g.bench_with_input(
            BenchmarkId::new(format!("open_body{}", suffix()), label),
            &sealed,
            |b, ct| b.iter(|| black_box(open_body(&key, &prefix, &aad, black_box(ct)).unwrap())),
        );
        g.bench_with_input(
            BenchmarkId::new(format!("seal_body_owned{}", suffix()), label),
            &plaintext,
            |b, pt| {
                b.iter_batched(
                    || {
                        // Room for the tags reserved, as the documentation asks.
                        let mut buf = Vec::with_capacity(sealed_len(pt.len()));
                        buf.extend_from_slice(pt);
                        buf
                    },
                    |buf| black_box(seal_body_owned(&key, &prefix, &aad, buf).unwrap()),
                    BatchSize::LargeInput,
                )
            },
        );
        g.bench_with_input(
            BenchmarkId::new(format!("open_body_owned{}", suffix()), label),
            &sealed,
            |b, ct| {
                b.iter_batched(
                    || ct.clone(),
                    |buf| black_box(open_body_owned(&key, &prefix, &aad, buf).unwrap()),
                    BatchSize::LargeInput,
                )
            },
        );
        if !cfg!(feature = "rayon") {
            // The segment-at-a-time API (bounded memory) does not use rayon.
            g.bench_with_input(
                BenchmarkId::new("BodySealer (segment at a time)", label),
                &plaintext,
                |b, pt| {
                    b.iter(|| {
                        let mut s = BodySealer::new(&key, &prefix, &aad);
                        let mut chunks = pt.chunks(SEGMENT_SIZE).peekable();
                        let mut total = 0;
                        while let Some(chunk) = chunks.next() {
                            if chunks.peek().is_none() {
                                total += s.seal_last(chunk).unwrap().len();
                                break;
                            }
                            total += s.seal_segment(chunk).unwrap().len();
                        }
                        black_box(total)
                    })
                },
            );
            g.bench_with_input(
                BenchmarkId::new("BodyOpener (segment at a time)", label),
                &sealed,
                |b, ct| {
                    b.iter(|| {
                        let mut o = BodyOpener::new(&key, &prefix, &aad);
                        let mut chunks = ct.chunks(SEALED_SEGMENT_SIZE).peekable();
                        let mut total = 0;
                        while let Some(chunk) = chunks.next() {
                            if chunks.peek().is_none() {
                                total += o.open_last(chunk).unwrap().len();
                                break;
                            }
                            total += o.open_segment(chunk).unwrap().len();
                        }
                        black_box(total)
                    })
                },
            );

            // The floor: raw AES-256-GCM, one thread, 64 KiB chunks.
            let mut buf = plaintext.clone();
            g.bench_function(
                BenchmarkId::new("aes-gcm encrypt_inout_detached (raw, 64 KiB chunks)", label),
                |b| {
                    b.iter(|| {
                        for chunk in buf.chunks_mut(SEGMENT_SIZE) {
                            black_box(
                                raw.encrypt_inout_detached(&nonce, &aad, chunk.into())
                                    .unwrap(),
                            );
                        }
                    })
                },
            );
            let mut ct = plaintext.clone();
            let tags: Vec<_> = ct
                .chunks_mut(SEGMENT_SIZE)
                .map(|chunk| {
                    raw.encrypt_inout_detached(&nonce, &aad, chunk.into())
                        .unwrap()
                })
                .collect();
            let mut out = vec![0u8; n];
            let decrypt = |out: &mut [u8]| {
                for ((cin, cout), tag) in ct
                    .chunks(SEGMENT_SIZE)
                    .zip(out.chunks_mut(SEGMENT_SIZE))
                    .zip(&tags)
                {
                    let io = aes_gcm::aead::inout::InOutBuf::new(cin, cout).unwrap();
                    raw.decrypt_inout_detached(&nonce, &aad, io, tag).unwrap();
                }
            };
            decrypt(&mut out);
            assert_eq!(out, plaintext);
            g.bench_function(
                BenchmarkId::new("aes-gcm decrypt_inout_detached (raw, 64 KiB chunks)", label),
                |b| {
                    b.iter(|| {
                        decrypt(&mut out);
                        black_box(&out);
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, dem);
criterion_main!(benches);
