//! The GT values that are shared secrets (`S = Z^r` for the writer, `T^(1/b)` for the reader,
//! `e(C^(1/a), g2)` for the owner) never pass through the heap, where a freed buffer would keep
//! them unwiped: with the `blst` feature the conversion back from blst used to allocate one
//! buffer per coordinate (found by review). Measured with dhat around each operation, after
//! the shared tables are built. One test in this binary, so no other test's allocations count.
#![cfg(feature = "std")]

use ark_bls12_381::{Fr, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::Field;
use sesphr::pre::floor::{gt_pow, pair_with_g2, z, z_pow};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn blocks() -> u64 {
    dhat::HeapStats::get().total_blocks
}

#[test]
fn secret_gt_values_never_touch_the_heap() {
    let e = Fr::from(0x1234_5678_9abc_def1u64).square() + Fr::from(7u64);
    let f = z().pow([11u64]);
    let p = (G1Projective::generator() * Fr::from(5u64)).into_affine();
    // Warm: the shared tables and prepared lines are built once, on the heap, from public data.
    let _ = (z_pow(&e), gt_pow(&f, &e), pair_with_g2(&p));

    let _profiler = dhat::Profiler::builder().testing().build();
    let before = blocks();
    let s1 = z_pow(&e);
    assert_eq!(blocks(), before, "z_pow allocated");
    let s2 = gt_pow(&f, &e);
    assert_eq!(blocks(), before, "gt_pow allocated");
    let s3 = pair_with_g2(&p);
    assert_eq!(blocks(), before, "pair_with_g2 allocated");
    // The values are the right ones (a no-op that allocates nothing would pass the above).
    assert_eq!(s1, z().pow(ark_ff::PrimeField::into_bigint(e)));
    assert_eq!(s2, f.pow(ark_ff::PrimeField::into_bigint(e)));
    assert_eq!(s3, z().pow([5u64]));
}
