//! Data encapsulation (SPEC §3): the data key, its wrap under a KEM key, and the body cipher,
//! AES-256-GCM in the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár as
//! RustCrypto's [`aead_stream::StreamBE32`] implements it.
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

use alloc::vec;
use alloc::vec::Vec;

use aead_stream::{KeyInit, NewStream, StreamBE32, StreamPrimitive};
use aes_gcm::aead::{AeadInOut, Buffer};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::encoding::{Reader, Tag, VERSION};
use crate::pre::SharedKey;
use crate::Error;

/// Plaintext bytes per body segment (64 KiB).
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// Bytes an AES-GCM tag adds to every segment.
pub const TAG_SIZE: usize = 16;
/// Ciphertext bytes of a full (non-final) segment.
pub const SEALED_SEGMENT_SIZE: usize = SEGMENT_SIZE + TAG_SIZE;

/// A 256-bit data key: encrypts one entry's body. Wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh random data key.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// A data key from raw bytes (for known-answer tests and key escrow by the caller).
    pub fn from_raw(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps this key under a KEM key: AES-256-GCM, all-zero nonce (each KEM key wraps exactly
    /// one data key), with the caller's associated data.
    pub fn wrap(&self, kek: &SharedKey, aad: &[u8]) -> WrappedKey {
        let cipher = Aes256Gcm::new(kek.as_bytes().into());
        let mut buf = self.0;
        let nonce = Nonce::default();
        // Encrypting 32 bytes under AES-GCM cannot fail.
        let tag = cipher
            .encrypt_inout_detached(&nonce, aad, (&mut buf[..]).into())
            .map(|t| t.into())
            .unwrap_or([0u8; 16]);
        let mut out = [0u8; WrappedKey::RAW_LEN];
        out[..32].copy_from_slice(&buf);
        out[32..].copy_from_slice(&tag);
        WrappedKey(out)
    }

    fn stream(&self, prefix: &NoncePrefix) -> StreamBE32<Aes256Gcm> {
        StreamBE32::new((&self.0).into(), (&prefix.0).into())
    }
}

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for DataKey {}

impl core::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key wrapped under a KEM key (32 bytes of ciphertext, 16 of tag).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WrappedKey([u8; WrappedKey::RAW_LEN]);

impl WrappedKey {
    const RAW_LEN: usize = 48;
    /// Size of the encoding: tag, version, 48 bytes.
    pub const SIZE: usize = 2 + Self::RAW_LEN;

    /// Unwraps with the KEM key and the associated data used at wrap time.
    /// Any mismatch is [`Error::DecryptionFailed`].
    pub fn unwrap(&self, kek: &SharedKey, aad: &[u8]) -> Result<DataKey, Error> {
        let cipher = Aes256Gcm::new(kek.as_bytes().into());
        let mut buf = [0u8; 32];
        buf.copy_from_slice(&self.0[..32]);
        let tag = aes_gcm::Tag::try_from(&self.0[32..]).map_err(|_| Error::DecryptionFailed)?;
        match cipher.decrypt_inout_detached(&Nonce::default(), aad, (&mut buf[..]).into(), &tag) {
            Ok(()) => Ok(DataKey(buf)),
            Err(_) => {
                buf.zeroize();
                Err(Error::DecryptionFailed)
            }
        }
    }

    /// The canonical encoding: tag, version, 48 bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = Tag::WrappedKey as u8;
        out[1] = VERSION;
        out[2..].copy_from_slice(&self.0);
        out
    }

    /// Decodes: length, tag, version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::WrappedKey, "wrapped key")?;
        let raw = r.array::<{ Self::RAW_LEN }>()?;
        r.finish()?;
        Ok(Self(raw))
    }
}

impl core::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WrappedKey(..)")
    }
}

crate::macros::serde_via_bytes!(WrappedKey, "wrapped key");

/// The 7-byte random nonce prefix of a body's STREAM, written in the body header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoncePrefix(pub [u8; 7]);

impl NoncePrefix {
    /// A fresh random prefix.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut p = [0u8; 7];
        rng.fill_bytes(&mut p);
        Self(p)
    }
}

/// Length of the body ciphertext for `plaintext_len` bytes of plaintext.
pub fn sealed_len(plaintext_len: usize) -> usize {
    plaintext_len + segment_count(plaintext_len) * TAG_SIZE
}

/// Number of segments for `plaintext_len` bytes (an empty body is one segment).
pub fn segment_count(plaintext_len: usize) -> usize {
    plaintext_len.div_ceil(SEGMENT_SIZE).max(1)
}

/// An [`aead::Buffer`] over a fixed slice: the first `len` bytes are the message, the rest is
/// room for the tag. Lets segments be sealed and opened in place inside one body buffer.
struct Slot<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl AsRef<[u8]> for Slot<'_> {
    fn as_ref(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl AsMut<[u8]> for Slot<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or_default()
    }
}

impl Buffer for Slot<'_> {
    fn extend_from_slice(&mut self, other: &[u8]) -> aes_gcm::aead::Result<()> {
        let end = self.len + other.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(aes_gcm::aead::Error)?;
        dst.copy_from_slice(other);
        self.len = end;
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

fn position(index: usize) -> Result<u32, Error> {
    u32::try_from(index).map_err(|_| Error::TooLong { what: "body" })
}

/// Seals one segment in place: `chunk[..len]` is plaintext, `chunk[len..len + 16]` receives the tag.
fn seal_in_place(
    stream: &StreamBE32<Aes256Gcm>,
    index: usize,
    last: bool,
    aad: &[u8],
    chunk: &mut [u8],
) -> Result<(), Error> {
    let len = chunk.len().saturating_sub(TAG_SIZE);
    let mut slot = Slot { buf: chunk, len };
    stream
        .encrypt_in_place(position(index)?, last, aad, &mut slot)
        .map_err(|_| Error::TooLong {
            what: "body segment",
        })
}

/// Opens one segment in place; on success `chunk[..chunk.len() - 16]` is plaintext.
fn open_in_place(
    stream: &StreamBE32<Aes256Gcm>,
    index: usize,
    last: bool,
    aad: &[u8],
    chunk: &mut [u8],
) -> Result<(), Error> {
    let len = chunk.len();
    let mut slot = Slot { buf: chunk, len };
    let pos = position(index).map_err(|_| Error::DecryptionFailed)?;
    stream
        .decrypt_in_place(pos, last, aad, &mut slot)
        .map_err(|_| Error::DecryptionFailed)
}

/// Seals a whole body in memory: one output allocation, segments sealed in place (in parallel
/// with the `rayon` feature).
pub fn seal_body(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let count = segment_count(plaintext.len());
    position(count - 1)?;
    let mut out = vec![0u8; sealed_len(plaintext.len())];
    let stream = key.stream(prefix);
    let seal = |(i, chunk): (usize, &mut [u8])| -> Result<(), Error> {
        let start = i * SEGMENT_SIZE;
        let end = (start + SEGMENT_SIZE).min(plaintext.len());
        let pt = plaintext.get(start..end).unwrap_or_default();
        if let Some(dst) = chunk.get_mut(..pt.len()) {
            dst.copy_from_slice(pt);
        }
        seal_in_place(&stream, i, i + 1 == count, aad, chunk)
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(SEALED_SEGMENT_SIZE)
            .enumerate()
            .try_for_each(seal)?;
    }
    #[cfg(not(feature = "rayon"))]
    out.chunks_mut(SEALED_SEGMENT_SIZE)
        .enumerate()
        .try_for_each(seal)?;
    Ok(out)
}

/// Opens a whole body in memory. Every segment must authenticate at its position with the
/// right last flag, or nothing is returned (and the partial plaintext is wiped).
pub fn open_body(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
    open_body_owned(key, prefix, aad, ciphertext.to_vec())
}

/// Like [`open_body`], but decrypts in the caller's buffer: no second copy of the body.
pub fn open_body_owned(
    key: &DataKey,
    prefix: &NoncePrefix,
    aad: &[u8],
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    if buf.len() < TAG_SIZE {
        return Err(Error::DecryptionFailed);
    }
    let count = buf.len().div_ceil(SEALED_SEGMENT_SIZE);
    // A final chunk shorter than a tag cannot be a segment.
    let last_len = buf.len() - (count - 1) * SEALED_SEGMENT_SIZE;
    if last_len < TAG_SIZE || position(count - 1).is_err() {
        return Err(Error::DecryptionFailed);
    }
    let stream = key.stream(prefix);
    let open =
        |(i, chunk): (usize, &mut [u8])| open_in_place(&stream, i, i + 1 == count, aad, chunk);
    #[cfg(feature = "rayon")]
    let result = {
        use rayon::prelude::*;
        buf.par_chunks_mut(SEALED_SEGMENT_SIZE)
            .enumerate()
            .try_for_each(open)
    };
    #[cfg(not(feature = "rayon"))]
    let result = buf
        .chunks_mut(SEALED_SEGMENT_SIZE)
        .enumerate()
        .try_for_each(open);
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
    buf[pt_len..].zeroize();
    buf.truncate(pt_len);
    Ok(buf)
}

/// Seals a body one segment at a time, in memory bounded by one segment.
pub struct BodySealer {
    stream: StreamBE32<Aes256Gcm>,
    aad: Vec<u8>,
    next: usize,
}

impl BodySealer {
    /// Starts a body under `key` and `prefix`, every segment bound to `aad`.
    pub fn new(key: &DataKey, prefix: &NoncePrefix, aad: &[u8]) -> Self {
        Self {
            stream: key.stream(prefix),
            aad: aad.to_vec(),
            next: 0,
        }
    }

    /// Seals a non-final segment, which must be exactly [`SEGMENT_SIZE`] bytes.
    pub fn seal_segment(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        if plaintext.len() != SEGMENT_SIZE {
            return Err(Error::StreamMisuse {
                reason: "a non-final segment must be exactly 64 KiB",
            });
        }
        let out = self.seal(plaintext, false)?;
        self.next += 1;
        Ok(out)
    }

    /// Seals the final segment (0 to [`SEGMENT_SIZE`] bytes) and ends the body.
    pub fn seal_last(self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        if plaintext.len() > SEGMENT_SIZE {
            return Err(Error::StreamMisuse {
                reason: "a segment holds at most 64 KiB",
            });
        }
        self.seal(plaintext, true)
    }

    fn seal(&self, plaintext: &[u8], last: bool) -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; plaintext.len() + TAG_SIZE];
        out[..plaintext.len()].copy_from_slice(plaintext);
        seal_in_place(&self.stream, self.next, last, &self.aad, &mut out)?;
        Ok(out)
    }
}

/// Opens a body one segment at a time, in memory bounded by one segment.
///
/// Plaintext returned before [`BodyOpener::open_last`] is authenticated by the segment's GCM
/// tag but, at the entry level, not yet by the writer's signature (see
/// [`crate::phr::EntryOpener`]).
pub struct BodyOpener {
    stream: StreamBE32<Aes256Gcm>,
    aad: Vec<u8>,
    next: usize,
}

impl BodyOpener {
    /// Starts opening a body under `key` and `prefix`, every segment bound to `aad`.
    pub fn new(key: &DataKey, prefix: &NoncePrefix, aad: &[u8]) -> Self {
        Self {
            stream: key.stream(prefix),
            aad: aad.to_vec(),
            next: 0,
        }
    }

    /// Opens a non-final segment of exactly [`SEALED_SEGMENT_SIZE`] bytes.
    pub fn open_segment(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        if ciphertext.len() != SEALED_SEGMENT_SIZE {
            return Err(Error::DecryptionFailed);
        }
        let out = self.open(ciphertext, false)?;
        self.next += 1;
        Ok(out)
    }

    /// Opens the final segment and ends the body.
    pub fn open_last(self, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        if ciphertext.len() < TAG_SIZE || ciphertext.len() > SEALED_SEGMENT_SIZE {
            return Err(Error::DecryptionFailed);
        }
        self.open(ciphertext, true)
    }

    fn open(&self, ciphertext: &[u8], last: bool) -> Result<Vec<u8>, Error> {
        let mut buf = ciphertext.to_vec();
        open_in_place(&self.stream, self.next, last, &self.aad, &mut buf)?;
        buf.truncate(ciphertext.len() - TAG_SIZE);
        Ok(buf)
    }
}
