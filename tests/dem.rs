//! The data encapsulation: key wrap and the STREAM body, with every tampering of SPEC §3.

mod common;

use common::rng;
use proptest::prelude::*;
use sesphr::dem::{
    open_body, open_body_owned, seal_body, sealed_len, segment_count, BodyOpener, BodySealer,
    DataKey, NoncePrefix, WrappedKey, SEALED_SEGMENT_SIZE, SEGMENT_SIZE, TAG_SIZE,
};
use sesphr::pre::{encapsulate, SectionSecretKey};
use sesphr::Error;

const AAD: &[u8] = b"H(body header)";

fn key() -> (DataKey, NoncePrefix) {
    let mut r = rng(20);
    (DataKey::random(&mut r), NoncePrefix::random(&mut r))
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + 7) as u8).collect()
}

const SIZES: [usize; 7] = [
    0,
    1,
    SEGMENT_SIZE - 1,
    SEGMENT_SIZE,
    SEGMENT_SIZE + 1,
    3 * SEGMENT_SIZE,
    1 << 20,
];

#[test]
fn bodies_round_trip_at_segment_boundaries() {
    let (dk, prefix) = key();
    for n in SIZES {
        let pt = data(n);
        let ct = seal_body(&dk, &prefix, AAD, &pt).unwrap();
        assert_eq!(ct.len(), sealed_len(n), "size {n}");
        assert_eq!(ct.len(), n + segment_count(n) * TAG_SIZE);
        assert_eq!(open_body(&dk, &prefix, AAD, &ct).unwrap(), pt, "size {n}");
        assert_eq!(open_body_owned(&dk, &prefix, AAD, ct).unwrap(), pt);
    }
}

#[test]
fn segment_api_matches_the_in_memory_api() {
    let (dk, prefix) = key();
    for n in SIZES {
        let pt = data(n);
        let whole = seal_body(&dk, &prefix, AAD, &pt).unwrap();
        let mut sealer = BodySealer::new(&dk, &prefix, AAD);
        let mut streamed = Vec::new();
        let full = n.saturating_sub(1) / SEGMENT_SIZE;
        for seg in pt.chunks(SEGMENT_SIZE).take(full) {
            streamed.extend(sealer.seal_segment(seg).unwrap());
        }
        streamed.extend(sealer.seal_last(&pt[full * SEGMENT_SIZE..]).unwrap());
        assert_eq!(streamed, whole, "size {n}");

        let mut opener = BodyOpener::new(&dk, &prefix, AAD);
        let mut out = Vec::new();
        let chunks: Vec<&[u8]> = whole.chunks(SEALED_SEGMENT_SIZE).collect();
        for c in &chunks[..chunks.len() - 1] {
            out.extend(opener.open_segment(c).unwrap());
        }
        out.extend(opener.open_last(chunks[chunks.len() - 1]).unwrap());
        assert_eq!(out, pt);
    }
}

#[test]
fn every_tampered_segment_is_detected() {
    let (dk, prefix) = key();
    let pt = data(3 * SEGMENT_SIZE + 100);
    let ct = seal_body(&dk, &prefix, AAD, &pt).unwrap();
    for seg in 0..4 {
        for offset in [0, 17, SEGMENT_SIZE / 2] {
            let i = seg * SEALED_SEGMENT_SIZE + offset;
            if i >= ct.len() {
                continue;
            }
            let mut bad = ct.clone();
            bad[i] ^= 1;
            assert_eq!(
                open_body(&dk, &prefix, AAD, &bad),
                Err(Error::DecryptionFailed),
                "segment {seg} offset {offset}"
            );
        }
        // The tag itself.
        let end = ((seg + 1) * SEALED_SEGMENT_SIZE).min(ct.len());
        let mut bad = ct.clone();
        bad[end - 1] ^= 0x80;
        assert_eq!(
            open_body(&dk, &prefix, AAD, &bad),
            Err(Error::DecryptionFailed)
        );
    }
}

#[test]
fn reordered_dropped_and_truncated_segments_are_detected() {
    let (dk, prefix) = key();
    let pt = data(3 * SEGMENT_SIZE + 5);
    let ct = seal_body(&dk, &prefix, AAD, &pt).unwrap();
    let segs: Vec<&[u8]> = ct.chunks(SEALED_SEGMENT_SIZE).collect();
    assert_eq!(segs.len(), 4);
    // Swap segments 0 and 1.
    let swapped = [segs[1], segs[0], segs[2], segs[3]].concat();
    assert_eq!(
        open_body(&dk, &prefix, AAD, &swapped),
        Err(Error::DecryptionFailed)
    );
    // Drop a middle segment.
    let dropped = [segs[0], segs[2], segs[3]].concat();
    assert_eq!(
        open_body(&dk, &prefix, AAD, &dropped),
        Err(Error::DecryptionFailed)
    );
    // Drop the final segment (truncation at a boundary): the new last was not sealed as last.
    let truncated = [segs[0], segs[1], segs[2]].concat();
    assert_eq!(
        open_body(&dk, &prefix, AAD, &truncated),
        Err(Error::DecryptionFailed)
    );
    // Truncate inside the final segment, and to less than a tag.
    assert_eq!(
        open_body(&dk, &prefix, AAD, &ct[..ct.len() - 1]),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        open_body(&dk, &prefix, AAD, &ct[..10]),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        open_body(&dk, &prefix, AAD, &[]),
        Err(Error::DecryptionFailed)
    );
    // A segment replayed from another body under the same key and prefix but another AAD.
    let other = seal_body(&dk, &prefix, b"another header", &pt).unwrap();
    let spliced = [
        segs[0],
        &other[SEALED_SEGMENT_SIZE..2 * SEALED_SEGMENT_SIZE],
        segs[2],
        segs[3],
    ]
    .concat();
    assert_eq!(
        open_body(&dk, &prefix, AAD, &spliced),
        Err(Error::DecryptionFailed)
    );
}

#[test]
fn a_forged_last_flag_is_detected() {
    let (dk, prefix) = key();
    // A full segment sealed as non-final, presented as a whole body (so opened as final).
    let mut sealer = BodySealer::new(&dk, &prefix, AAD);
    let non_final = sealer.seal_segment(&data(SEGMENT_SIZE)).unwrap();
    assert_eq!(
        open_body(&dk, &prefix, AAD, &non_final),
        Err(Error::DecryptionFailed)
    );
    // A final segment presented where a non-final one is expected.
    let body = seal_body(&dk, &prefix, AAD, &data(SEGMENT_SIZE)).unwrap();
    let mut opener = BodyOpener::new(&dk, &prefix, AAD);
    assert_eq!(opener.open_segment(&body), Err(Error::DecryptionFailed));
}

#[test]
fn moving_a_body_to_another_header_or_prefix_or_key_fails() {
    let (dk, prefix) = key();
    let ct = seal_body(&dk, &prefix, AAD, b"lab results").unwrap();
    assert_eq!(
        open_body(&dk, &prefix, b"other header", &ct),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        open_body(&dk, &NoncePrefix::new([9; 7]), AAD, &ct),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        open_body(&DataKey::random(&mut rng(21)), &prefix, AAD, &ct),
        Err(Error::DecryptionFailed)
    );
}

#[test]
fn stream_misuse_is_a_typed_error() {
    let (dk, prefix) = key();
    let mut sealer = BodySealer::new(&dk, &prefix, AAD);
    assert!(matches!(
        sealer.seal_segment(&[0; 10]),
        Err(Error::StreamMisuse { .. })
    ));
    assert!(matches!(
        sealer.seal_last(&data(SEGMENT_SIZE + 1)),
        Err(Error::StreamMisuse { .. })
    ));
}

#[test]
fn wrapped_data_key_round_trips_and_detects_changes() {
    let mut r = rng(22);
    let a = SectionSecretKey::random(&mut r);
    let (_, kek) = encapsulate(&a.public_key(), b"ctx", &mut r).unwrap();
    let (_, other_kek) = encapsulate(&a.public_key(), b"ctx", &mut r).unwrap();
    let (dk, _) = key();
    let w = dk.wrap(&kek, b"aad");
    assert_eq!(w.unwrap(&kek, b"aad").unwrap(), dk);
    assert_eq!(WrappedKey::from_bytes(&w.to_bytes()).unwrap(), w);
    assert_eq!(w.unwrap(&kek, b"aae").unwrap_err(), Error::DecryptionFailed);
    assert_eq!(
        w.unwrap(&other_kek, b"aad").unwrap_err(),
        Error::DecryptionFailed
    );
    for i in 2..WrappedKey::SIZE {
        let mut bytes = w.to_bytes();
        bytes[i] ^= 0x10;
        let changed = WrappedKey::from_bytes(&bytes).unwrap();
        assert_eq!(
            changed.unwrap(&kek, b"aad").unwrap_err(),
            Error::DecryptionFailed,
            "byte {i}"
        );
    }
    assert_eq!(format!("{dk:?}"), "DataKey(..)");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_sizes_and_keys_round_trip(len in 0usize..200_000, key in any::<[u8; 32]>(), prefix in any::<[u8; 7]>(), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
        let dk = DataKey::from_raw(key);
        let prefix = NoncePrefix::new(prefix);
        let pt = data(len);
        let ct = seal_body(&dk, &prefix, &aad, &pt).unwrap();
        prop_assert_eq!(ct.len(), sealed_len(len));
        prop_assert_eq!(open_body(&dk, &prefix, &aad, &ct).unwrap(), pt);
    }
}
