//! Section (delegator) and reader (delegatee) key pairs.

use ark_bls12_381::{Fr, G1Affine, G2Affine};
use ark_ff::Field;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::{self, Reader, Tag, G1_LEN, G2_LEN, SCALAR_LEN};
use crate::macros::point_newtype;
use crate::pre::fixed;
use crate::Error;

/// Size of a secret-key encoding: tag, version, 32-byte scalar.
const SECRET_SIZE: usize = 2 + SCALAR_LEN;

/// A scalar secret with its inverse, both wiped on drop.
#[derive(Clone)]
struct Scalar {
    x: Fr,
    inv: Fr,
}

impl Scalar {
    fn new(x: Fr) -> Result<Self, Error> {
        let inv = x
            .inverse()
            .ok_or(Error::ZeroScalar { what: "secret key" })?;
        Ok(Self { x, inv })
    }
}

impl Zeroize for Scalar {
    fn zeroize(&mut self) {
        self.x.zeroize();
        self.inv.zeroize();
    }
}

impl Drop for Scalar {
    fn drop(&mut self) {
        self.zeroize();
    }
}

fn seed_scalar(seed: &[u8; 32], label: &[u8]) -> Result<Fr, Error> {
    let mut info = alloc::vec::Vec::new();
    encoding::label(&mut info, label);
    encoding::hash_to_scalar(seed, &info, "seed-derived scalar")
}

fn encode_secret(tag: Tag, x: &Fr) -> Zeroizing<[u8; SECRET_SIZE]> {
    let mut s = encoding::scalar_bytes(x);
    let out = encoding::secret_envelope(tag, &s);
    s.zeroize();
    out
}

fn decode_secret(bytes: &[u8], tag: Tag, what: &'static str) -> Result<Fr, Error> {
    let mut r = Reader::envelope(bytes, tag, what)?;
    // Wiped on every path, the failing ones included.
    let raw = Zeroizing::new(r.array::<SCALAR_LEN>()?);
    r.finish()?;
    encoding::decode_scalar(&raw, what)
}

/// The public key of a section (per record, section and epoch): `A = g1^a`.
///
/// Writers encapsulate data keys to it; it is published in the owner-signed ACL.
#[derive(Clone, Copy)]
pub struct SectionPublicKey {
    pub(crate) point: G1Affine,
}

impl SectionPublicKey {
    fn from_point(point: G1Affine) -> Self {
        Self { point }
    }
}

point_newtype!(
    SectionPublicKey,
    G1Affine,
    G1_LEN,
    Tag::SectionPublicKey,
    "section public key",
    encoding::g1_bytes,
    encoding::decode_g1
);

/// The secret key of a section: `a ∈ Fr*`. Owner only.
///
/// Wiped on drop; `Debug` shows only the public key.
#[derive(Clone, ZeroizeOnDrop)]
pub struct SectionSecretKey {
    secret: Scalar,
    #[zeroize(skip)]
    public: SectionPublicKey,
}

impl SectionSecretKey {
    /// A fresh random section key.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_scalar_nonzero(encoding::random_scalar(rng))
    }

    /// A section key derived deterministically from a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, Error> {
        Self::from_scalar(seed_scalar(seed, b"sesphr/v1/section-seed")?)
    }

    pub(crate) fn from_scalar(a: Fr) -> Result<Self, Error> {
        let secret = Scalar::new(a)?;
        let public = SectionPublicKey::from_point(fixed::g1_mul(&secret.x));
        Ok(Self { secret, public })
    }

    fn from_scalar_nonzero(a: Fr) -> Self {
        // `random_scalar` never returns zero, so the inverse exists.
        let inv = a.inverse().unwrap_or_default();
        let secret = Scalar { x: a, inv };
        let public = SectionPublicKey::from_point(fixed::g1_mul(&secret.x));
        Self { secret, public }
    }

    /// The matching public key `A`.
    pub fn public_key(&self) -> SectionPublicKey {
        self.public
    }

    pub(crate) fn scalar_inverse(&self) -> &Fr {
        &self.secret.inv
    }

    /// Size of the secret encoding: tag, version, 32-byte scalar.
    pub const SIZE: usize = SECRET_SIZE;

    /// The secret encoding (tag, version, scalar), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_SIZE]> {
        encode_secret(Tag::SectionSecretKey, &self.secret.x)
    }

    /// Decodes a secret key: length, tag, version, canonical non-zero scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_scalar(decode_secret(
            bytes,
            Tag::SectionSecretKey,
            "section secret key",
        )?)
    }
}

impl core::fmt::Debug for SectionSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SectionSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The public key of a reader: `B = g2^b`.
#[derive(Clone, Copy)]
pub struct ReaderPublicKey {
    pub(crate) point: G2Affine,
}

impl ReaderPublicKey {
    fn from_point(point: G2Affine) -> Self {
        Self { point }
    }
}

point_newtype!(
    ReaderPublicKey,
    G2Affine,
    G2_LEN,
    Tag::ReaderPublicKey,
    "reader public key",
    encoding::g2_bytes,
    encoding::decode_g2
);

/// The secret key of a reader: `b ∈ Fr*`.
///
/// Wiped on drop; `Debug` shows only the public key.
#[derive(Clone, ZeroizeOnDrop)]
pub struct ReaderSecretKey {
    secret: Scalar,
    #[zeroize(skip)]
    public: ReaderPublicKey,
}

impl ReaderSecretKey {
    /// A fresh random reader key.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let b = encoding::random_scalar(rng);
        let inv = b.inverse().unwrap_or_default();
        Self::from_parts(Scalar { x: b, inv })
    }

    /// A reader key derived deterministically from a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self::from_parts(Scalar::new(seed_scalar(
            seed,
            b"sesphr/v1/reader-seed",
        )?)?))
    }

    fn from_parts(secret: Scalar) -> Self {
        let public = ReaderPublicKey::from_point(fixed::g2_mul(&secret.x));
        Self { secret, public }
    }

    /// The matching public key `B`.
    pub fn public_key(&self) -> ReaderPublicKey {
        self.public
    }

    pub(crate) fn scalar_inverse(&self) -> &Fr {
        &self.secret.inv
    }

    /// Size of the secret encoding: tag, version, 32-byte scalar.
    pub const SIZE: usize = SECRET_SIZE;

    /// The secret encoding (tag, version, scalar), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_SIZE]> {
        encode_secret(Tag::ReaderSecretKey, &self.secret.x)
    }

    /// Decodes a secret key: length, tag, version, canonical non-zero scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = decode_secret(bytes, Tag::ReaderSecretKey, "reader secret key")?;
        Ok(Self::from_parts(Scalar::new(b)?))
    }
}

impl core::fmt::Debug for ReaderSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReaderSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
