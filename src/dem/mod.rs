//! Data encapsulation ([SPEC §3](crate::notes::spec)): the data key, its wrap under a KEM key, and the body cipher,
//! AES-256-GCM in the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár as
//! RustCrypto's [`aead_stream::StreamBE32`](https://docs.rs/aead-stream/0.6/aead_stream/struct.StreamBE32.html) implements it.
//!
//! A body is cut into 64 KiB plaintext segments. Segment `i` is sealed under the nonce
//! `prefix (7 bytes) ‖ u32be(i) ‖ last-flag`, with the caller's associated data (the hash of
//! the entry's body header). The body ciphertext is the concatenation of the sealed segments;
//! an empty body is one empty final segment. Truncation, reordering, dropped or swapped
//! segments, a forged last flag and moving a body under another header all fail to open.
//!
//! Segments are independent given their position, so [`seal_body`] and [`open_body`] process
//! them in parallel with the `rayon` feature, and [`BodySealer`]/[`BodyOpener`] process them one
//! at a time in bounded memory.

#[cfg(feature = "rayon")]
use alloc::vec;
use alloc::vec::Vec;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroize;

use crate::Error;

mod keys;
mod stream;

pub use keys::{DataKey, NoncePrefix, WrappedKey};
pub use stream::{BodyOpener, BodySealer};

/// Plaintext bytes per body segment (64 KiB).
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// Bytes an AES-GCM tag adds to every segment.
pub const TAG_SIZE: usize = 16;
/// Ciphertext bytes of a full (non-final) segment.
pub const SEALED_SEGMENT_SIZE: usize = SEGMENT_SIZE + TAG_SIZE;

/// Length of the body ciphertext for `plaintext_len` bytes of plaintext.
pub fn sealed_len(plaintext_len: usize) -> usize {
    plaintext_len + segment_count(plaintext_len) * TAG_SIZE
}

/// Number of segments for `plaintext_len` bytes (an empty body is one segment).
pub fn segment_count(plaintext_len: usize) -> usize {
    plaintext_len.div_ceil(SEGMENT_SIZE).max(1)
}

fn position(index: usize) -> Result<u32, Error> {
    u32::try_from(index).map_err(|_| Error::TooLong { what: "body" })
}

/// AES-256-GCM keyed with a data key, with the STREAM nonces of one body.
///
/// The nonce of segment `i` is `prefix ‖ u32be(i) ‖ last-flag`, exactly what
/// [`aead_stream::StreamBE32`](https://docs.rs/aead-stream/0.6/aead_stream/struct.StreamBE32.html) computes (a unit test checks the two agree byte for byte).
/// Working with the AEAD directly lets a segment be encrypted or decrypted from one buffer
/// into another, so whole bodies need no extra copy.
struct BodyCipher {
    aead: Aes256Gcm,
    prefix: [u8; 7],
}

impl BodyCipher {
    fn new(key: &DataKey, prefix: &NoncePrefix) -> Self {
        Self {
            aead: Aes256Gcm::new((&key.0).into()),
            prefix: prefix.0,
        }
    }

    fn nonce(&self, index: u32, last: bool) -> Nonce<U12> {
        let mut nonce = [0u8; 12];
        let counter = index.to_be_bytes();
        let flag = [u8::from(last)];
        let fields = self.prefix.iter().chain(&counter).chain(&flag);
        for (dst, src) in nonce.iter_mut().zip(fields) {
            *dst = *src;
        }
        nonce.into()
    }

    /// Encrypts segment `index` (in place, or from one slice into another) and returns its tag.
    fn seal(
        &self,
        index: usize,
        last: bool,
        aad: &[u8],
        buf: InOutBuf<'_, '_, u8>,
    ) -> Result<[u8; TAG_SIZE], Error> {
        let nonce = self.nonce(position(index)?, last);
        self.aead
            .encrypt_inout_detached(&nonce, aad, buf)
            .map(Into::into)
            .map_err(|_| Error::TooLong {
                what: "body segment",
            })
    }

    /// Checks the tag of segment `index`, then decrypts it (in place, or from one slice into
    /// another). Nothing is written when the tag does not verify.
    fn open(
        &self,
        index: usize,
        last: bool,
        aad: &[u8],
        buf: InOutBuf<'_, '_, u8>,
        tag: &[u8],
    ) -> Result<(), Error> {
        let pos = position(index).map_err(|_| Error::DecryptionFailed)?;
        let tag = aes_gcm::Tag::try_from(tag).map_err(|_| Error::DecryptionFailed)?;
        self.aead
            .decrypt_inout_detached(&self.nonce(pos, last), aad, buf, &tag)
            .map_err(|_| Error::DecryptionFailed)
    }
}

/// The plaintext of segment `index` of a body.
fn segment(plaintext: &[u8], index: usize) -> &[u8] {
    let start = index.saturating_mul(SEGMENT_SIZE);
    let end = start.saturating_add(SEGMENT_SIZE).min(plaintext.len());
    plaintext.get(start..end).unwrap_or_default()
}

/// Seals a whole body in memory into one output allocation, with no other copy of the body:
/// on one thread each segment is copied into the output and encrypted there while it is in
/// cache; with the `rayon` feature, segments are encrypted in parallel straight from the
/// plaintext into the output.
pub fn seal_body(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let count = segment_count(plaintext.len());
    position(count - 1)?;
    let cipher = BodyCipher::new(key, prefix);
    #[cfg(feature = "rayon")]
    if count > 1 {
        return seal_parallel(&cipher, aad, plaintext, count);
    }
    // Each segment's room is zeroed while it is in cache, then encrypted straight into it.
    let mut out = Vec::with_capacity(sealed_len(plaintext.len()));
    for i in 0..count {
        let pt = segment(plaintext, i);
        let start = out.len();
        out.resize(start + pt.len(), 0);
        let ct = out.get_mut(start..).unwrap_or_default();
        let tag = cipher.seal(i, i + 1 == count, aad, inout(pt, ct)?)?;
        out.extend_from_slice(&tag);
    }
    Ok(out)
}

/// `in → out` for the AEAD; the two lengths are equal by construction.
fn inout<'a>(input: &'a [u8], output: &'a mut [u8]) -> Result<InOutBuf<'a, 'a, u8>, Error> {
    InOutBuf::new(input, output).map_err(|_| Error::invalid("body"))
}

/// Like [`seal_body`], but encrypts in the caller's buffer: the plaintext `Vec` grows by the
/// tags and becomes the body ciphertext, with no second allocation of the body (each segment
/// moves up by the tags before it, then is encrypted in place while it is in cache).
///
/// Reserve the room for the tags (`Vec::with_capacity(sealed_len(n))`) when filling the
/// buffer. Without it, growing would reallocate and copy the body and leave the plaintext
/// behind in freed memory, so the body is sealed into a new allocation instead (as by
/// [`seal_body`]) and the plaintext buffer is wiped.
pub fn seal_body_owned(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let pt_len = buf.len();
    let count = segment_count(pt_len);
    position(count - 1)?;
    if buf.capacity() < sealed_len(pt_len) {
        let sealed = seal_body(key, prefix, aad, &buf);
        buf.zeroize();
        return sealed;
    }
    let cipher = BodyCipher::new(key, prefix);
    buf.resize(sealed_len(pt_len), 0);
    #[cfg(feature = "rayon")]
    if count > 1 {
        // Move every segment up by the tags before it (last first), then seal in parallel.
        for i in (1..count).rev() {
            let from = i * SEGMENT_SIZE;
            buf.copy_within(from..from + seg_len(pt_len, i), i * SEALED_SEGMENT_SIZE);
        }
        use rayon::prelude::*;
        let result = buf
            .par_chunks_mut(SEALED_SEGMENT_SIZE)
            .enumerate()
            .try_for_each(|(i, chunk)| seal_chunk(&cipher, i, count, aad, chunk));
        return finish_owned(buf, result);
    }
    // Last segment first, so that none is overwritten before it has moved; each is sealed
    // right after its move, while it is in cache.
    let mut result = Ok(());
    for i in (0..count).rev() {
        let (from, to, len) = (
            i * SEGMENT_SIZE,
            i * SEALED_SEGMENT_SIZE,
            seg_len(pt_len, i),
        );
        buf.copy_within(from..from + len, to);
        let chunk = buf.get_mut(to..to + len + TAG_SIZE).unwrap_or_default();
        result = seal_chunk(&cipher, i, count, aad, chunk);
        if result.is_err() {
            break;
        }
    }
    finish_owned(buf, result)
}

/// The body on success; on failure nothing, with the buffer wiped.
fn finish_owned(mut buf: Vec<u8>, result: Result<(), Error>) -> Result<Vec<u8>, Error> {
    match result {
        Ok(()) => Ok(buf),
        Err(e) => {
            buf.zeroize();
            Err(e)
        }
    }
}

/// Plaintext length of segment `i` of a body of `pt_len` bytes.
fn seg_len(pt_len: usize, i: usize) -> usize {
    pt_len
        .saturating_sub(i.saturating_mul(SEGMENT_SIZE))
        .min(SEGMENT_SIZE)
}

/// Seals a chunk `plaintext ‖ tag room` in place.
fn seal_chunk(
    cipher: &BodyCipher,
    i: usize,
    count: usize,
    aad: &[u8],
    chunk: &mut [u8],
) -> Result<(), Error> {
    let (pt, tag_slot) = chunk.split_at_mut(chunk.len().saturating_sub(TAG_SIZE));
    let tag = cipher.seal(i, i + 1 == count, aad, pt.into())?;
    tag_slot.copy_from_slice(&tag);
    Ok(())
}

#[cfg(feature = "rayon")]
fn seal_parallel(
    cipher: &BodyCipher,
    aad: &[u8],
    plaintext: &[u8],
    count: usize,
) -> Result<Vec<u8>, Error> {
    use rayon::prelude::*;
    let mut out = vec![0u8; sealed_len(plaintext.len())];
    out.par_chunks_mut(SEALED_SEGMENT_SIZE)
        .enumerate()
        .try_for_each(|(i, chunk)| {
            let pt = segment(plaintext, i);
            let (ct, tag_slot) = chunk.split_at_mut(pt.len());
            let buf = InOutBuf::new(pt, ct).map_err(|_| Error::TooLong {
                what: "body segment",
            })?;
            let tag = cipher.seal(i, i + 1 == count, aad, buf)?;
            tag_slot.copy_from_slice(&tag);
            Ok(())
        })?;
    Ok(out)
}

/// Splits a body ciphertext into its segment count and the length of its final segment,
/// refusing lengths no sealed body can have.
pub(crate) fn body_shape(len: usize) -> Result<(usize, usize), Error> {
    if len < TAG_SIZE {
        return Err(Error::DecryptionFailed);
    }
    let count = len.div_ceil(SEALED_SEGMENT_SIZE);
    // A final chunk shorter than a tag cannot be a segment.
    let last_len = len - (count - 1) * SEALED_SEGMENT_SIZE;
    if last_len < TAG_SIZE || position(count - 1).is_err() {
        return Err(Error::DecryptionFailed);
    }
    Ok((count, last_len))
}

/// Opens a whole body in memory into one output allocation. Every segment must authenticate
/// at its position with the right last flag, or nothing is returned (and the partial
/// plaintext is wiped).
pub fn open_body(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
    let (count, _) = body_shape(ciphertext.len())?;
    let cipher = BodyCipher::new(key, prefix);
    #[cfg(feature = "rayon")]
    if count > 1 {
        return open_parallel(&cipher, aad, ciphertext, count);
    }
    // Each segment's room is zeroed while it is in cache, then decrypted straight into it.
    let mut out = Vec::with_capacity(ciphertext.len() - count * TAG_SIZE);
    for (i, sealed) in ciphertext.chunks(SEALED_SEGMENT_SIZE).enumerate() {
        let (ct, tag) = sealed.split_at(sealed.len() - TAG_SIZE);
        let start = out.len();
        out.resize(start + ct.len(), 0);
        let pt = out.get_mut(start..).unwrap_or_default();
        let opened = inout(ct, pt).and_then(|buf| cipher.open(i, i + 1 == count, aad, buf, tag));
        if let Err(e) = opened {
            out.zeroize();
            return Err(e);
        }
    }
    Ok(out)
}

#[cfg(feature = "rayon")]
fn open_parallel(
    cipher: &BodyCipher,
    aad: &[u8],
    ciphertext: &[u8],
    count: usize,
) -> Result<Vec<u8>, Error> {
    use rayon::prelude::*;
    let pt_len = ciphertext.len() - count * TAG_SIZE;
    // Segments that carry plaintext are opened in parallel, straight into the output. A body
    // sealed segment by segment may end with an empty final segment, checked on its own.
    let carrying = pt_len.div_ceil(SEGMENT_SIZE);
    let (body, tail) = ciphertext.split_at(ciphertext.len().min(carrying * SEALED_SEGMENT_SIZE));
    let tail_ok = match (count - carrying, tail.len()) {
        (0, 0) => Ok(()),
        (1, TAG_SIZE) => cipher.open(count - 1, true, aad, (&mut [][..]).into(), tail),
        _ => Err(Error::DecryptionFailed),
    };
    tail_ok?;
    let mut out = vec![0u8; pt_len];
    let result = out
        .par_chunks_mut(SEGMENT_SIZE)
        .zip(body.par_chunks(SEALED_SEGMENT_SIZE))
        .enumerate()
        .try_for_each(|(i, (pt, sealed))| {
            let (ct, tag) = sealed.split_at(sealed.len() - TAG_SIZE);
            let buf = InOutBuf::new(ct, pt).map_err(|_| Error::DecryptionFailed)?;
            cipher.open(i, i + 1 == count, aad, buf, tag)
        });
    if let Err(e) = result {
        out.zeroize();
        return Err(e);
    }
    Ok(out)
}

/// Like [`open_body`], but decrypts in the caller's buffer: no second allocation of the body.
pub fn open_body_owned(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let (count, last_len) = body_shape(buf.len())?;
    let cipher = BodyCipher::new(key, prefix);
    #[cfg(feature = "rayon")]
    if count > 1 {
        return open_owned_parallel(&cipher, aad, buf, count, last_len);
    }
    // Segment i moves down by i tags, then is decrypted in place while it is in cache.
    let mut write = 0;
    for i in 0..count {
        let src = i * SEALED_SEGMENT_SIZE;
        let ct_len = if i + 1 == count {
            last_len
        } else {
            SEALED_SEGMENT_SIZE
        } - TAG_SIZE;
        let mut tag = [0u8; TAG_SIZE];
        if let Some(t) = buf.get(src + ct_len..src + ct_len + TAG_SIZE) {
            tag.copy_from_slice(t);
        }
        buf.copy_within(src..src + ct_len, write);
        let segment_buf = buf.get_mut(write..write + ct_len).unwrap_or_default();
        let opened = cipher.open(i, i + 1 == count, aad, segment_buf.into(), &tag);
        if let Err(e) = opened {
            buf.zeroize();
            return Err(e);
        }
        write += ct_len;
    }
    if let Some(rest) = buf.get_mut(write..) {
        rest.zeroize();
    }
    buf.truncate(write);
    Ok(buf)
}

#[cfg(feature = "rayon")]
fn open_owned_parallel(
    cipher: &BodyCipher,
    aad: &[u8],
    mut buf: Vec<u8>,
    count: usize,
    last_len: usize,
) -> Result<Vec<u8>, Error> {
    use rayon::prelude::*;
    let result = buf
        .par_chunks_mut(SEALED_SEGMENT_SIZE)
        .enumerate()
        .try_for_each(|(i, chunk)| {
            let (ct, tag) = chunk.split_at_mut(chunk.len() - TAG_SIZE);
            cipher.open(i, i + 1 == count, aad, ct.into(), tag)
        });
    if let Err(e) = result {
        buf.zeroize();
        return Err(e);
    }
    // Close the tag gaps: segment i moves down by i tags.
    for i in 1..count {
        let src = i * SEALED_SEGMENT_SIZE;
        let len = if i + 1 == count {
            last_len - TAG_SIZE
        } else {
            SEGMENT_SIZE
        };
        buf.copy_within(src..src + len, i * SEGMENT_SIZE);
    }
    let pt_len = buf.len() - count * TAG_SIZE;
    if let Some(rest) = buf.get_mut(pt_len..) {
        rest.zeroize();
    }
    buf.truncate(pt_len);
    Ok(buf)
}

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &["WrappedKey", "NoncePrefix"];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        ("DataKey", "secret: canonical bytes only, no serde (an explicit opt-in wrapper is the secret-encoding work of issue 12)"),
        ("BodySealer", "streaming state holding a data key"),
        ("BodyOpener", "streaming state holding a data key"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
    use alloc::vec;

    /// The segment nonces are StreamBE32's: every segment of a body, sealed here, equals what
    /// `aead_stream` produces for the same key, prefix, position and flag, and opens there.
    #[test]
    fn segments_match_aead_stream_stream_be32() {
        let key = DataKey::from_raw([0x42; 32]);
        let prefix = NoncePrefix([1, 2, 3, 4, 5, 6, 7]);
        let aad = b"header hash";
        let stream = StreamBE32::<Aes256Gcm>::new((&key.0).into(), (&prefix.0).into());
        for len in [
            0usize,
            1,
            SEGMENT_SIZE,
            SEGMENT_SIZE + 1,
            3 * SEGMENT_SIZE - 5,
        ] {
            let pt: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_body(&key, &prefix, aad, &pt).unwrap();
            assert_eq!(
                seal_body_owned(&key, &prefix, aad, pt.clone()).unwrap(),
                sealed
            );
            let mut reserved = Vec::with_capacity(sealed_len(len));
            reserved.extend_from_slice(&pt);
            assert_eq!(
                seal_body_owned(&key, &prefix, aad, reserved).unwrap(),
                sealed
            );
            let count = segment_count(len);
            assert_eq!(sealed.len(), sealed_len(len));
            for (i, chunk) in sealed.chunks(SEALED_SEGMENT_SIZE).enumerate() {
                let last = i + 1 == count;
                let mut expected = segment(&pt, i).to_vec();
                stream
                    .encrypt_in_place(i as u32, last, aad, &mut expected)
                    .unwrap();
                assert_eq!(chunk, &expected[..], "segment {i} of {len}");
                let mut buf = chunk.to_vec();
                stream
                    .decrypt_in_place(i as u32, last, aad, &mut buf)
                    .map(|_| ())
                    .unwrap_or_else(|_| panic!("segment {i} opens with StreamBE32"));
            }
            assert_eq!(open_body(&key, &prefix, aad, &sealed).unwrap(), pt);
            assert_eq!(open_body_owned(&key, &prefix, aad, sealed).unwrap(), pt);
        }
    }

    /// A body that ends with an empty final segment (as [`BodySealer`] can write) opens, and
    /// dropping that final segment is detected.
    #[test]
    fn empty_final_segment_after_full_ones() {
        let key = DataKey::from_raw([7; 32]);
        let prefix = NoncePrefix([9; 7]);
        let pt = vec![5u8; 2 * SEGMENT_SIZE];
        let mut sealer = BodySealer::new(&key, &prefix, b"");
        let mut body = sealer.seal_segment(&pt[..SEGMENT_SIZE]).unwrap();
        body.extend(sealer.seal_segment(&pt[SEGMENT_SIZE..]).unwrap());
        body.extend(sealer.seal_last(&[]).unwrap());
        assert_eq!(open_body(&key, &prefix, b"", &body).unwrap(), pt);
        assert_eq!(
            open_body_owned(&key, &prefix, b"", body.clone()).unwrap(),
            pt
        );
        let truncated = &body[..body.len() - TAG_SIZE];
        assert_eq!(
            open_body(&key, &prefix, b"", truncated),
            Err(Error::DecryptionFailed)
        );
        let mut flipped = body.clone();
        let n = flipped.len();
        flipped[n - 1] ^= 1;
        assert_eq!(
            open_body(&key, &prefix, b"", &flipped),
            Err(Error::DecryptionFailed)
        );
        assert_eq!(
            open_body_owned(&key, &prefix, b"", flipped),
            Err(Error::DecryptionFailed)
        );
    }
}
