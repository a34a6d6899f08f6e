//! Encapsulation to a section public key and the owner's decapsulation.

use ark_bls12_381::{Fr, G1Affine};
use ark_ec::CurveGroup;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use crate::encoding::{self, Tag, G1_LEN};
use crate::macros::point_newtype;
use crate::pre::{fixed, SectionPublicKey, SectionSecretKey, SharedKey};
use crate::Error;

/// A second-level AFGH capsule `C = A^r`: what a writer stores next to the wrapped data key.
#[derive(Clone, Copy)]
pub struct Capsule {
    pub(crate) point: G1Affine,
}

impl Capsule {
    fn from_point(point: G1Affine) -> Self {
        Self { point }
    }
}

point_newtype!(
    Capsule,
    G1Affine,
    G1_LEN,
    Tag::Capsule,
    "capsule",
    encoding::g1_bytes,
    encoding::decode_g1
);

/// Encapsulates a fresh key to `section`: random `r`, `C = A^r`, `S = Z^r`, and the shared
/// key derived from `S` bound to `C`, `A` and `context`.
///
/// `context` is any caller data (at most 65 535 bytes) that both sides know, for example the
/// hash of an entry header; a different context yields a different key.
pub fn encapsulate<R: RngCore + CryptoRng + ?Sized>(
    section: &SectionPublicKey,
    context: &[u8],
    rng: &mut R,
) -> Result<(Capsule, SharedKey), Error> {
    let mut r = encoding::random_scalar(rng);
    let result = encapsulate_with(section, context, &r);
    r.zeroize();
    result
}

/// Deterministic core of [`encapsulate`].
fn encapsulate_with(
    section: &SectionPublicKey,
    context: &[u8],
    r: &Fr,
) -> Result<(Capsule, SharedKey), Error> {
    encapsulate_core(section, context, r, || fixed::g1_var_mul(&section.point, r))
}

/// [`encapsulate`] with `C = A^r` computed by `mul_a` (a variable-base multiplication, or a
/// writer's table for `A`).
pub(crate) fn encapsulate_core(
    section: &SectionPublicKey,
    context: &[u8],
    r: &Fr,
    mul_a: impl FnOnce() -> ark_bls12_381::G1Projective,
) -> Result<(Capsule, SharedKey), Error> {
    let c = mul_a().into_affine();
    let capsule = Capsule::from_point(c);
    let mut s = fixed::z_pow(r);
    let key = SharedKey::derive(&s, &capsule.point_bytes(), &section.point_bytes(), context);
    s.zeroize();
    Ok((capsule, key?))
}

impl SectionSecretKey {
    /// The owner's decapsulation: `S = e(C^(1/a), g2)`, then the same key derivation.
    pub fn decapsulate(&self, capsule: &Capsule, context: &[u8]) -> Result<SharedKey, Error> {
        let mut c_over_a = fixed::g1_var_mul(&capsule.point, self.scalar_inverse()).into_affine();
        let mut s = fixed::pair_with_g2(&c_over_a);
        c_over_a.zeroize();
        let key = SharedKey::derive(
            &s,
            &capsule.point_bytes(),
            &self.public_key().point_bytes(),
            context,
        );
        s.zeroize();
        key
    }
}
