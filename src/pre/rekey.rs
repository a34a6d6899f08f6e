//! Re-encryption keys and the proxy's re-encryption.

use ark_bls12_381::G2Affine;
use ark_ec::CurveGroup;

use crate::encoding::{self, Tag, G2_LEN};
use crate::macros::point_newtype;
use crate::pre::{fixed, Capsule, ReCapsule, ReaderPublicKey, SectionSecretKey};

/// A re-encryption key `rk = B^(1/a)` from a section to a reader, kept in prepared
/// (Miller-loop-ready) form so re-encryption skips the G2 line computations: blst's lines with
/// the `blst` feature (the default), arkworks' otherwise.
///
/// Held by the SRS. Together with the reader's secret it yields `g2^(1/a)`, which opens every
/// capsule of that section key: that is what the grant gives ([SPEC §2](crate::notes::spec)).
#[derive(Clone)]
pub struct ReKey {
    pub(crate) point: G2Affine,
    prepared: Prepared,
}

#[cfg(feature = "blst")]
type Prepared = super::blst::Prepared;
#[cfg(not(feature = "blst"))]
type Prepared = <ark_bls12_381::Bls12_381 as ark_ec::pairing::Pairing>::G2Prepared;

impl ReKey {
    fn from_point(point: G2Affine) -> Self {
        #[cfg(feature = "blst")]
        let prepared = Prepared::new(&point);
        #[cfg(not(feature = "blst"))]
        let prepared = point.into();
        Self { prepared, point }
    }

    /// `rk = B^(1/a)`: made by the owner from the section secret and the reader's public key.
    pub fn new(section: &SectionSecretKey, reader: &ReaderPublicKey) -> Self {
        Self::from_point(fixed::g2_var_mul(&reader.point, section.scalar_inverse()).into_affine())
    }

    /// Re-encrypts a capsule for this key's reader: `T = e(C, rk)`.
    pub fn reencrypt(&self, capsule: &Capsule) -> ReCapsule {
        #[cfg(feature = "blst")]
        let t = self.prepared.pair(&capsule.point);
        #[cfg(not(feature = "blst"))]
        let t = {
            use ark_ec::pairing::Pairing;
            let ml = ark_bls12_381::Bls12_381::multi_miller_loop(
                [capsule.point],
                [self.prepared.clone()],
            );
            // Valid, non-identity inputs always give a Miller-loop output that is invertible.
            ark_bls12_381::Bls12_381::final_exponentiation(ml)
                .map_or_else(ark_bls12_381::Fq12::default, |o| o.0)
        };
        ReCapsule::from_parts(*capsule, t)
    }

    /// [`ReKey::reencrypt`] by arkworks' pairing alone, whatever the features: the reference
    /// the `blst` path is checked against (tests, benchmarks).
    #[doc(hidden)]
    pub fn reencrypt_reference(&self, capsule: &Capsule) -> ReCapsule {
        ReCapsule::from_parts(*capsule, fixed::pairing(&capsule.point, &self.point))
    }

    /// Re-encrypts many capsules with this key (in parallel with the `rayon` feature).
    pub fn reencrypt_many(&self, capsules: &[Capsule]) -> alloc::vec::Vec<ReCapsule> {
        crate::par::map(capsules.iter().collect(), |c| self.reencrypt(c))
    }
}

point_newtype!(
    ReKey,
    G2Affine,
    G2_LEN,
    Tag::ReKey,
    "re-encryption key",
    encoding::g2_bytes,
    encoding::decode_g2
);
