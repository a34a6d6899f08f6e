//! The in-memory store's heap per stored re-encryption key row (issue 11): the key (69
//! bytes), the value (100 bytes) and the row's share of the ordered map's nodes, measured
//! with dhat's counting allocator over 100 000 key rows for random records, inserted one by
//! one (as commits do) and loaded in one go (`MemoryStore::from_rows`, a backup restore).
//! dhat counts the bytes asked for; the allocator's own rounding (at most 16 bytes per
//! block with glibc) is printed separately. One test in this binary, so no other test's
//! allocations are counted.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sesphr::pre::{ReKey, ReaderSecretKey, SectionSecretKey};
use sesphr::srs::{MemoryStore, Row, RowVersion};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ROWS: usize = 100_000;
/// The bound asserted, per key row.
const MAX_BYTES_PER_ROW: f64 = 400.0;
/// `0x05 ‖ record (16) ‖ section (16) ‖ epoch (u32) ‖ reader fingerprint (32)`.
const KEY_LEN: usize = 1 + 16 + 16 + 4 + 32;

/// A key row's key for a random record, section and reader.
fn key(rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut k = vec![0u8; KEY_LEN];
    rng.fill_bytes(&mut k);
    k[0] = 0x05;
    k[33..37].copy_from_slice(&0u32.to_be_bytes());
    k
}

/// Live heap bytes and blocks now.
fn live() -> (u64, u64) {
    let s = dhat::HeapStats::get();
    (s.curr_bytes as u64, s.curr_blocks as u64)
}

fn report(how: &str, (b0, k0): (u64, u64), (b1, k1): (u64, u64)) -> f64 {
    let per_row = (b1 - b0) as f64 / ROWS as f64;
    let blocks = (k1 - k0) as f64 / ROWS as f64;
    println!(
        "MemoryStore, {ROWS} key rows {how}: {per_row:.1} heap bytes per row \
         ({blocks:.2} blocks per row; with allocator rounding at most {:.1})",
        per_row + 16.0 * blocks
    );
    per_row
}

#[test]
fn memory_store_heap_per_key_row() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut rng = ChaCha20Rng::seed_from_u64(90);
    // A real key row value: kind, row format version, the 98-byte key encoding.
    let rk = ReKey::new(
        &SectionSecretKey::random(&mut rng),
        &ReaderSecretKey::random(&mut rng).public_key(),
    );
    let mut value = vec![0x05, 0x01];
    value.extend_from_slice(&rk.to_bytes());
    assert_eq!(value.len(), 100);

    // One by one, in random key order.
    let store = MemoryStore::new();
    let before = live();
    for _ in 0..ROWS {
        store
            .put_raw(key(&mut rng), value.clone())
            .expect("in-memory store");
    }
    let one_by_one = report("inserted one by one", before, live());
    assert_eq!(store.len(), ROWS);
    drop(store);

    // Loaded from exported rows: their keys and values move into the map and the vector
    // that held them is freed, so the difference is the store's alone.
    let before = live();
    let rows: Vec<Row> = (0..ROWS)
        .map(|i| Row {
            key: key(&mut rng),
            version: RowVersion(i as u64 + 1),
            value: value.clone(),
        })
        .collect();
    let store = MemoryStore::from_rows(rows);
    let loaded = report("loaded by from_rows", before, live());
    assert_eq!(store.len(), ROWS);

    assert!(
        one_by_one <= MAX_BYTES_PER_ROW && loaded <= MAX_BYTES_PER_ROW,
        "heap per key row: {one_by_one:.1} (one by one), {loaded:.1} (loaded); bound {MAX_BYTES_PER_ROW}"
    );
}
