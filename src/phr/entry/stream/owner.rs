//! The owner's re-wrap and re-seal over streams, in bounded memory.

use std::io::{self, Read, Seek, Write};

use rand_core::{CryptoRng, RngCore};

use super::container::{copy_exact, read_signature, write_prefix, EntryStream, StreamedEntry};
use super::io_error;
use crate::phr::{KeyBlock, Owner, Timestamp, VerifiedAcl};
use crate::srs::Accepted;

impl Owner {
    /// Re-wrap over streams: computes the new key block as [`Owner::rewrap`] does (from the
    /// header and key block alone), writes the container with it to `output`, and copies the
    /// body and signature through unchanged. `output` then holds exactly
    /// `entry.with_key_block(key_block).to_bytes()`; the key block is returned for the SRS.
    ///
    /// A body cut short or followed by trailing bytes is found while copying, after part of
    /// the output is written: on any error, discard `output`.
    pub fn rewrap_stream<R: Read, W: Write, G: RngCore + CryptoRng + ?Sized>(
        &self,
        entry: EntryStream<R>,
        current: &VerifiedAcl,
        mut output: W,
        rng: &mut G,
    ) -> io::Result<(W, KeyBlock)> {
        let EntryStream {
            mut input,
            header,
            key_block,
            body_len,
        } = entry;
        let key_block = self
            .rewrap_key_block(&header, &key_block, current, rng)
            .map_err(io_error)?;
        write_prefix(&mut output, &header, &key_block, body_len)?;
        copy_exact(&mut input, &mut output, u64::from(body_len))?;
        let signature = read_signature(&mut input)?;
        output.write_all(&signature.to_bytes())?;
        Ok((output, key_block))
    }

    /// Re-seal over streams: opens the entry verified first (two passes, as
    /// [`Owner::open_stream`], checked against `named`, the ACL version it names) and seals
    /// its plaintext again to `output` under a fresh data key and the current ACL, with the
    /// owner as writer — the same bytes as [`Owner::reseal`] then
    /// [`crate::phr::SealedEntry::to_bytes`] for the same randomness. Memory: two segments.
    ///
    /// On any error, discard `output`.
    #[allow(clippy::too_many_arguments)]
    pub fn reseal_stream<R: Read + Seek, W: Write, G: RngCore + CryptoRng + ?Sized>(
        &self,
        entry: EntryStream<R>,
        accepted: &Accepted,
        named: &VerifiedAcl,
        current: &VerifiedAcl,
        now: Timestamp,
        output: W,
        rng: &mut G,
    ) -> io::Result<(W, StreamedEntry)> {
        let section = entry.header.section;
        let mut reader = self.open_stream(entry, accepted, named)?;
        let mut writer =
            self.keys()
                .entry_writer(current, section, reader.plaintext_len(), now, output, rng)?;
        io::copy(&mut reader, &mut writer)?;
        writer.finish(rng)
    }
}
