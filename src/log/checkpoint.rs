//! Checkpoints (SPEC §9): the SRS's signed statement of a record log's size and root, and
//! witnesses' cosignatures of them.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::encoding::{self, Reader, Tag};
use crate::log::LogProblem;
use crate::merkle::Hash;
use crate::phr::{AclHash, RecordId, Timestamp};
use crate::sign::{Purpose, Signature, SigningKey, VerifyingKey};
use crate::Error;

/// A signing key's id: `SHA-256(lp("sesphr/v1/key-id") ‖ verifying key)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub(crate) [u8; 32]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let mut m = Vec::new();
        encoding::label(&mut m, b"sesphr/v1/key-id");
        m.extend_from_slice(&key.to_bytes());
        Self(encoding::sha256(&[&m]))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What a checkpoint states: the log of `record`, signed by the key `key`, had `size` leaves
/// with root `root` at `time`, when the record's newest ACL hashed to `acl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The signing key's id.
    pub key: KeyId,
    /// The record.
    pub record: RecordId,
    /// The number of leaves.
    pub size: u64,
    /// The Merkle tree hash of those leaves.
    pub root: Hash,
    /// When the SRS signed it (the record's clock).
    pub time: Timestamp,
    /// The hash of the record's newest ACL then.
    pub acl: AclHash,
}

impl Checkpoint {
    const SIZE: usize = 32 + 16 + 8 + 32 + 8 + 32;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.time.0.to_be_bytes());
        out.extend_from_slice(self.acl.as_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            key: KeyId(r.array()?),
            record: RecordId::new(r.array()?),
            size: r.u64()?,
            root: r.array()?,
            time: Timestamp(r.u64()?),
            acl: AclHash(r.array()?),
        })
    }

    fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(Self::SIZE);
        self.encode(&mut m);
        m
    }

    /// Signs it (purpose `checkpoint`) with `key`, whose id it must name.
    pub(crate) fn sign<R: RngCore + CryptoRng + ?Sized>(
        self,
        key: &SigningKey,
        rng: &mut R,
    ) -> Result<SignedCheckpoint, Error> {
        let signature = key.sign(Purpose::Checkpoint, &[&self.message()], rng)?;
        Ok(SignedCheckpoint {
            checkpoint: self,
            signature,
        })
    }
}

/// A checkpoint with the SRS's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub(crate) checkpoint: Checkpoint,
    pub(crate) signature: Signature,
}

impl SignedCheckpoint {
    /// Encoded size.
    pub const SIZE: usize = 2 + Checkpoint::SIZE + Signature::SIZE;

    /// The statement, unverified.
    pub fn checkpoint_unverified(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Checks the signature with `srs_key` (the SRS key the caller trusts) and that it
    /// names that key; returns the statement.
    pub fn verify(&self, srs_key: &VerifyingKey) -> Result<&Checkpoint, Error> {
        if self.checkpoint.key != KeyId::of(srs_key) {
            return Err(Error::Log(LogProblem::WrongSigner));
        }
        srs_key.verify(
            Purpose::Checkpoint,
            &[&self.checkpoint.message()],
            &self.signature,
        )?;
        Ok(&self.checkpoint)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = Vec::with_capacity(Self::SIZE);
        encoding::header(&mut out, Tag::Checkpoint);
        self.checkpoint.encode(&mut out);
        out.extend_from_slice(&self.signature.to_bytes());
        encoding::fixed(&out)
    }

    /// Decodes (the signature is checked by [`SignedCheckpoint::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::Checkpoint, "checkpoint")?;
        let out = Self::read(&mut r)?;
        r.finish()?;
        Ok(out)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            checkpoint: Checkpoint::decode(r)?,
            signature: Signature::read(r)?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.checkpoint.encode(out);
        out.extend_from_slice(&self.signature.to_bytes());
    }
}

crate::macros::serde_via_bytes!(SignedCheckpoint, "checkpoint");

/// A witness's cosignature: the witness with key `witness` checked, at `time`, that the
/// checkpoint extends every earlier one of the record it had cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub(crate) witness: KeyId,
    pub(crate) time: Timestamp,
    pub(crate) signature: Signature,
}

impl Cosignature {
    /// Encoded size.
    pub const SIZE: usize = 2 + 32 + 8 + Signature::SIZE;

    fn fields(checkpoint: &Checkpoint, time: Timestamp) -> Vec<u8> {
        let mut m = Vec::with_capacity(Checkpoint::SIZE + 8);
        checkpoint.encode(&mut m);
        m.extend_from_slice(&time.0.to_be_bytes());
        m
    }

    pub(crate) fn sign<R: RngCore + CryptoRng + ?Sized>(
        key: &SigningKey,
        checkpoint: &Checkpoint,
        time: Timestamp,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let m = Self::fields(checkpoint, time);
        Ok(Self {
            witness: KeyId::of(&key.verifying_key()),
            time,
            signature: key.sign(Purpose::Cosign, &[&m], rng)?,
        })
    }

    /// The witness's key id.
    pub fn witness(&self) -> KeyId {
        self.witness
    }

    /// When the witness cosigned.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// Checks that `witness` cosigned `checkpoint`.
    pub fn verify(&self, witness: &VerifyingKey, checkpoint: &Checkpoint) -> Result<(), Error> {
        if self.witness != KeyId::of(witness) {
            return Err(Error::Log(LogProblem::WrongSigner));
        }
        witness.verify(
            Purpose::Cosign,
            &[&Self::fields(checkpoint, self.time)],
            &self.signature,
        )
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = Vec::with_capacity(Self::SIZE);
        encoding::header(&mut out, Tag::Cosignature);
        out.extend_from_slice(self.witness.as_bytes());
        out.extend_from_slice(&self.time.0.to_be_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        encoding::fixed(&out)
    }

    /// Decodes (the signature is checked by [`Cosignature::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::Cosignature, "cosignature")?;
        let out = Self {
            witness: KeyId(r.array()?),
            time: Timestamp(r.u64()?),
            signature: Signature::read(&mut r)?,
        };
        r.finish()?;
        Ok(out)
    }
}

crate::macros::serde_via_bytes!(Cosignature, "cosignature");

/// The most cosignatures [`WitnessPolicy::check`] looks at.
pub const MAX_COSIGNATURES: usize = 256;

/// The witnesses an owner or reader trusts and how many of them must have cosigned a
/// checkpoint before it is believed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    witnesses: Vec<VerifyingKey>,
    quorum: usize,
}

impl WitnessPolicy {
    /// `quorum` of `witnesses` (distinct keys; `quorum` between 1 and their number).
    pub fn new(witnesses: Vec<VerifyingKey>, quorum: usize) -> Result<Self, Error> {
        let mut ids: Vec<KeyId> = witnesses.iter().map(KeyId::of).collect();
        ids.sort();
        ids.dedup();
        if quorum == 0 || quorum > witnesses.len() || ids.len() != witnesses.len() {
            return Err(Error::InvalidChange {
                reason: "a witness quorum is 1 to the number of distinct witnesses",
            });
        }
        Ok(Self { witnesses, quorum })
    }

    /// Checks the SRS's signature on `checkpoint` and that at least the quorum of this
    /// policy's witnesses cosigned it (each witness counted once).
    pub fn check(
        &self,
        srs_key: &VerifyingKey,
        checkpoint: &SignedCheckpoint,
        cosignatures: &[Cosignature],
    ) -> Result<(), Error> {
        let c = checkpoint.verify(srs_key)?;
        if cosignatures.len() > MAX_COSIGNATURES {
            return Err(Error::LimitExceeded {
                what: "cosignatures",
                limit: MAX_COSIGNATURES as u64,
            });
        }
        // Each cosignature naming a trusted witness not counted yet is verified once: junk
        // in the list costs at most one verification per entry and hides nothing.
        let mut counted = alloc::vec![false; self.witnesses.len()];
        for s in cosignatures {
            let found = self.witnesses.iter().enumerate().find(|(i, w)| {
                !counted.get(*i).copied().unwrap_or(true) && KeyId::of(w) == s.witness
            });
            if let Some((i, w)) = found {
                if s.verify(w, c).is_ok() {
                    if let Some(slot) = counted.get_mut(i) {
                        *slot = true;
                    }
                }
            }
        }
        let good = counted.iter().filter(|c| **c).count();
        if good < self.quorum {
            return Err(Error::Log(LogProblem::QuorumNotMet));
        }
        Ok(())
    }
}
