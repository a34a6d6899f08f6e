//! Streaming entries (`std::io`): the writer gives byte for byte the container of the
//! in-memory API at every chunking, the readers give the plaintext back at every chunking,
//! misuse is typed, and the owner re-wraps and re-seals over streams with the in-memory
//! results. Tampering on the streaming path: `tests/stream_tamper.rs`.

mod common;

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use common::entries::{
    plaintext, read_chunked, seal_and_submit, typed, write_chunked, Entries, Trickle,
};
use common::world::{refused, NOW};
use sesphr::dem::SEGMENT_SIZE;
use sesphr::phr::{stream_error, Change, EntryStream, Epoch, History, PrincipalKeys, Role};
use sesphr::sign::Signature;
use sesphr::srs::{Operation, Refusal, Response};
use sesphr::Error;

/// Body sizes around the segment boundaries.
const SIZES: [usize; 6] = [
    0,
    1,
    SEGMENT_SIZE - 1,
    SEGMENT_SIZE,
    SEGMENT_SIZE + 1,
    3 * SEGMENT_SIZE + 5,
];

/// 1 byte to 1 MiB in powers of two.
fn chunk_sizes() -> impl Iterator<Item = usize> {
    (0..=20).map(|k| 1usize << k)
}

#[test]
fn writer_gives_the_in_memory_bytes_at_every_chunk_size() {
    let fx = Entries::new(81);
    let acl = fx.acl();
    let keys = fx.hospital.keys.clone();
    for (n, size) in SIZES.into_iter().enumerate() {
        let pt = plaintext(size);
        let seed = 100 + n as u8;
        let in_memory = keys
            .seal_entry(&acl, fx.medical, &pt, NOW, &mut common::rng(seed))
            .unwrap();
        let expected = in_memory.to_bytes().unwrap();
        for chunk in chunk_sizes() {
            // Declared length, any sink.
            let mut rng = common::rng(seed);
            let mut w = keys
                .entry_writer(&acl, fx.medical, size as u64, NOW, Vec::new(), &mut rng)
                .unwrap();
            write_chunked(&mut w, &pt, chunk);
            assert_eq!(w.written(), size as u64);
            let (bytes, streamed) = w.finish(&mut rng).unwrap();
            assert!(bytes == expected, "size {size}, chunk {chunk}");
            assert_eq!(streamed.submission(), in_memory.submission());
            assert_eq!(streamed.body_hash(), in_memory.body_hash());
            // Undeclared length, a seekable sink that already holds something.
            let mut rng = common::rng(seed);
            let mut file = Cursor::new(b"before".to_vec());
            file.seek(SeekFrom::End(0)).unwrap();
            let mut w = keys
                .entry_writer_seekable(&acl, fx.medical, NOW, file, &mut rng)
                .unwrap();
            write_chunked(&mut w, &pt, chunk);
            let (file, streamed) = w.finish(&mut rng).unwrap();
            assert_eq!(file.position(), 6 + expected.len() as u64);
            assert!(
                file.get_ref()[6..] == expected[..],
                "size {size}, chunk {chunk}"
            );
            assert_eq!(&file.get_ref()[..6], b"before");
            assert_eq!(streamed.submission(), in_memory.submission());
        }
    }
}

#[test]
fn readers_give_the_plaintext_back_at_every_chunk_size() {
    let mut fx = Entries::new(82);
    let acl = fx.acl();
    for (n, size) in SIZES.into_iter().enumerate() {
        let pt = plaintext(size);
        let s = seal_and_submit(&mut fx, &pt, 110 + n as u8);
        let doctor = &fx.doctor.keys;
        assert_eq!(
            doctor
                .open_entry(&s.entry, &s.accepted, &s.recapsule, &acl)
                .unwrap(),
            pt
        );
        for chunk in chunk_sizes() {
            let input = || Trickle {
                inner: Cursor::new(&s.bytes),
                max: chunk,
            };
            let stream = EntryStream::new(input()).unwrap();
            assert_eq!(stream.header(), s.entry.header());
            assert_eq!(stream.key_block(), s.entry.key_block());
            assert_eq!(stream.body_len(), s.entry.body().len() as u64);
            let mut r = doctor
                .open_stream(stream, &s.accepted, &s.recapsule, &acl)
                .unwrap();
            assert_eq!(r.plaintext_len(), size as u64);
            assert_eq!(r.header(), s.entry.header());
            assert!(read_chunked(&mut r, chunk).unwrap() == pt, "{size}/{chunk}");
            let mut r = doctor
                .open_unverified_stream(
                    EntryStream::new(input()).unwrap(),
                    &s.accepted,
                    &s.recapsule,
                    &acl,
                )
                .unwrap();
            assert_eq!(r.plaintext_len(), size as u64);
            assert!(read_chunked(&mut r, chunk).unwrap() == pt, "{size}/{chunk}");
            let mut r = fx
                .owner
                .open_stream(EntryStream::new(input()).unwrap(), &s.accepted, &acl)
                .unwrap();
            assert!(read_chunked(&mut r, chunk).unwrap() == pt, "{size}/{chunk}");
            let mut r = fx
                .owner
                .open_unverified_stream(EntryStream::new(input()).unwrap(), &s.accepted, &acl)
                .unwrap();
            assert!(read_chunked(&mut r, chunk).unwrap() == pt, "{size}/{chunk}");
            // Once the end is reached, it stays reached.
            assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 0);
        }
    }
}

#[test]
fn writer_misuse_is_typed_and_poisons_the_writer() {
    let fx = Entries::new(86);
    let acl = fx.acl();
    let keys: &PrincipalKeys = &fx.hospital.keys;
    let mut rng = common::rng(150);
    let misuse = |reason| Error::StreamMisuse { reason };
    // More than declared.
    let mut w = keys
        .entry_writer(&acl, fx.medical, 10, NOW, Vec::new(), &mut rng)
        .unwrap();
    w.write_all(&[1; 6]).unwrap();
    let e = w.write_all(&[1; 6]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        typed(e),
        misuse("more plaintext than the entry writer was told")
    );
    assert_eq!(
        typed(w.write_all(&[1]).unwrap_err()),
        misuse("the entry writer failed or finished earlier")
    );
    assert_eq!(
        typed(w.finish(&mut rng).unwrap_err()),
        misuse("the entry writer failed or finished earlier")
    );
    // Fewer than declared.
    let mut w = keys
        .entry_writer(&acl, fx.medical, 10, NOW, Vec::new(), &mut rng)
        .unwrap();
    w.write_all(&[1; 9]).unwrap();
    assert_eq!(
        typed(w.finish(&mut rng).unwrap_err()),
        misuse("less plaintext than the entry writer was told")
    );
    // A length the container cannot state.
    let too_long = keys
        .entry_writer(
            &acl,
            fx.medical,
            u64::from(u32::MAX),
            NOW,
            Vec::new(),
            &mut rng,
        )
        .err()
        .unwrap();
    assert_eq!(typed(too_long), Error::TooLong { what: "body" });
    // A writer without the right: the in-memory error, nothing written.
    let doctor = &fx.doctor.keys;
    let mut sink = Vec::new();
    let e = doctor
        .entry_writer(&acl, fx.medical, 1, NOW, &mut sink, &mut rng)
        .err()
        .unwrap();
    assert!(
        matches!(
            typed(e),
            Error::NotAuthorized {
                refusal: Refusal::NoWriteRight,
                ..
            }
        ),
        "the in-memory refusal, with its context"
    );
    assert!(sink.is_empty());
    // A sink that fails: at the start the error passes through; later it poisons the writer.
    struct Fills(usize);
    impl Write for Fills {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if data.len() > self.0 {
                return Err(io::Error::other("full"));
            }
            self.0 -= data.len();
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let e = keys
        .entry_writer(&acl, fx.medical, 1, NOW, Fills(10), &mut rng)
        .err()
        .unwrap();
    assert!(stream_error(&e).is_none());
    let len = 2 * SEGMENT_SIZE as u64 + 1;
    let mut w = keys
        .entry_writer(&acl, fx.medical, len, NOW, Fills(1000), &mut rng)
        .unwrap();
    w.write_all(&[7; SEGMENT_SIZE]).unwrap();
    let e = w.write_all(&[7; SEGMENT_SIZE]).unwrap_err();
    assert!(stream_error(&e).is_none(), "{e}");
    assert_eq!(
        typed(w.write_all(&[7]).unwrap_err()),
        misuse("the entry writer failed or finished earlier")
    );
}

#[test]
fn owner_rewraps_and_reseals_over_streams_as_in_memory() {
    let mut fx = Entries::new(87);
    let pt = plaintext(2 * SEGMENT_SIZE + 3);
    let s = seal_and_submit(&mut fx, &pt, 160);
    let named = fx.acl_version(1);
    // The doctor is revoked (epoch 2); a pharmacist may read from epoch 2.
    let pharmacist = fx.srv.actor(Role::Pharmacist);
    let doctor_fp = fx.doctor.keys.bundle().fingerprint();
    fx.update(&[
        Change::RevokeRead {
            section: fx.medical,
            reader: doctor_fp,
        },
        Change::GrantRead {
            section: fx.medical,
            reader: pharmacist.keys.bundle(),
            history: History::FromEpoch(Epoch::new(2)),
        },
    ]);
    let current = fx.acl();

    // Re-wrap: the in-memory key block and container, byte for byte.
    let kb = fx
        .owner
        .rewrap(&s.entry, &current, &mut common::rng(161))
        .unwrap();
    let expected = s.entry.clone().with_key_block(kb).to_bytes().unwrap();
    let (out, streamed_kb) = fx
        .owner
        .rewrap_stream(
            EntryStream::new(Trickle {
                inner: Cursor::new(&s.bytes),
                max: 1000,
            })
            .unwrap(),
            &current,
            Vec::new(),
            &mut common::rng(161),
        )
        .unwrap();
    assert_eq!(streamed_kb, kb);
    assert!(out == expected);
    assert_eq!(streamed_kb.epoch(), Epoch::new(2));
    let owner_a = fx.owner_a.clone();
    let record = s.entry.header().record();
    let rewrap = Operation::Rewrap {
        record,
        entry: s.entry.header().entry(),
        key_block: streamed_kb,
    };
    assert_eq!(fx.srv.run(&owner_a, rewrap), Ok(Response::Done));
    // The pharmacist opens the re-wrapped container; with the old container and the SRS's
    // current key block too.
    let item = fx.reencrypt(&pharmacist, s.entry.header());
    assert_eq!(item.key_block, kb);
    for container in [&out, &s.bytes] {
        let stream = EntryStream::new(Cursor::new(container))
            .unwrap()
            .with_key_block(item.key_block);
        let mut r = pharmacist
            .keys
            .open_stream(stream, &s.accepted, &item.recapsule, &named)
            .unwrap();
        assert!(read_chunked(&mut r, 777).unwrap() == pt);
    }
    // A re-wrap of a cut container is refused; a re-wrap for another record too.
    let cut = &s.bytes[..s.bytes.len() - 1];
    let e = fx
        .owner
        .rewrap_stream(
            EntryStream::new(Cursor::new(cut)).unwrap(),
            &current,
            Vec::new(),
            &mut common::rng(162),
        )
        .err()
        .unwrap();
    assert_eq!(
        loose(typed(e)),
        Error::InvalidEncoding {
            what: "sealed entry",
            field: None
        }
    );

    // Re-seal: the in-memory entry, byte for byte; submitted, the pharmacist reads it.
    let resealed = fx
        .owner
        .reseal(
            &s.entry,
            &s.accepted,
            &named,
            &current,
            NOW,
            &mut common::rng(163),
        )
        .unwrap();
    let (out, streamed) = fx
        .owner
        .reseal_stream(
            EntryStream::new(Cursor::new(&s.bytes)).unwrap(),
            &s.accepted,
            &named,
            &current,
            NOW,
            Vec::new(),
            &mut common::rng(163),
        )
        .unwrap();
    assert!(out == resealed.to_bytes().unwrap());
    assert_eq!(streamed.submission(), resealed.submission());
    assert_eq!(
        streamed.header().writer(),
        fx.owner.keys().bundle().fingerprint()
    );
    let accepted = fx
        .submit(&owner_a, streamed.submission(), streamed.header())
        .unwrap();
    let item = fx.reencrypt(&pharmacist, streamed.header());
    let mut r = pharmacist
        .keys
        .open_stream(
            EntryStream::new(Cursor::new(&out)).unwrap(),
            &accepted,
            &item.recapsule,
            &current,
        )
        .unwrap();
    assert!(read_chunked(&mut r, 4096).unwrap() == pt);
    // The revoked doctor gets nothing for it.
    let doctor = fx.doctor.clone();
    let items = fx
        .srv
        .reencrypt(&doctor, record, vec![streamed.header().entry()])
        .unwrap();
    assert_eq!(items[0].as_ref().unwrap_err(), &Refusal::NoReadRight);
    // A re-seal of a tampered container is refused with the in-memory error.
    let mut tampered = s.bytes.clone();
    let n = tampered.len();
    tampered[n - Signature::SIZE - 3] ^= 1;
    let e = fx
        .owner
        .reseal_stream(
            EntryStream::new(Cursor::new(&tampered)).unwrap(),
            &s.accepted,
            &named,
            &current,
            NOW,
            Vec::new(),
            &mut common::rng(164),
        )
        .err()
        .unwrap();
    assert_eq!(typed(e), refused(Refusal::ReceiptMismatch));
}

/// The error with the decoder's field context dropped (these tests check which value was
/// refused; `tests/errors.rs` checks the fields).
fn loose(e: impl std::borrow::Borrow<Error>) -> Error {
    match e.borrow() {
        Error::InvalidEncoding { what, .. } => Error::InvalidEncoding { what, field: None },
        other => other.clone(),
    }
}
