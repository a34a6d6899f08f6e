//! The entry readers: the body's segments decrypted one at a time behind
//! [`std::io::Read`], the final one released only once the whole body is the writer's.

use std::io::{self, Read};
use std::vec::Vec;

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::container::{read_exact, read_signature};
use super::io_error;
use crate::dem::{self, BodyOpener, DataKey, SEALED_SEGMENT_SIZE, TAG_SIZE};
use crate::phr::entry::verify_entry_signature;
use crate::phr::BodyHeader;
use crate::sign::VerifyingKey;
use crate::srs::Accepted;
use crate::Error;

/// What the final segment waits for before it is released.
pub(super) enum FinalCheck {
    /// Two passes: each segment must hash as in the first pass before it is released, and
    /// the body to what the first pass verified.
    Hash {
        /// The verified body's hash.
        body: [u8; 32],
        /// Each sealed segment's hash in the first pass.
        segments: Vec<[u8; 32]>,
    },
    /// One pass: the receipt and the writer's signature, read after the body.
    Signature {
        writer: VerifyingKey,
        accepted: Accepted,
        header_hash: [u8; 32],
    },
}

/// The body's segments, decrypted in place in one buffer.
pub(super) struct Segments<R> {
    input: R,
    header: BodyHeader,
    opener: Option<BodyOpener>,
    hasher: Sha256,
    check: FinalCheck,
    count: usize,
    next: usize,
    /// Sealed length of the final segment.
    last_len: usize,
    plaintext_len: u64,
    /// The current segment's plaintext (after its tag verified), `pos` bytes of it returned.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    failed: bool,
}

/// A buffer for one sealed segment.
pub(super) fn segment_buffer() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(Vec::with_capacity(SEALED_SEGMENT_SIZE))
}

impl<R: Read> Segments<R> {
    /// Starts decrypting a body of `body_len` bytes at the input's position. A length no
    /// sealed body can have is [`Error::DecryptionFailed`], as in memory.
    pub(super) fn new(
        input: R,
        header: BodyHeader,
        dk: &DataKey,
        header_hash: [u8; 32],
        body_len: u32,
        check: FinalCheck,
        buf: Zeroizing<Vec<u8>>,
    ) -> io::Result<Self> {
        let body_len =
            usize::try_from(body_len).map_err(|_| io_error(Error::TooLong { what: "body" }))?;
        let (count, last_len) = dem::body_shape(body_len).map_err(io_error)?;
        let mut buf = buf;
        buf.clear();
        Ok(Self {
            input,
            header,
            opener: Some(BodyOpener::new(dk, &header.nonce_prefix, &header_hash)),
            hasher: Sha256::new(),
            check,
            count,
            next: 0,
            last_len,
            plaintext_len: (body_len - count * TAG_SIZE) as u64,
            buf,
            pos: 0,
            failed: false,
        })
    }

    /// Reads, checks and decrypts the next segment into the buffer.
    fn next_segment(&mut self) -> io::Result<()> {
        let last = self.next + 1 == self.count;
        let sealed_len = if last {
            self.last_len
        } else {
            SEALED_SEGMENT_SIZE
        };
        self.buf.clear();
        self.buf.resize(sealed_len, 0);
        read_exact(&mut self.input, &mut self.buf)?;
        self.hasher.update(self.buf.as_slice());
        if let FinalCheck::Hash { segments, .. } = &self.check {
            let seen: [u8; 32] = Sha256::digest(self.buf.as_slice()).into();
            if segments.get(self.next) != Some(&seen) {
                return Err(io_error(Error::DecryptionFailed));
            }
        }
        let ct_len = sealed_len - TAG_SIZE;
        let mut tag = [0u8; TAG_SIZE];
        tag.copy_from_slice(self.buf.get(ct_len..).unwrap_or_default());
        self.buf.truncate(ct_len);
        if last {
            self.final_check()?;
            let opener = self.opener.take().ok_or(io_error(Error::StreamMisuse {
                reason: "the body has ended",
            }))?;
            opener
                .open_last_in_place(&mut self.buf, &tag)
                .map_err(io_error)?;
        } else {
            let opener = self.opener.as_mut().ok_or(io_error(Error::StreamMisuse {
                reason: "the body has ended",
            }))?;
            opener
                .open_segment_in_place(&mut self.buf, &tag)
                .map_err(io_error)?;
        }
        self.next += 1;
        self.pos = 0;
        Ok(())
    }

    /// Before the final segment is released: the whole body is the one verified (two passes),
    /// or the receipt and the writer's signature verify over it (one pass).
    fn final_check(&mut self) -> io::Result<()> {
        let body_hash: [u8; 32] = self.hasher.finalize_reset().into();
        match &self.check {
            FinalCheck::Hash { body, .. } => {
                if body_hash != *body {
                    return Err(io_error(Error::DecryptionFailed));
                }
            }
            FinalCheck::Signature {
                writer,
                accepted,
                header_hash,
            } => {
                let signature = read_signature(&mut self.input)?;
                accepted.check_body(&body_hash).map_err(io_error)?;
                verify_entry_signature(writer, header_hash, &body_hash, &signature)
                    .map_err(io_error)?;
            }
        }
        Ok(())
    }

    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.failed {
                return Err(io_error(Error::StreamMisuse {
                    reason: "the entry reader failed earlier",
                }));
            }
            let ready = self.buf.get(self.pos..).unwrap_or_default();
            if !ready.is_empty() || out.is_empty() {
                let n = ready.len().min(out.len());
                if let (Some(o), Some(r)) = (out.get_mut(..n), ready.get(..n)) {
                    o.copy_from_slice(r);
                }
                self.pos += n;
                return Ok(n);
            }
            if self.opener.is_none() {
                return Ok(0);
            }
            if let Err(e) = self.next_segment() {
                self.failed = true;
                self.buf.zeroize();
                return Err(e);
            }
        }
    }
}

/// Reads an entry's plaintext after the whole entry was verified: made by `open_stream` (of
/// [`crate::phr::PrincipalKeys`] or [`crate::phr::Owner`]), which hashed the body and checked
/// the receipt, the writer and its signature in a first pass over the seekable input. Holds
/// one segment; the plaintext is wiped on drop.
///
/// Every segment it releases hashes as it did in the verified first pass, so a change to the
/// input between the passes — which a holder of the data key could make GCM accept — is
/// refused ([`Error::DecryptionFailed`]) at the first changed segment, before any of it is
/// released. A read that fails poisons the reader.
pub struct EntryReader<R>(pub(super) Segments<R>);

/// Reads an entry's plaintext in one pass, **before the writer's signature is checked**:
/// made by `open_unverified_stream`. Each segment is released once its GCM tag verifies,
/// which another holder of the data key (any reader of the section) could forge; the final
/// segment is released only after the receipt and the writer's signature verify over the
/// whole body. Treat what you read as unverified until a read returns `Ok(0)`; on any error,
/// discard all of it.
pub struct UnverifiedEntryReader<R>(pub(super) Segments<R>);

impl<R> EntryReader<R> {
    /// The body header.
    pub fn header(&self) -> &BodyHeader {
        &self.0.header
    }
    /// The plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.0.plaintext_len
    }
}

impl<R> UnverifiedEntryReader<R> {
    /// The body header.
    pub fn header(&self) -> &BodyHeader {
        &self.0.header
    }
    /// The plaintext length the container declares.
    pub fn plaintext_len(&self) -> u64 {
        self.0.plaintext_len
    }
}

impl<R> core::fmt::Debug for Segments<R> {
    /// The header and the position; never the plaintext.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Segments")
            .field("header", &self.header)
            .field("segment", &self.next)
            .field("of", &self.count)
            .finish_non_exhaustive()
    }
}

impl<R> core::fmt::Debug for EntryReader<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("EntryReader").field(&self.0).finish()
    }
}

impl<R> core::fmt::Debug for UnverifiedEntryReader<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("UnverifiedEntryReader")
            .field(&self.0)
            .finish()
    }
}

impl<R: Read> Read for EntryReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.0.read(out)
    }
}

impl<R: Read> Read for UnverifiedEntryReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.0.read(out)
    }
}
