//! serde support: every type goes through its canonical bytes, as lowercase hex in
//! human-readable formats and as a byte string otherwise.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{Error as _, Visitor};
use serde::{Deserializer, Serializer};

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

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lowercase hex or a byte string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        let raw = v.as_bytes();
        if !raw.len().is_multiple_of(2) {
            return Err(E::custom("odd-length hex"));
        }
        raw.chunks_exact(2)
            .map(|p| match p {
                [h, l] => match (nibble(*h), nibble(*l)) {
                    (Some(h), Some(l)) => Ok((h << 4) | l),
                    _ => Err(E::custom("invalid hex")),
                },
                _ => Err(E::custom("invalid hex")),
            })
            .collect()
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

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    if d.is_human_readable() {
        d.deserialize_str(BytesVisitor)
    } else {
        d.deserialize_bytes(BytesVisitor)
    }
    .map_err(D::Error::custom)
}
