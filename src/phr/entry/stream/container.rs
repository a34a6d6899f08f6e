//! The container read from and written to a stream: its prefix (tag, version, header, key
//! block, body length), its trailer, and short inputs as the in-memory decoder's errors.

use std::io::{self, Read, Write};
use std::vec::Vec;

use super::io_error;
use crate::encoding::{self, Tag};
use crate::phr::{BodyHeader, KeyBlock};
use crate::sign::Signature;
use crate::srs::Operation;
use crate::Error;

/// What [`crate::phr::SealedEntry::from_bytes`] calls the container in its errors.
const WHAT: &str = "sealed entry";

/// The largest key-block encoding (re-wrapped: with the owner's signature).
const KEY_BLOCK_MAX: usize = 2 + 4 + 3 * 50 + 32 + 1 + Signature::SIZE;

/// The error of a container that ends too early or goes on after its signature.
fn malformed() -> io::Error {
    io_error(Error::invalid(WHAT))
}

/// Reads exactly `buf.len()` bytes; an input that ends first is a truncated container.
pub(super) fn read_exact<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<()> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            malformed()
        } else {
            e
        }
    })
}

/// Copies exactly `n` bytes from `input` to `output` through a fixed stack buffer.
pub(super) fn copy_exact<R: Read + ?Sized, W: Write + ?Sized>(
    input: &mut R,
    output: &mut W,
    n: u64,
) -> io::Result<()> {
    if io::copy(&mut input.take(n), output)? < n {
        return Err(malformed());
    }
    Ok(())
}

/// Fails unless the input has ended (the in-memory decoder refuses trailing bytes).
pub(super) fn expect_end<R: Read + ?Sized>(input: &mut R) -> io::Result<()> {
    let mut one = [0u8; 1];
    loop {
        return match input.read(&mut one) {
            Ok(0) => Ok(()),
            Ok(_) => Err(malformed()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
    }
}

fn read_u32<R: Read + ?Sized>(input: &mut R) -> io::Result<u32> {
    let mut b = [0u8; 4];
    read_exact(input, &mut b)?;
    Ok(u32::from_be_bytes(b))
}

/// Reads the writer signature that ends the container, and the end of the input.
pub(super) fn read_signature<R: Read + ?Sized>(input: &mut R) -> io::Result<Signature> {
    let mut sig = [0u8; Signature::SIZE];
    read_exact(input, &mut sig)?;
    let sig = Signature::from_bytes(&sig).map_err(io_error)?;
    expect_end(input)?;
    Ok(sig)
}

/// Writes `tag ‖ version ‖ header ‖ u32 ‖ key block ‖ u32(body_len)`.
pub(super) fn write_prefix<W: Write + ?Sized>(
    sink: &mut W,
    header: &BodyHeader,
    key_block: &KeyBlock,
    body_len: u32,
) -> io::Result<()> {
    let kb = key_block.to_bytes();
    let mut prefix = Vec::with_capacity(2 + BodyHeader::SIZE + 4 + kb.len() + 4);
    encoding::header(&mut prefix, Tag::SealedEntry);
    prefix.extend_from_slice(&header.to_bytes());
    encoding::put_lp32(&mut prefix, "key block", &kb).map_err(io_error)?;
    prefix.extend_from_slice(&body_len.to_be_bytes());
    sink.write_all(&prefix)
}

/// Bytes of the prefix before the body length (where a seekable writer patches it).
pub(super) fn body_length_offset(key_block: &KeyBlock) -> u64 {
    let kb = key_block.to_bytes().len();
    (2 + BodyHeader::SIZE + 4 + kb) as u64
}

/// A sealed entry being read from a stream: its header and key block are decoded (and every
/// point checked), the body and signature not yet read.
///
/// Look at [`EntryStream::header`] to find the ACL version the entry names and to ask the SRS
/// for its re-encryption, then open it with `open_stream` (verified first, two passes) or
/// `open_unverified_stream` (one pass), or re-wrap or re-seal it as the owner.
#[derive(Debug)]
pub struct EntryStream<R> {
    pub(super) input: R,
    pub(super) header: BodyHeader,
    pub(super) key_block: KeyBlock,
    pub(super) body_len: u32,
}

impl<R: Read> EntryStream<R> {
    /// Reads the container's prefix: tag, version, body header, key block, body length. Errors
    /// are those of [`crate::phr::SealedEntry::from_bytes`] for the same bytes.
    pub fn new(mut input: R) -> io::Result<Self> {
        let mut tv = [0u8; 1];
        read_exact(&mut input, &mut tv)?;
        let [tag] = tv;
        if tag != Tag::SealedEntry as u8 {
            return Err(io_error(Error::UnknownTag { what: WHAT, tag }));
        }
        read_exact(&mut input, &mut tv)?;
        let [version] = tv;
        if version != Tag::SealedEntry.version() {
            return Err(io_error(Error::UnknownVersion {
                what: WHAT,
                version,
            }));
        }
        let mut header = [0u8; BodyHeader::SIZE];
        read_exact(&mut input, &mut header)?;
        let header = BodyHeader::from_bytes(&header).map_err(io_error)?;
        // A longer key block decodes to the same error as its first KEY_BLOCK_MAX + 1 bytes
        // (trailing bytes at the latest); the rest is skipped, never buffered.
        let kb_len = read_u32(&mut input)?;
        let mut kb = [0u8; KEY_BLOCK_MAX + 1];
        let kept = (kb_len as usize).min(kb.len());
        let kb = kb.get_mut(..kept).unwrap_or_default();
        read_exact(&mut input, kb)?;
        copy_exact(&mut input, &mut io::sink(), u64::from(kb_len) - kept as u64)?;
        let key_block = KeyBlock::from_bytes(kb).map_err(io_error)?;
        let body_len = read_u32(&mut input)?;
        Ok(Self {
            input,
            header,
            key_block,
            body_len,
        })
    }
}

impl<R> EntryStream<R> {
    /// The body header.
    pub fn header(&self) -> &BodyHeader {
        &self.header
    }

    /// The key block the container holds.
    pub fn key_block(&self) -> &KeyBlock {
        &self.key_block
    }

    /// The length of the body ciphertext, as the container declares it.
    pub fn body_len(&self) -> u64 {
        u64::from(self.body_len)
    }

    /// Uses another key block (the current one the SRS returned with a re-encryption, as
    /// [`crate::phr::SealedEntry::with_key_block`] does in memory).
    pub fn with_key_block(mut self, key_block: KeyBlock) -> Self {
        self.key_block = key_block;
        self
    }
}

/// What a streaming writer produced besides the body: header, key block, body hash and
/// writer signature — everything the SRS's write gate needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedEntry {
    pub(super) header: BodyHeader,
    pub(super) key_block: KeyBlock,
    pub(super) body_hash: [u8; 32],
    pub(super) signature: Signature,
}

impl StreamedEntry {
    /// The body header.
    pub fn header(&self) -> &BodyHeader {
        &self.header
    }
    /// The key block.
    pub fn key_block(&self) -> &KeyBlock {
        &self.key_block
    }
    /// SHA-256 of the body ciphertext.
    pub fn body_hash(&self) -> [u8; 32] {
        self.body_hash
    }
    /// The writer's signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    /// The operation that submits this entry to the SRS's write gate (as
    /// [`crate::phr::SealedEntry::submission`]).
    pub fn submission(&self) -> Operation {
        Operation::SubmitEntry {
            header: self.header,
            key_block: self.key_block,
            body_hash: self.body_hash,
            signature: self.signature,
        }
    }
}
