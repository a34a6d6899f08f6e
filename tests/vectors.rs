//! Known-answer vectors in `tests/vectors/`: deterministic seeds → exact bytes, and hostile
//! encodings → exact errors. Each file says what it exercises and what it expects.
//!
//! Regenerate (only when the format changes on purpose, with a note in the changelog):
//! `SESPHR_WRITE_VECTORS=1 cargo test --test vectors`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use ark_bls12_381::{Fq, Fq12};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::dem::{seal_body, DataKey, NoncePrefix, WrappedKey};
use sesphr::phr::{
    AclUpdate, Change, Epoch, History, MasterSecret, Owner, PrincipalKeys, SectionName, SignedAcl,
    Timestamp,
};
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderSecretKey, SectionPublicKey, SectionSecretKey,
};
use sesphr::sign::{Purpose, Signature, SigningKey};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

/// A vector file: `# comments`, then `key: value` lines.
struct Vector {
    comment: String,
    fields: Vec<(String, String)>,
}

impl Vector {
    fn render(&self) -> String {
        let mut s = String::new();
        for line in self.comment.lines() {
            writeln!(s, "# {line}").unwrap();
        }
        for (k, v) in &self.fields {
            writeln!(s, "{k}: {v}").unwrap();
        }
        s
    }

    fn parse(text: &str) -> BTreeMap<String, String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (k, v) = l.split_once(": ").expect("key: value");
                (k.to_string(), v.to_string())
            })
            .collect()
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + 7) as u8).collect()
}

/// Recomputes a full KEM + DEM + signature chain from the inputs of a KAT file.
fn kat_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let seed = |k: &str| -> [u8; 32] { unhex(&inputs[k]).try_into().expect("32-byte seed") };
    let a = SectionSecretKey::from_seed(&seed("section_seed")).unwrap();
    let b = ReaderSecretKey::from_seed(&seed("reader_seed")).unwrap();
    let sk = SigningKey::from_seed(&seed("signing_seed")).unwrap();
    let mut rng = ChaCha20Rng::from_seed(seed("rng_seed"));
    let context = unhex(&inputs["context"]);
    let plaintext = data(inputs["plaintext_len"].parse().unwrap());

    let (capsule, k) = encapsulate(&a.public_key(), &context, &mut rng).unwrap();
    let rk = ReKey::new(&a, &b.public_key());
    let rc = rk.reencrypt(&capsule);
    let k_reader = b
        .decapsulate_reencrypted(&rc, &a.public_key(), &context)
        .unwrap();
    assert_eq!(k_reader, k);
    assert_eq!(a.decapsulate(&capsule, &context).unwrap(), k);
    let dk = DataKey::random(&mut rng);
    let prefix = NoncePrefix::random(&mut rng);
    let wrapped = dk.wrap(&k, &context);
    let body = seal_body(&dk, &prefix, &context, &plaintext).unwrap();
    let sig = sk
        .sign(
            Purpose::Entry,
            &[&context, &body[..body.len().min(64)]],
            &mut rng,
        )
        .unwrap();
    sk.verifying_key()
        .verify(
            Purpose::Entry,
            &[&context, &body[..body.len().min(64)]],
            &sig,
        )
        .unwrap();
    vec![
        ("section_public_key".into(), hex(&a.public_key().to_bytes())),
        ("section_secret_key".into(), hex(&a.to_bytes()[..])),
        ("reader_public_key".into(), hex(&b.public_key().to_bytes())),
        ("verifying_key".into(), hex(&sk.verifying_key().to_bytes())),
        ("capsule".into(), hex(&capsule.to_bytes())),
        ("shared_key".into(), hex(k.as_bytes())),
        ("rekey".into(), hex(&rk.to_bytes())),
        ("recapsule".into(), hex(&rc.to_bytes())),
        ("data_key_wrapped".into(), hex(&wrapped.to_bytes())),
        ("nonce_prefix".into(), hex(&prefix.0)),
        ("body_len".into(), body.len().to_string()),
        ("body_sha256".into(), sha(&body)),
        ("body_head".into(), hex(&body[..body.len().min(64)])),
        ("signature".into(), hex(&sig.to_bytes())),
    ]
}

fn kat_inputs(i: u8, context: &[u8], len: usize) -> Vec<(String, String)> {
    vec![
        ("section_seed".into(), hex(&[i; 32])),
        ("reader_seed".into(), hex(&[i + 100; 32])),
        ("signing_seed".into(), hex(&[i + 200; 32])),
        ("rng_seed".into(), hex(&[i ^ 0x5a; 32])),
        ("context".into(), hex(context)),
        ("plaintext_len".into(), len.to_string()),
    ]
}

fn owner_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let master: [u8; 32] = unhex(&inputs["master"]).try_into().unwrap();
    let owner = Owner::from_master(MasterSecret::from_raw(master)).unwrap();
    let record = owner.record_id(&inputs["record_name"]).unwrap();
    let section = owner.section_id(&SectionName::new(&inputs["section_name"]).unwrap());
    let mut out = vec![
        (
            "owner_bundle".into(),
            hex(&owner.keys().bundle().to_bytes()),
        ),
        ("record_id".into(), hex(record.as_bytes())),
        ("section_id".into(), hex(section.as_bytes())),
    ];
    for e in 0..3 {
        let k = owner.section_key(record, section, Epoch(e)).unwrap();
        out.push((
            format!("section_key_epoch_{e}"),
            hex(&k.public_key().to_bytes()),
        ));
    }
    out
}

/// A record's first two ACL versions from seeds: the owner-signed ACL bytes (format v2), their
/// hashes and key-set roots, and the update bytes with their key proofs (SPEC §7).
fn acl_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let master: [u8; 32] = unhex(&inputs["master"]).try_into().unwrap();
    let owner = Owner::from_master(MasterSecret::from_raw(master)).unwrap();
    let reader_seed: [u8; 32] = unhex(&inputs["reader_seed"]).try_into().unwrap();
    let reader = PrincipalKeys::from_parts(
        SigningKey::from_seed(&reader_seed).unwrap(),
        ReaderSecretKey::from_seed(&reader_seed).unwrap(),
    );
    let rng_seed: [u8; 32] = unhex(&inputs["rng_seed"]).try_into().unwrap();
    let mut rng = ChaCha20Rng::from_seed(rng_seed);
    let record = owner.record_id("main").unwrap();
    let section = owner.section_id(&SectionName::new("medical").unwrap());
    let until = Timestamp(1_900_000_000);
    let v1 = owner
        .create_record(
            record,
            until,
            &[
                Change::AddSection { section },
                Change::GrantRead {
                    section,
                    reader: reader.bundle(),
                    history: History::None,
                },
            ],
            &mut rng,
        )
        .unwrap();
    let acl1 = v1.acl().verify(&owner.verifying_key()).unwrap();
    let v2 = owner
        .update(&acl1, until, &[Change::Rotate { section }], &mut rng)
        .unwrap();
    let mut out = Vec::new();
    for (n, u) in [(1, &v1), (2, &v2)] {
        assert_eq!(AclUpdate::from_bytes(&u.to_bytes()).unwrap(), *u);
        let acl = u.acl().acl_unverified();
        out.push((format!("acl_v{n}"), hex(&acl.to_bytes().unwrap())));
        out.push((format!("acl_v{n}_hash"), hex(u.acl().hash().as_bytes())));
        out.push((format!("acl_v{n}_keys_root"), hex(acl.key_set().root())));
        out.push((format!("update_v{n}"), hex(&u.to_bytes())));
    }
    assert_eq!(v2.acl().acl_unverified().previous(), v1.acl().hash());
    out
}

fn positive_vectors() -> Vec<(String, Vector)> {
    let mut v = Vec::new();
    for (i, (ctx, len, what)) in [
        (
            &b""[..],
            0usize,
            "empty context, empty body (one empty final segment)",
        ),
        (b"entry-header-hash", 1, "one-byte body"),
        (
            &[0xab; 32][..],
            65_536,
            "exactly one full segment, flagged last",
        ),
        (
            &[0x01; 32][..],
            65_537,
            "two segments, the second holding one byte",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let inputs = kat_inputs(i as u8 + 1, ctx, len);
        let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
        let mut fields = vec![
            ("kind".to_string(), "kat".to_string()),
            ("expect".into(), "success".into()),
        ];
        fields.extend(inputs);
        fields.extend(kat_outputs(&parsed));
        v.push((
            format!("kat-chain-{}.txt", i + 1),
            Vector { comment: format!("Full chain from seeds: keys, capsule, rekey, recapsule, shared key,\nwrapped data key, STREAM body, signature. Edge: {what}."), fields },
        ));
    }
    let inputs = vec![
        ("master".to_string(), hex(&[0x42; 32])),
        ("record_name".into(), "main".into()),
        ("section_name".into(), "mental-health".into()),
    ];
    let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
    let mut fields = vec![
        ("kind".to_string(), "owner".to_string()),
        ("expect".into(), "success".into()),
    ];
    fields.extend(inputs);
    fields.extend(owner_outputs(&parsed));
    v.push((
        "kat-owner-derivations.txt".into(),
        Vector { comment: "Owner derivations from a master secret: owner keys, opaque record and\nsection ids, section keys of epochs 0..2 (SPEC §4).".into(), fields },
    ));
    let inputs = vec![
        ("master".to_string(), hex(&[0x42; 32])),
        ("reader_seed".into(), hex(&[0x17; 32])),
        ("rng_seed".into(), hex(&[0x05; 32])),
    ];
    let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
    let mut fields = vec![
        ("kind".to_string(), "acl".to_string()),
        ("expect".into(), "success".into()),
    ];
    fields.extend(inputs);
    fields.extend(acl_outputs(&parsed));
    v.push((
        "kat-acl-chain.txt".into(),
        Vector { comment: "A record's first two ACL versions (format 2): owner-signed ACL bytes, their\nhashes (v2 chains to v1) and key-set roots, and the updates with their key proofs\n(SPEC §4, §7). Record \"main\", section \"medical\", one reader granted without\nhistory, then a rotation.".into(), fields },
    ));
    v
}

/// The first ACL of the ACL vector, re-encoded with `patch` applied (hostile ACLs).
fn patched_acl(patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let inputs: BTreeMap<String, String> = [
        ("master".to_string(), hex(&[0x42; 32])),
        ("reader_seed".into(), hex(&[0x17; 32])),
        ("rng_seed".into(), hex(&[0x05; 32])),
    ]
    .into_iter()
    .collect();
    let outputs: BTreeMap<String, String> = acl_outputs(&inputs).into_iter().collect();
    let mut acl = unhex(&outputs["acl_v1"]);
    patch(&mut acl);
    acl
}

/// Offsets in an ACL with one section (`docs/encoding.md`).
const ACL_KEYS_SIZE_AT: usize = 2 + 16 + 8 + 8 + 32 + 32;
const ACL_EPOCH_AT: usize = ACL_KEYS_SIZE_AT + 8 + sesphr::phr::KeyBundle::SIZE + 5 + 4 + 16;

/// Hostile encodings, each with the exact error it must produce.
fn negative_vectors() -> Vec<(String, Vector)> {
    let a = SectionSecretKey::from_seed(&[1; 32]).unwrap();
    let b = ReaderSecretKey::from_seed(&[2; 32]).unwrap();
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let (capsule, _) = encapsulate(&a.public_key(), b"", &mut rng).unwrap();
    let rc = ReKey::new(&a, &b.public_key())
        .reencrypt(&capsule)
        .to_bytes();
    let t = Fq12::deserialize_uncompressed(&rc[50..]).unwrap();
    let with_t = |f: Fq12| {
        let mut out = rc.to_vec();
        let mut enc = Vec::new();
        f.serialize_uncompressed(&mut enc).unwrap();
        out[50..].copy_from_slice(&enc);
        out
    };
    let mut ident = vec![0x03, 1, 0xc0];
    ident.extend([0u8; 47]);
    let mut off = vec![0x03, 1];
    off.extend(off_subgroup_point());
    let mut noncanon_scalar = vec![0x08, 1];
    noncanon_scalar.extend(ark_bls12_381::Fr::MODULUS.to_bytes_le());
    let mut bad_gt_coord = rc.to_vec();
    bad_gt_coord[50..98].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    let mut sig_zero_s = {
        let sk = SigningKey::from_seed(&[9; 32]).unwrap();
        sk.sign(Purpose::Acl, &[b"x"], &mut rng)
            .unwrap()
            .to_bytes()
            .to_vec()
    };
    sig_zero_s[50..].fill(0);
    let acl_what = "InvalidEncoding { what: \"ACL\" }";
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("acl-valid", "acl", patched_acl(|_| ()), "ok"),
        (
            "acl-format-1",
            "acl",
            patched_acl(|a| a[1] = 1),
            "UnknownVersion { what: \"ACL\", version: 1 }",
        ),
        (
            "acl-first-after-epoch",
            "acl",
            patched_acl(|a| a[ACL_EPOCH_AT + 4..ACL_EPOCH_AT + 8].copy_from_slice(&[0, 0, 0, 9])),
            acl_what,
        ),
        (
            "acl-key-count-mismatch",
            "acl",
            patched_acl(|a| a[ACL_KEYS_SIZE_AT + 7] ^= 1),
            acl_what,
        ),
        (
            "acl-update-format-1",
            "acl-update",
            vec![0x1c, 1, 0, 0, 0, 0],
            "UnknownVersion { what: \"ACL update\", version: 1 }",
        ),
        (
            "signed-acl-format-1",
            "signed-acl",
            vec![0x16, 1, 0, 0, 0, 0],
            "UnknownVersion { what: \"signed ACL\", version: 1 }",
        ),
        ("recapsule-valid", "recapsule", rc.to_vec(), "ok"),
        (
            "recapsule-t-one",
            "recapsule",
            with_t(Fq12::one()),
            "InvalidGtElement(Trivial)",
        ),
        (
            "recapsule-t-zero",
            "recapsule",
            with_t(Fq12::zero()),
            "InvalidGtElement(Trivial)",
        ),
        (
            "recapsule-t-not-cyclotomic",
            "recapsule",
            with_t(t + Fq12::one()),
            "InvalidGtElement(NotCyclotomic)",
        ),
        (
            "recapsule-t-times-omega",
            "recapsule",
            with_t(t * common::cube_root_of_unity()),
            "InvalidGtElement(NotCyclotomic)",
        ),
        (
            "recapsule-order-4513",
            "recapsule",
            with_t(common::order_4513()),
            "InvalidGtElement(WrongOrder)",
        ),
        (
            "recapsule-t-times-order-4513",
            "recapsule",
            with_t(t * common::order_4513()),
            "InvalidGtElement(WrongOrder)",
        ),
        (
            "recapsule-noncanonical-coordinate",
            "recapsule",
            bad_gt_coord,
            "InvalidEncoding { what: \"re-encrypted capsule\" }",
        ),
        (
            "recapsule-truncated",
            "recapsule",
            rc[..rc.len() - 1].to_vec(),
            "InvalidEncoding { what: \"re-encrypted capsule\" }",
        ),
        (
            "recapsule-trailing-byte",
            "recapsule",
            [&rc[..], &[0]].concat(),
            "InvalidEncoding { what: \"re-encrypted capsule\" }",
        ),
        (
            "recapsule-unknown-version",
            "recapsule",
            [&[0x05, 2], &rc[2..]].concat(),
            "UnknownVersion { what: \"re-encrypted capsule\", version: 2 }",
        ),
        (
            "capsule-valid",
            "capsule",
            capsule.to_bytes().to_vec(),
            "ok",
        ),
        (
            "capsule-identity",
            "capsule",
            ident,
            "IdentityPoint { what: \"capsule\" }",
        ),
        (
            "capsule-off-subgroup",
            "capsule",
            off,
            "NotInSubgroup { what: \"capsule\" }",
        ),
        (
            "capsule-wrong-tag",
            "capsule",
            [&[0x01, 1], &capsule.to_bytes()[2..]].concat(),
            "UnknownTag { what: \"capsule\", tag: 1 }",
        ),
        (
            "section-secret-zero",
            "section-secret-key",
            [&[0x08, 1][..], &[0u8; 32]].concat(),
            "ZeroScalar { what: \"section secret key\" }",
        ),
        (
            "section-secret-noncanonical",
            "section-secret-key",
            noncanon_scalar,
            "NonCanonicalScalar { what: \"section secret key\" }",
        ),
        (
            "signature-zero-s",
            "signature",
            sig_zero_s,
            "ZeroScalar { what: \"signature\" }",
        ),
        (
            "wrapped-key-short",
            "wrapped-key",
            vec![0x0b, 1, 0, 0],
            "InvalidEncoding { what: \"wrapped key\" }",
        ),
    ];
    cases
        .into_iter()
        .map(|(name, ty, input, expect)| {
            let comment = format!("Decoding {ty}: {}.", name.replace('-', " "));
            let fields = vec![
                ("kind".to_string(), "decode".to_string()),
                ("type".into(), ty.to_string()),
                ("input".into(), hex(&input)),
                (
                    "expect".into(),
                    if expect == "ok" {
                        "ok".into()
                    } else {
                        format!("error {expect}")
                    },
                ),
            ];
            (format!("decode-{name}.txt"), Vector { comment, fields })
        })
        .collect()
}

fn off_subgroup_point() -> [u8; 48] {
    let mut x = Fq::from(1u64);
    loop {
        if let Some(p) = ark_bls12_381::G1Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                let mut out = [0u8; 48];
                p.serialize_compressed(&mut out[..]).unwrap();
                return out;
            }
        }
        x += Fq::one();
    }
}

fn decode(ty: &str, input: &[u8]) -> Result<(), sesphr::Error> {
    match ty {
        "recapsule" => ReCapsule::from_bytes(input).map(drop),
        "capsule" => Capsule::from_bytes(input).map(drop),
        "section-public-key" => SectionPublicKey::from_bytes(input).map(drop),
        "section-secret-key" => SectionSecretKey::from_bytes(input).map(drop),
        "signature" => Signature::from_bytes(input).map(drop),
        "wrapped-key" => WrappedKey::from_bytes(input).map(drop),
        "acl" => sesphr::phr::Acl::from_bytes(input).map(drop),
        "acl-update" => AclUpdate::from_bytes(input).map(drop),
        "signed-acl" => SignedAcl::from_bytes(input).map(drop),
        other => panic!("unknown vector type {other}"),
    }
}

fn check(name: &str, text: &str) {
    let f = Vector::parse(text);
    match f["kind"].as_str() {
        "kat" => {
            for (k, v) in kat_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "acl" => {
            for (k, v) in acl_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "owner" => {
            for (k, v) in owner_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "decode" => {
            let got = match decode(&f["type"], &unhex(&f["input"])) {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error {e:?}"),
            };
            assert_eq!(got, f["expect"], "{name}");
        }
        k => panic!("{name}: unknown kind {k}"),
    }
}

#[test]
fn vectors_match() {
    let all: Vec<(String, Vector)> = positive_vectors()
        .into_iter()
        .chain(negative_vectors())
        .collect();
    if std::env::var_os("SESPHR_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, v) in &all {
            std::fs::write(dir().join(name), v.render()).unwrap();
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= all.len(),
        "vector files missing: run with SESPHR_WRITE_VECTORS=1"
    );
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        check(&path.file_name().unwrap().to_string_lossy(), &text);
    }
    // Every generated vector exists on disk with the same content: the files are the truth,
    // and a change to a derivation or an encoding shows up as a failing field above.
    for (name, v) in &all {
        let on_disk = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
        assert_eq!(
            on_disk,
            v.render(),
            "{name} differs from what the code produces"
        );
    }
}
