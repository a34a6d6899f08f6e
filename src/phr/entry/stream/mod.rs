//! Streaming I/O over the whole entry container (`std` only): the same bytes as
//! [`SealedEntry::to_bytes`](super::SealedEntry::to_bytes), written and read through
//! [`std::io::Write`] and [`std::io::Read`] in memory bounded by one 64 KiB segment, whatever
//! the body size and however the caller chunks its reads and writes.
//!
//! # Writing
//!
//! The container puts the body's length *before* the body (`… ‖ u32 ‖ body ‖ signature`) and
//! the wire format is unchanged, so a writer must know that length before the first body byte:
//!
//! - [`PrincipalKeys::entry_writer`](crate::phr::PrincipalKeys::entry_writer) takes the
//!   plaintext length up front (a file's size, an HTTP `Content-Length`) and writes to any
//!   [`std::io::Write`]; writing more or fewer bytes than declared is
//!   [`Error::StreamMisuse`].
//! - [`PrincipalKeys::entry_writer_seekable`](crate::phr::PrincipalKeys::entry_writer_seekable)
//!   takes a sink that is also [`std::io::Seek`] (a file) and patches the length in place when
//!   it finishes; until then the length field is zero, which no reader accepts, so a container
//!   left half-written by a crash cannot be mistaken for an entry.
//!
//! Both hold at most one segment: a full segment is sealed (as non-final) only when the next
//! byte arrives, so the writer knows which segment is the last one without knowing the length.
//! `finish` seals the final segment, signs, writes the signature and returns a
//! [`StreamedEntry`] (header, key block, body hash, signature) to submit to the SRS.
//!
//! # Reading: verify first, or say so
//!
//! The writer's signature covers the hash of the whole body and comes after it, and every
//! reader of a section holds the same data key, so a segment's GCM tag alone does not prove
//! the writer wrote it. Like `age` and `aead::stream`, this module never hands out plaintext
//! whose authenticity is not yet established unless the API says so:
//!
//! - **Default, two passes over a seekable input** ([`std::io::Read`] + [`std::io::Seek`]):
//!   `open_stream` (for a reader with its re-encrypted capsule, or for the owner) reads the
//!   body once to hash it, checks the SRS's receipt, the writer against the ACL and its
//!   signature, the key block — exactly the checks of `open_entry`, in the same order, with the
//!   same errors — and only then seeks back and returns an [`EntryReader`] that decrypts. It
//!   costs a second read of the ciphertext (and a second SHA-256), and 32 bytes per segment. A
//!   non-seekable source (a socket) is staged by the caller: copy the *ciphertext* to a file
//!   first — ciphertext is safe to put on disk, plaintext never needs to be.
//!   The first pass also keeps each sealed segment's SHA-256 (32 bytes per 64 KiB), and the
//!   second releases a segment only if it hashes the same: an input rewritten between the
//!   passes — even by a holder of the data key, whose segments GCM accepts — is refused
//!   ([`Error::DecryptionFailed`]) at the first changed segment, before any of it is released.
//! - **One pass, unverified** ([`std::io::Read`] only): `open_unverified_stream` returns an
//!   [`UnverifiedEntryReader`] that releases each segment as soon as its GCM tag verifies,
//!   *before* the writer's signature is checked. Plaintext it has returned may be forged by
//!   another holder of the data key until the reader reaches the end: the final segment is
//!   released only after the receipt and the signature verify, so a read that returns `Ok(0)`
//!   means the whole body was the writer's; any error means discard everything read.
//!
//! In both, truncation, reordered or dropped segments and a forged final segment are refused
//! (the verified path with exactly the errors of the in-memory API), and an error poisons the
//! reader.
//!
//! # Owner
//!
//! [`Owner::rewrap_stream`](crate::phr::Owner::rewrap_stream) replaces the key block and copies
//! body and signature through; [`Owner::reseal_stream`](crate::phr::Owner::reseal_stream)
//! opens (verified, two passes) and seals again under a fresh data key, one segment at a time.
//!
//! # Errors
//!
//! Everything returns [`std::io::Result`]; failures of this crate are an [`Error`] inside the
//! [`std::io::Error`] (kind `InvalidData`, or `InvalidInput` for misuse), recovered with
//! [`stream_error`]. A container cut short is the in-memory decoder's
//! `Error::invalid("sealed entry")`, not an `UnexpectedEof`. On any error, a
//! writer's sink holds an incomplete container: discard it.

mod container;
mod open;
mod owner;
mod reader;
mod writer;

pub use container::{EntryStream, StreamedEntry};
pub use reader::{EntryReader, UnverifiedEntryReader};
pub use writer::{EntryWriter, SeekableEntryWriter};

use crate::Error;

/// The [`Error`] inside an I/O error returned by the streaming API, if it is one of this
/// crate's (otherwise the error came from the underlying reader or writer).
pub fn stream_error(error: &std::io::Error) -> Option<&Error> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
}

/// This crate's error as an I/O error.
fn io_error(error: Error) -> std::io::Error {
    let kind = match error {
        Error::StreamMisuse { .. } => std::io::ErrorKind::InvalidInput,
        _ => std::io::ErrorKind::InvalidData,
    };
    std::io::Error::new(kind, error)
}
