//! The write gate's receipts (SPEC §8): the SRS's signed statement that it accepted an entry,
//! and the verified form readers and the owner need to open it.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::encoding::{self, Reader, Tag};
use crate::phr::{AclVersion, BodyHeader, EntryId, RecordId, Timestamp};
use crate::sign::{Purpose, Signature, SigningKey, VerifyingKey};
use crate::srs::{Refusal, SrsId};
use crate::Error;

/// What a receipt states: the SRS accepted this entry (header and body) of this record at
/// this time, under this newest ACL version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) srs: SrsId,
    pub(crate) record: RecordId,
    pub(crate) entry: EntryId,
    pub(crate) header_hash: [u8; 32],
    pub(crate) body_hash: [u8; 32],
    pub(crate) acl_version: AclVersion,
    pub(crate) time: Timestamp,
}

impl Statement {
    const SIZE: usize = 32 + 16 + 16 + 32 + 32 + 8 + 8;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.srs.as_bytes());
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(self.entry.as_bytes());
        out.extend_from_slice(&self.header_hash);
        out.extend_from_slice(&self.body_hash);
        out.extend_from_slice(&self.acl_version.0.to_be_bytes());
        out.extend_from_slice(&self.time.0.to_be_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            srs: SrsId(r.array()?),
            record: RecordId::new(r.array()?),
            entry: EntryId::new(r.array()?),
            header_hash: r.array()?,
            body_hash: r.array()?,
            acl_version: AclVersion(r.u64()?),
            time: Timestamp(r.u64()?),
        })
    }

    /// The one field the signature covers (purpose `receipt`).
    fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(Self::SIZE);
        self.encode(&mut m);
        m
    }

    /// Signs it with the SRS's key.
    pub(crate) fn sign<R: RngCore + CryptoRng + ?Sized>(
        self,
        key: &SigningKey,
        rng: &mut R,
    ) -> Result<Receipt, Error> {
        let signature = key.sign(Purpose::Receipt, &[&self.message()], rng)?;
        Ok(Receipt {
            statement: self,
            signature,
        })
    }
}

/// The SRS's signed statement that it accepted an entry through its write gate: binds the
/// SRS, the record, the entry, the header hash, the body hash (so a writer who knows an
/// entry's data key cannot put another body under an accepted header after its right is
/// revoked), the time and the ACL version it checked. Readers and the owner open an entry
/// only with one ([`Receipt::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub(crate) statement: Statement,
    pub(crate) signature: Signature,
}

impl Receipt {
    /// Encoded size.
    pub const SIZE: usize = 2 + Statement::SIZE + Signature::SIZE;

    /// Checks that `srs_key` (the SRS key the caller trusts) signed this receipt for the
    /// entry with `header`: the proof, needed to open it, that the SRS's write gate accepted
    /// it.
    pub fn verify(&self, srs_key: &VerifyingKey, header: &BodyHeader) -> Result<Accepted, Error> {
        let s = &self.statement;
        if s.record != header.record()
            || s.entry != header.entry()
            || s.header_hash != header.hash()
        {
            return Err(Error::refused(Refusal::ReceiptMismatch));
        }
        srs_key.verify(Purpose::Receipt, &[&s.message()], &self.signature)?;
        Ok(Accepted {
            header_hash: s.header_hash,
            body_hash: s.body_hash,
        })
    }

    /// When the SRS accepted the entry.
    pub fn time(&self) -> Timestamp {
        self.statement.time
    }

    /// The newest ACL version when the entry was accepted.
    pub fn acl_version(&self) -> AclVersion {
        self.statement.acl_version
    }

    /// The canonical encoding: tag, version, the statement, the signature.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = Vec::with_capacity(Self::SIZE);
        encoding::header(&mut out, Tag::Receipt);
        self.statement.encode(&mut out);
        out.extend_from_slice(&self.signature.to_bytes());
        encoding::fixed(&out)
    }

    /// Decodes (the signature is checked by [`Receipt::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::Receipt, "receipt")?;
        let statement = Statement::decode(&mut r)?;
        let signature = Signature::read(&mut r)?;
        r.finish()?;
        Ok(Self {
            statement,
            signature,
        })
    }
}

crate::macros::serde_via_bytes!(Receipt, "receipt");

/// A verified acceptance receipt: only [`Receipt::verify`] makes one, and readers and the
/// owner open an entry only with the one for its header and body.
///
/// serde: `Serialize` only (`{"header_hash": hex, "body_hash": hex}`, for logs); a verified
/// type has no `Deserialize`: store the [`Receipt`] and verify it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Accepted {
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    header_hash: [u8; 32],
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    body_hash: [u8; 32],
}

impl Accepted {
    /// Fails unless this receipt is for the entry with `header` and a body hashing to
    /// `body_hash`.
    pub(crate) fn check(&self, header: &BodyHeader, body_hash: &[u8; 32]) -> Result<(), Error> {
        self.check_header(header)?;
        self.check_body(body_hash)
    }

    pub(crate) fn check_header(&self, header: &BodyHeader) -> Result<(), Error> {
        if header.hash() != self.header_hash {
            return Err(Error::refused(Refusal::ReceiptMismatch));
        }
        Ok(())
    }

    pub(crate) fn check_body(&self, body_hash: &[u8; 32]) -> Result<(), Error> {
        if *body_hash != self.body_hash {
            return Err(Error::refused(Refusal::ReceiptMismatch));
        }
        Ok(())
    }
}
