//! The witness role (SPEC §9, after C2SP tlog-witness): keeps the last checkpoint it
//! cosigned per record, cosigns a new one only with a consistency proof from it, and turns
//! any two checkpoints that cannot both be true into evidence.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::encoding::{self, Reader, Tag};
use crate::log::{ConsistencyProof, Cosignature, ForkEvidence, LogProblem, SignedCheckpoint};
use crate::phr::{RecordId, Timestamp};
use crate::sign::{SigningKey, VerifyingKey};
use crate::Error;

/// A witness: its own signing key, the SRS key it watches, and the last checkpoint it
/// cosigned for each record it has seen.
pub struct Witness {
    key: SigningKey,
    srs: VerifyingKey,
    last: BTreeMap<RecordId, SignedCheckpoint>,
}

impl core::fmt::Debug for Witness {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Witness")
            .field("records", &self.last.len())
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness signing with `key` that watches the SRS whose checkpoints `srs` verifies.
    pub fn new(key: SigningKey, srs: VerifyingKey) -> Self {
        Self {
            key,
            srs,
            last: BTreeMap::new(),
        }
    }

    /// The key that verifies this witness's cosignatures.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The last checkpoint cosigned for `record`: the SRS owes a consistency proof from its
    /// size.
    pub fn last(&self, record: RecordId) -> Option<&SignedCheckpoint> {
        self.last.get(&record)
    }

    /// Cosigns `checkpoint` at `now` if it is signed by the watched SRS and extends the last
    /// one cosigned for its record, as `proof` (from that one's size) shows. The first
    /// checkpoint of a record is trusted on first sight. A checkpoint that cannot extend the
    /// last one — a smaller tree, the same size with another root, or a consistency proof
    /// between the right sizes that fails — is refused with [`Error::LogFork`] carrying both.
    pub fn cosign<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        checkpoint: &SignedCheckpoint,
        proof: &ConsistencyProof,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Cosignature, Error> {
        let new = checkpoint.verify(&self.srs)?;
        if let Some(old_signed) = self.last.get(&new.record) {
            let old = old_signed.checkpoint_unverified();
            let fork = || {
                Error::LogFork(alloc::boxed::Box::new(ForkEvidence {
                    first: old_signed.clone(),
                    second: checkpoint.clone(),
                }))
            };
            if new.size == old.size && new.root != old.root {
                return Err(fork());
            }
            if new.size < old.size {
                // Fewer leaves at a later time is a rollback; an older checkpoint replayed
                // (or one of the same second) is not evidence of anything.
                return Err(if new.time > old.time {
                    fork()
                } else {
                    Error::Log(LogProblem::Stale)
                });
            }
            // A proof that fails is refused, not taken as evidence: a third party cannot
            // check a fork claim resting on a proof anyone could have corrupted.
            if new.size > old.size
                && (proof.from() != old.size
                    || proof.to() != new.size
                    || !proof.verify(&old.root, &new.root))
            {
                return Err(Error::Log(LogProblem::BadProof));
            }
        }
        let cosignature = Cosignature::sign(&self.key, new, now, rng)?;
        self.last.insert(new.record, checkpoint.clone());
        Ok(cosignature)
    }

    /// The witness's state (the last checkpoint per record, not its key), to persist.
    pub fn state_to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.last.len() * SignedCheckpoint::SIZE);
        encoding::header(&mut out, Tag::WitnessState);
        out.extend_from_slice(&(self.last.len() as u64).to_be_bytes());
        for c in self.last.values() {
            c.write(&mut out);
        }
        out
    }

    /// A witness with `key`, watching `srs`, resuming from a saved state. Every checkpoint
    /// in it is checked against `srs` again.
    pub fn from_state(key: SigningKey, srs: VerifyingKey, state: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(state, Tag::WitnessState, "witness state")?;
        let n = r.u64()?;
        let mut last = BTreeMap::new();
        for _ in 0..n {
            // Each checkpoint is read from the input: a count larger than the input fails
            // at the first missing byte.
            let c = SignedCheckpoint::read(&mut r)?;
            let record = c.verify(&srs)?.record;
            if last.insert(record, c).is_some() {
                return Err(Error::invalid("witness state"));
            }
        }
        r.finish()?;
        Ok(Self { key, srs, last })
    }
}
