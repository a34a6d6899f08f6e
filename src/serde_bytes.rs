//! serde support: values go through their canonical bytes, as lowercase hex in
//! human-readable formats (either case accepted on the way in) and as a byte string
//! otherwise; every error names what was being decoded.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::Visitor;
use serde::{Deserializer, Serializer};

/// Serializes `bytes`: hex if the format is human-readable, a byte string otherwise.
pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        let mut hex = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            for nib in [b >> 4, b & 0x0f] {
                hex.push(char::from(
                    HEX.get(usize::from(nib)).copied().unwrap_or(b'0'),
                ));
            }
        }
        s.serialize_str(&hex)
    } else {
        s.serialize_bytes(bytes)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Decodes hex of either case; the error says what was decoded and where it failed.
pub fn from_hex(v: &str, what: &str) -> Result<Vec<u8>, String> {
    let raw = v.as_bytes();
    if !raw.len().is_multiple_of(2) {
        return Err(alloc::format!(
            "{what}: odd number of hex digits ({})",
            raw.len()
        ));
    }
    let mut out = Vec::with_capacity(raw.len() / 2);
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        let mut b = 0u8;
        for (j, c) in pair.iter().enumerate() {
            let Some(d) = char::from(*c).to_digit(16) else {
                return Err(alloc::format!(
                    "{what}: invalid hex digit {:?} at position {}",
                    char::from(*c),
                    2 * i + j
                ));
            };
            // `d` is below 16.
            b = (b << 4) | d as u8;
        }
        out.push(b);
    }
    Ok(out)
}

struct BytesVisitor(&'static str);

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as hex (either case) or a byte string", self.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        from_hex(v, self.0).map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// Deserializes bytes written by [`serialize`]; `what` names the value in errors.
pub fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
) -> Result<Vec<u8>, D::Error> {
    if d.is_human_readable() {
        d.deserialize_str(BytesVisitor(what))
    } else {
        d.deserialize_bytes(BytesVisitor(what))
    }
}

/// `#[serde(with = "crate::serde_bytes::hex")]` for byte fields (`[u8; N]`, `Vec<u8>`).
pub mod hex {
    use alloc::vec::Vec;

    use serde::{Deserializer, Serializer};

    /// Serializes the bytes.
    pub fn serialize<T: AsRef<[u8]>, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        super::serialize(v.as_ref(), s)
    }

    /// Deserializes bytes of the field's length.
    pub fn deserialize<'de, T: TryFrom<Vec<u8>>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        let bytes = super::deserialize(d, "bytes")?;
        let n = bytes.len();
        T::try_from(bytes).map_err(|_| {
            serde::de::Error::custom(alloc::format!("bytes of the wrong length ({n})"))
        })
    }
}

/// `#[serde(with = "crate::serde_bytes::hex_list")]` for lists of byte strings.
pub mod hex_list {
    use alloc::vec::Vec;
    use core::fmt;
    use core::marker::PhantomData;

    use serde::de::{SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserializer, Serializer};

    struct Item<'a>(&'a [u8]);

    impl serde::Serialize for Item<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, s)
        }
    }

    struct Owned<T>(T);

    impl<'de, T: TryFrom<Vec<u8>>> serde::Deserialize<'de> for Owned<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::hex::deserialize(d).map(Owned)
        }
    }

    /// Serializes a list of byte strings.
    pub fn serialize<T: AsRef<[u8]>, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&Item(x.as_ref()))?;
        }
        seq.end()
    }

    struct ListVisitor<T>(PhantomData<T>);

    impl<'de, T: TryFrom<Vec<u8>>> Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of hex strings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(Owned(x)) = seq.next_element::<Owned<T>>()? {
                out.push(x);
            }
            Ok(out)
        }
    }

    /// Deserializes a list of byte strings.
    pub fn deserialize<'de, T: TryFrom<Vec<u8>>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(ListVisitor(PhantomData))
    }
}

/// A name for a fieldless enum value in serde: its `Debug` name in kebab case
/// (`NoReadRight` → `no-read-right`).
pub fn kebab(debug: &dyn fmt::Debug) -> String {
    let name = alloc::format!("{debug:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
