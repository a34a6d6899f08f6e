//! Instruction counts of the KEM's steps and turnaround under valgrind's callgrind (issue 15,
//! BENCHMARKS.md "Re-encryption on blst"), immune to the shared machine's noise. Each step runs
//! `R` times inside a function named `measured_*`, which callgrind alone counts:
//!
//! ```sh
//! cargo build --release --example kem_callgrind
//! valgrind --tool=callgrind --toggle-collect='kem_callgrind::measured_*' \
//!     target/release/examples/kem_callgrind turnaround 20
//! ```
//!
//! Steps: `turnaround` (encapsulate → reencrypt → reader decapsulate, in memory),
//! `turnaround-dem` (the same plus a 1 KiB body sealed and opened, like-for-like with
//! umbral-pre's turnaround), `reencrypt`, `reencrypt-reference` (the arkworks pairing),
//! `encapsulate`, `encapsulate-prepared` (through a writer's per-key table), `prepare` (building
//! that table), `decapsulate` (the reader's). `scripts/callgrind_peers.sh` runs them beside
//! umbral-pre's turnaround.

use std::hint::black_box;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::dem::{open_body, seal_body, DataKey, NoncePrefix};
use sesphr::pre::{
    encapsulate, Capsule, PreparedSectionKey, ReCapsule, ReKey, ReaderSecretKey, SectionSecretKey,
};

struct World {
    rng: ChaCha20Rng,
    a: SectionSecretKey,
    b: ReaderSecretKey,
    rk: ReKey,
}

#[inline(never)]
fn measured_turnaround(w: &mut World, rounds: usize) {
    let pk = w.a.public_key();
    for _ in 0..rounds {
        let (c, k) = encapsulate(&pk, b"ctx", &mut w.rng).unwrap();
        let rc = w.rk.reencrypt(&c);
        let k2 = w.b.decapsulate_reencrypted(&rc, &pk, b"ctx").unwrap();
        assert!(k == k2);
    }
}

#[inline(never)]
fn measured_turnaround_dem(w: &mut World, rounds: usize) {
    let pk = w.a.public_key();
    let pt = [7u8; 1024];
    let aad = [3u8; 32];
    for _ in 0..rounds {
        let (capsule, kek) = encapsulate(&pk, &aad, &mut w.rng).unwrap();
        let dk = DataKey::random(&mut w.rng);
        let prefix = NoncePrefix::random(&mut w.rng);
        let wrapped = dk.wrap(&kek, &aad);
        let body = seal_body(&dk, &prefix, &aad, &pt).unwrap();
        let rc = w.rk.reencrypt(&capsule);
        let kek = w.b.decapsulate_reencrypted(&rc, &pk, &aad).unwrap();
        let dk = wrapped.unwrap(&kek, &aad).unwrap();
        black_box(open_body(&dk, &prefix, &aad, &body).unwrap());
    }
}

#[inline(never)]
fn measured_reencrypt(w: &mut World, c: &Capsule, rounds: usize, reference: bool) {
    for _ in 0..rounds {
        if reference {
            black_box(w.rk.reencrypt_reference(black_box(c)));
        } else {
            black_box(w.rk.reencrypt(black_box(c)));
        }
    }
}

#[inline(never)]
fn measured_encapsulate(w: &mut World, rounds: usize) {
    let pk = w.a.public_key();
    for _ in 0..rounds {
        black_box(encapsulate(&pk, b"ctx", &mut w.rng).unwrap());
    }
}

#[inline(never)]
fn measured_encapsulate_prepared(w: &mut World, prepared: &PreparedSectionKey, rounds: usize) {
    for _ in 0..rounds {
        black_box(prepared.encapsulate(b"ctx", &mut w.rng).unwrap());
    }
}

#[inline(never)]
fn measured_prepare(w: &mut World, rounds: usize) {
    let pk = w.a.public_key();
    for _ in 0..rounds {
        black_box(PreparedSectionKey::new(black_box(&pk)));
    }
}

#[inline(never)]
fn measured_decapsulate(w: &mut World, rc: &ReCapsule, rounds: usize) {
    let pk = w.a.public_key();
    for _ in 0..rounds {
        black_box(w.b.decapsulate_reencrypted(rc, &pk, b"ctx").unwrap());
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let step = args.next().unwrap_or_else(|| "turnaround".into());
    let rounds: usize = args.next().map_or(10, |r| r.parse().expect("rounds"));
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let a = SectionSecretKey::random(&mut rng);
    let b = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b.public_key());
    let mut w = World { rng, a, b, rk };
    // Warm: the shared fixed-base tables are built outside the measured functions.
    let pk = w.a.public_key();
    let (c, _) = encapsulate(&pk, b"ctx", &mut w.rng).unwrap();
    let _ = w.a.decapsulate(&c, b"ctx");
    let _ =
        w.b.decapsulate_reencrypted(&w.rk.reencrypt(&c), &pk, b"ctx");
    match step.as_str() {
        "turnaround" => measured_turnaround(&mut w, rounds),
        "turnaround-dem" => measured_turnaround_dem(&mut w, rounds),
        "reencrypt" => measured_reencrypt(&mut w, &c, rounds, false),
        "reencrypt-reference" => measured_reencrypt(&mut w, &c, rounds, true),
        "encapsulate" => measured_encapsulate(&mut w, rounds),
        "encapsulate-prepared" => {
            let prepared = PreparedSectionKey::new(&w.a.public_key());
            measured_encapsulate_prepared(&mut w, &prepared, rounds)
        }
        "prepare" => measured_prepare(&mut w, rounds),
        "decapsulate" => {
            let rc = w.rk.reencrypt(&c);
            measured_decapsulate(&mut w, &rc, rounds)
        }
        other => panic!("unknown step {other}"),
    }
    println!("{step}: {rounds} rounds");
}
