//! Every public type has an encoding, or is listed with the reason it has none.
//!
//! The lists live next to the public re-exports (`encodings` in each public module). The first
//! test parses the re-exports and the public declarations of those modules and fails on a
//! public type in none of the lists (a new type without an encoding); the second round-trips
//! every type of the `ENCODED` lists through its canonical bytes (where it has them), serde
//! JSON (human-readable: hex, strings, numbers) and CBOR (binary: byte strings), and
//! serializes every type of the `SERIALIZE_ONLY` lists and checks it has no `Deserialize`.

mod common;

use std::collections::BTreeSet;

/// (module source, its lists).
type Lists = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
);

/// A module's name, source file and lists.
macro_rules! module {
    ($name:literal, $file:literal, $($m:ident)::+) => {
        (
            $name,
            include_str!($file),
            (
                $($m)::+::encodings::ENCODED,
                $($m)::+::encodings::SERIALIZE_ONLY,
                $($m)::+::encodings::NOT_ENCODED,
            ),
        )
    };
}

fn modules() -> Vec<(&'static str, &'static str, Lists)> {
    vec![
        module!("crate root", "../src/lib.rs", sesphr),
        module!("pre", "../src/pre/mod.rs", sesphr::pre),
        module!("dem", "../src/dem/mod.rs", sesphr::dem),
        module!("sign", "../src/sign.rs", sesphr::sign),
        module!("merkle", "../src/merkle.rs", sesphr::merkle),
        module!("phr", "../src/phr/mod.rs", sesphr::phr),
        module!("srs", "../src/srs/mod.rs", sesphr::srs),
        module!("log", "../src/log/mod.rs", sesphr::log),
    ]
}

/// A type name: starts uppercase and is not an ALL_CAPS constant.
fn is_type_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().any(|c| c.is_ascii_lowercase())
}

/// The public type names a module file re-exports (`pub use`) or declares (`pub struct`,
/// `enum`, `trait`, `type`), outside its test module.
fn public_types(src: &str) -> BTreeSet<String> {
    let src = src.split("#[cfg(test)]\nmod tests").next().unwrap();
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(at) = rest.find("pub use ") {
        let tail = &rest[at + "pub use ".len()..];
        let end = tail.find(';').unwrap();
        let path = &tail[..end];
        let names = match path.find('{') {
            Some(open) => &path[open + 1..path.rfind('}').unwrap()],
            None => path.rsplit("::").next().unwrap(),
        };
        for n in names.split(',').map(str::trim) {
            let n = n.rsplit(" as ").next().unwrap().trim();
            if is_type_name(n) {
                out.insert(n.to_string());
            }
        }
        rest = &tail[end..];
    }
    for line in src.lines() {
        for kw in ["pub struct ", "pub enum ", "pub trait ", "pub type "] {
            if let Some(tail) = line.trim_start().strip_prefix(kw) {
                let name: String = tail
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if is_type_name(&name) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn every_public_type_has_an_encoding_or_a_reason() {
    let mut total = 0;
    for (module, src, (encoded, ser_only, none)) in modules() {
        let public = public_types(src);
        assert!(!public.is_empty(), "{module}: no public types parsed");
        let mut listed = BTreeSet::new();
        for name in encoded
            .iter()
            .chain(ser_only.iter().map(|(n, _)| n))
            .chain(none.iter().map(|(n, _)| n))
        {
            assert!(
                listed.insert(name.to_string()),
                "{module}: {name} listed twice"
            );
        }
        for (name, reason) in ser_only.iter().chain(none.iter()) {
            assert!(reason.len() > 8, "{module}: {name} needs a reason");
        }
        let unlisted: Vec<_> = public.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "{module}: public types with no encoding and no reason: {unlisted:?} \
             (add them to `encodings` in that module)"
        );
        let stale: Vec<_> = listed.difference(&public).collect();
        assert!(
            stale.is_empty(),
            "{module}: listed but not public: {stale:?}"
        );
        total += public.len();
    }
    assert!(total >= 80, "{total} public types");
}

/// The parser sees what a contributor would add.
#[test]
fn the_parser_finds_new_public_types() {
    let src = "pub use a::{Bee, cee, Dee as Eel};\npub use f::Gnu;\npub struct Hen;\n\
               pub(crate) struct Ibis;\npub const JAY_KIT: u8 = 1;\npub enum Kite {}\n\
               #[cfg(test)]\nmod tests {\n    pub struct Lark;\n}\n";
    let got: Vec<String> = public_types(src).into_iter().collect();
    assert_eq!(got, ["Bee", "Eel", "Gnu", "Hen", "Kite"]);
}

#[cfg(feature = "serde")]
#[path = "encodings/round_trip.rs"]
mod round_trip;
