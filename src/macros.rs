//! Internal macros: serde through the canonical bytes, and the boilerplate of public point
//! newtypes.

/// Implements `serde::Serialize`/`Deserialize` through `to_bytes`/`from_bytes`: hex in
/// human-readable formats, raw bytes otherwise.
macro_rules! serde_via_bytes {
    (fallible $ty:ty, $what:literal) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let bytes = self.to_bytes().map_err(|e| {
                    <S::Error as serde::ser::Error>::custom(alloc::format!("{}: {}", $what, e))
                })?;
                crate::serde_bytes::serialize(&bytes, s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let bytes = crate::serde_bytes::deserialize(d, $what)?;
                <$ty>::from_bytes(&bytes)
                    .map_err(|e| serde::de::Error::custom(alloc::format!("{}: {}", $what, e)))
            }
        }
    };
    ($ty:ty, $what:literal) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                crate::serde_bytes::serialize(self.to_bytes().as_ref(), s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let bytes = crate::serde_bytes::deserialize(d, $what)?;
                <$ty>::from_bytes(&bytes)
                    .map_err(|e| serde::de::Error::custom(alloc::format!("{}: {}", $what, e)))
            }
        }
    };
}

/// Implements `serde::Serialize`/`Deserialize` through `Display`/`FromStr` in
/// human-readable formats and `to_bytes`/`from_bytes` otherwise (ids, fingerprints, hashes).
macro_rules! serde_via_str {
    ($ty:ty, $what:literal) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    s.serialize_bytes(self.to_bytes().as_ref())
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let fail =
                    |e: crate::Error| serde::de::Error::custom(alloc::format!("{}: {}", $what, e));
                if d.is_human_readable() {
                    let s = <alloc::string::String as serde::Deserialize>::deserialize(d)?;
                    s.parse::<$ty>().map_err(fail)
                } else {
                    let bytes = crate::serde_bytes::deserialize(d, $what)?;
                    <$ty>::from_bytes(&bytes).map_err(fail)
                }
            }
        }
    };
}

/// Serializes and deserializes a fieldless enum by its kebab-case name; `ALL` lists every
/// value (a bounded search).
macro_rules! serde_via_name {
    ($ty:ty, $what:literal, $all:expr) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&crate::serde_bytes::kebab(self))
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <alloc::string::String as serde::Deserialize>::deserialize(d)?;
                let all: &[$ty] = $all;
                all.iter()
                    .copied()
                    .find(|v| crate::serde_bytes::kebab(v) == name)
                    .ok_or_else(|| {
                        serde::de::Error::custom(alloc::format!(
                            "{}: unknown name {:?}",
                            $what,
                            name
                        ))
                    })
            }
        }
    };
}

/// A public value wrapping one curve point: fixed-size encoding `tag ‖ version ‖ point`,
/// equality and hashing by the canonical bytes, a short `Debug`.
macro_rules! point_newtype {
    ($ty:ident, $point:ty, $len:expr, $tag:expr, $what:literal, $encode:path, $decode:path) => {
        impl $ty {
            /// Size of the encoding in bytes (tag, version, compressed point).
            pub const SIZE: usize = 2 + $len;

            /// The canonical encoding: tag, version, compressed point.
            pub fn to_bytes(&self) -> [u8; Self::SIZE] {
                let mut out = [0u8; Self::SIZE];
                out[0] = $tag as u8;
                out[1] = crate::encoding::VERSION;
                out[2..].copy_from_slice(&$encode(&self.point));
                out
            }

            /// Decodes and checks: length, tag, version, canonical point on the curve, in the
            /// prime-order subgroup, not the identity.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::Error> {
                let mut r = crate::encoding::Reader::envelope(bytes, $tag, $what)?;
                let raw = r.take($len)?;
                r.finish()?;
                Ok(Self::from_point($decode(raw, $what)?))
            }

            /// Reads one encoding from `r`: checked, or without the curve and subgroup checks
            /// if `r` is trusted.
            #[allow(dead_code)]
            pub(crate) fn read(r: &mut crate::encoding::Reader<'_>) -> Result<Self, crate::Error> {
                let bytes = r.take(Self::SIZE)?;
                if r.is_trusted() {
                    Self::from_bytes_trusted(bytes)
                } else {
                    Self::from_bytes(bytes)
                }
            }

            /// Decodes an encoding this crate wrote and a trusted store returned, without
            /// the curve and subgroup checks.
            #[allow(dead_code)]
            pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, crate::Error> {
                let mut r = crate::encoding::Reader::envelope(bytes, $tag, $what)?;
                let raw = r.take($len)?;
                r.finish()?;
                Ok(Self::from_point(crate::encoding::decode_point_trusted(
                    raw, $what,
                )?))
            }

            /// The compressed point alone (no tag or version), as bound into derivations.
            pub(crate) fn point_bytes(&self) -> [u8; $len] {
                $encode(&self.point)
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.point == other.point
            }
        }

        impl Eq for $ty {}

        impl core::hash::Hash for $ty {
            fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
                self.point_bytes().hash(h)
            }
        }

        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let b = self.point_bytes();
                write!(f, "{}(", stringify!($ty))?;
                for byte in b.iter().take(8) {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("…)")
            }
        }

        crate::macros::serde_via_bytes!($ty, $what);
    };
}

/// The byte-string newtypes that have a text form (ids, fingerprints, ACL hashes): `from_bytes`
/// (exactly `$n` bytes), `TryFrom<&[u8]>`, `Display` as lowercase hex, `FromStr` from hex of
/// either case, and serde through that text.
macro_rules! hex_bytes {
    ($ty:ident, $n:literal, $what:literal) => {
        impl $ty {
            #[doc = concat!("From exactly ", stringify!($n), " bytes.")]
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::Error> {
                bytes
                    .try_into()
                    .map(Self)
                    .map_err(|_| crate::Error::InvalidEncoding {
                        what: $what,
                        field: Some(concat!("length (", stringify!($n), " bytes)")),
                    })
            }
        }

        /// Lowercase hex, two digits per byte.
        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                crate::phr::ids::write_hex(f, &self.0)
            }
        }

        /// Hex of either case, two digits per byte.
        impl core::str::FromStr for $ty {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, crate::Error> {
                crate::phr::ids::parse_hex(s, $what).map(Self)
            }
        }

        impl TryFrom<&[u8]> for $ty {
            type Error = crate::Error;
            fn try_from(bytes: &[u8]) -> Result<Self, crate::Error> {
                Self::from_bytes(bytes)
            }
        }

        crate::macros::serde_via_str!($ty, $what);
    };
}

pub(crate) use hex_bytes;
pub(crate) use point_newtype;
pub(crate) use serde_via_bytes;
pub(crate) use serde_via_name;
pub(crate) use serde_via_str;
