//! Opening a streamed entry, for a reader and for the owner: verified first (two passes over
//! a seekable input) or, under a name that says so, unverified in one pass.

use std::io::{self, Read, Seek, SeekFrom};
use std::vec::Vec;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::container::{read_exact, read_signature, EntryStream};
use super::io_error;
use super::reader::{segment_buffer, EntryReader, FinalCheck, Segments, UnverifiedEntryReader};
use crate::dem::DataKey;
use crate::dem::SEALED_SEGMENT_SIZE;
use crate::phr::entry::{verify_entry_signature, writer_key};
use crate::phr::{BodyHeader, KeyBlock, Owner, PrincipalKeys, VerifiedAcl};
use crate::pre::ReCapsule;
use crate::sign::Signature;
use crate::srs::Accepted;
use crate::Error;

/// What pass 1 saw: the body's hash, each sealed segment's hash, the signature.
type FirstPass = ([u8; 32], Vec<[u8; 32]>, Signature);

/// Pass 1: hashes the body and each sealed segment, reads the signature and the end of the
/// input (the whole container is decoded before anything is checked, as in memory), then
/// seeks back. Pass 2 releases a segment only if it hashes as it did here, so an input
/// rewritten between the passes (by someone holding the data key) releases nothing forged.
/// The segment hashes take 32 bytes per 64 KiB read (512 KiB for a 1 GiB body).
fn first_pass<R: Read + Seek>(
    entry: &mut EntryStream<R>,
    buf: &mut Zeroizing<Vec<u8>>,
) -> io::Result<FirstPass> {
    let start = entry.input.stream_position()?;
    let mut hasher = Sha256::new();
    let mut segments = Vec::new();
    let mut left = u64::from(entry.body_len);
    while left > 0 {
        let n = usize::try_from(left).map_or(SEALED_SEGMENT_SIZE, |l| l.min(SEALED_SEGMENT_SIZE));
        buf.clear();
        buf.resize(n, 0);
        read_exact(&mut entry.input, buf)?;
        hasher.update(buf.as_slice());
        segments.push(Sha256::digest(buf.as_slice()).into());
        left -= n as u64;
    }
    buf.clear();
    let signature = read_signature(&mut entry.input)?;
    entry.input.seek(SeekFrom::Start(start))?;
    Ok((hasher.finalize().into(), segments, signature))
}

/// The checks of `open_entry` before the key block, in its order: the receipt, then the
/// writer against the ACL the entry names and its signature.
fn check_entry<R>(
    entry: &EntryStream<R>,
    body_hash: &[u8; 32],
    signature: &Signature,
    accepted: &Accepted,
    acl: &VerifiedAcl,
) -> io::Result<()> {
    accepted.check(&entry.header, body_hash).map_err(io_error)?;
    let writer = writer_key(&entry.header, acl).map_err(io_error)?;
    verify_entry_signature(&writer, &entry.header.hash(), body_hash, signature).map_err(io_error)
}

/// The entry's header hash and data key, as the reader or the owner derives them.
trait DataKeyOf: FnOnce(&BodyHeader, &KeyBlock) -> Result<([u8; 32], DataKey), Error> {}
impl<F: FnOnce(&BodyHeader, &KeyBlock) -> Result<([u8; 32], DataKey), Error>> DataKeyOf for F {}

/// Verified first: pass 1 and every check of `open_entry`, then a reader for pass 2.
fn open_verified<R: Read + Seek>(
    mut entry: EntryStream<R>,
    accepted: &Accepted,
    acl: &VerifiedAcl,
    data_key: impl DataKeyOf,
) -> io::Result<EntryReader<R>> {
    let mut buf = segment_buffer();
    let (body_hash, segments, signature) = first_pass(&mut entry, &mut buf)?;
    check_entry(&entry, &body_hash, &signature, accepted, acl)?;
    let (hh, dk) = data_key(&entry.header, &entry.key_block).map_err(io_error)?;
    let check = FinalCheck::Hash {
        body: body_hash,
        segments,
    };
    Segments::new(
        entry.input,
        entry.header,
        &dk,
        hh,
        entry.body_len,
        check,
        buf,
    )
    .map(EntryReader)
}

/// One pass: the receipt's header and the writer's right now, the receipt's body hash and
/// the signature before the final segment.
fn open_unverified<R: Read>(
    entry: EntryStream<R>,
    accepted: &Accepted,
    acl: &VerifiedAcl,
    data_key: impl DataKeyOf,
) -> io::Result<UnverifiedEntryReader<R>> {
    accepted.check_header(&entry.header).map_err(io_error)?;
    let writer = writer_key(&entry.header, acl).map_err(io_error)?;
    let (hh, dk) = data_key(&entry.header, &entry.key_block).map_err(io_error)?;
    let check = FinalCheck::Signature {
        writer,
        accepted: *accepted,
        header_hash: hh,
    };
    Segments::new(
        entry.input,
        entry.header,
        &dk,
        hh,
        entry.body_len,
        check,
        segment_buffer(),
    )
    .map(UnverifiedEntryReader)
}

impl PrincipalKeys {
    /// Opens a streamed entry re-encrypted for this reader, **verified first**: a first pass
    /// over the seekable input hashes the body and makes every check of
    /// [`PrincipalKeys::open_entry`] (receipt, writer, signature, key block) with its errors;
    /// then the returned reader decrypts in a second pass. Memory: one segment.
    pub fn open_stream<R: Read + Seek>(
        &self,
        entry: EntryStream<R>,
        accepted: &Accepted,
        recapsule: &ReCapsule,
        acl: &VerifiedAcl,
    ) -> io::Result<EntryReader<R>> {
        let data_key = |h: &BodyHeader, kb: &KeyBlock| self.reader_data_key(h, kb, recapsule, acl);
        open_verified(entry, accepted, acl, data_key)
    }

    /// Opens a streamed entry in one pass over any input, releasing plaintext **before the
    /// writer's signature is checked** (see [`UnverifiedEntryReader`]). The receipt's header,
    /// the writer's right and the key block are checked now; the receipt's body hash and the
    /// signature at the end, before the final segment is released.
    pub fn open_unverified_stream<R: Read>(
        &self,
        entry: EntryStream<R>,
        accepted: &Accepted,
        recapsule: &ReCapsule,
        acl: &VerifiedAcl,
    ) -> io::Result<UnverifiedEntryReader<R>> {
        let data_key = |h: &BodyHeader, kb: &KeyBlock| self.reader_data_key(h, kb, recapsule, acl);
        open_unverified(entry, accepted, acl, data_key)
    }
}

impl Owner {
    /// Opens a streamed entry of the owner's records, **verified first** (two passes over the
    /// seekable input, as [`PrincipalKeys::open_stream`]), with the checks and errors of
    /// [`Owner::open_entry`].
    pub fn open_stream<R: Read + Seek>(
        &self,
        entry: EntryStream<R>,
        accepted: &Accepted,
        acl: &VerifiedAcl,
    ) -> io::Result<EntryReader<R>> {
        let data_key = |h: &BodyHeader, kb: &KeyBlock| self.owner_data_key(h, kb);
        open_verified(entry, accepted, acl, data_key)
    }

    /// Opens a streamed entry in one pass, releasing plaintext **before the writer's
    /// signature is checked** (see [`UnverifiedEntryReader`] and
    /// [`PrincipalKeys::open_unverified_stream`]).
    pub fn open_unverified_stream<R: Read>(
        &self,
        entry: EntryStream<R>,
        accepted: &Accepted,
        acl: &VerifiedAcl,
    ) -> io::Result<UnverifiedEntryReader<R>> {
        let data_key = |h: &BodyHeader, kb: &KeyBlock| self.owner_data_key(h, kb);
        open_unverified(entry, accepted, acl, data_key)
    }
}
