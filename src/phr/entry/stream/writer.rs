//! The entry writer: [`std::io::Write`] in, the whole container out, one segment in memory.

use std::io::{self, Seek, SeekFrom, Write};
use std::vec::Vec;

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::container::{body_length_offset, write_prefix, StreamedEntry};
use super::io_error;
use crate::dem::{self, BodySealer, SEALED_SEGMENT_SIZE, SEGMENT_SIZE};
use crate::phr::entry::start_entry;
use crate::phr::{BodyHeader, KeyBlock, PrincipalKeys, SectionId, Timestamp, VerifiedAcl};
use crate::sign::Purpose;
use crate::Error;

/// The body ciphertext length for `plaintext_len` bytes, if the container's u32 can hold it.
fn body_len(plaintext_len: u64) -> Result<u32, Error> {
    usize::try_from(plaintext_len)
        .ok()
        .and_then(|n| n.checked_add(dem::segment_count(n) * dem::TAG_SIZE))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(Error::TooLong { what: "body" })
}

/// Seals an entry written through [`std::io::Write`] into the whole container, byte for byte
/// what [`PrincipalKeys::seal_entry`] and [`crate::phr::SealedEntry::to_bytes`] give for the
/// same randomness, holding at most one 64 KiB segment whatever the chunking.
///
/// Made by [`PrincipalKeys::entry_writer`] with the plaintext length declared up front (the
/// container states the body length before the body). Call [`EntryWriter::finish`] at the
/// end: dropping the writer leaves an incomplete container in the sink. The buffered
/// plaintext is wiped on drop.
pub struct EntryWriter<'k, W> {
    keys: &'k PrincipalKeys,
    header: BodyHeader,
    key_block: KeyBlock,
    sealer: Option<BodySealer>,
    hasher: Sha256,
    /// Plaintext of the segment being filled, then its ciphertext and tag.
    buf: Zeroizing<Vec<u8>>,
    sink: W,
    /// The declared plaintext length; `None` when a [`SeekableEntryWriter`] patches it.
    declared: Option<u64>,
    written: u64,
    failed: bool,
}

impl PrincipalKeys {
    /// Starts a streamed entry of `plaintext_len` bytes in `section` under the current ACL
    /// `acl` at time `now` (as [`PrincipalKeys::seal_entry`]), writing the container to
    /// `sink`: the prefix now, each segment when the next byte arrives, the final segment and
    /// the signature in [`EntryWriter::finish`]. Writing more or fewer bytes than
    /// `plaintext_len` is [`Error::StreamMisuse`].
    pub fn entry_writer<W: Write, R: RngCore + CryptoRng + ?Sized>(
        &self,
        acl: &VerifiedAcl,
        section: SectionId,
        plaintext_len: u64,
        now: Timestamp,
        sink: W,
        rng: &mut R,
    ) -> io::Result<EntryWriter<'_, W>> {
        let len = body_len(plaintext_len).map_err(io_error)?;
        EntryWriter::start(
            self,
            acl,
            section,
            now,
            sink,
            Some((plaintext_len, len)),
            rng,
        )
    }

    /// Starts a streamed entry of a length not known in advance, in a sink that can seek
    /// back (a file): the body length is written as zero and patched by
    /// [`SeekableEntryWriter::finish`]. The container starts at the sink's current position.
    pub fn entry_writer_seekable<W: Write + Seek, R: RngCore + CryptoRng + ?Sized>(
        &self,
        acl: &VerifiedAcl,
        section: SectionId,
        now: Timestamp,
        mut sink: W,
        rng: &mut R,
    ) -> io::Result<SeekableEntryWriter<'_, W>> {
        let start = sink.stream_position()?;
        let inner = EntryWriter::start(self, acl, section, now, sink, None, rng)?;
        let length_at = start + body_length_offset(&inner.key_block);
        Ok(SeekableEntryWriter { inner, length_at })
    }
}

impl<'k, W: Write> EntryWriter<'k, W> {
    fn start<R: RngCore + CryptoRng + ?Sized>(
        keys: &'k PrincipalKeys,
        acl: &VerifiedAcl,
        section: SectionId,
        now: Timestamp,
        mut sink: W,
        declared: Option<(u64, u32)>,
        rng: &mut R,
    ) -> io::Result<Self> {
        let (header, key_block, dk) =
            start_entry(keys, acl, section, now, rng).map_err(io_error)?;
        let body_len = declared.map_or(0, |(_, len)| len);
        write_prefix(&mut sink, &header, &key_block, body_len)?;
        let sealer = BodySealer::new(&dk, &header.nonce_prefix, &key_block.header_hash);
        Ok(Self {
            keys,
            header,
            key_block,
            sealer: Some(sealer),
            hasher: Sha256::new(),
            buf: Zeroizing::new(Vec::with_capacity(SEALED_SEGMENT_SIZE)),
            sink,
            declared: declared.map(|(n, _)| n),
            written: 0,
            failed: false,
        })
    }

    /// The body header (written already).
    pub fn header(&self) -> &BodyHeader {
        &self.header
    }

    /// The key block (written already).
    pub fn key_block(&self) -> &KeyBlock {
        &self.key_block
    }

    /// Plaintext bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Fails, and poisons the writer, with `error`.
    fn fail<T>(&mut self, error: io::Error) -> io::Result<T> {
        self.failed = true;
        self.buf.clear();
        Err(error)
    }

    fn check_usable(&mut self) -> io::Result<()> {
        if self.failed || self.sealer.is_none() {
            return self.fail(io_error(Error::StreamMisuse {
                reason: "the entry writer failed or finished earlier",
            }));
        }
        Ok(())
    }

    /// Seals the buffered full segment as non-final (more plaintext follows) and writes it.
    fn seal_full(&mut self) -> io::Result<()> {
        let sealed = match (self.sealer.as_mut(), self.buf.get_mut(..SEGMENT_SIZE)) {
            (Some(sealer), Some(segment)) => sealer.seal_segment_in_place(segment),
            _ => Err(Error::StreamMisuse {
                reason: "no full segment to seal",
            }),
        };
        let written = sealed.map_err(io_error).and_then(|tag| {
            self.buf.extend_from_slice(&tag);
            self.hasher.update(self.buf.as_slice());
            self.sink.write_all(&self.buf)
        });
        match written {
            Ok(()) => {
                self.buf.clear();
                Ok(())
            }
            Err(e) => self.fail(e),
        }
    }

    /// Seals the final segment, signs, writes both; returns the sink and what to submit.
    fn finish_inner<R: RngCore + CryptoRng + ?Sized>(
        mut self,
        rng: &mut R,
    ) -> io::Result<(W, StreamedEntry, u64)> {
        self.check_usable()?;
        if self.declared.is_some_and(|n| n != self.written) {
            return self.fail(io_error(Error::StreamMisuse {
                reason: "less plaintext than the entry writer was told",
            }));
        }
        let sealer = self.sealer.take().ok_or(io_error(Error::StreamMisuse {
            reason: "the entry writer finished earlier",
        }))?;
        let tag = sealer
            .seal_last_in_place(self.buf.as_mut_slice())
            .map_err(io_error)?;
        self.buf.extend_from_slice(&tag);
        self.hasher.update(self.buf.as_slice());
        self.sink.write_all(&self.buf)?;
        self.buf.clear();
        let body_hash: [u8; 32] = self.hasher.finalize_reset().into();
        let signature = self
            .keys
            .signing_key()
            .sign(
                Purpose::Entry,
                &[&self.key_block.header_hash, &body_hash],
                rng,
            )
            .map_err(io_error)?;
        self.sink.write_all(&signature.to_bytes())?;
        let entry = StreamedEntry {
            header: self.header,
            key_block: self.key_block,
            body_hash,
            signature,
        };
        Ok((self.sink, entry, self.written))
    }

    /// Seals the final segment, signs the header and body hashes and writes the signature:
    /// the container is complete. Returns the sink and the [`StreamedEntry`] to submit.
    /// Fails with [`Error::StreamMisuse`] if fewer bytes were written than declared.
    pub fn finish<R: RngCore + CryptoRng + ?Sized>(
        self,
        rng: &mut R,
    ) -> io::Result<(W, StreamedEntry)> {
        self.finish_inner(rng).map(|(sink, entry, _)| (sink, entry))
    }
}

impl<W> core::fmt::Debug for EntryWriter<'_, W> {
    /// The header and the count written; never the buffered plaintext.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EntryWriter")
            .field("header", &self.header)
            .field("declared", &self.declared)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W> core::fmt::Debug for SeekableEntryWriter<'_, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SeekableEntryWriter")
            .field(&self.inner)
            .finish()
    }
}

impl<W: Write> Write for EntryWriter<'_, W> {
    /// Takes all of `data` (or fails and poisons the writer): each full segment is sealed and
    /// written when the byte after it arrives.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_usable()?;
        let total = self.written.saturating_add(data.len() as u64);
        let too_long = match self.declared {
            Some(n) => (total > n).then_some(Error::StreamMisuse {
                reason: "more plaintext than the entry writer was told",
            }),
            None => body_len(total).err(),
        };
        if let Some(e) = too_long {
            return self.fail(io_error(e));
        }
        let mut rest = data;
        while !rest.is_empty() {
            if self.buf.len() == SEGMENT_SIZE {
                self.seal_full()?;
            }
            let room = SEGMENT_SIZE - self.buf.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.buf.extend_from_slice(now);
            rest = later;
        }
        self.written = total;
        Ok(data.len())
    }

    /// Flushes the sink (a partial segment stays buffered until it is full or final).
    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

/// An [`EntryWriter`] whose length is not declared: the sink seeks back to patch the body
/// length when it finishes. Made by [`PrincipalKeys::entry_writer_seekable`].
pub struct SeekableEntryWriter<'k, W> {
    inner: EntryWriter<'k, W>,
    length_at: u64,
}

impl<W: Write + Seek> SeekableEntryWriter<'_, W> {
    /// The body header (written already).
    pub fn header(&self) -> &BodyHeader {
        self.inner.header()
    }

    /// The key block (written already).
    pub fn key_block(&self) -> &KeyBlock {
        self.inner.key_block()
    }

    /// Seals the final segment, signs, writes the signature, then writes the body length
    /// into the prefix and seeks back to the end of the container.
    pub fn finish<R: RngCore + CryptoRng + ?Sized>(
        self,
        rng: &mut R,
    ) -> io::Result<(W, StreamedEntry)> {
        let (mut sink, entry, written) = self.inner.finish_inner(rng)?;
        let len = body_len(written).map_err(io_error)?;
        let end = sink.stream_position()?;
        sink.seek(SeekFrom::Start(self.length_at))?;
        sink.write_all(&len.to_be_bytes())?;
        sink.seek(SeekFrom::Start(end))?;
        Ok((sink, entry))
    }
}

impl<W: Write + Seek> Write for SeekableEntryWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.inner.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
