//! Bounded memory at scale: a 1 GiB body (generated, never held in memory) is sealed through
//! the streaming writer into a file and opened through the verified two-pass reader, with the
//! heap measured by dhat around each half. The peak heap growth of each stays under 1 MiB
//! above the one segment buffer the stream holds, whatever the body size. One test in this
//! binary, so no other test's allocations are counted.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::time::Instant;

use common::entries::Entries;
use common::world::NOW;
use sesphr::dem::SEALED_SEGMENT_SIZE;
use sesphr::phr::EntryStream;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const BODY: u64 = 1 << 30;
/// The writer gets the plaintext in chunks of this size, aligned with no segment.
const WRITE_CHUNK: usize = 1_000_003;
/// The plaintext is read back in chunks of this size.
const READ_CHUNK: usize = 65_521;
/// What the stream may hold besides its one segment buffer.
const SLACK: u64 = 1 << 20;

/// The plaintext at `pos..pos + out.len()`: a fixed pattern in chunks of [`WRITE_CHUNK`],
/// each stamped with its index (cheap to generate again when reading back).
fn plaintext_at(pattern: &[u8], pos: u64, out: &mut [u8]) {
    let mut done = 0;
    while done < out.len() {
        let p = pos + done as u64;
        let (index, at) = (p / WRITE_CHUNK as u64, (p % WRITE_CHUNK as u64) as usize);
        let n = (out.len() - done).min(WRITE_CHUNK - at);
        let piece = &mut out[done..done + n];
        piece.copy_from_slice(&pattern[at..at + n]);
        for (i, b) in index.to_le_bytes().iter().enumerate().skip(at).take(n) {
            piece[i - at] = *b;
        }
        done += n;
    }
}

/// Heap peak (bytes) while `f` runs, counted from zero when it starts.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let profiler = dhat::Profiler::builder().testing().build();
    let out = f();
    let peak = dhat::HeapStats::get().max_bytes as u64;
    drop(profiler);
    (out, peak)
}

#[test]
fn one_gib_sealed_and_opened_in_bounded_memory() {
    let mut fx = Entries::new(90);
    let acl = fx.acl();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("stream_1gib-{}.entry", std::process::id()));
    // The plaintext: a fixed pattern, each chunk stamped with its index (cheap to generate).
    let pattern: Vec<u8> = (0..WRITE_CHUNK as u32)
        .map(|i| (i.wrapping_mul(0x9e37_79b9) >> 24) as u8)
        .collect();
    let mut chunk = vec![0u8; WRITE_CHUNK];
    let mut read_buf = vec![0u8; READ_CHUNK];
    let mut expected = vec![0u8; READ_CHUNK];
    let file = File::create(&path).unwrap();
    let keys = fx.hospital.keys.clone();
    let mut rng = common::rng(91);
    // The process-wide fixed-base tables (4.7 MiB for `e(g1, g2)`) are built on first use;
    // build them before measuring, as any long-running process has.
    keys.seal_entry(&acl, fx.medical, b"warm-up", NOW, &mut common::rng(92))
        .unwrap();

    let started = Instant::now();
    let (streamed, seal_peak) = peak_heap(|| {
        let mut w = keys
            .entry_writer(&acl, fx.medical, BODY, NOW, file, &mut rng)
            .unwrap();
        let mut pos = 0u64;
        while pos < BODY {
            let n = (BODY - pos).min(WRITE_CHUNK as u64) as usize;
            let block = &mut chunk[..n];
            plaintext_at(&pattern, pos, block);
            w.write_all(block).unwrap();
            pos += n as u64;
        }
        let (file, streamed) = w.finish(&mut rng).unwrap();
        drop(file);
        streamed
    });
    let seal_time = started.elapsed();
    let container_len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        container_len,
        2 + 97
            + 4
            + streamed.key_block().to_bytes().len() as u64
            + 4
            + BODY
            + (BODY / 65_536) * 16
            + 82
    );

    // The write gate accepts it; the doctor asks for its re-encryption.
    let hospital = fx.hospital.clone();
    let accepted = fx
        .submit(&hospital, streamed.submission(), streamed.header())
        .unwrap();
    let recapsule = fx.doctor_capsule(streamed.header());

    let started = Instant::now();
    let (read_len, open_peak) = peak_heap(|| {
        let stream = EntryStream::new(File::open(&path).unwrap()).unwrap();
        let mut r = fx
            .doctor
            .keys
            .open_stream(stream, &accepted, &recapsule, &acl)
            .unwrap();
        assert_eq!(r.plaintext_len(), BODY);
        let mut len = 0u64;
        loop {
            let n = r.read(&mut read_buf).unwrap();
            if n == 0 {
                break len;
            }
            plaintext_at(&pattern, len, &mut expected[..n]);
            assert!(
                read_buf[..n] == expected[..n],
                "plaintext differs after {len} bytes"
            );
            len += n as u64;
        }
    });
    let open_time = started.elapsed();
    std::fs::remove_file(&path).unwrap();

    assert_eq!(read_len, BODY);
    eprintln!(
        "1 GiB: seal {seal_time:.2?}, peak heap {seal_peak} B; open (two passes) {open_time:.2?}, \
         peak heap {open_peak} B; segment buffer {SEALED_SEGMENT_SIZE} B"
    );
    let bound = SEALED_SEGMENT_SIZE as u64 + SLACK;
    assert!(seal_peak < bound, "sealing peaked at {seal_peak} bytes");
    assert!(open_peak < bound, "opening peaked at {open_peak} bytes");
}
