//! Tampering on the streaming path: a container cut anywhere or followed by a byte, segments
//! reordered or dropped, a final segment forged by a holder of the data key, wrong
//! signatures — refused with the errors of the in-memory API, the verified reader releasing
//! nothing, the unverified one never the final segment; a writer signing a broken STREAM;
//! an input rewritten between the two passes.

mod common;

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use common::entries::{plaintext, read_chunked, seal_and_submit, typed, Entries, Sealed};
use common::world::{refused, NOW};
use sesphr::dem::{self, BodySealer, DataKey, WrappedKey, SEALED_SEGMENT_SIZE, SEGMENT_SIZE};
use sesphr::phr::{stream_error, EntryStream, SealedEntry};
use sesphr::pre::ReCapsule;
use sesphr::sign::{Purpose, Signature};
use sesphr::srs::{Accepted, Refusal};
use sesphr::Error;
use sha2::Digest;

/// Where the body of a container starts.
fn body_at(entry: &SealedEntry) -> usize {
    2 + 97 + 4 + entry.key_block().to_bytes().len() + 4
}

/// A container with its body replaced by `body` (and the length fixed); same signature.
fn with_body(s: &Sealed, body: &[u8]) -> Vec<u8> {
    let at = body_at(&s.entry);
    let mut out = s.bytes[..at - 4].to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&s.bytes[s.bytes.len() - Signature::SIZE..]);
    out
}

/// The body with segments `i` and `j` swapped.
fn swapped(body: &[u8], i: usize, j: usize) -> Vec<u8> {
    let mut segs: Vec<&[u8]> = body.chunks(SEALED_SEGMENT_SIZE).collect();
    segs.swap(i, j);
    segs.concat()
}

/// The entry's data key, as any holder of it (a reader of the section, the owner) has it.
fn data_key(fx: &Entries, entry: &SealedEntry) -> DataKey {
    let (header, kb) = (entry.header(), entry.key_block());
    let hh = header.hash();
    let kek = fx
        .owner
        .section_key(header.record(), header.section(), kb.epoch())
        .unwrap()
        .decapsulate(kb.capsule(), &hh)
        .unwrap();
    // Key block: tag, version, epoch (4), section key (50), capsule (50), wrapped key (50).
    let kb_bytes = kb.to_bytes();
    let wrapped = WrappedKey::from_bytes(&kb_bytes[106..156]).unwrap();
    let mut aad = Vec::new();
    for field in [
        &hh[..],
        &kb.epoch().get().to_be_bytes(),
        &kb.capsule().to_bytes()[2..],
    ] {
        aad.extend_from_slice(&(field.len() as u16).to_be_bytes());
        aad.extend_from_slice(field);
    }
    wrapped.unwrap(&kek, &aad).unwrap()
}

/// The entry's body with its final segment replaced by `text`, sealed with the data key at
/// the final position: valid under GCM, not what the writer signed.
fn forged_final(fx: &Entries, entry: &SealedEntry, text: &[u8]) -> Vec<u8> {
    let dk = data_key(fx, entry);
    let prefix = entry.header().nonce_prefix();
    let hh = entry.header().hash();
    let mut sealer = BodySealer::new(&dk, &prefix, &hh);
    let segments = entry.body().len() / SEALED_SEGMENT_SIZE;
    for _ in 0..segments {
        sealer.seal_segment(&[0; SEGMENT_SIZE]).unwrap();
    }
    let mut body = entry.body()[..segments * SEALED_SEGMENT_SIZE].to_vec();
    body.extend_from_slice(&sealer.seal_last(text).unwrap());
    // A valid body under the data key: the honest segments, then the forged one.
    let mut expected = dem::open_body(&dk, &prefix, &hh, entry.body()).unwrap();
    expected.truncate(segments * SEGMENT_SIZE);
    expected.extend_from_slice(text);
    assert_eq!(dem::open_body(&dk, &prefix, &hh, &body).unwrap(), expected);
    body
}

/// Opens `bytes` as the doctor in memory, streamed verified, and streamed unverified
/// (what it released, and how it ended).
struct Outcomes {
    in_memory: Result<Vec<u8>, Error>,
    verified: Result<Vec<u8>, (Vec<u8>, Error)>,
    unverified: Result<Vec<u8>, (Vec<u8>, Error)>,
}

fn outcomes(fx: &Entries, bytes: &[u8], accepted: &Accepted, rc: &ReCapsule) -> Outcomes {
    let acl = fx.acl_version(1);
    let doctor = &fx.doctor.keys;
    let in_memory =
        SealedEntry::from_bytes(bytes).and_then(|e| doctor.open_entry(&e, accepted, rc, &acl));
    let verified = EntryStream::new(Cursor::new(bytes))
        .and_then(|s| doctor.open_stream(s, accepted, rc, &acl))
        .map_err(|e| (vec![], typed(e)))
        .and_then(|mut r| read_chunked(&mut r, 4096));
    let unverified = EntryStream::new(Cursor::new(bytes))
        .and_then(|s| doctor.open_unverified_stream(s, accepted, rc, &acl))
        .map_err(|e| (vec![], typed(e)))
        .and_then(|mut r| read_chunked(&mut r, 4096));
    Outcomes {
        in_memory,
        verified,
        unverified,
    }
}

/// Refused on both paths with `expected`, the verified path releasing nothing.
fn refused_like_in_memory(o: &Outcomes, expected: &Error, what: &str) {
    assert_eq!(
        loose(o.in_memory.as_ref().unwrap_err()),
        *expected,
        "{what}"
    );
    let (released, e) = o.verified.as_ref().unwrap_err();
    assert_eq!(loose(e), *expected, "{what}: verified stream");
    assert!(
        released.is_empty(),
        "{what}: verified stream released plaintext"
    );
    assert!(o.unverified.is_err(), "{what}: unverified stream");
}

#[test]
fn truncation_reordering_forged_final_segment_and_bad_signatures_are_refused() {
    let mut fx = Entries::new(83);
    let pt = plaintext(3 * SEGMENT_SIZE + 5);
    let s = seal_and_submit(&mut fx, &pt, 120);
    let (acc, rc) = (s.accepted, s.recapsule.clone());
    let at = body_at(&s.entry);
    let body = s.entry.body().to_vec();
    assert_eq!(body.len(), 3 * SEALED_SEGMENT_SIZE + 5 + 16);
    let ok = outcomes(&fx, &s.bytes, &acc, &rc);
    assert_eq!(ok.verified.unwrap(), pt);
    assert_eq!(ok.unverified.unwrap(), pt);

    // A container cut anywhere, or followed by a byte: the decoder's error.
    let malformed = Error::InvalidEncoding {
        what: "sealed entry",
        field: None,
    };
    let end = s.bytes.len();
    for cut in [
        0,
        1,
        2,
        60,
        2 + 97 + 2,
        at - 30,
        at - 1,
        at + 10,
        at + SEALED_SEGMENT_SIZE,
        end - Signature::SIZE,
        end - 1,
    ] {
        let o = outcomes(&fx, &s.bytes[..cut], &acc, &rc);
        refused_like_in_memory(&o, &malformed, &format!("cut at {cut}"));
        assert_eq!(
            loose(o.unverified.unwrap_err().1),
            malformed,
            "cut at {cut}"
        );
    }
    let mut longer = s.bytes.clone();
    longer.push(0);
    refused_like_in_memory(&outcomes(&fx, &longer, &acc, &rc), &malformed, "trailing");

    // Segments reordered, the final one dropped (the one before it posing as final), or
    // forged: the receipt names another body. The unverified stream releases segments up to
    // the one posing as final, never that one.
    let mismatch = refused(Refusal::ReceiptMismatch);
    let reordered = with_body(&s, &swapped(&body, 0, 1));
    let o = outcomes(&fx, &reordered, &acc, &rc);
    refused_like_in_memory(&o, &mismatch, "reordered");
    assert_eq!(o.unverified.unwrap_err(), (vec![], Error::DecryptionFailed));

    let dropped = with_body(&s, &body[..3 * SEALED_SEGMENT_SIZE]);
    let o = outcomes(&fx, &dropped, &acc, &rc);
    refused_like_in_memory(&o, &mismatch, "final segment dropped");
    let (released, e) = o.unverified.unwrap_err();
    assert_eq!(e, mismatch);
    assert!(
        released == pt[..2 * SEGMENT_SIZE],
        "the posing final segment was released"
    );

    // A final segment forged by a holder of the data key (any reader of the section): GCM
    // accepts it, the receipt does not, and the unverified stream never releases it.
    let forged = with_body(&s, &forged_final(&fx, &s.entry, b"forged"));
    let o = outcomes(&fx, &forged, &acc, &rc);
    refused_like_in_memory(&o, &mismatch, "forged final segment");
    let (released, e) = o.unverified.unwrap_err();
    assert_eq!(e, mismatch);
    assert!(released == pt[..3 * SEGMENT_SIZE]);

    // Wrong signatures: another body's, another key's, a malformed one.
    let writer = fx.hospital.keys.signing_key().clone();
    let hh = s.entry.header().hash();
    let other_body: [u8; 32] = sha2::Sha256::digest(b"another body").into();
    let right_body = s.entry.body_hash();
    let resign = |sig: &[u8]| {
        let mut b = s.bytes.clone();
        b[end - Signature::SIZE..].copy_from_slice(sig);
        b
    };
    let mut rng = common::rng(121);
    let sig_other_body = writer
        .sign(Purpose::Entry, &[&hh, &other_body], &mut rng)
        .unwrap();
    let sig_other_key = fx
        .doctor
        .keys
        .signing_key()
        .sign(Purpose::Entry, &[&hh, &right_body], &mut rng)
        .unwrap();
    for (what, sig) in [("other body", sig_other_body), ("other key", sig_other_key)] {
        let o = outcomes(&fx, &resign(&sig.to_bytes()), &acc, &rc);
        refused_like_in_memory(&o, &Error::BadSignature, what);
        let (released, e) = o.unverified.unwrap_err();
        assert_eq!(e, Error::BadSignature, "{what}");
        assert!(released == pt[..3 * SEGMENT_SIZE], "{what}");
    }
    let mut bad = s.entry.signature().to_bytes();
    bad[10] ^= 0x40;
    let o = outcomes(&fx, &resign(&bad), &acc, &rc);
    let expected = o.in_memory.clone().unwrap_err();
    assert_ne!(expected, Error::BadSignature);
    refused_like_in_memory(&o, &expected, "malformed signature");
}

/// An entry tampered with by its own writer, who signs the tampered body and has it
/// accepted: receipt and signature hold, and only the STREAM construction refuses it.
fn tampered_by_writer(fx: &mut Entries, seed: u8, tamper: impl Fn(&[u8]) -> Vec<u8>) -> Outcomes {
    let pt = plaintext(3 * SEGMENT_SIZE + 5);
    let acl = fx.acl();
    let honest = fx
        .hospital
        .keys
        .seal_entry(&acl, fx.medical, &pt, NOW, &mut common::rng(seed))
        .unwrap();
    let body = tamper(honest.body());
    let body_hash: [u8; 32] = sha2::Sha256::digest(&body).into();
    let sig = fx
        .hospital
        .keys
        .signing_key()
        .sign(
            Purpose::Entry,
            &[&honest.header().hash(), &body_hash],
            &mut common::rng(seed),
        )
        .unwrap();
    let mut bytes = honest.to_bytes().unwrap();
    let at = body_at(&honest);
    bytes.truncate(at - 4);
    bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&sig.to_bytes());
    let entry = SealedEntry::from_bytes(&bytes).unwrap();
    entry.verify_writer(&acl).unwrap();
    let hospital = fx.hospital.clone();
    let accepted = fx
        .submit(&hospital, entry.submission(), entry.header())
        .unwrap();
    let rc = fx.doctor_capsule(entry.header());
    outcomes(fx, &bytes, &accepted, &rc)
}

#[test]
fn a_writer_signing_a_broken_stream_is_refused_by_the_stream_construction() {
    let mut fx = Entries::new(84);
    let pt = plaintext(3 * SEGMENT_SIZE + 5);
    // Reordered: the first segment fails at once, on every path.
    let o = tampered_by_writer(&mut fx, 130, |b| swapped(b, 1, 2));
    assert_eq!(o.in_memory.unwrap_err(), Error::DecryptionFailed);
    assert_eq!(
        o.verified.unwrap_err(),
        (pt[..SEGMENT_SIZE].to_vec(), Error::DecryptionFailed)
    );
    assert_eq!(
        o.unverified.unwrap_err(),
        (pt[..SEGMENT_SIZE].to_vec(), Error::DecryptionFailed)
    );
    // The final segment dropped: the one before it is not final.
    let o = tampered_by_writer(&mut fx, 131, |b| b[..3 * SEALED_SEGMENT_SIZE].to_vec());
    assert_eq!(o.in_memory.unwrap_err(), Error::DecryptionFailed);
    for r in [o.verified, o.unverified] {
        let (released, e) = r.unwrap_err();
        assert_eq!(e, Error::DecryptionFailed);
        assert!(released == pt[..2 * SEGMENT_SIZE]);
    }
    // A segment appended after the final one: the final one is not final any more.
    let o = tampered_by_writer(&mut fx, 132, |b| [b, &b[..SEALED_SEGMENT_SIZE]].concat());
    assert_eq!(o.in_memory.unwrap_err(), Error::DecryptionFailed);
    assert_eq!(o.verified.unwrap_err().1, Error::DecryptionFailed);
    assert_eq!(o.unverified.unwrap_err().1, Error::DecryptionFailed);
    // A body no sealer makes (shorter than a tag): refused before anything is read.
    let o = tampered_by_writer(&mut fx, 133, |b| b[..5].to_vec());
    assert_eq!(o.in_memory.unwrap_err(), Error::DecryptionFailed);
    assert_eq!(o.verified.unwrap_err(), (vec![], Error::DecryptionFailed));
    assert_eq!(o.unverified.unwrap_err(), (vec![], Error::DecryptionFailed));
}

/// An input that is rewritten behind the reader's back after the first pass (by a holder of
/// the data key, with a final segment GCM accepts).
struct RewrittenAfterFirstPass {
    inner: Cursor<Vec<u8>>,
    later: Option<Vec<u8>>,
    seeks: usize,
}

impl Read for RewrittenAfterFirstPass {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The first pass asks for its position and seeks back: two seeks.
        if self.seeks == 2 {
            if let Some(later) = self.later.take() {
                *self.inner.get_mut() = later;
            }
        }
        self.inner.read(buf)
    }
}

impl Seek for RewrittenAfterFirstPass {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.seeks += 1;
        self.inner.seek(pos)
    }
}

#[test]
fn the_verified_reader_checks_the_input_did_not_change_and_poisons_itself() {
    let mut fx = Entries::new(85);
    let acl = fx.acl();
    let pt = plaintext(2 * SEGMENT_SIZE + 7);
    let s = seal_and_submit(&mut fx, &pt, 140);
    let later = with_body(&s, &forged_final(&fx, &s.entry, b"forged!"));
    assert_eq!(later.len(), s.bytes.len());
    let input = RewrittenAfterFirstPass {
        inner: Cursor::new(s.bytes.clone()),
        later: Some(later),
        seeks: 0,
    };
    let mut r = fx
        .doctor
        .keys
        .open_stream(
            EntryStream::new(input).unwrap(),
            &s.accepted,
            &s.recapsule,
            &acl,
        )
        .unwrap();
    let (released, e) = read_chunked(&mut r, 1000).unwrap_err();
    assert_eq!(e, Error::DecryptionFailed);
    assert!(
        released == pt[..2 * SEGMENT_SIZE],
        "the forged final segment was released"
    );
    // Poisoned: every later read fails.
    let again = r.read(&mut [0u8; 10]).unwrap_err();
    assert_eq!(
        typed(again),
        Error::StreamMisuse {
            reason: "the entry reader failed earlier"
        }
    );
    // An I/O error that is not this crate's passes through untouched.
    let plain = io::Error::other("disk on fire");
    assert!(stream_error(&plain).is_none());

    // The first segment rewritten after the first pass (GCM-valid under the data key, found
    // by review): refused before anything is released, since each segment must hash as it
    // did in the first pass.
    let dk = data_key(&fx, &s.entry);
    let mut sealer = BodySealer::new(
        &dk,
        &s.entry.header().nonce_prefix(),
        &s.entry.header().hash(),
    );
    let mut body = sealer.seal_segment(&[b'!'; SEGMENT_SIZE]).unwrap();
    body.extend_from_slice(&s.entry.body()[SEALED_SEGMENT_SIZE..]);
    let input = RewrittenAfterFirstPass {
        inner: Cursor::new(s.bytes.clone()),
        later: Some(with_body(&s, &body)),
        seeks: 0,
    };
    let mut r = fx
        .doctor
        .keys
        .open_stream(
            EntryStream::new(input).unwrap(),
            &s.accepted,
            &s.recapsule,
            &acl,
        )
        .unwrap();
    let (released, e) = read_chunked(&mut r, 1000).unwrap_err();
    assert_eq!(e, Error::DecryptionFailed);
    assert!(released.is_empty(), "a forged segment was released");
}

/// The error with the decoder's field context dropped (these tests check which value was
/// refused; `tests/errors.rs` checks the fields).
fn loose(e: impl std::borrow::Borrow<Error>) -> Error {
    match e.borrow() {
        Error::InvalidEncoding { what, .. } => Error::InvalidEncoding { what, field: None },
        other => other.clone(),
    }
}
