//! A reader's disclosure receipt (SPEC §9): the leaf recording its re-encryption, the leaf's
//! inclusion proof and the checkpoint the proof leads to.

use alloc::vec::Vec;

use crate::encoding::{self, Reader, Tag};
use crate::log::{Event, LogLeaf, LogProblem, SignedCheckpoint};
use crate::merkle::InclusionProof;
use crate::sign::VerifyingKey;
use crate::srs::{Operation, Reencrypted, Refusal, SignedOperation};
use crate::Error;

/// What the SRS hands a reader with every served re-encryption: proof that the disclosure
/// is in the record's log. The reader verifies it ([`DisclosureReceipt::verify`]) and keeps
/// it; the owner can later check it against its accounting
/// ([`crate::log::Accounting::check_receipt`]), and a witness-cosigned checkpoint binds the
/// SRS to one history for both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosureReceipt {
    pub(crate) leaf: LogLeaf,
    pub(crate) proof: InclusionProof,
    pub(crate) checkpoint: SignedCheckpoint,
}

impl DisclosureReceipt {
    /// The recorded event.
    pub fn leaf(&self) -> &LogLeaf {
        &self.leaf
    }

    /// The leaf's inclusion proof.
    pub fn proof(&self) -> &InclusionProof {
        &self.proof
    }

    /// The checkpoint the proof leads to.
    pub fn checkpoint(&self) -> &SignedCheckpoint {
        &self.checkpoint
    }

    /// Checks the checkpoint's signature by `srs_key` and that the leaf is in it; returns the
    /// leaf.
    pub fn verify_inclusion(&self, srs_key: &VerifyingKey) -> Result<&LogLeaf, Error> {
        let c = self.checkpoint.verify(srs_key)?;
        if self.leaf.record() != c.record {
            return Err(Error::Log(LogProblem::WrongRecord));
        }
        if !self.proof.verify(&self.leaf.hash(), c.size, &c.root) {
            return Err(Error::Log(LogProblem::BadProof));
        }
        Ok(&self.leaf)
    }

    /// What a reader checks with its request `asked` and the items the SRS answered:
    /// [`Self::verify_inclusion`], and that the leaf records exactly this disclosure — this
    /// operation (by its hash), of this record, to this reader (its key fingerprint), with
    /// exactly the entries served and their epochs, in order. An SRS that logs less than it
    /// served, or in another record's log, is caught here.
    pub fn verify(
        &self,
        srs_key: &VerifyingKey,
        asked: &SignedOperation,
        answered: &[Result<Reencrypted, Refusal>],
    ) -> Result<(), Error> {
        let leaf = self.verify_inclusion(srs_key)?;
        let Ok(Operation::Reencrypt { record, .. }) = asked.operation() else {
            return Err(Error::Log(LogProblem::NotThisDisclosure));
        };
        if leaf.record() != record {
            return Err(Error::Log(LogProblem::WrongRecord));
        }
        let Event::Disclosed {
            operation,
            reader,
            items,
        } = leaf.event()
        else {
            return Err(Error::Log(LogProblem::NotThisDisclosure));
        };
        let served = answered
            .iter()
            .flatten()
            .map(|r| (r.entry, r.key_block.epoch()));
        let logged = items.iter().map(|i| (i.entry, i.epoch));
        if *operation != asked.hash() || *reader != asked.signer || !served.eq(logged) {
            return Err(Error::Log(LogProblem::NotThisDisclosure));
        }
        Ok(())
    }

    /// The canonical encoding: tag, version, checkpoint, proof, leaf.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::DisclosureReceipt);
        self.write(&mut out);
        out
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.checkpoint.write(out);
        self.proof.encode(out);
        let leaf = self.leaf.to_bytes();
        // A leaf is at most a few kilobytes (MAX_BATCH items).
        let _ = encoding::put_lp32(out, "log leaf", &leaf);
    }

    /// Decodes (checked by [`Self::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::DisclosureReceipt, "disclosure receipt")?;
        let out = Self::read(&mut r)?;
        r.finish()?;
        Ok(out)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            checkpoint: SignedCheckpoint::read(r)?,
            proof: InclusionProof::decode(r)?,
            leaf: LogLeaf::from_bytes(r.lp32()?)?,
        })
    }
}

crate::macros::serde_via_bytes!(DisclosureReceipt, "disclosure receipt");
