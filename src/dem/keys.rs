//! The keys of the data encapsulation: the data key, its wrap under a KEM key, and the
//! body's nonce prefix.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::encoding::{Reader, Tag, VERSION};
use crate::pre::SharedKey;
use crate::Error;

/// A 256-bit data key: encrypts one entry's body. Wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey(pub(super) [u8; 32]);

impl DataKey {
    /// A fresh random data key.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// A data key from raw bytes (for known-answer tests and key escrow by the caller).
    pub fn from_raw(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps this key under a KEM key: AES-256-GCM, all-zero nonce (each KEM key wraps exactly
    /// one data key), with the caller's associated data.
    pub fn wrap(&self, kek: &SharedKey, aad: &[u8]) -> WrappedKey {
        let cipher = Aes256Gcm::new(kek.as_bytes().into());
        let mut buf = self.0;
        let nonce = Nonce::default();
        // Encrypting 32 bytes under AES-GCM cannot fail.
        let tag = cipher
            .encrypt_inout_detached(&nonce, aad, (&mut buf[..]).into())
            .map(|t| t.into())
            .unwrap_or([0u8; 16]);
        let mut out = [0u8; WrappedKey::RAW_LEN];
        out[..32].copy_from_slice(&buf);
        out[32..].copy_from_slice(&tag);
        WrappedKey(out)
    }
}

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for DataKey {}

impl core::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key wrapped under a KEM key (32 bytes of ciphertext, 16 of tag).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WrappedKey([u8; WrappedKey::RAW_LEN]);

impl WrappedKey {
    const RAW_LEN: usize = 48;
    /// Size of the encoding: tag, version, 48 bytes.
    pub const SIZE: usize = 2 + Self::RAW_LEN;

    /// Unwraps with the KEM key and the associated data used at wrap time.
    /// Any mismatch is [`Error::DecryptionFailed`].
    pub fn unwrap(&self, kek: &SharedKey, aad: &[u8]) -> Result<DataKey, Error> {
        let cipher = Aes256Gcm::new(kek.as_bytes().into());
        let mut buf = [0u8; 32];
        buf.copy_from_slice(&self.0[..32]);
        let tag = aes_gcm::Tag::try_from(&self.0[32..]).map_err(|_| Error::DecryptionFailed)?;
        match cipher.decrypt_inout_detached(&Nonce::default(), aad, (&mut buf[..]).into(), &tag) {
            Ok(()) => Ok(DataKey(buf)),
            Err(_) => {
                buf.zeroize();
                Err(Error::DecryptionFailed)
            }
        }
    }

    /// The canonical encoding: tag, version, 48 bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = Tag::WrappedKey as u8;
        out[1] = VERSION;
        out[2..].copy_from_slice(&self.0);
        out
    }

    /// Decodes: length, tag, version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::WrappedKey, "wrapped key")?;
        let raw = r.array::<{ Self::RAW_LEN }>()?;
        r.finish()?;
        Ok(Self(raw))
    }
}

impl core::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WrappedKey(..)")
    }
}

crate::macros::serde_via_bytes!(WrappedKey, "wrapped key");

/// The 7-byte random nonce prefix of a body's STREAM, written in the body header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoncePrefix(pub(crate) [u8; 7]);

impl NoncePrefix {
    /// Size of the encoding in bytes (the raw prefix: it is always part of a body header).
    pub const SIZE: usize = 7;

    /// Wraps 7 bytes.
    pub const fn new(bytes: [u8; 7]) -> Self {
        Self(bytes)
    }

    /// The 7 bytes.
    pub const fn as_bytes(&self) -> &[u8; 7] {
        &self.0
    }

    /// The 7 bytes, by value (the encoding).
    pub const fn to_bytes(&self) -> [u8; 7] {
        self.0
    }

    /// From exactly 7 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| Error::InvalidEncoding {
                what: "nonce prefix",
                field: Some("length (7 bytes)"),
            })
    }

    /// A fresh random prefix.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut p = [0u8; 7];
        rng.fill_bytes(&mut p);
        Self(p)
    }
}

crate::macros::serde_via_bytes!(NoncePrefix, "nonce prefix");
