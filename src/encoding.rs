//! Internal building blocks of the wire format: tags, versions, length prefixes, point and
//! scalar codecs, and the hash-to-scalar of [SPEC §2](crate::notes::spec). The format itself is documented in
//! [`crate::notes::encoding`].

use alloc::vec::Vec;

use ark_bls12_381::{Fq12, Fr, G1Affine, G2Affine};
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, GtCheck};

/// The suite id, used as the HKDF salt everywhere.
pub const SUITE_ID: &[u8] = b"sesphr/v1/bls12-381/afgh/aes-256-gcm/sha-256";

/// The format version of most envelopes (see [`Tag::version`] for the exceptions).
pub const VERSION: u8 = 1;

/// Size of a compressed G1 point.
pub const G1_LEN: usize = 48;
/// Size of a compressed G2 point.
pub const G2_LEN: usize = 96;
/// Size of an uncompressed GT element.
pub const GT_LEN: usize = 576;
/// Size of a scalar.
pub const SCALAR_LEN: usize = 32;

/// Type tags, one per envelope. Kept in one place so they can never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    SectionPublicKey = 0x01,
    ReaderPublicKey = 0x02,
    Capsule = 0x03,
    ReKey = 0x04,
    ReCapsule = 0x05,
    VerifyingKey = 0x06,
    Signature = 0x07,
    SectionSecretKey = 0x08,
    ReaderSecretKey = 0x09,
    SigningKey = 0x0a,
    WrappedKey = 0x0b,
    ProofOfPossession = 0x0c,
    MasterSecret = 0x10,
    KeyBundle = 0x11,
    BodyHeader = 0x12,
    KeyBlock = 0x13,
    SealedEntry = 0x14,
    Acl = 0x15,
    SignedAcl = 0x16,
    AccessRequest = 0x17,
    // 0x18 was the whole-state SRS blob (removed: the SRS keeps rows in a store).
    AclUpdate = 0x1c,
    SignedOperation = 0x20,
    Response = 0x21,
    Receipt = 0x22,
    // Client-side state: secrets and what a principal keeps between runs.
    PrincipalKeys = 0x30,
    Owner = 0x31,
    AclHistory = 0x32,
    // The disclosure log.
    LogLeaf = 0x40,
    Checkpoint = 0x41,
    Cosignature = 0x42,
    ConsistencyProof = 0x43,
    DisclosureReceipt = 0x44,
    AuditPage = 0x45,
    LogView = 0x46,
    WitnessState = 0x47,
}

impl Tag {
    /// The one format version this crate writes and reads for this envelope. Version 2 of
    /// the ACL (and of what carries one) commits to the key set and the previous version
    /// ([SPEC §7](crate::notes::spec)); version-1 encodings are refused with [`Error::UnknownVersion`].
    pub const fn version(self) -> u8 {
        match self {
            Tag::Acl | Tag::SignedAcl | Tag::AclUpdate => 2,
            _ => VERSION,
        }
    }
}

/// `bytes` as a fixed-size array, for encodings whose size is a constant: the encoder wrote
/// exactly `N` bytes (a shorter input leaves zeros, never panics).
pub fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (d, s) in out.iter_mut().zip(bytes) {
        *d = *s;
    }
    out
}

/// `tag ‖ version ‖ payload` for a secret, in a buffer wiped on drop. `N` is the payload
/// length plus two.
pub fn secret_envelope<const N: usize>(tag: Tag, payload: &[u8]) -> Zeroizing<[u8; N]> {
    secret_envelope_parts(tag, &[payload])
}

/// `tag ‖ version ‖ part₁ ‖ part₂ ‖ …` for a secret, in a buffer wiped on drop. `N` is the
/// parts' total length plus two.
pub fn secret_envelope_parts<const N: usize>(tag: Tag, parts: &[&[u8]]) -> Zeroizing<[u8; N]> {
    debug_assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>() + 2, N);
    let mut out = Zeroizing::new([0u8; N]);
    let buf: &mut [u8; N] = &mut out;
    let header = [tag as u8, tag.version()];
    for (dst, src) in buf
        .iter_mut()
        .zip(header.iter().chain(parts.iter().flat_map(|p| p.iter())))
    {
        *dst = *src;
    }
    out
}

/// Appends `tag ‖ version`.
pub fn header(out: &mut Vec<u8>, tag: Tag) {
    out.push(tag as u8);
    out.push(tag.version());
}

/// Appends `lp(x)`: 2-byte big-endian length, then `x`.
pub fn put_lp(out: &mut Vec<u8>, what: &'static str, x: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(x.len()).map_err(|_| Error::TooLong { what })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(x);
    Ok(())
}

/// `lp(x)` for inputs known to be short (internal constants, points, hashes).
pub fn put_lp_short(out: &mut Vec<u8>, x: &[u8]) {
    debug_assert!(x.len() <= usize::from(u16::MAX));
    let len = u16::try_from(x.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(x);
}

/// SHA-256.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A cursor over untrusted bytes. Every read is bounds-checked and returns a typed error.
pub struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
    /// The field being read, named in errors (see [`Reader::at`]).
    field: Option<&'static str>,
    trusted: bool,
}

impl<'a> Reader<'a> {
    /// Starts reading an envelope: checks the tag and the version.
    pub fn envelope(bytes: &'a [u8], tag: Tag, what: &'static str) -> Result<Self, Error> {
        let (&t, rest) = bytes.split_first().ok_or(Error::InvalidEncoding {
            what,
            field: Some("type tag"),
        })?;
        if t != tag as u8 {
            return Err(Error::UnknownTag { what, tag: t });
        }
        let (&v, rest) = rest.split_first().ok_or(Error::InvalidEncoding {
            what,
            field: Some("format version"),
        })?;
        if v != tag.version() {
            return Err(Error::UnknownVersion { what, version: v });
        }
        Ok(Self {
            bytes: rest,
            what,
            field: None,
            trusted: false,
        })
    }

    /// Reads bytes with no envelope (the caller decodes tag and version itself).
    pub fn raw(bytes: &'a [u8], what: &'static str) -> Self {
        Self {
            bytes,
            what,
            field: None,
            trusted: false,
        }
    }

    /// Marks the input as written by this crate and read back from a store it trusts:
    /// points are decoded without the curve and subgroup checks ([SPEC §8](crate::notes::spec), "validate at the
    /// door"). Only for rows the SRS validated when they entered.
    pub fn trusting(mut self) -> Self {
        self.trusted = true;
        self
    }

    /// Names the field read next, for errors: `r.at("epoch").u32()?`. The name stays until
    /// the next call.
    pub fn at(&mut self, field: &'static str) -> &mut Self {
        self.field = Some(field);
        self
    }

    /// The error for a malformed input at the current field.
    pub fn invalid(&self) -> Error {
        Error::InvalidEncoding {
            what: self.what,
            field: self.field,
        }
    }

    /// Whether the input is trusted (see [`Reader::trusting`]).
    pub fn is_trusted(&self) -> bool {
        self.trusted
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    /// Reads exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.bytes.len() < n {
            return Err(self.invalid());
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32 length, then that many bytes.
    pub fn lp32(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u32()?;
        let n = usize::try_from(n).map_err(|_| self.invalid())?;
        self.take(n)
    }

    /// Reads a u32 element count, refusing counts that cannot fit in what remains
    /// (each element being at least `min_size` bytes).
    pub fn count(&mut self, min_size: usize) -> Result<usize, Error> {
        let n = usize::try_from(self.u32()?).map_err(|_| self.invalid())?;
        if n.saturating_mul(min_size.max(1)) > self.bytes.len() {
            return Err(self.invalid());
        }
        Ok(n)
    }

    /// Reads a boolean byte (0 or 1).
    pub fn bool(&mut self) -> Result<bool, Error> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.invalid()),
        }
    }

    /// Fails unless every byte has been read.
    pub fn finish(self) -> Result<(), Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidEncoding {
                what: self.what,
                field: Some("trailing bytes"),
            })
        }
    }
}

/// Appends a u32 big-endian length, then `x`.
pub fn put_lp32(out: &mut Vec<u8>, what: &'static str, x: &[u8]) -> Result<(), Error> {
    let len = u32::try_from(x.len()).map_err(|_| Error::TooLong { what })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(x);
    Ok(())
}

/// Appends a u32 element count.
pub fn put_count(out: &mut Vec<u8>, what: &'static str, n: usize) -> Result<(), Error> {
    let n = u32::try_from(n).map_err(|_| Error::TooLong { what })?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

/// Compressed G1 bytes.
pub fn g1_bytes(p: &G1Affine) -> [u8; G1_LEN] {
    let mut out = [0u8; G1_LEN];
    // Serializing a valid affine point into a buffer of the exact size cannot fail.
    let _ = p.serialize_compressed(&mut out[..]);
    out
}

/// Compressed G2 bytes.
pub fn g2_bytes(p: &G2Affine) -> [u8; G2_LEN] {
    let mut out = [0u8; G2_LEN];
    let _ = p.serialize_compressed(&mut out[..]);
    out
}

/// Uncompressed GT bytes (arkworks' canonical Fq12 encoding).
pub fn gt_bytes(f: &Fq12) -> [u8; GT_LEN] {
    let mut out = [0u8; GT_LEN];
    let _ = f.serialize_with_mode(&mut out[..], Compress::No);
    out
}

fn decode_point<P: SWCurveConfig>(bytes: &[u8], what: &'static str) -> Result<Affine<P>, Error> {
    // First: canonical encoding of a point on the curve (no subgroup check yet), so the
    // error says which rule failed.
    let p = Affine::<P>::deserialize_with_mode(bytes, Compress::Yes, Validate::No)
        .map_err(|_| Error::InvalidPoint { what })?;
    if p.is_zero() {
        return Err(Error::IdentityPoint { what });
    }
    if !p.is_on_curve() {
        return Err(Error::InvalidPoint { what });
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::NotInSubgroup { what });
    }
    Ok(p)
}

/// Decodes a compressed point written by this crate, skipping the curve and subgroup checks
/// (trusted rows only).
pub fn decode_point_trusted<P: SWCurveConfig>(
    bytes: &[u8],
    what: &'static str,
) -> Result<Affine<P>, Error> {
    Affine::<P>::deserialize_with_mode(bytes, Compress::Yes, Validate::No)
        .map_err(|_| Error::InvalidPoint { what })
}

/// Decodes a compressed G1 point: canonical, on the curve, in the subgroup, not the identity.
pub fn decode_g1(bytes: &[u8], what: &'static str) -> Result<G1Affine, Error> {
    decode_point(bytes, what)
}

/// Decodes a compressed G2 point: canonical, on the curve, in the subgroup, not the identity.
pub fn decode_g2(bytes: &[u8], what: &'static str) -> Result<G2Affine, Error> {
    decode_point(bytes, what)
}

/// Decodes an uncompressed Fq12 (canonical coordinates only); the caller runs the GT checks.
pub fn decode_fq12(bytes: &[u8], what: &'static str) -> Result<Fq12, Error> {
    let field = Some("GT element");
    if bytes.len() != GT_LEN {
        return Err(Error::InvalidEncoding { what, field });
    }
    let f = Fq12::deserialize_with_mode(bytes, Compress::No, Validate::Yes)
        .map_err(|_| Error::InvalidEncoding { what, field })?;
    if f.is_zero() {
        return Err(Error::InvalidGtElement(GtCheck::Trivial));
    }
    Ok(f)
}

/// 32-byte little-endian canonical scalar bytes.
pub fn scalar_bytes(s: &Fr) -> [u8; SCALAR_LEN] {
    let mut out = [0u8; SCALAR_LEN];
    let mut v = s.into_bigint().to_bytes_le();
    out.copy_from_slice(&v);
    v.zeroize();
    out
}

/// Decodes a canonical, non-zero scalar.
pub fn decode_scalar(bytes: &[u8; SCALAR_LEN], what: &'static str) -> Result<Fr, Error> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(b);
    }
    let s = Fr::from_bigint(ark_ff::BigInt::new(limbs)).ok_or(Error::NonCanonicalScalar { what });
    limbs.zeroize();
    let s = s?;
    if s.is_zero() {
        return Err(Error::ZeroScalar { what });
    }
    Ok(s)
}

/// HKDF-SHA256 with the suite id as salt.
pub fn hkdf(ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let hk = Hkdf::<Sha256>::new(Some(SUITE_ID), ikm);
    // Output lengths used in this crate (≤ 64 bytes) are far below HKDF's limit.
    let _ = hk.expand(info, out);
}

/// HashToScalar of [SPEC §2](crate::notes::spec): 64 bytes of HKDF output, big-endian, reduced mod r; zero refused.
pub fn hash_to_scalar(ikm: &[u8], info: &[u8], what: &'static str) -> Result<Fr, Error> {
    let mut wide = [0u8; 64];
    hkdf(ikm, info, &mut wide);
    let s = Fr::from_be_bytes_mod_order(&wide);
    wide.zeroize();
    if s.is_zero() {
        return Err(Error::ZeroScalar { what });
    }
    Ok(s)
}

/// A uniformly random non-zero scalar (64 random bytes reduced mod r).
pub fn random_scalar<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Fr {
    loop {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let s = Fr::from_be_bytes_mod_order(&wide);
        wide.zeroize();
        if !s.is_zero() {
            return s;
        }
    }
}

/// Inserts into a map being decoded, keeping the encoding canonical: keys must arrive in
/// strictly increasing order, so every map has exactly one encoding.
pub fn insert_in_order<K: Ord, V>(
    map: &mut alloc::collections::BTreeMap<K, V>,
    k: K,
    v: V,
    what: &'static str,
) -> Result<(), Error> {
    if map.last_key_value().is_some_and(|(last, _)| *last >= k) {
        return Err(Error::InvalidEncoding {
            what,
            field: Some("canonical order (keys must strictly increase)"),
        });
    }
    map.insert(k, v);
    Ok(())
}

/// `lp(label)` for fixed ASCII labels used as HKDF info prefixes.
pub fn label(out: &mut Vec<u8>, label: &[u8]) {
    put_lp_short(out, label);
}
