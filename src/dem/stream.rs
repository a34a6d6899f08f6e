//! Bodies sealed and opened one segment at a time, in memory bounded by one segment.

use alloc::vec::Vec;

use super::{BodyCipher, DataKey, NoncePrefix, SEALED_SEGMENT_SIZE, SEGMENT_SIZE, TAG_SIZE};
use crate::Error;

/// Seals a body one segment at a time, in memory bounded by one segment.
pub struct BodySealer {
    cipher: BodyCipher,
    aad: Vec<u8>,
    next: usize,
}

impl BodySealer {
    /// Starts a body under `key` and `prefix`, every segment bound to `aad`.
    pub fn new(key: &DataKey, prefix: &NoncePrefix, aad: &[u8]) -> Self {
        Self {
            cipher: BodyCipher::new(key, prefix),
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

    /// Seals a non-final segment in place, with no allocation: `segment` must be exactly
    /// [`SEGMENT_SIZE`] bytes and becomes its ciphertext; the tag is returned.
    pub fn seal_segment_in_place(&mut self, segment: &mut [u8]) -> Result<[u8; TAG_SIZE], Error> {
        if segment.len() != SEGMENT_SIZE {
            return Err(Error::StreamMisuse {
                reason: "a non-final segment must be exactly 64 KiB",
            });
        }
        let tag = self
            .cipher
            .seal(self.next, false, &self.aad, segment.into())?;
        self.next += 1;
        Ok(tag)
    }

    /// Seals the final segment (0 to [`SEGMENT_SIZE`] bytes) in place and ends the body.
    pub fn seal_last_in_place(self, segment: &mut [u8]) -> Result<[u8; TAG_SIZE], Error> {
        if segment.len() > SEGMENT_SIZE {
            return Err(Error::StreamMisuse {
                reason: "a segment holds at most 64 KiB",
            });
        }
        self.cipher.seal(self.next, true, &self.aad, segment.into())
    }

    fn seal(&self, plaintext: &[u8], last: bool) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_SIZE);
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .seal(self.next, last, &self.aad, out.as_mut_slice().into())?;
        out.extend_from_slice(&tag);
        Ok(out)
    }
}

/// Opens a body one segment at a time, in memory bounded by one segment.
///
/// Plaintext returned before [`BodyOpener::open_last`] is authenticated by the segment's GCM
/// tag but, at the entry level, not yet by the writer's signature (see
/// [`crate::phr::EntryOpener`]).
pub struct BodyOpener {
    cipher: BodyCipher,
    aad: Vec<u8>,
    next: usize,
}

impl BodyOpener {
    /// Starts opening a body under `key` and `prefix`, every segment bound to `aad`.
    pub fn new(key: &DataKey, prefix: &NoncePrefix, aad: &[u8]) -> Self {
        Self {
            cipher: BodyCipher::new(key, prefix),
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

    /// Opens a non-final segment in place, with no allocation: `segment` is its
    /// [`SEGMENT_SIZE`] bytes of ciphertext (without the tag) and becomes its plaintext.
    /// Nothing is written when the tag does not verify.
    pub fn open_segment_in_place(&mut self, segment: &mut [u8], tag: &[u8]) -> Result<(), Error> {
        if segment.len() != SEGMENT_SIZE {
            return Err(Error::DecryptionFailed);
        }
        self.cipher
            .open(self.next, false, &self.aad, segment.into(), tag)?;
        self.next += 1;
        Ok(())
    }

    /// Opens the final segment in place (0 to [`SEGMENT_SIZE`] bytes of ciphertext without
    /// the tag) and ends the body. Nothing is written when the tag does not verify.
    pub fn open_last_in_place(self, segment: &mut [u8], tag: &[u8]) -> Result<(), Error> {
        if segment.len() > SEGMENT_SIZE {
            return Err(Error::DecryptionFailed);
        }
        self.cipher
            .open(self.next, true, &self.aad, segment.into(), tag)
    }

    fn open(&self, ciphertext: &[u8], last: bool) -> Result<Vec<u8>, Error> {
        let (ct, tag) = ciphertext.split_at(ciphertext.len() - TAG_SIZE);
        let mut buf = ct.to_vec();
        self.cipher
            .open(self.next, last, &self.aad, buf.as_mut_slice().into(), tag)?;
        Ok(buf)
    }
}
