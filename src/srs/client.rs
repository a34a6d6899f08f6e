//! The client side of authenticated operations: a principal's keys, its id at one SRS, and
//! that SRS's id, so every operation it signs names all three.

use rand_core::{CryptoRng, RngCore};

use crate::phr::{PrincipalId, PrincipalKeys, Timestamp};
use crate::srs::{Operation, SignedOperation, SrsId};
use crate::Error;

/// Signs operations for one principal at one SRS.
#[derive(Clone, Copy, Debug)]
pub struct Client<'k> {
    keys: &'k PrincipalKeys,
    id: PrincipalId,
    srs: SrsId,
}

impl<'k> Client<'k> {
    /// The principal `id` with `keys`, talking to the SRS `srs`.
    pub fn new(keys: &'k PrincipalKeys, id: PrincipalId, srs: SrsId) -> Self {
        Self { keys, id, srs }
    }

    /// The principal's id.
    pub fn id(&self) -> PrincipalId {
        self.id
    }

    /// The principal's keys.
    pub fn keys(&self) -> &'k PrincipalKeys {
        self.keys
    }

    /// Signs `op` at time `now` (the client's clock) with a fresh nonce.
    pub fn sign<R: RngCore + CryptoRng + ?Sized>(
        &self,
        op: Operation,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<SignedOperation, Error> {
        SignedOperation::sign(self.keys, self.srs, self.id, op, now, rng)
    }

    /// The operation registering this principal with `role`.
    pub fn register<R: RngCore + CryptoRng + ?Sized>(
        &self,
        role: crate::phr::Role,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<SignedOperation, Error> {
        self.sign(
            Operation::Register {
                role,
                bundle: self.keys.bundle(),
            },
            now,
            rng,
        )
    }
}
