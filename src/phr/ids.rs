//! Identifiers: newtypes for every id, so a section id can never be passed as a record id.

use core::fmt;

use rand_core::{CryptoRng, RngCore};

use crate::Error;

macro_rules! id16 {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty([u8; 16]);

        impl $ty {
            /// Wraps 16 opaque bytes.
            pub const fn new(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The 16 bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
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
    };
}

id16!(
    /// A record id: opaque, derived by the owner from a name it keeps to itself.
    RecordId
);
id16!(
    /// A section id: opaque, derived by the owner from the section's name.
    SectionId
);
id16!(
    /// A principal's id at the SRS, chosen by the application (for example a random UUID).
    PrincipalId
);
id16!(
    /// An entry id: 16 random bytes chosen by the writer.
    EntryId
);
id16!(
    /// An access request's id, derived by the SRS from the filing operation (its principal
    /// and nonce), never from a counter shared between instances.
    RequestId
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

/// A section key epoch. Rotation moves a section to the next epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The next epoch, or an error after `u32::MAX` rotations.
    pub fn next(self) -> Result<Self, Error> {
        self.0.checked_add(1).map(Epoch).ok_or(Error::TooLong {
            what: "epoch counter",
        })
    }
}

/// An ACL version: strictly increasing per record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclVersion(pub u64);

/// A caller-supplied time (the crate reads no clock), in seconds since an epoch of the
/// caller's choosing (Unix time is the natural one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

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

impl fmt::Display for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
