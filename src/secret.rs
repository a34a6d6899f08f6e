//! Secrets and their one encoding each, and the only way to put a secret through `serde`.
//!
//! Every secret a party keeps between runs has exactly one versioned encoding, `tag ‖ format
//! version ‖ fields`, returned in a buffer that is wiped when dropped:
//!
//! | secret | bytes | encoding |
//! |---|---|---|
//! | [`MasterSecret`] | [`MasterSecret::SIZE`] = 34 | tag `0x10` ‖ version ‖ 32 raw bytes |
//! | [`Owner`] | [`Owner::SIZE`] = 66 | tag `0x31` ‖ version ‖ 32 raw master-secret bytes ‖ owner bundle fingerprint |
//! | [`PrincipalKeys`] | [`PrincipalKeys::SIZE`] = 102 | tag `0x30` ‖ version ‖ signing key ‖ reader key ‖ bundle fingerprint |
//! | [`SigningKey`] | [`SigningKey::SIZE`] = 34 | tag `0x0a` ‖ version ‖ scalar |
//! | [`ReaderSecretKey`] | [`ReaderSecretKey::SIZE`] = 34 | tag `0x09` ‖ version ‖ scalar |
//! | [`SectionSecretKey`] | [`SectionSecretKey::SIZE`] = 34 | tag `0x08` ‖ version ‖ scalar |
//!
//! Decoders check the length, tag and version, that every scalar is canonical and non-zero,
//! and, where a fingerprint is stored, that the public keys the secrets give match it.
//!
//! Secrets implement neither `Serialize` nor `Deserialize`: a `#[derive(Serialize)]` on a
//! struct holding one does not compile. To serialize one anyway (into an encrypted key store,
//! say), wrap it in [`ExposeSecret`] — or tag the field with
//! `#[serde(with = "sesphr::secret::expose_secret")]` — so the choice is visible where it is
//! made. Both go through the encoding above (hex in human-readable formats, bytes otherwise);
//! the hex string this crate builds is wiped, the serializer's own output is the caller's.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use sesphr::phr::PrincipalKeys;
//! use sesphr::secret::ExposeSecret;
//! # let keys = PrincipalKeys::random(&mut sesphr::rand_core::OsRng);
//! let json = serde_json::to_string(&ExposeSecret(&keys)).unwrap();
//! let ExposeSecret(back): ExposeSecret<PrincipalKeys> = serde_json::from_str(&json).unwrap();
//! assert_eq!(back.bundle(), keys.bundle());
//! # }
//! ```

use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroizing;

use crate::phr::{MasterSecret, Owner, PrincipalKeys};
use crate::pre::{ReaderSecretKey, SectionSecretKey};
use crate::sign::SigningKey;
use crate::Error;

mod sealed {
    pub trait Sealed {}
}

/// A secret with one versioned encoding (the table in [`crate::secret`]). Implemented by this
/// crate's secrets only.
pub trait SecretEncoding: Sized + sealed::Sealed {
    /// What the secret is, for errors.
    const WHAT: &'static str;

    /// The encoding, wiped when dropped.
    fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>>;

    /// Decodes and checks the encoding.
    fn from_secret_bytes(bytes: &[u8]) -> Result<Self, Error>;
}

macro_rules! secret_encoding {
    ($ty:ty, $what:literal) => {
        impl sealed::Sealed for $ty {}

        impl SecretEncoding for $ty {
            const WHAT: &'static str = $what;

            fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
                Zeroizing::new(self.to_bytes()[..].to_vec())
            }

            fn from_secret_bytes(bytes: &[u8]) -> Result<Self, Error> {
                <$ty>::from_bytes(bytes)
            }
        }
    };
}

secret_encoding!(MasterSecret, "master secret");
secret_encoding!(Owner, "owner");
secret_encoding!(PrincipalKeys, "principal keys");
secret_encoding!(SigningKey, "signing key");
secret_encoding!(ReaderSecretKey, "reader secret key");
secret_encoding!(SectionSecretKey, "section secret key");

/// The explicit opt-in to serialize a secret: `ExposeSecret(&secret)` serializes its encoding,
/// and `ExposeSecret<T>` deserializes one (with the `serde` feature). The name is meant to
/// stand out in code review; nothing else in this crate serializes a secret.
///
/// `Debug` prints the type's name only.
pub struct ExposeSecret<T>(pub T);

impl<T> fmt::Debug for ExposeSecret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExposeSecret(..)")
    }
}

#[cfg(feature = "serde")]
mod with_serde {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt;

    use serde::de::{Error as _, Visitor};
    use serde::{Deserializer, Serializer};
    use zeroize::Zeroizing;

    use super::{ExposeSecret, SecretEncoding};

    const HEX: &[u8; 16] = b"0123456789abcdef";

    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }

    pub(super) fn serialize<T: SecretEncoding, S: Serializer>(
        secret: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let bytes = secret.to_secret_bytes();
        if s.is_human_readable() {
            let mut hex = Zeroizing::new(String::with_capacity(bytes.len() * 2));
            for b in bytes.iter() {
                for nib in [b >> 4, b & 0x0f] {
                    hex.push(char::from(
                        HEX.get(usize::from(nib)).copied().unwrap_or(b'0'),
                    ));
                }
            }
            s.serialize_str(&hex)
        } else {
            s.serialize_bytes(&bytes)
        }
    }

    struct SecretVisitor<T>(core::marker::PhantomData<T>);

    impl<T: SecretEncoding> SecretVisitor<T> {
        fn decode<E: serde::de::Error>(bytes: &[u8]) -> Result<T, E> {
            T::from_secret_bytes(bytes).map_err(E::custom)
        }
    }

    impl<'de, T: SecretEncoding> Visitor<'de> for SecretVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "the encoding of a {} (hex or bytes)", T::WHAT)
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            let raw = v.as_bytes();
            if !raw.len().is_multiple_of(2) {
                return Err(E::custom("odd-length hex"));
            }
            let mut out = Zeroizing::new(Vec::with_capacity(raw.len() / 2));
            for pair in raw.chunks_exact(2) {
                match pair {
                    [h, l] => match (nibble(*h), nibble(*l)) {
                        (Some(h), Some(l)) => out.push((h << 4) | l),
                        _ => return Err(E::custom("invalid hex")),
                    },
                    _ => return Err(E::custom("invalid hex")),
                }
            }
            Self::decode(&out)
        }

        fn visit_string<E: serde::de::Error>(self, v: alloc::string::String) -> Result<T, E> {
            // An owned hex string (formats that hand one over) is wiped after decoding.
            let v = Zeroizing::new(v);
            self.visit_str(&v)
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
            Self::decode(v)
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<T, E> {
            let v = Zeroizing::new(v);
            Self::decode(&v)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
            // The encodings are at most a few hundred bytes: stop reading past that. The buffer
            // never grows (no unwiped reallocation holds a prefix of the secret).
            let mut out = Zeroizing::new(Vec::with_capacity(1024));
            while let Some(b) = seq.next_element::<u8>()? {
                if out.len() >= 1024 {
                    return Err(A::Error::custom("too long for a secret encoding"));
                }
                out.push(b);
            }
            Self::decode(&out)
        }
    }

    pub(super) fn deserialize<'de, T: SecretEncoding, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        let v = SecretVisitor(core::marker::PhantomData);
        if d.is_human_readable() {
            // Hex, or an array of byte values (what a format without a byte type writes).
            d.deserialize_any(v)
        } else {
            d.deserialize_bytes(v)
        }
    }

    impl<T: SecretEncoding> serde::Serialize for ExposeSecret<&T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize(self.0, s)
        }
    }

    impl<'de, T: SecretEncoding> serde::Deserialize<'de> for ExposeSecret<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize(d).map(ExposeSecret)
        }
    }
}

/// For `#[serde(with = "sesphr::secret::expose_secret")]` on a field holding a secret: the
/// same explicit opt-in as [`ExposeSecret`], for a struct that derives `serde`.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct KeyStore {
///     #[serde(with = "sesphr::secret::expose_secret")]
///     keys: sesphr::phr::PrincipalKeys,
/// }
/// # }
/// ```
#[cfg(feature = "serde")]
pub mod expose_secret {
    use serde::{Deserializer, Serializer};

    use super::SecretEncoding;

    /// Serializes the secret's encoding.
    pub fn serialize<T: SecretEncoding, S: Serializer>(
        secret: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        super::with_serde::serialize(secret, s)
    }

    /// Deserializes and checks a secret's encoding.
    pub fn deserialize<'de, T: SecretEncoding, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        super::with_serde::deserialize(d)
    }
}
