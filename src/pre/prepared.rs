//! A section public key prepared for many encapsulations: a writer's fixed-base table.

use core::fmt;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use crate::encoding;
use crate::pre::capsule::encapsulate_core;
use crate::pre::{fixed, Capsule, SectionPublicKey, SharedKey};
use crate::Error;

/// A [`SectionPublicKey`] with a fixed-base table for `A^r`, for a writer that encapsulates to
/// the same section key again and again (a hospital writing a section's entries).
///
/// [`PreparedSectionKey::encapsulate`] gives exactly what [`crate::pre::encapsulate`] gives
/// for the same randomness, with the capsule's multiplication by 64 table additions instead of
/// a variable-base multiplication. Building the table (4-bit windows, 960 points, 92 KiB)
/// costs about as much as a handful of multiplications: it pays from the few entries on
/// (BENCHMARKS.md "Writer side" has the measured break-even). The table is derived from the
/// public key alone: it is no secret, and rebuilding it is always possible, so it has no
/// encoding.
#[derive(Clone)]
pub struct PreparedSectionKey {
    key: SectionPublicKey,
    table: fixed::G1Table,
}

impl PreparedSectionKey {
    /// Builds the table of `key`.
    pub fn new(key: &SectionPublicKey) -> Self {
        Self {
            key: *key,
            table: fixed::g1_key_table(&key.point),
        }
    }

    /// The section public key this table is for.
    pub fn key(&self) -> &SectionPublicKey {
        &self.key
    }

    /// Heap bytes the table holds.
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
    }

    /// [`crate::pre::encapsulate`] to this key, through the table.
    pub fn encapsulate<R: RngCore + CryptoRng + ?Sized>(
        &self,
        context: &[u8],
        rng: &mut R,
    ) -> Result<(Capsule, SharedKey), Error> {
        let mut r = encoding::random_scalar(rng);
        let result = encapsulate_core(&self.key, context, &r, || {
            fixed::g1_table_mul(&self.table, &r)
        });
        r.zeroize();
        result
    }
}

impl fmt::Debug for PreparedSectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedSectionKey")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pre::{encapsulate, SectionSecretKey};
    use rand_core::SeedableRng;

    #[test]
    fn the_table_encapsulates_exactly_as_the_plain_path() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(15);
        let a = SectionSecretKey::random(&mut rng);
        let prepared = PreparedSectionKey::new(&a.public_key());
        assert_eq!(prepared.key(), &a.public_key());
        assert_eq!(
            prepared.heap_bytes(),
            64 * 15 * core::mem::size_of::<ark_bls12_381::G1Affine>()
        );
        for i in 0..20u64 {
            // The same randomness on both paths gives the same capsule and key.
            let mut r1 = rand_chacha::ChaCha20Rng::seed_from_u64(100 + i);
            let mut r2 = rand_chacha::ChaCha20Rng::seed_from_u64(100 + i);
            let (c1, k1) = prepared.encapsulate(b"ctx", &mut r1).unwrap();
            let (c2, k2) = encapsulate(&a.public_key(), b"ctx", &mut r2).unwrap();
            assert_eq!(c1, c2);
            assert!(k1 == k2);
            assert!(a.decapsulate(&c1, b"ctx").unwrap() == k1);
        }
        // An over-long context is refused as on the plain path.
        let long = alloc::vec![0u8; 70_000];
        assert!(prepared.encapsulate(&long, &mut rng).is_err());
        assert!(alloc::format!("{prepared:?}").starts_with("PreparedSectionKey"));
    }
}
