//! Schnorr signatures on G1 with a SHA-256 challenge ([SPEC §1](crate::notes::spec), §3).
//!
//! Signing keys are separate from PRE keys. Every signed message is
//! `lp("sesphr/v1/sig/" ‖ purpose) ‖ lp(field₁) ‖ lp(field₂) ‖ …`, with one [`Purpose`] per use,
//! so a signature made for one purpose never verifies for another.
//!
//! A signature is `(R, s)` with `R = g1^k`, `c = SHA-256(lp(R) ‖ lp(X) ‖ m)` for the message `m`
//! reduced mod r, and `s = k + c·x`; it verifies when `g1^s = R · X^c`. The nonce `k` is
//! derived from the secret key, the message and fresh randomness (hedged).

use alloc::vec::Vec;

use ark_bls12_381::{Fr, G1Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::{self, Reader, Tag, G1_LEN, SCALAR_LEN};
use crate::macros::point_newtype;
use crate::pre::floor::g1_mul;
use crate::Error;

/// What a signature is for. Each purpose has its own tag in the signed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// An owner-signed ACL version.
    Acl,
    /// A writer-signed entry (body header and body ciphertext).
    Entry,
    /// An owner-signed replacement key block.
    Rewrap,
    /// A proof of possession of the signing key.
    Pop,
    /// An operation a principal asks the SRS to do ([SPEC §8](crate::notes::spec)).
    Op,
    /// The SRS's receipt for an entry it accepted through its write gate ([SPEC §8](crate::notes::spec)).
    Receipt,
    /// The SRS's checkpoint of a record's disclosure log (SPEC §9).
    Checkpoint,
    /// A witness's cosignature of a checkpoint it checked extends the last one it saw.
    Cosign,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::Acl => b"sesphr/v1/sig/acl",
            Purpose::Entry => b"sesphr/v1/sig/entry",
            Purpose::Rewrap => b"sesphr/v1/sig/rewrap",
            Purpose::Pop => b"sesphr/v1/sig/pop",
            Purpose::Op => b"sesphr/v1/sig/op",
            Purpose::Receipt => b"sesphr/v1/sig/receipt",
            Purpose::Checkpoint => b"sesphr/v1/sig/checkpoint",
            Purpose::Cosign => b"sesphr/v1/sig/cosign",
        }
    }
}

crate::macros::serde_via_name!(
    Purpose,
    "signature purpose",
    &[
        Purpose::Acl,
        Purpose::Entry,
        Purpose::Rewrap,
        Purpose::Pop,
        Purpose::Op,
        Purpose::Receipt
    ]
);

/// `tag ‖ lp(fields…)`: the exact bytes a signature covers.
fn message(purpose: Purpose, fields: &[&[u8]]) -> Result<Vec<u8>, Error> {
    let mut m = Vec::new();
    encoding::label(&mut m, purpose.tag());
    for f in fields {
        encoding::put_lp(&mut m, "signed field", f)?;
    }
    Ok(m)
}

fn challenge(r: &[u8; G1_LEN], x: &[u8; G1_LEN], msg: &[u8]) -> Fr {
    // `msg` is self-delimiting (tag and length-prefixed fields) and comes last.
    let mut pre = Vec::with_capacity(2 * (2 + G1_LEN));
    encoding::put_lp_short(&mut pre, r);
    encoding::put_lp_short(&mut pre, x);
    Fr::from_be_bytes_mod_order(&encoding::sha256(&[&pre, msg]))
}

/// A public signature-verification key `X = g1^x`.
#[derive(Clone, Copy)]
pub struct VerifyingKey {
    pub(crate) point: G1Affine,
}

impl VerifyingKey {
    fn from_point(point: G1Affine) -> Self {
        Self { point }
    }

    /// Verifies `signature` over `fields` for `purpose`.
    pub fn verify(
        &self,
        purpose: Purpose,
        fields: &[&[u8]],
        signature: &Signature,
    ) -> Result<(), Error> {
        let msg = message(purpose, fields)?;
        let c = challenge(&encoding::g1_bytes(&signature.r), &self.point_bytes(), &msg);
        let lhs = g1_mul(&signature.s);
        let rhs = signature.r.into_group() + self.point.into_group() * c;
        if lhs.into_group() == rhs {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }

    /// Verifies a proof that the holder of this key has its secret.
    pub fn verify_possession(&self, proof: &ProofOfPossession) -> Result<(), Error> {
        self.verify(Purpose::Pop, &[&self.to_bytes()], &proof.0)
    }
}

point_newtype!(
    VerifyingKey,
    G1Affine,
    G1_LEN,
    Tag::VerifyingKey,
    "verifying key",
    encoding::g1_bytes,
    encoding::decode_g1
);

/// A Schnorr signing key `x ∈ Fr*`. Wiped on drop; `Debug` shows only the public key.
#[derive(Clone, ZeroizeOnDrop)]
pub struct SigningKey {
    x: Fr,
    #[zeroize(skip)]
    public: VerifyingKey,
}

impl SigningKey {
    /// A fresh random signing key.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_scalar(encoding::random_scalar(rng))
    }

    /// A signing key derived deterministically from a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, Error> {
        let mut info = Vec::new();
        encoding::label(&mut info, b"sesphr/v1/signing-seed");
        Ok(Self::from_scalar(encoding::hash_to_scalar(
            seed,
            &info,
            "signing key",
        )?))
    }

    fn from_scalar(x: Fr) -> Self {
        Self {
            public: VerifyingKey::from_point(g1_mul(&x)),
            x,
        }
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public
    }

    /// Signs `fields` for `purpose`.
    pub fn sign<R: RngCore + CryptoRng + ?Sized>(
        &self,
        purpose: Purpose,
        fields: &[&[u8]],
        rng: &mut R,
    ) -> Result<Signature, Error> {
        let msg = message(purpose, fields)?;
        let mut ikm = Zeroizing::new([0u8; 2 * SCALAR_LEN]);
        let (secret, fresh) = ikm.split_at_mut(SCALAR_LEN);
        let mut x = encoding::scalar_bytes(&self.x);
        secret.copy_from_slice(&x);
        x.zeroize();
        rng.fill_bytes(fresh);
        let mut info = Vec::new();
        encoding::label(&mut info, b"sesphr/v1/schnorr-nonce");
        encoding::put_lp_short(&mut info, &encoding::sha256(&[&msg]));
        let mut k = encoding::hash_to_scalar(ikm.as_slice(), &info, "signature nonce")?;
        let r = g1_mul(&k);
        let c = challenge(&encoding::g1_bytes(&r), &self.public.point_bytes(), &msg);
        let s = k + c * self.x;
        k.zeroize();
        if ark_ff::Zero::is_zero(&s) {
            // Probability 2^-255; refuse rather than emit an unverifiable signature.
            return Err(Error::ZeroScalar { what: "signature" });
        }
        Ok(Signature { r, s })
    }

    /// A proof of possession: a signature with purpose [`Purpose::Pop`] over the verifying key.
    pub fn prove_possession<R: RngCore + CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<ProofOfPossession, Error> {
        Ok(ProofOfPossession(self.sign(
            Purpose::Pop,
            &[&self.public.to_bytes()],
            rng,
        )?))
    }

    /// Size of the secret encoding: tag, version, 32-byte scalar.
    pub const SIZE: usize = 2 + SCALAR_LEN;

    /// The secret encoding (tag, version, scalar), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::SIZE]> {
        let mut s = encoding::scalar_bytes(&self.x);
        let out = encoding::secret_envelope(Tag::SigningKey, &s);
        s.zeroize();
        out
    }

    /// Decodes a signing key: length, tag, version, canonical non-zero scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::SigningKey, "signing key")?;
        // Wiped on every path, the failing ones included.
        let raw = Zeroizing::new(r.array::<SCALAR_LEN>()?);
        r.finish()?;
        let x = encoding::decode_scalar(&raw, "signing key");
        Ok(Self::from_scalar(x?))
    }
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A Schnorr signature `(R, s)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    r: G1Affine,
    s: Fr,
}

impl Signature {
    /// Size of the encoding: tag, version, `R` (48 bytes), `s` (32 bytes).
    pub const SIZE: usize = 2 + G1_LEN + SCALAR_LEN;

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = Tag::Signature as u8;
        out[1] = encoding::VERSION;
        out[2..2 + G1_LEN].copy_from_slice(&encoding::g1_bytes(&self.r));
        out[2 + G1_LEN..].copy_from_slice(&encoding::scalar_bytes(&self.s));
        out
    }

    /// Decodes: length, tag, version, `R` a valid subgroup point, `s` canonical and non-zero.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes, false)
    }

    fn decode(bytes: &[u8], trusted: bool) -> Result<Self, Error> {
        let mut rd = Reader::envelope(bytes, Tag::Signature, "signature")?;
        let r = rd.take(G1_LEN)?;
        let s = rd.array::<SCALAR_LEN>()?;
        rd.finish()?;
        Ok(Self {
            r: if trusted {
                encoding::decode_point_trusted(r, "signature")?
            } else {
                encoding::decode_g1(r, "signature")?
            },
            s: encoding::decode_scalar(&s, "signature")?,
        })
    }

    /// Decodes a signature this crate wrote to a trusted store (no point checks).
    pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes, true)
    }

    /// Reads one signature from `r` (without the point checks if `r` is trusted).
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let bytes = r.take(Self::SIZE)?;
        Self::decode(bytes, r.is_trusted())
    }
}

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Signature(..)")
    }
}

impl core::hash::Hash for Signature {
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        self.to_bytes().hash(h)
    }
}

crate::macros::serde_via_bytes!(Signature, "signature");

/// A proof that the holder of a verifying key knows its secret (a [`Purpose::Pop`] signature
/// over the verifying key's encoding). Stops rogue-key registration at the SRS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofOfPossession(Signature);

impl ProofOfPossession {
    /// Size of the encoding: tag, version, signature encoding.
    pub const SIZE: usize = 2 + Signature::SIZE;

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = Tag::ProofOfPossession as u8;
        out[1] = encoding::VERSION;
        out[2..].copy_from_slice(&self.0.to_bytes());
        out
    }

    /// Decodes: length, tag, version, a valid signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::ProofOfPossession, "proof of possession")?;
        let sig = r.take(Signature::SIZE)?;
        r.finish()?;
        Ok(Self(Signature::from_bytes(sig)?))
    }
}

crate::macros::serde_via_bytes!(ProofOfPossession, "proof of possession");

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &["VerifyingKey", "Signature", "ProofOfPossession", "Purpose"];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        ("SigningKey", "secret: canonical bytes only, no serde (an explicit opt-in wrapper is the secret-encoding work of issue 12)"),
    ];
}
