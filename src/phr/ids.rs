//! Identifiers: newtypes for every id, so a section id can never be passed as a record id.
//!
//! Every id is 16 opaque bytes: [`new`](RecordId::new) wraps them, [`as_bytes`](RecordId::as_bytes)
//! gives them back, `Display` and `FromStr` use 32 hex digits (lowercase out, either case in),
//! and `TryFrom<&[u8]>` takes exactly 16 bytes. Counters and times ([`Epoch`],
//! [`AclVersion`], [`Timestamp`]) wrap a number: [`new`](Epoch::new) and
//! [`get`](Epoch::get), `Display`/`FromStr` in decimal. With the `serde` feature, ids are
//! their hex string (bytes in binary formats) and counters and times are numbers.

use core::fmt;
use core::str::FromStr;

use rand_core::{CryptoRng, RngCore};

use crate::Error;

/// Parses exactly `N` bytes of hex (either case), for `what`.
pub(crate) fn parse_hex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], Error> {
    let raw = s.as_bytes();
    if raw.len() != 2 * N {
        return Err(Error::InvalidEncoding {
            what,
            field: Some("length (hex digits)"),
        });
    }
    let mut out = [0u8; N];
    for (dst, pair) in out.iter_mut().zip(raw.chunks_exact(2)) {
        let mut v = 0u8;
        for c in pair {
            let d = char::from(*c).to_digit(16).ok_or(Error::InvalidEncoding {
                what,
                field: Some("hex digit"),
            })?;
            // `d` is below 16.
            v = (v << 4) | d as u8;
        }
        *dst = v;
    }
    Ok(out)
}

/// Writes bytes as lowercase hex.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

macro_rules! id16 {
    ($(#[$doc:meta])* $ty:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty([u8; 16]);

        impl $ty {
            /// Size of the encoding in bytes (an id has no tag: it is always part of a
            /// larger encoding, or a row key).
            pub const SIZE: usize = 16;

            /// Wraps 16 opaque bytes.
            pub const fn new(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The 16 bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// The 16 bytes, by value (the encoding).
            pub const fn to_bytes(&self) -> [u8; 16] {
                self.0
            }

        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($ty))?;
                for b in self.0.iter().take(4) {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("…)")
            }
        }

        crate::macros::hex_bytes!($ty, 16, $what);

        impl From<[u8; 16]> for $ty {
            fn from(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }
        }

    };
}

id16!(
    /// A record id: opaque, derived by the owner from a name it keeps to itself.
    RecordId,
    "record id"
);
id16!(
    /// A section id: opaque, derived by the owner from the section's name.
    SectionId,
    "section id"
);
id16!(
    /// A principal's id at the SRS, chosen by the application (for example a random UUID).
    PrincipalId,
    "principal id"
);
id16!(
    /// An entry id: 16 random bytes chosen by the writer.
    EntryId,
    "entry id"
);
id16!(
    /// An access request's id, derived by the SRS from the filing operation (its principal
    /// and nonce), never from a counter shared between instances.
    RequestId,
    "request id"
);

impl EntryId {
    /// A fresh random entry id.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        Self(b)
    }
}

impl PrincipalId {
    /// A fresh random principal id.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        Self(b)
    }
}

macro_rules! number {
    ($(#[$doc:meta])* $ty:ident($int:ty), $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(pub(crate) $int);

        impl $ty {
            /// Wraps a number.
            pub const fn new(n: $int) -> Self {
                Self(n)
            }

            /// The number.
            pub const fn get(self) -> $int {
                self.0
            }
        }

        /// In decimal.
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        /// A decimal number.
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                s.parse().map(Self).map_err(|_| Error::InvalidEncoding {
                    what: $what,
                    field: Some("decimal number"),
                })
            }
        }

        impl From<$int> for $ty {
            fn from(n: $int) -> Self {
                Self(n)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$int>::deserialize(d).map(Self)
            }
        }
    };
}

number!(
    /// A section key epoch. Rotation moves a section to the next epoch.
    Epoch(u32),
    "epoch"
);

impl Epoch {
    /// The next epoch, or an error after `u32::MAX` rotations.
    pub fn next(self) -> Result<Self, Error> {
        self.0.checked_add(1).map(Epoch).ok_or(Error::TooLong {
            what: "epoch counter",
        })
    }
}

number!(
    /// An ACL version: strictly increasing per record.
    AclVersion(u64),
    "ACL version"
);

number!(
    /// A caller-supplied time (the crate reads no clock), in seconds since an epoch of the
    /// caller's choosing (Unix time is the natural one, and the one
    /// `From<std::time::SystemTime>` uses).
    Timestamp(u64),
    "timestamp"
);

/// Whole seconds since the Unix epoch, rounded down. A time before the Unix epoch
/// saturates to `Timestamp::new(0)`: the crate compares times only for order and expiry, and
/// no record predates 1970, so a clock that far wrong is treated as the earliest time
/// rather than failing every operation.
#[cfg(feature = "std")]
impl From<std::time::SystemTime> for Timestamp {
    fn from(t: std::time::SystemTime) -> Self {
        Self(
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        )
    }
}

/// A human-readable section name, validated: 1 to 64 bytes of lowercase ASCII letters,
/// digits and `-`, starting with a letter, no `--` and no trailing `-`.
///
/// Names stay with the owner: on the wire a section is its opaque [`SectionId`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SectionName(alloc::string::String);

impl SectionName {
    /// The original system's four sections.
    pub const STANDARD: [&'static str; 4] = ["personal", "insurance", "medical", "prescription"];

    /// Validates a section name.
    pub fn new(name: &str) -> Result<Self, Error> {
        let b = name.as_bytes();
        let reason = if b.is_empty() {
            Some("empty")
        } else if b.len() > 64 {
            Some("longer than 64 bytes")
        } else if !b.first().is_some_and(u8::is_ascii_lowercase) {
            Some("must start with a lowercase letter")
        } else if !b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        {
            Some("only lowercase letters, digits and '-' are allowed")
        } else if name.contains("--") || name.ends_with('-') {
            Some("no '--' and no trailing '-'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidName { reason }),
            None => Ok(Self(name.into())),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SectionName({:?})", self.0)
    }
}

/// Validates a section name (see [`SectionName::new`]).
impl FromStr for SectionName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for SectionName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for SectionName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::string::String as serde::Deserialize>::deserialize(d)?;
        Self::new(&s).map_err(|e| serde::de::Error::custom(format_args!("section name: {e}")))
    }
}

impl fmt::Display for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
