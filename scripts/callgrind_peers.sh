#!/usr/bin/env bash
# The KEM turnaround against umbral-pre 0.11's (1 KiB, 1-of-1, the peer of ../shared/peers),
# BENCHMARKS.md, issue 15:
# 1. wall clock, both in one process, timed alternately over ten rounds (median of 200
#    turnarounds each per round), with the per-round ratio and the median ratio;
# 2. instruction counts (valgrind callgrind, immune to the machine's noise): sesphr with blst
#    (default features), sesphr on arkworks alone (--no-default-features --features std),
#    umbral-pre; and sesphr's steps one by one.
#   bash scripts/callgrind_peers.sh [ROUNDS]        (default 20; run from the project root)
# umbral-pre is GPL: it is never a dependency of this project. The peer harness is written to
# target/peers-callgrind (a throwaway crate, not part of the repository), as ../shared/peers is.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
out=target/callgrind
mkdir -p "$out"

cargo build --quiet --release --example kem_callgrind
cp target/release/examples/kem_callgrind "$out/kem_blst"
cargo build --quiet --release --example kem_callgrind --no-default-features --features std
cp target/release/examples/kem_callgrind "$out/kem_arkworks"

peer=target/peers-callgrind
mkdir -p "$peer/src"
cp ../shared/peers/Cargo.lock "$peer/Cargo.lock" 2>/dev/null || true
cat > "$peer/Cargo.toml" <<'TOML'
[package]
name = "peer_callgrind"
version = "0.1.0"
edition = "2021"
publish = false
[workspace]
[dependencies]
umbral-pre = "0.11"
sesphr = { path = "../.." }
rand_core = { version = "0.6", features = ["getrandom"] }
[profile.release]
opt-level = 3
debug = 1
TOML
cat > "$peer/src/main.rs" <<'RS'
// umbral-pre's turnaround (encrypt 1 KiB -> re-encrypt -> delegatee decrypt), as ../shared/peers.
use umbral_pre::*;
#[inline(never)]
fn measured_turnaround(a_pk: &PublicKey, b_sk: &SecretKey, kfrag: &VerifiedKeyFrag, rounds: usize) {
    let pt = vec![7u8; 1024];
    for _ in 0..rounds {
        let (c, ct) = encrypt(a_pk, &pt).unwrap();
        let cf = reencrypt(&c, kfrag.clone());
        std::hint::black_box(decrypt_reencrypted(b_sk, a_pk, &c, [cf], &ct).unwrap());
    }
}
#[inline(never)]
fn sesphr_turnaround(pk: &sesphr::pre::SectionPublicKey, b: &sesphr::pre::ReaderSecretKey, rk: &sesphr::pre::ReKey, rounds: usize) {
    let mut rng = rand_core::OsRng;
    for _ in 0..rounds {
        let (c, k) = sesphr::pre::encapsulate(pk, b"ctx", &mut rng).unwrap();
        let rc = rk.reencrypt(&c);
        assert!(b.decapsulate_reencrypted(&rc, pk, b"ctx").unwrap() == k);
    }
}
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let rounds: usize = std::env::args().nth(2).map_or(10, |r| r.parse().unwrap());
    let a_sk = SecretKey::random(); let a_pk = a_sk.public_key();
    let b_sk = SecretKey::random(); let b_pk = b_sk.public_key();
    let signer = Signer::new(SecretKey::random());
    let kfrag = generate_kfrags(&a_sk, &b_pk, &signer, 1, 1, true, true)[0].clone();
    measured_turnaround(&a_pk, &b_sk, &kfrag, 1);
    if mode == "count" {
        measured_turnaround(&a_pk, &b_sk, &kfrag, rounds);
        return;
    }
    let mut rng = rand_core::OsRng;
    let a = sesphr::pre::SectionSecretKey::random(&mut rng);
    let b = sesphr::pre::ReaderSecretKey::random(&mut rng);
    let rk = sesphr::pre::ReKey::new(&a, &b.public_key());
    let pk = a.public_key();
    sesphr_turnaround(&pk, &b, &rk, 20);
    let n = 200;
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let t = std::time::Instant::now();
        measured_turnaround(&a_pk, &b_sk, &kfrag, n);
        let u = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        let t = std::time::Instant::now();
        sesphr_turnaround(&pk, &b, &rk, n);
        let s = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        println!("round {round:2}: umbral-pre {u:.3} ms, sesphr KEM {s:.3} ms, ratio {:.3}", s / u);
        ratios.push(s / u);
    }
    ratios.sort_by(|x, y| x.partial_cmp(y).unwrap());
    println!("median ratio sesphr/umbral-pre: {:.3} (range {:.3}-{:.3})", ratios[ratios.len() / 2], ratios[0], ratios[ratios.len() - 1]);
}
RS
cargo build --quiet --release --manifest-path "$peer/Cargo.toml" --target-dir target/peers

count() { # NAME TOGGLE ROUNDS CMD... -> instructions per round
  local name=$1 toggle=$2 r=$3; shift 3
  valgrind --tool=callgrind --callgrind-out-file="$out/$name.out" --toggle-collect="$toggle" \
    "$@" > /dev/null 2> "$out/$name.log"
  local total
  total=$(grep -E '^summary:|^totals:' "$out/$name.out" | head -1 | awk '{print $2}')
  echo "$name $(( total / r ))"
}

echo "== wall clock, alternating in one process (ten rounds)"
target/peers/release/peer_callgrind time 10 | tee "$out/alternating.txt"
echo "== instruction counts (callgrind, $rounds rounds each)"
{
  # umbral's measured function also ran once as a warm-up: rounds + 1 calls.
  count umbral_turnaround 'peer_callgrind::measured_*' $((rounds + 1)) target/peers/release/peer_callgrind count "$rounds"
  for lib in blst arkworks; do
    for step in turnaround turnaround-dem reencrypt reencrypt-reference encapsulate encapsulate-prepared prepare decapsulate; do
      count "${lib}_$step" 'kem_callgrind::measured_*' "$rounds" "$out/kem_$lib" "$step" "$rounds"
    done
  done
} | tee "$out/summary.txt" | awk '{printf "%-34s %12d instructions per round\n", $1, $2}'
