//! serde forms of the PHR values that are neither canonical bytes nor derived: history and
//! rights as names or numbers, and the serialize-only verified ACL and section policy.

use core::fmt;

use crate::phr::{Epoch, History, Right};

/// serde: `"none"`, `"all"`, or the first epoch as a number (`FromEpoch`).
impl serde::Serialize for History {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            History::None => s.serialize_str("none"),
            History::All => s.serialize_str("all"),
            History::FromEpoch(e) => s.serialize_u32(e.0),
        }
    }
}

impl<'de> serde::Deserialize<'de> for History {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = History;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("history: \"none\", \"all\" or a first epoch (a number)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<History, E> {
                match v {
                    "none" => Ok(History::None),
                    "all" => Ok(History::All),
                    _ => Err(E::custom(alloc::format!(
                        "history: unknown name {v:?} (\"none\", \"all\" or an epoch number)"
                    ))),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<History, E> {
                u32::try_from(v)
                    .map(|e| History::FromEpoch(Epoch(e)))
                    .map_err(|_| E::custom(alloc::format!("history: epoch {v} exceeds u32")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<History, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("history: negative epoch"))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// serde: `"write"`, `"read"` (the ACL's default history), or `{"read": history}` with a
/// [`History`] (`"none"`, `"all"` or a first epoch).
impl serde::Serialize for Right {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Right::Write => s.serialize_str("write"),
            Right::Read(None) => s.serialize_str("read"),
            Right::Read(Some(h)) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("read", h)?;
                m.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Right {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Right;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("right: \"write\", \"read\" or {\"read\": history}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Right, E> {
                match v {
                    "write" => Ok(Right::Write),
                    "read" => Ok(Right::Read(None)),
                    _ => Err(E::custom(alloc::format!("right: unknown name {v:?}"))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Right, A::Error> {
                use serde::de::Error as _;
                let key: alloc::string::String = m
                    .next_key()?
                    .ok_or_else(|| A::Error::custom("right: empty map"))?;
                if key != "read" {
                    return Err(A::Error::custom(alloc::format!(
                        "right: unknown key {key:?}"
                    )));
                }
                let h: History = m.next_value()?;
                if m.next_key::<alloc::string::String>()?.is_some() {
                    return Err(A::Error::custom("right: more than one key"));
                }
                Ok(Right::Read(Some(h)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Serialized as its ACL (canonical bytes, hex in human-readable formats). There is no
/// `Deserialize`: a verified ACL is made only by checking a signature, so store the
/// [`SignedAcl`](crate::phr::SignedAcl) and verify it again when loading.
impl serde::Serialize for crate::phr::VerifiedAcl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

/// Serialized as its read-only view ([`crate::phr::SectionView`]); no `Deserialize`: a
/// section policy is part of an ACL, so decode the ACL.
impl serde::Serialize for crate::phr::SectionPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::phr::view::SectionView::of(self, None).serialize(s)
    }
}
