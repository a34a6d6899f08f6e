//! Principals: roles, public key bundles and their fingerprints, and the secret keys a
//! principal keeps.

use alloc::vec::Vec;
use core::fmt;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::{self, Reader, Tag};
use crate::pre::{ReaderPublicKey, ReaderSecretKey};
use crate::sign::{ProofOfPossession, SigningKey, VerifyingKey};
use crate::Error;

/// What a principal is, as the registry records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Role {
    /// A record owner.
    Patient,
    /// A writer of entries.
    Hospital,
    /// A reader.
    Doctor,
    /// A reader.
    Pharmacist,
    /// A reader.
    Insurer,
    /// A reader.
    Family,
    /// A reader.
    Researcher,
    /// The SRS administrator, who activates and deactivates principals.
    Admin,
}

impl Role {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Role::Patient => 1,
            Role::Hospital => 2,
            Role::Doctor => 3,
            Role::Pharmacist => 4,
            Role::Insurer => 5,
            Role::Family => 6,
            Role::Researcher => 7,
            Role::Admin => 8,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Result<Self, Error> {
        Ok(match b {
            1 => Role::Patient,
            2 => Role::Hospital,
            3 => Role::Doctor,
            4 => Role::Pharmacist,
            5 => Role::Insurer,
            6 => Role::Family,
            7 => Role::Researcher,
            8 => Role::Admin,
            _ => return Err(Error::invalid("role")),
        })
    }
}

impl fmt::Display for Role {
    /// The lowercase name (`patient`, `hospital`, …), as serde writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&alloc::format!("{self:?}").to_ascii_lowercase())
    }
}

crate::macros::serde_via_name!(
    Role,
    "role",
    &[
        Role::Patient,
        Role::Hospital,
        Role::Doctor,
        Role::Pharmacist,
        Role::Insurer,
        Role::Family,
        Role::Researcher,
        Role::Admin
    ]
);

/// SHA-256 of a key bundle's canonical bytes: how the owner names grantees and writers.
///
/// `Display` is the whole fingerprint in hex; [`Fingerprint::short`] is the form to compare by
/// eye.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub(crate) [u8; 32]);

impl Fingerprint {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wraps 32 bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps 32 bytes.
    #[deprecated(note = "use `Fingerprint::new`")]
    pub fn from_raw(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes, by value (the encoding).
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The short, human-comparable form: the first 10 bytes as five groups of four hex
    /// digits, e.g. `3f2a-91c0-77de-0b41-e5a9`. 80 bits: enough to compare by eye or read
    /// over the phone, not to look up by.
    pub fn short(&self) -> alloc::string::String {
        use core::fmt::Write;
        let mut s = alloc::string::String::with_capacity(24);
        for (i, pair) in self.0.chunks_exact(2).take(5).enumerate() {
            if i > 0 {
                s.push('-');
            }
            for b in pair {
                let _ = write!(s, "{b:02x}");
            }
        }
        s
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}

impl From<[u8; 32]> for Fingerprint {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

crate::macros::hex_bytes!(Fingerprint, 32, "fingerprint");

/// A principal's public keys: a signing key and a reader (PRE delegatee) key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBundle {
    signing: VerifyingKey,
    reader: ReaderPublicKey,
}

impl KeyBundle {
    /// Size of the encoding.
    pub const SIZE: usize = 2 + VerifyingKey::SIZE + ReaderPublicKey::SIZE;

    /// Bundles two public keys.
    pub fn new(signing: VerifyingKey, reader: ReaderPublicKey) -> Self {
        Self { signing, reader }
    }

    /// The signature-verification key.
    pub fn signing_key(&self) -> &VerifyingKey {
        &self.signing
    }

    /// The PRE reader key.
    pub fn reader_key(&self) -> &ReaderPublicKey {
        &self.reader
    }

    /// SHA-256 of the canonical bytes.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(encoding::sha256(&[&self.to_bytes()]))
    }

    /// The canonical encoding: tag, version, verifying key, reader key.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = Tag::KeyBundle as u8;
        out[1] = encoding::VERSION;
        out[2..2 + VerifyingKey::SIZE].copy_from_slice(&self.signing.to_bytes());
        out[2 + VerifyingKey::SIZE..].copy_from_slice(&self.reader.to_bytes());
        out
    }

    /// Decodes and checks both keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(Reader::envelope(bytes, Tag::KeyBundle, "key bundle")?)
    }

    /// Decodes a bundle this crate wrote to a trusted store (no point checks).
    pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(Reader::envelope(bytes, Tag::KeyBundle, "key bundle")?.trusting())
    }

    fn decode(mut r: Reader<'_>) -> Result<Self, Error> {
        let signing = VerifyingKey::read(&mut r)?;
        let reader = ReaderPublicKey::read(&mut r)?;
        r.finish()?;
        Ok(Self { signing, reader })
    }
}

impl fmt::Debug for KeyBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyBundle({})", self.fingerprint().short())
    }
}

crate::macros::serde_via_bytes!(KeyBundle, "key bundle");

/// A principal's secret keys: signing and reading. Each is wiped on drop.
///
/// One encoding ([`PrincipalKeys::to_bytes`], [`PrincipalKeys::SIZE`] bytes); no `serde`
/// unless asked for through [`crate::secret::ExposeSecret`].
#[derive(Clone)]
pub struct PrincipalKeys {
    signing: SigningKey,
    reader: ReaderSecretKey,
}

impl PrincipalKeys {
    /// Fresh random keys.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            signing: SigningKey::random(rng),
            reader: ReaderSecretKey::random(rng),
        }
    }

    /// Keys from their parts.
    pub fn from_parts(signing: SigningKey, reader: ReaderSecretKey) -> Self {
        Self { signing, reader }
    }

    /// Size of the encoding ([`PrincipalKeys::to_bytes`]): tag, version, the signing key's
    /// encoding, the reader key's encoding, the bundle fingerprint.
    pub const SIZE: usize = 2 + SigningKey::SIZE + ReaderSecretKey::SIZE + 32;

    /// The secret encoding, wiped when dropped: tag `0x30` ‖ format version ‖
    /// [`SigningKey::to_bytes`] ‖ [`ReaderSecretKey::to_bytes`] ‖ the fingerprint of the
    /// public bundle (a check value: [`PrincipalKeys::from_bytes`] recomputes it, so halves of
    /// two different principals, or a corrupted scalar, are refused).
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::SIZE]> {
        let signing = self.signing.to_bytes();
        let reader = self.reader.to_bytes();
        encoding::secret_envelope_parts(
            Tag::PrincipalKeys,
            &[
                &signing[..],
                &reader[..],
                self.bundle().fingerprint().as_bytes(),
            ],
        )
    }

    /// Decodes [`PrincipalKeys::to_bytes`]: length, tag, version, both scalars canonical and
    /// non-zero, and the public bundle they give matching the stored fingerprint.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::PrincipalKeys, "principal keys")?;
        let signing = SigningKey::from_bytes(r.take(SigningKey::SIZE)?)?;
        let reader = ReaderSecretKey::from_bytes(r.take(ReaderSecretKey::SIZE)?)?;
        let fingerprint = r.array::<32>()?;
        r.finish()?;
        let keys = Self { signing, reader };
        if keys.bundle().fingerprint().as_bytes() != &fingerprint {
            return Err(Error::invalid(
                "principal keys (the keys do not match the stored fingerprint)",
            ));
        }
        Ok(keys)
    }

    /// The public bundle to register and to be named by.
    pub fn bundle(&self) -> KeyBundle {
        KeyBundle::new(self.signing.verifying_key(), self.reader.public_key())
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The reader key.
    pub fn reader_key(&self) -> &ReaderSecretKey {
        &self.reader
    }

    /// A proof of possession of the signing key, for registration.
    pub fn prove_possession<R: RngCore + CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<ProofOfPossession, Error> {
        self.signing.prove_possession(rng)
    }
}

impl fmt::Debug for PrincipalKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrincipalKeys")
            .field("bundle", &self.bundle())
            .finish_non_exhaustive()
    }
}

pub(crate) fn push_bundle(out: &mut Vec<u8>, b: &KeyBundle) {
    out.extend_from_slice(&b.to_bytes());
}

pub(crate) fn read_bundle(r: &mut Reader<'_>) -> Result<KeyBundle, Error> {
    let bytes = r.take(KeyBundle::SIZE)?;
    if r.is_trusted() {
        KeyBundle::from_bytes_trusted(bytes)
    } else {
        KeyBundle::from_bytes(bytes)
    }
}
