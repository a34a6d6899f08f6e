//! The KEM's output: a 32-byte key derived from the GT shared secret with HKDF-SHA256.

use alloc::vec::Vec;

use ark_bls12_381::Fq12;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::encoding::{self, G1_LEN};
use crate::Error;

/// A 32-byte symmetric key shared through the KEM. Wiped on drop, compared in constant time,
/// never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedKey([u8; 32]);

impl SharedKey {
    /// The key bytes, for use as an AEAD key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `K = HKDF-SHA256(salt = suite id, ikm = bytes(S), info = lp(C) ‖ lp(A) ‖ lp(context))`.
    pub(crate) fn derive(
        secret: &Fq12,
        capsule: &[u8; G1_LEN],
        section: &[u8; G1_LEN],
        context: &[u8],
    ) -> Result<Self, Error> {
        let mut info = Vec::with_capacity(3 * 2 + 2 * G1_LEN + context.len());
        encoding::put_lp_short(&mut info, capsule);
        encoding::put_lp_short(&mut info, section);
        encoding::put_lp(&mut info, "KEM context", context)?;
        let mut ikm = encoding::gt_bytes(secret);
        let mut key = [0u8; 32];
        encoding::hkdf(&ikm, &info, &mut key);
        ikm.zeroize();
        Ok(Self(key))
    }
}

impl PartialEq for SharedKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SharedKey {}

impl core::fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedKey(..)")
    }
}
