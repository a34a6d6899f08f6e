//! The seed corpus of the fuzz targets (`fuzz/corpus/TARGET/`): valid encodings made from
//! the fixed cast of `fuzz/logic.rs`, and near-misses of each (truncated, extended,
//! bit-flipped, wrong tag or version, identity and off-subgroup points, non-canonical and zero
//! scalars, GT elements of small order, broken canonical order, forged signatures, …).
//!
//! Regenerate with `cargo test --test corpus_replay -- --ignored generate_corpus`. Files named
//! `valid-*` must be accepted by their target (the replay test checks it); files named
//! `regression-*` (crash reproducers) are kept as they are.

use std::fs;
use std::path::Path;

use ark_bls12_381::{Fq, Fq12, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, One, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress};
use sesphr::dem::SEGMENT_SIZE;
use sesphr::merkle::InclusionProof;
use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use sesphr::phr::{AclUpdate, Change, EntryId, History, ReKeyGrant, Role, SealedEntry, Timestamp};
use sesphr::pre::{ReKey, SectionSecretKey};
use sesphr::sign::Purpose;
use sesphr::srs::{Operation, Reencrypted, Refusal, Response, SignedOperation, SrsId, MAX_BATCH};

use crate::logic::{self, *};

/// One target's files.
struct Dir {
    files: Vec<(String, Vec<u8>)>,
}

impl Dir {
    fn new() -> Self {
        Self { files: Vec::new() }
    }

    fn add(&mut self, name: &str, bytes: Vec<u8>) {
        assert!(
            !self.files.iter().any(|(n, _)| n == name),
            "duplicate corpus name {name}"
        );
        self.files.push((name.to_string(), bytes));
    }

    /// A valid encoding and its generic near-misses.
    fn valid_and_near(&mut self, name: &str, valid: &[u8], flips: &[usize]) {
        self.add(&format!("valid-{name}"), valid.to_vec());
        self.near(name, valid, flips);
    }

    /// Generic near-misses of `valid`: truncated, extended, wrong tag, versions 0 and one
    /// either side of the current one, bit flips at the given offsets (clamped to the length).
    fn near(&mut self, name: &str, valid: &[u8], flips: &[usize]) {
        let n = valid.len();
        self.add(&format!("trunc1-{name}"), valid[..n - 1].to_vec());
        self.add(&format!("trunchalf-{name}"), valid[..n / 2].to_vec());
        let mut long = valid.to_vec();
        long.push(0);
        self.add(&format!("trailing-{name}"), long);
        let mut t = valid.to_vec();
        t[0] ^= 0x20;
        self.add(&format!("tag-{name}"), t);
        let current = valid[1];
        let mut versions = vec![0u8, current.wrapping_sub(1), current.wrapping_add(1)];
        versions.dedup();
        for v in versions {
            let mut t = valid.to_vec();
            t[1] = v;
            self.add(&format!("version{v}-{name}"), t);
        }
        for &at in flips {
            let at = at.min(n - 1);
            let mut t = valid.to_vec();
            t[at] ^= 0x01;
            let tag = format!("flip{at}-{name}");
            if !self.files.iter().any(|(f, _)| *f == tag) {
                self.add(&tag, t);
            }
        }
    }

    /// [`Dir::near`] of a row value, each written into row `index` (see `logic::row_input`).
    fn near_row(&mut self, name: &str, index: usize, value: &[u8], flips: &[usize]) {
        let mut tmp = Dir::new();
        tmp.near(name, value, flips);
        for (n, v) in tmp.files {
            self.add(&n, row_input(index, &v));
        }
    }

    fn write(self, root: &Path, target: &str) {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("corpus dir");
        for e in fs::read_dir(&dir).expect("read corpus dir") {
            let p = e.expect("entry").path();
            let keep = p
                .file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with("regression-"));
            if !keep {
                fs::remove_file(&p).expect("remove old seed");
            }
        }
        for (name, bytes) in self.files {
            fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
}

// ----- curve and field helpers -------------------------------------------------------------

fn fq_be(x: &Fq) -> [u8; 48] {
    let mut out = [0u8; 48];
    out.copy_from_slice(&x.into_bigint().to_bytes_be());
    out
}

fn modulus_be() -> [u8; 48] {
    let mut out = [0u8; 48];
    out.copy_from_slice(&Fq::MODULUS.to_bytes_be());
    out
}

fn g1(p: &G1Affine) -> Vec<u8> {
    let mut v = Vec::new();
    p.serialize_compressed(&mut v).expect("serialize");
    v
}

fn g2(p: &G2Affine) -> Vec<u8> {
    let mut v = Vec::new();
    p.serialize_compressed(&mut v).expect("serialize");
    v
}

/// Compressed G1 encodings that must be refused, by name.
fn bad_g1() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut id = vec![0u8; 48];
    id[0] = 0xc0;
    out.push(("identity", id.clone()));
    id[47] = 1;
    out.push(("infinity-nonzero", id));
    let mut gen = g1(&G1Affine::generator());
    gen[0] &= 0x7f;
    out.push(("uncompressed-flag", gen));
    let mut p = modulus_be().to_vec();
    p[0] |= 0x80;
    out.push(("x-is-p", p));
    let (mut off_curve, mut off_group) = (None, None);
    let mut x = 1u64;
    while off_curve.is_none() || off_group.is_none() {
        match G1Affine::get_point_from_x_unchecked(Fq::from(x), false) {
            None if off_curve.is_none() => {
                let mut b = fq_be(&Fq::from(x)).to_vec();
                b[0] |= 0x80;
                off_curve = Some(b);
            }
            Some(pt) if off_group.is_none() && !pt.is_in_correct_subgroup_assuming_on_curve() => {
                off_group = Some(g1(&pt));
            }
            _ => {}
        }
        x += 1;
    }
    out.push(("not-on-curve", off_curve.expect("found")));
    out.push(("not-in-subgroup", off_group.expect("found")));
    out
}

/// Compressed G2 encodings that must be refused, by name.
fn bad_g2() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut id = vec![0u8; 96];
    id[0] = 0xc0;
    out.push(("identity", id));
    let mut gen = g2(&G2Affine::generator());
    gen[0] &= 0x7f;
    out.push(("uncompressed-flag", gen));
    let mut p = modulus_be().to_vec();
    p.extend_from_slice(&[0u8; 48]);
    p[0] |= 0x80;
    out.push(("x-is-p", p));
    let (mut off_curve, mut off_group) = (None, None);
    let mut x = 1u64;
    while off_curve.is_none() || off_group.is_none() {
        let fx = Fq2::new(Fq::from(x), Fq::one());
        match G2Affine::get_point_from_x_unchecked(fx, false) {
            None if off_curve.is_none() => {
                let mut b = fq_be(&fx.c1).to_vec();
                b.extend_from_slice(&fq_be(&fx.c0));
                b[0] |= 0x80;
                off_curve = Some(b);
            }
            Some(pt) if off_group.is_none() && !pt.is_in_correct_subgroup_assuming_on_curve() => {
                off_group = Some(g2(&pt));
            }
            _ => {}
        }
        x += 1;
    }
    out.push(("not-on-curve", off_curve.expect("found")));
    out.push(("not-in-subgroup", off_group.expect("found")));
    out
}

/// 32-byte scalar encodings that must be refused, by name.
fn bad_scalars() -> Vec<(&'static str, Vec<u8>)> {
    let r = Fr::MODULUS.to_bytes_le();
    let mut r1 = r.clone();
    r1[0] += 1;
    vec![
        ("zero", vec![0u8; 32]),
        ("r", r),
        ("r-plus-1", r1),
        ("all-ones", vec![0xff; 32]),
    ]
}

/// `envelope[..2] ‖ replacement` at `offset`.
fn splice(valid: &[u8], offset: usize, replacement: &[u8]) -> Vec<u8> {
    let mut out = valid.to_vec();
    out[offset..offset + replacement.len()].copy_from_slice(replacement);
    out
}

fn gt_bytes(f: &Fq12) -> Vec<u8> {
    let mut v = Vec::new();
    f.serialize_with_mode(&mut v, Compress::No)
        .expect("serialize");
    v
}

/// Φ12(p) / 4513 for BLS12-381, big-endian hex.
const PHI12_OVER_4513: &str = "6552a4bb30e884792d56b767a0ff34202c35e1745877f7bbcfbd62c9ee0b366090e00227c1f0b91e6e264e57deb6263e26c181d1c6ac88d6dd01f53279553cc486189e16a228a00ecd6bdb453852a169b0cab754dcb74fc1c134a671f6b0dc97447a3e96981e3ef618ab612749d5d4c600988f6c3b0a2db1754d3ef43feb5094f664d01f3d5ba756d010548081e28cfd1a2a5f33ab5e8587ab22ef0aad3de271e9f30db60be8b45143a5e8da1ac92a0f0168e49bde55b163f39ac229d9";

fn limbs_from_hex(h: &str) -> Vec<u64> {
    let padded = format!("{:0>width$}", h, width = h.len().div_ceil(16) * 16);
    padded
        .as_bytes()
        .rchunks(16)
        .map(|c| u64::from_str_radix(std::str::from_utf8(c).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// An element of order 4513 in the cyclotomic subgroup of Fq12.
fn order_4513() -> Fq12 {
    let mut seed = 2u64;
    loop {
        let g = Fq12::new(
            ark_bls12_381::Fq6::new(
                Fq2::new(Fq::from(seed), Fq::one()),
                Fq2::new(Fq::from(3u64), Fq::from(seed + 5)),
                Default::default(),
            ),
            // A non-zero second half: elements of Fq6 are fixed by conjugation and map to 1.
            ark_bls12_381::Fq6::new(
                Fq2::new(Fq::from(seed * 7 + 1), Fq::from(11u64)),
                Default::default(),
                Fq2::new(Fq::from(13u64), Fq::from(seed)),
            ),
        );
        // g^((p^6 - 1)(p^2 + 1)) is cyclotomic; raising it to Φ12(p)/4513 leaves order | 4513.
        let mut c = g;
        c.conjugate_in_place();
        c *= g.inverse().expect("non-zero");
        let mut c2 = c;
        c2.frobenius_map_in_place(2);
        let s = (c2 * c).pow(limbs_from_hex(PHI12_OVER_4513));
        if !s.is_one() {
            assert!(s.pow([4513u64]).is_one());
            return s;
        }
        seed += 1;
        assert!(seed < 50, "no element of order 4513 found");
    }
}

/// A primitive cube root of unity, as an Fq12 element.
fn cube_root_of_unity() -> Fq12 {
    let s = (-Fq::from(3u64)).sqrt().expect("-3 is a square mod p");
    let w = (s - Fq::one()) * Fq::from(2u64).inverse().expect("2 is invertible");
    let mut out = Fq12::one();
    out.c0.c0.c0 = w;
    out
}

// ----- the targets -------------------------------------------------------------------------

fn decode_keys() -> Dir {
    let w = world();
    let mut d = Dir::new();
    let owner = w.owner();
    let sk = owner
        .section_key(w.records[0], w.sections[0][0], sesphr::phr::Epoch::new(1))
        .expect("section key");
    let doctor = &w.keys[DOCTOR];
    let rk = ReKey::new(&sk, &doctor.reader_key().public_key());
    let kb = w.entries[0].entry.key_block();
    let g1_points: [(&str, Vec<u8>); 4] = [
        ("section-public-key", sk.public_key().to_bytes().to_vec()),
        ("capsule", kb.capsule().to_bytes().to_vec()),
        (
            "verifying-key",
            doctor.signing_key().verifying_key().to_bytes().to_vec(),
        ),
        (
            "verifying-key-owner",
            owner.verifying_key().to_bytes().to_vec(),
        ),
    ];
    for (name, valid) in &g1_points {
        d.valid_and_near(name, valid, &[2, 30, 49]);
        for (bad, point) in bad_g1() {
            d.add(&format!("{bad}-{name}"), splice(valid, 2, &point));
        }
    }
    let g2_points: [(&str, Vec<u8>); 2] = [
        (
            "reader-public-key",
            doctor.reader_key().public_key().to_bytes().to_vec(),
        ),
        ("rekey", rk.to_bytes().to_vec()),
    ];
    for (name, valid) in &g2_points {
        d.valid_and_near(name, valid, &[2, 50, 97]);
        for (bad, point) in bad_g2() {
            d.add(&format!("{bad}-{name}"), splice(valid, 2, &point));
        }
    }
    let scalars: [(&str, Vec<u8>); 3] = [
        ("section-secret-key", sk.to_bytes().to_vec()),
        ("reader-secret-key", doctor.reader_key().to_bytes().to_vec()),
        ("signing-key", doctor.signing_key().to_bytes().to_vec()),
    ];
    for (name, valid) in &scalars {
        d.valid_and_near(name, valid, &[2, 33]);
        for (bad, s) in bad_scalars() {
            d.add(&format!("{bad}-{name}"), splice(valid, 2, &s));
        }
    }
    // Signatures and proofs: R a G1 point, s a scalar.
    let sig = w.signature.to_bytes().to_vec();
    d.valid_and_near("signature", &sig, &[2, 49, 50, 81]);
    for (bad, point) in bad_g1() {
        d.add(&format!("{bad}-signature"), splice(&sig, 2, &point));
    }
    for (bad, s) in bad_scalars() {
        d.add(&format!("{bad}-s-signature"), splice(&sig, 50, &s));
    }
    let other = doctor
        .signing_key()
        .sign(Purpose::Entry, &[b"fuzz"], &mut logic::rng(9))
        .expect("sign");
    d.add("forged-signer-signature", other.to_bytes().to_vec());
    let other_purpose = w.keys[HOSPITAL]
        .signing_key()
        .sign(Purpose::Receipt, &[b"fuzz"], &mut logic::rng(9))
        .expect("sign");
    d.add("wrong-purpose-signature", other_purpose.to_bytes().to_vec());
    let pop = w.proofs[DOCTOR].to_bytes().to_vec();
    d.valid_and_near("proof-of-possession", &pop, &[3, 4, 60, 83]);
    d.add("zero-s-proof-of-possession", splice(&pop, 52, &[0u8; 32]));
    d.add(
        "other-key-proof-of-possession",
        w.proofs[HOSPITAL].to_bytes().to_vec(),
    );
    // A wrapped key, cut out of a key block: tag, version, epoch, A, C, then the wrap.
    let kb_bytes = kb.to_bytes();
    let wrap_at = 2 + 4 + 50 + 50;
    let wrapped = kb_bytes[wrap_at..wrap_at + 50].to_vec();
    d.valid_and_near("wrapped-key", &wrapped, &[2, 49]);
    let bundle = doctor.bundle().to_bytes().to_vec();
    d.valid_and_near("key-bundle", &bundle, &[2, 3, 10, 52, 53, 100, 149]);
    for (bad, point) in bad_g1() {
        d.add(&format!("{bad}-vk-key-bundle"), splice(&bundle, 4, &point));
    }
    for (bad, point) in bad_g2() {
        d.add(&format!("{bad}-pk-key-bundle"), splice(&bundle, 54, &point));
    }
    d.add(
        "swapped-key-bundle",
        [&bundle[..2], &bundle[52..150], &bundle[2..52]].concat(),
    );
    let master = sesphr::phr::MasterSecret::from_raw([7; 32])
        .to_bytes()
        .to_vec();
    d.valid_and_near("master-secret", &master, &[2, 33]);
    // Principal keys: flips in each scalar and in the fingerprint; halves of two principals.
    let keys = doctor.to_bytes().to_vec();
    d.valid_and_near("principal-keys", &keys, &[2, 5, 40, 71, 101]);
    let hospital = w.keys[HOSPITAL].to_bytes();
    d.add(
        "mixed-halves-principal-keys",
        splice(&keys, 36, &hospital[36..70]),
    );
    for (bad, scalar) in bad_scalars() {
        d.add(
            &format!("{bad}-signing-principal-keys"),
            splice(&keys, 4, &scalar),
        );
    }
    let owner_bytes = owner.to_bytes().to_vec();
    d.valid_and_near("owner", &owner_bytes, &[2, 20, 34, 65]);
    d
}

fn decode_recapsule() -> Dir {
    let w = world();
    let mut d = Dir::new();
    let valid = w.entries[0].recapsule.to_bytes().to_vec();
    d.valid_and_near("recapsule", &valid, &[2, 49, 50, 51, 300, 625]);
    d.add(
        "valid-recapsule-owner-entry",
        w.entries[2].recapsule.to_bytes().to_vec(),
    );
    for (bad, point) in bad_g1() {
        d.add(&format!("{bad}-c-recapsule"), splice(&valid, 2, &point));
    }
    let t = Fq12::deserialize_with_mode(&valid[50..], Compress::No, ark_serialize::Validate::Yes)
        .expect("T decodes");
    let omega = cube_root_of_unity();
    let small = order_4513();
    let mut rng = ark_std::test_rng();
    let bad_t: [(&str, Fq12); 7] = [
        ("t-one", Fq12::one()),
        ("t-zero", Fq12::zero()),
        ("t-times-omega", t * omega),
        ("t-omega", omega),
        ("t-order-4513", small),
        ("t-times-order-4513", t * small),
        (
            "t-random-fq12",
            <Fq12 as ark_std::UniformRand>::rand(&mut rng),
        ),
    ];
    for (name, f) in bad_t {
        d.add(
            &format!("{name}-recapsule"),
            splice(&valid, 50, &gt_bytes(&f)),
        );
    }
    let mut ninv = t;
    ninv.conjugate_in_place();
    d.add(
        "valid-t-inverse-recapsule",
        splice(&valid, 50, &gt_bytes(&ninv)),
    );
    // A coordinate equal to p (little-endian, as arkworks writes Fq12 coordinates).
    let p_le = Fq::MODULUS.to_bytes_le();
    d.add("t-coordinate-p-recapsule", splice(&valid, 50, &p_le));
    d.add(
        "t-last-coordinate-p-recapsule",
        splice(&valid, 50 + 576 - 48, &p_le),
    );
    d
}

fn decode_entry() -> Dir {
    let w = world();
    let mut d = Dir::new();
    let e0 = &w.entries[0].entry;
    let header = e0.header().to_bytes().to_vec();
    d.valid_and_near("body-header", &header, &[2, 20, 50, 90, 96]);
    let kb = e0.key_block().to_bytes();
    d.valid_and_near("key-block", &kb, &[2, 6, 8, 58, 108, 160, 187]);
    let mut flag2 = kb.clone();
    *flag2.last_mut().expect("flag") = 2;
    d.add("rewrap-flag-2-key-block", flag2);
    let mut flag1 = kb.clone();
    *flag1.last_mut().expect("flag") = 1;
    d.add("rewrap-flag-without-signature-key-block", flag1);
    for (bad, point) in bad_g1() {
        d.add(&format!("{bad}-a-key-block"), splice(&kb, 8, &point));
        d.add(&format!("{bad}-c-key-block"), splice(&kb, 58, &point));
    }
    d.add("inner-tag-key-block", splice(&kb, 6, &[0x03]));
    let rewrapped = w.entries[4].entry.key_block().to_bytes();
    d.valid_and_near("key-block-rewrapped", &rewrapped, &[188, 200, 268]);
    d.add(
        "zero-s-key-block-rewrapped",
        splice(&rewrapped, rewrapped.len() - 32, &[0u8; 32]),
    );
    for (i, f) in w.entries.iter().enumerate() {
        if f.entry.body().len() > 1000 {
            continue;
        }
        let bytes = f.entry.to_bytes().expect("entry");
        d.valid_and_near(
            &format!("entry-{i}"),
            &bytes,
            &[2, 99, 103, 110, 300, bytes.len() - 40],
        );
    }
    let bytes = e0.to_bytes().expect("entry");
    // u32 lengths of the key block and of the body, wrong.
    let kb_len_at = 2 + 97;
    d.add("kb-len-max-entry-0", splice(&bytes, kb_len_at, &[0xff; 4]));
    d.add("kb-len-plus-1-entry-0", {
        let n = u32::from_be_bytes(bytes[kb_len_at..kb_len_at + 4].try_into().expect("4"));
        splice(&bytes, kb_len_at, &(n + 1).to_be_bytes())
    });
    let body_len_at = kb_len_at + 4 + kb.len();
    d.add(
        "body-len-max-entry-0",
        splice(&bytes, body_len_at, &[0xff; 4]),
    );
    d.add("body-len-minus-1-entry-0", {
        let n = u32::from_be_bytes(bytes[body_len_at..body_len_at + 4].try_into().expect("4"));
        splice(&bytes, body_len_at, &(n - 1).to_be_bytes())
    });
    // A body-header tag where the key block should be.
    d.add("inner-tag-entry-0", splice(&bytes, kb_len_at + 4, &[0x12]));
    d
}

/// Offsets in a (version 2) ACL encoding: `tag ‖ version ‖ record (16) ‖ version (8) ‖
/// not_after (8) ‖ previous (32) ‖ key-set root (32) ‖ key-set size (8) ‖ owner bundle (150) ‖
/// default history (5) ‖ u32 sections ‖ …`.
const ACL_PREVIOUS_AT: usize = 2 + 16 + 8 + 8;
const ACL_ROOT_AT: usize = ACL_PREVIOUS_AT + 32;
const ACL_SIZE_AT: usize = ACL_ROOT_AT + 32;
const ACL_HISTORY_AT: usize = ACL_SIZE_AT + 8 + 150;
const ACL_SECTIONS_AT: usize = ACL_HISTORY_AT + 5;
/// A section: `id (16) ‖ epoch (4) ‖ first (4) ‖ key (50) ‖ u32 readers ‖ (bundle (150) ‖ from
/// (4))* ‖ u32 writers ‖ bundle (150)*`.
const SECTION_EPOCH: usize = 16;
const SECTION_FIRST: usize = 16 + 4;
const SECTION_KEY: usize = 16 + 8;

/// Where the sections, their readers and writers, and the retired list start.
struct AclLayout {
    sections: Vec<SectionAt>,
    retired_count: usize,
}

struct SectionAt {
    start: usize,
    readers: Vec<usize>,
    writers: Vec<usize>,
}

fn acl_layout(b: &[u8]) -> AclLayout {
    let u32_at = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().expect("4")) as usize;
    let mut o = ACL_SECTIONS_AT;
    let n = u32_at(o);
    o += 4;
    let mut sections = Vec::new();
    for _ in 0..n {
        let start = o;
        o += SECTION_KEY + 50;
        let nr = u32_at(o);
        o += 4;
        let readers = (0..nr).map(|i| o + i * 154).collect();
        o += nr * 154;
        let nw = u32_at(o);
        o += 4;
        let writers = (0..nw).map(|i| o + i * 150).collect();
        o += nw * 150;
        sections.push(SectionAt {
            start,
            readers,
            writers,
        });
    }
    AclLayout {
        sections,
        retired_count: o,
    }
}

fn decode_acl() -> Dir {
    let w = world();
    let mut d = Dir::new();
    let owner = w.owner();
    // An ACL history holding the fixture's two versions: flips in the owner key, capacity,
    // count and the ACLs; a claimed count far beyond the input.
    let mut history = sesphr::phr::AclHistory::new(w.records[0], owner.verifying_key());
    history.accept(w.update.acl(), T0).expect("v1");
    history.accept(w.update2.acl(), T0).expect("v2");
    let history = history.to_bytes().expect("history");
    d.valid_and_near("acl-history", &history, &[2, 20, 69, 71, 74, 80, 400]);
    d.add(
        "huge-count-acl-history",
        splice(&history, 70, &u32::MAX.to_be_bytes()),
    );
    let acl1 = w.update.acl().acl_unverified().to_bytes().expect("acl");
    let acl2 = w.update2.acl().acl_unverified().to_bytes().expect("acl");
    // Flips in the previous-version hash and the key-set root (both decode), the key-set size
    // (refused: it is not what the grants imply), the section count, a section.
    d.valid_and_near(
        "acl",
        &acl1,
        &[
            2,
            10,
            20,
            ACL_PREVIOUS_AT + 6,
            ACL_ROOT_AT + 3,
            ACL_SIZE_AT + 7,
            ACL_SECTIONS_AT + 3,
            ACL_SECTIONS_AT + 4 + SECTION_FIRST + 3,
            ACL_SECTIONS_AT + 30,
        ],
    );
    d.valid_and_near(
        "acl-rich",
        &acl2,
        &[
            2,
            ACL_HISTORY_AT,
            ACL_SECTIONS_AT + 1,
            ACL_SECTIONS_AT + 110,
            acl2.len() - 3,
        ],
    );
    let lay = acl_layout(&acl2);
    let rich = lay
        .sections
        .iter()
        .find(|s| s.readers.len() >= 2 && s.writers.len() >= 2)
        .expect("a section with two readers and two writers");
    let (r0, r1) = (rich.readers[0], rich.readers[1]);
    let mut swapped = acl2.clone();
    swapped[r0..r0 + 154].copy_from_slice(&acl2[r1..r1 + 154]);
    swapped[r1..r1 + 154].copy_from_slice(&acl2[r0..r0 + 154]);
    d.add("readers-out-of-order-acl-rich", swapped);
    let mut dup = acl2.clone();
    dup[r1..r1 + 154].copy_from_slice(&acl2[r0..r0 + 154]);
    d.add("reader-twice-acl-rich", dup);
    let (w0, w1) = (rich.writers[0], rich.writers[1]);
    let mut swapped = acl2.clone();
    swapped[w0..w0 + 150].copy_from_slice(&acl2[w1..w1 + 150]);
    swapped[w1..w1 + 150].copy_from_slice(&acl2[w0..w0 + 150]);
    d.add("writers-out-of-order-acl-rich", swapped);
    let epoch_at = rich.start + SECTION_EPOCH;
    let epoch = u32::from_be_bytes(acl2[epoch_at..epoch_at + 4].try_into().expect("4"));
    d.add(
        "reader-from-after-epoch-acl-rich",
        splice(&acl2, r0 + 150, &(epoch + 1).to_be_bytes()),
    );
    // The rich section's creation epoch moved after a reader's first epoch (the pharmacist
    // reads all history, from 0), and after the current epoch.
    assert!(epoch >= 1);
    d.add(
        "reader-before-first-acl-rich",
        splice(&acl2, rich.start + SECTION_FIRST, &1u32.to_be_bytes()),
    );
    d.add(
        "first-after-epoch-acl-rich",
        splice(
            &acl2,
            rich.start + SECTION_FIRST,
            &(epoch + 1).to_be_bytes(),
        ),
    );
    // The key-set size is what the grants imply, nothing else.
    let size = u64::from_be_bytes(acl1[ACL_SIZE_AT..ACL_SIZE_AT + 8].try_into().expect("8"));
    d.add(
        "key-set-size-plus-1-acl",
        splice(&acl1, ACL_SIZE_AT, &(size + 1).to_be_bytes()),
    );
    d.add(
        "key-set-size-max-acl",
        splice(&acl1, ACL_SIZE_AT, &u64::MAX.to_be_bytes()),
    );
    d.add(
        "key-set-size-0-acl",
        splice(&acl1, ACL_SIZE_AT, &0u64.to_be_bytes()),
    );
    // A section epoch of u32::MAX: implies ~2^32 keys per reader (refused by the size check,
    // which is arithmetic: nothing is enumerated).
    let lay1 = acl_layout(&acl1);
    for (i, sec) in lay1.sections.iter().enumerate() {
        d.add(
            &format!("epoch-max-section-{i}-acl"),
            splice(&acl1, sec.start + SECTION_EPOCH, &u32::MAX.to_be_bytes()),
        );
    }
    // The ACL whose epoch jumps, signed by the owner by hand (`World::jumped`): decodes,
    // verifies, and no SRS takes it.
    let jumped = w.jumped.acl().acl_unverified().to_bytes().expect("acl");
    d.add("owner-signed-epoch-jump-acl", jumped);
    // The previous format (version 1: no previous-version hash, no key-set commitment): the
    // fixture ACL as this generator wrote it before SPEC §7. Refused as an unknown version.
    d.add("v1-acl", include_bytes!("v1/acl.bin").to_vec());
    if lay.sections.len() >= 2 {
        let (s0, s1) = (lay.sections[0].start, lay.sections[1].start);
        d.add(
            "sections-out-of-order-acl-rich",
            splice(&acl2, s1, &acl2[s0..s0 + 16]),
        );
    }
    // The retired section's id replaced by a live section's.
    let retired = lay.retired_count + 4;
    d.add(
        "retired-is-live-acl-rich",
        splice(
            &acl2,
            retired,
            &acl2[lay.sections[0].start..lay.sections[0].start + 16],
        ),
    );
    d.add(
        "section-count-max-acl",
        splice(&acl1, ACL_SECTIONS_AT, &[0xff; 4]),
    );
    d.add("history-kind-3-acl", splice(&acl1, ACL_HISTORY_AT, &[3]));
    d.add(
        "history-none-with-epoch-acl",
        splice(&acl1, ACL_HISTORY_AT, &[0, 0, 0, 0, 1]),
    );
    for (bad, point) in bad_g1() {
        d.add(
            &format!("{bad}-section-key-acl"),
            splice(&acl1, lay.sections[0].start + SECTION_KEY + 2, &point),
        );
    }

    let signed1 = w.update.acl().to_bytes();
    let signed2 = w.update2.acl().to_bytes();
    d.valid_and_near(
        "signed-acl",
        &signed1,
        &[2, 6, 20, signed1.len() - 40, signed1.len() - 1],
    );
    d.valid_and_near("signed-acl-rich", &signed2, &[2, signed2.len() - 1]);
    // A version bump under the old signature; an ACL signed by someone else; the rich ACL's
    // bytes under the first ACL's signature.
    let mut bumped = signed1.clone();
    bumped[6 + 2 + 16 + 7] ^= 0x04;
    d.add("forged-version-signed-acl", bumped);
    let sig_by_b = w.owners[1]
        .keys()
        .signing_key()
        .sign(Purpose::Acl, &[&sesphr_sha256(&acl1)], &mut logic::rng(3))
        .expect("sign");
    d.add(
        "wrong-signer-signed-acl",
        [&signed1[..signed1.len() - 82], &sig_by_b.to_bytes()[..]].concat(),
    );
    let sig_other_purpose = owner
        .keys()
        .signing_key()
        .sign(
            Purpose::Rewrap,
            &[&sesphr_sha256(&acl1)],
            &mut logic::rng(4),
        )
        .expect("sign");
    d.add(
        "wrong-purpose-signed-acl",
        [
            &signed1[..signed1.len() - 82],
            &sig_other_purpose.to_bytes()[..],
        ]
        .concat(),
    );
    d.add(
        "swapped-signature-signed-acl",
        [
            &signed2[..signed2.len() - 82],
            &signed1[signed1.len() - 82..],
        ]
        .concat(),
    );
    d.add("acl-len-max-signed-acl", splice(&signed1, 2, &[0xff; 4]));
    // Another previous-version hash or key-set root under the owner's signature.
    for (name, at) in [("previous", ACL_PREVIOUS_AT), ("key-set-root", ACL_ROOT_AT)] {
        let mut t = signed1.clone();
        t[2 + 4 + at + 5] ^= 0x10;
        d.add(&format!("forged-{name}-signed-acl"), t);
    }
    d.add(
        "owner-signed-epoch-jump-signed-acl",
        w.jumped.acl().to_bytes(),
    );
    d.add(
        "v1-signed-acl",
        include_bytes!("v1/signed-acl.bin").to_vec(),
    );

    let up1 = w.update.to_bytes();
    let up2 = w.update2.to_bytes();
    d.valid_and_near("acl-update", &up1, &[2, 8, up1.len() - 120, up1.len() - 5]);
    d.valid_and_near("acl-update-rich", &up2, &[2, up2.len() - 50]);
    let keys_at = 2 + 4 + signed1.len();
    d.add(
        "key-count-max-acl-update",
        splice(&up1, keys_at, &[0xff; 4]),
    );
    // The re-encryption key (after its 68-byte id) replaced by one for another reader.
    let sk = owner
        .section_key(w.records[0], w.sections[0][0], sesphr::phr::Epoch::new(1))
        .expect("section key");
    let other_rk = ReKey::new(&sk, &w.keys[PHARMACIST].reader_key().public_key());
    d.add(
        "other-rekey-acl-update",
        splice(&up1, keys_at + 4 + 68, &other_rk.to_bytes()),
    );
    d.add(
        "other-reader-id-acl-update",
        splice(
            &up1,
            keys_at + 4 + 36,
            w.keys[PHARMACIST].bundle().fingerprint().as_bytes(),
        ),
    );
    // The same key negated (a valid subgroup point): the attack of the old format, now
    // refused because the value is not the one the owner committed to.
    let mut rk_neg = up1.clone();
    rk_neg[keys_at + 4 + 68 + 2] ^= 0x20;
    d.add("negated-rekey-acl-update", rk_neg);
    // A key value taken from another update of the same owner (the pharmacist's medical key
    // of the second fixture update), alone and with its proof.
    let genuine = &w.update.keys_to_add()[0];
    let other = w
        .update2
        .keys_to_add()
        .iter()
        .find(|g| g.rekey != genuine.rekey)
        .expect("another key");
    let substituted = |rekey: bool, proof: bool| {
        let mut g = genuine.clone();
        if rekey {
            g.rekey = other.rekey.clone();
        }
        if proof {
            g.proof = other.proof.clone();
        }
        AclUpdate::from_parts(w.update.acl().clone(), vec![g], vec![]).to_bytes()
    };
    d.add("substituted-rekey-acl-update", substituted(true, false));
    d.add(
        "substituted-rekey-and-proof-acl-update",
        substituted(true, true),
    );
    d.add("other-proof-acl-update", substituted(false, true));
    let proof_at = keys_at + 4 + 68 + 98;
    d.add(
        "proof-index-1-acl-update",
        splice(&up1, proof_at, &1u64.to_be_bytes()),
    );
    d.add(
        "proof-index-max-acl-update",
        splice(&up1, proof_at, &u64::MAX.to_be_bytes()),
    );
    d.add(
        "proof-extra-hash-acl-update",
        AclUpdate::from_parts(
            w.update.acl().clone(),
            vec![ReKeyGrant {
                proof: InclusionProof::new(0, vec![[7u8; 32]]).expect("proof"),
                ..genuine.clone()
            }],
            vec![],
        )
        .to_bytes(),
    );
    d.add(
        "proof-path-len-65-acl-update",
        splice(&up1, proof_at + 8, &[65]),
    );
    d.add(
        "no-keys-acl-update",
        AclUpdate::from_parts(w.update.acl().clone(), vec![], vec![]).to_bytes(),
    );
    // Keys out of order and twice (the decoder wants strictly increasing ids).
    let add2 = w.update2.keys_to_add().to_vec();
    assert!(add2.len() >= 2);
    let mut reversed = add2.clone();
    reversed.reverse();
    d.add(
        "keys-out-of-order-acl-update-rich",
        AclUpdate::from_parts(w.update2.acl().clone(), reversed, vec![]).to_bytes(),
    );
    d.add(
        "key-twice-acl-update-rich",
        AclUpdate::from_parts(
            w.update2.acl().clone(),
            vec![add2[0].clone(), add2[0].clone()],
            vec![],
        )
        .to_bytes(),
    );
    let some_id = add2[0].id;
    d.add(
        "deletes-twice-acl-update",
        AclUpdate::from_parts(
            w.update.acl().clone(),
            vec![genuine.clone()],
            vec![some_id; 2],
        )
        .to_bytes(),
    );
    // An owner-signed first version whose medical section jumps to epoch 2, with its keys
    // and proofs (`World::jumped`): refused with `BadSuccession`.
    d.add("owner-signed-epoch-jump-acl-update", w.jumped.to_bytes());
    // The first fixture update in the version-1 format (no key-set commitment, no proofs):
    // refused as an unknown version.
    d.add(
        "v1-acl-update",
        include_bytes!("v1/acl-update.bin").to_vec(),
    );
    for (bad, point) in bad_g2() {
        d.add(
            &format!("{bad}-rekey-acl-update"),
            splice(&up1, keys_at + 4 + 68 + 2, &point),
        );
    }

    // Access requests in each state, from a small SRS run.
    for (name, req) in access_requests() {
        let near = name.starts_with("pending") || name.starts_with("approved");
        if near {
            d.valid_and_near(
                &format!("request-{name}"),
                &req,
                &[2, 17, 52, 54, req.len() - 1],
            );
        } else {
            d.add(&format!("valid-request-{name}"), req);
        }
    }
    let (_, pending) = access_requests().remove(0);
    // Layout: 2 header, 16 id, 16 record, 16 requester, 6 right, then counted lists.
    let right_at = 2 + 16 + 16 + 16;
    d.add("right-kind-3-request", splice(&pending, right_at, &[3]));
    d.add(
        "write-padding-request",
        splice(&pending, right_at, &[0, 0, 0, 0, 0, 1]),
    );
    d.add(
        "read-none-padding-request",
        splice(&pending, right_at, &[1, 1, 0, 0, 0, 0]),
    );
    let n_sections_at = right_at + 6;
    let state_at = pending.len() - 9;
    d.add("state-4-request", splice(&pending, state_at, &[4]));
    d.add(
        "first-state-approved-request",
        splice(&pending, state_at, &[1]),
    );
    d.add(
        "no-sections-request",
        [
            &pending[..n_sections_at],
            &[0u8, 0, 0, 0][..],
            &pending[n_sections_at + 4 + 16..],
        ]
        .concat(),
    );
    d.add(
        "duplicate-sections-request",
        [
            &pending[..n_sections_at],
            &[0u8, 0, 0, 2][..],
            &pending[n_sections_at + 4..n_sections_at + 20],
            &pending[n_sections_at + 4..],
        ]
        .concat(),
    );
    d.add(
        "granted-while-pending-request",
        [
            &pending[..n_sections_at + 20],
            &[0u8, 0, 0, 1][..],
            &pending[n_sections_at + 4..n_sections_at + 20],
            &pending[n_sections_at + 24..],
        ]
        .concat(),
    );
    d.add(
        "no-history-request",
        [&pending[..state_at - 4], &[0u8, 0, 0, 0][..]].concat(),
    );
    d
}

fn sesphr_sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}

/// The fixture SRS's requests in each state (`pending`, `approved`, `rejected`,
/// `withdrawn`), encoded.
fn access_requests() -> Vec<(&'static str, Vec<u8>)> {
    let w = world();
    let srs = w.srs(w.fixture.rows.clone());
    w.fixture
        .requests
        .iter()
        .map(|(name, id)| {
            (
                *name,
                srs.request(*id)
                    .expect("read")
                    .expect("request")
                    .to_bytes()
                    .expect("encodes"),
            )
        })
        .collect()
}

fn op_name(op: &SignedOperation) -> &'static str {
    match op.operation().expect("a fixture operation decodes") {
        Operation::Register { .. } => "register",
        Operation::Activate { .. } => "activate",
        Operation::Deactivate { .. } => "deactivate",
        Operation::Login => "login",
        Operation::ApplyUpdate(_) => "apply-update",
        Operation::Request { .. } => "request",
        Operation::Approve { .. } => "approve",
        Operation::Reject { .. } => "reject",
        Operation::Withdraw { .. } => "withdraw",
        Operation::DeleteRequest { .. } => "delete-request",
        Operation::SubmitEntry { .. } => "submit-entry",
        Operation::Reencrypt { .. } => "reencrypt",
        Operation::Rewrap { .. } => "rewrap",
        _ => "other",
    }
}

/// The owner's audit page of record A's whole log, as the fixture SRS answers it.
fn audit_page_bytes(w: &World, rows: &[sesphr::srs::Row]) -> Vec<u8> {
    let mut srs = w.srs(rows.to_vec());
    let op = sesphr::srs::Client::new(w.owners[0].keys(), w.ids[OWNER_A], w.srs_id)
        .sign(
            Operation::Audit {
                record: w.records[0],
                from: 0,
            },
            T0,
            &mut logic::rng(98),
        )
        .expect("sign");
    match srs.execute(&op, T0, &mut logic::rng(97)).expect("audit") {
        Response::Audit(page) => page.to_bytes(),
        other => panic!("{other:?}"),
    }
}

fn kind_name(k: u8) -> &'static str {
    match k {
        kind::META => "meta",
        kind::PRINCIPAL => "principal",
        kind::BUNDLE => "bundle",
        kind::HEAD => "head",
        kind::ACL_VERSION => "acl-version",
        kind::KEY => "key",
        kind::LEAVES => "leaves",
        kind::ENTRY => "entry",
        kind::SECTION_ENTRY => "section-entry",
        kind::REQUEST => "request",
        kind::OWNER_REQUEST => "owner-request",
        kind::READER_GRANT => "reader-grant",
        kind::REPLAY => "replay",
        kind::REPLAY_EXPIRY => "replay-expiry",
        kind::CLOCK => "clock",
        kind::LOG_HEAD => "log-head",
        kind::LOG_LEAF => "log-leaf",
        kind::LOG_NODE => "log-node",
        _ => "unknown",
    }
}

/// Offsets in a signed operation: tag, version, SRS id (32), principal (16), signer (32),
/// time (8), nonce (16), kind (1), u32 body length, body, signature (82).
const OP_PRINCIPAL_AT: usize = 2 + 32;
const OP_SIGNER_AT: usize = OP_PRINCIPAL_AT + 16;
const OP_TIME_AT: usize = OP_SIGNER_AT + 32;
const OP_NONCE_AT: usize = OP_TIME_AT + 8;
const OP_KIND_AT: usize = OP_NONCE_AT + 16;
const OP_BODY_AT: usize = OP_KIND_AT + 1 + 4;

/// The SRS's wire encodings (signed operations, responses, receipts) and its rows.
fn decode_srs_rows(scenarios: &[(&str, Vec<u8>)]) -> Dir {
    let w = world();
    let f = &w.fixture;
    let mut d = Dir::new();
    let mut rng = logic::rng(31);

    // Signed operations: every one the fixture SRS committed (an exact retry) and the spare
    // ones (run on a copy), with near-misses of a few.
    let mut responses: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, (op, resp)) in f.committed.iter().enumerate() {
        let name = format!("op-{i:02}-{}", op_name(op));
        d.add(&format!("valid-{name}"), op.to_bytes());
        let bytes = resp.to_bytes();
        if !responses.iter().any(|(_, b)| *b == bytes) {
            responses.push((format!("response-{i:02}-{}", op_name(op)), bytes));
        }
    }
    for (i, op) in f.spare.iter().enumerate() {
        d.add(&format!("valid-spare-{i}-{}", op_name(op)), op.to_bytes());
    }
    for (name, op) in [
        ("spare-reencrypt", &f.spare[0]),
        ("spare-submit-entry", &f.spare[2]),
        ("spare-apply-update", &f.spare[3]),
    ] {
        let b = op.to_bytes();
        let n = b.len();
        d.near(
            name,
            &b,
            &[
                2,
                OP_PRINCIPAL_AT + 15,
                OP_SIGNER_AT,
                OP_TIME_AT + 7,
                OP_NONCE_AT,
                OP_KIND_AT,
                OP_BODY_AT - 1,
                OP_BODY_AT + 2,
                n - 82 + 3,
                n - 1,
            ],
        );
    }
    let doctor = |srs: SrsId, who: usize, keys: usize, time: Timestamp, rng: &mut ChaCha20Rng| {
        SignedOperation::sign(&w.keys[keys], srs, w.ids[who], Operation::Login, time, rng)
            .expect("sign")
            .to_bytes()
    };
    let other_srs = SrsId::new(&w.srs_vk, "another deployment");
    d.add(
        "another-srs-login-op",
        doctor(other_srs, DOCTOR, DOCTOR, T0, &mut rng),
    );
    d.add(
        "wrong-signer-login-op",
        doctor(w.srs_id, DOCTOR, PHARMACIST, T0, &mut rng),
    );
    d.add(
        "outside-window-login-op",
        doctor(
            w.srs_id,
            DOCTOR,
            DOCTOR,
            Timestamp::new(T0.get() + 301),
            &mut rng,
        ),
    );
    d.add(
        "unregistered-login-op",
        doctor(w.srs_id, ADMIN, OWNER_B, T0, &mut rng),
    );
    d.add(
        "valid-login-op",
        doctor(
            w.srs_id,
            DOCTOR,
            DOCTOR,
            Timestamp::new(T0.get() + 300),
            &mut rng,
        ),
    );
    // Another operation under the nonce of a committed one (the doctor's withdrawal).
    let (withdraw, _) = f
        .committed
        .iter()
        .find(|(op, _)| matches!(op.operation(), Ok(Operation::Withdraw { .. })))
        .expect("a withdrawal");
    let reused = SignedOperation::sign_with_nonce(
        &w.keys[DOCTOR],
        w.srs_id,
        w.ids[DOCTOR],
        Operation::Login,
        T0,
        *withdraw.nonce(),
        &mut rng,
    )
    .expect("sign");
    assert!(reused.nonce() == withdraw.nonce());
    d.add("nonce-reused-op", reused.to_bytes());
    // The kind byte of a rejection made a withdrawal (same body: the signature breaks).
    let (reject, _) = f
        .committed
        .iter()
        .find(|(op, _)| matches!(op.operation(), Ok(Operation::Reject { .. })))
        .expect("a rejection");
    d.add(
        "kind-reject-as-withdraw-op",
        splice(&reject.to_bytes(), OP_KIND_AT, &[9]),
    );
    // A batch of MAX_BATCH + 1 entries (no client signs one: the count and length patched
    // into a full batch).
    let full = SignedOperation::sign(
        &w.keys[DOCTOR],
        w.srs_id,
        w.ids[DOCTOR],
        Operation::Reencrypt {
            record: w.records[0],
            entries: (0..MAX_BATCH)
                .map(|i| {
                    let mut id = [7u8; 16];
                    id[..2].copy_from_slice(&(i as u16).to_be_bytes());
                    EntryId::new(id)
                })
                .collect(),
        },
        T0,
        &mut rng,
    )
    .expect("sign")
    .to_bytes();
    let body_len = u32::from_be_bytes(full[OP_BODY_AT - 4..OP_BODY_AT].try_into().expect("4"));
    let body_end = OP_BODY_AT + body_len as usize;
    let over = [
        &full[..OP_BODY_AT - 4],
        &(body_len + 16).to_be_bytes()[..],
        &full[OP_BODY_AT..OP_BODY_AT + 16],
        &(MAX_BATCH as u32 + 1).to_be_bytes()[..],
        &full[OP_BODY_AT + 20..body_end],
        &[0xab; 16][..],
        &full[body_end..],
    ]
    .concat();
    d.add("batch-over-max-op", over);
    d.add("kind-0-op", splice(&reused.to_bytes(), OP_KIND_AT, &[0]));
    d.add("kind-15-op", splice(&reused.to_bytes(), OP_KIND_AT, &[15]));

    // The disclosure log: the fixture's checkpoint, every leaf, a reader's receipt, a full
    // audit page, the owner's view after it, a consistency proof, a witness's cosignature,
    // and near-misses of each.
    let fl = logic::fixture_log();
    let cp = fl.checkpoint.to_bytes().to_vec();
    d.add("valid-log-checkpoint", cp.clone());
    d.near("log-checkpoint", &cp, &[2, 40, 60, 100, cp.len() - 1]);
    for (i, leaf) in fl.leaves.iter().enumerate() {
        d.add(&format!("valid-log-leaf-{i}"), leaf.to_bytes());
    }
    let leaf = fl.leaves.last().expect("a leaf").to_bytes();
    d.near("log-leaf", &leaf, &[2, 20, 42, leaf.len() - 1]);
    let srs = w.srs(f.rows.clone());
    let record = w.records[0];
    let size = fl.checkpoint.checkpoint_unverified().size;
    let proof = srs.consistency(record, 1, size).expect("proof");
    d.add("valid-log-consistency", proof.to_bytes());
    d.near("log-consistency", &proof.to_bytes(), &[2, 12, 20, 40]);
    let receipt = f
        .committed
        .iter()
        .rev()
        .find_map(|(_, r)| match r {
            Response::Reencrypted {
                receipt: Some(rc), ..
            } => Some(rc.to_bytes()),
            _ => None,
        })
        .expect("a disclosure receipt");
    d.add("valid-log-receipt", receipt.clone());
    d.near(
        "log-receipt",
        &receipt,
        &[2, 100, 220, 240, receipt.len() - 1],
    );
    let mut view = sesphr::log::LogView::new(record);
    let mut audit = view.audit();
    let page = sesphr::log::AuditPage::from_bytes(&audit_page_bytes(w, &f.rows)).expect("page");
    assert_eq!(audit.add_page(&page, &w.srs_vk), Ok(true));
    audit.finish(&mut view).expect("audited");
    d.add("valid-log-audit-page", page.to_bytes());
    d.near("log-audit-page", &page.to_bytes(), &[2, 140, 160, 200]);
    d.add("valid-log-view", view.to_bytes());
    d.near("log-view", &view.to_bytes(), &[2, 20, 160, 170]);
    let mut witness = sesphr::log::Witness::new(w.srs_key.clone(), w.srs_vk);
    let none = sesphr::log::ConsistencyProof::new(0, 0, vec![]).expect("empty");
    let cosig = witness
        .cosign(&fl.checkpoint, &none, T0, &mut logic::rng(99))
        .expect("cosign");
    d.add("valid-log-cosignature", cosig.to_bytes().to_vec());
    d.near("log-cosignature", &cosig.to_bytes(), &[2, 40, 50]);

    // Responses: every one the fixture answered, and near-misses.
    for (name, bytes) in &responses {
        d.add(&format!("valid-{name}"), bytes.clone());
    }
    let (_, reencrypted) = f
        .committed
        .iter()
        .find(|(op, _)| matches!(op.operation(), Ok(Operation::Reencrypt { .. })))
        .expect("a re-encryption");
    let Response::Reencrypted { items, .. } = reencrypted else {
        panic!("a re-encryption answers items");
    };
    let rb = reencrypted.to_bytes();
    d.near(
        "response-reencrypted",
        &rb,
        &[2, 3, 6, 8, 30, 300, rb.len() - 1],
    );
    let mut swapped = items.clone();
    if let (Ok(a), Ok(b)) = (&items[0], &items[1]) {
        swapped[0] = Ok(Reencrypted {
            recapsule: b.recapsule.clone(),
            ..a.clone()
        });
        swapped[1] = Ok(Reencrypted {
            key_block: a.key_block,
            ..b.clone()
        });
    }
    d.add(
        "valid-response-swapped-recapsule",
        Response::Reencrypted {
            items: swapped,
            receipt: None,
        }
        .to_bytes(),
    );
    let refusals = Response::Reencrypted {
        items: Refusal::ALL.iter().map(|r| Err(*r)).collect(),
        receipt: None,
    };
    let refusals = refusals.to_bytes();
    d.add("valid-response-every-refusal", refusals.clone());
    d.add("refusal-0-response", splice(&refusals, 8, &[0]));
    d.add(
        "refusal-unknown-response",
        splice(&refusals, 8, &[Refusal::ALL.len() as u8 + 1]),
    );
    d.add("item-tag-2-response", splice(&refusals, 7, &[2]));
    d.add("count-max-response", splice(&refusals, 3, &[0xff; 4]));
    d.add(
        "count-over-batch-response",
        splice(&refusals, 3, &(MAX_BATCH as u32 + 1).to_be_bytes()),
    );
    let status = Response::Status {
        role: Role::Doctor,
        active: true,
    }
    .to_bytes();
    d.add("valid-response-status", status.clone());
    d.add("role-9-response", splice(&status, 3, &[9]));
    d.add("active-2-response", splice(&status, 4, &[2]));
    d.add("kind-6-response", splice(&status, 2, &[6]));
    let approved = Response::Approved(sesphr::phr::RequestState::Approved).to_bytes();
    d.add("state-7-response", splice(&approved, 3, &[7]));

    // Receipts: the fixture's, flipped in every field, another signer's, another signature.
    for (i, e) in w.entries[..4].iter().enumerate() {
        d.add(&format!("valid-receipt-{i}"), e.receipt.to_bytes().to_vec());
    }
    let r0 = w.entries[0].receipt.to_bytes().to_vec();
    let r1 = w.entries[1].receipt.to_bytes().to_vec();
    // Layout: tag, version, SRS id, record, entry, header hash, body hash, ACL version,
    // time, signature.
    const RECEIPT_FIELDS: usize = 2 + 32 + 16 + 16 + 32 + 32 + 8 + 8;
    d.near(
        "receipt",
        &r0,
        &[
            2,
            34,
            50,
            66,
            98,
            130 + 7,
            138 + 7,
            RECEIPT_FIELDS + 3,
            r0.len() - 1,
        ],
    );
    let fields: Vec<&[u8]> = vec![
        &r0[2..34],
        &r0[34..50],
        &r0[50..66],
        &r0[66..98],
        &r0[98..130],
        &r0[130..138],
        &r0[138..146],
    ];
    let by_hospital = w.keys[HOSPITAL]
        .signing_key()
        .sign(Purpose::Receipt, &fields, &mut rng)
        .expect("sign");
    d.add(
        "hospital-signed-receipt",
        [&r0[..RECEIPT_FIELDS], &by_hospital.to_bytes()[..]].concat(),
    );
    let wrong_purpose = w
        .srs_key
        .sign(Purpose::Entry, &fields, &mut rng)
        .expect("sign");
    d.add(
        "wrong-purpose-receipt",
        [&r0[..RECEIPT_FIELDS], &wrong_purpose.to_bytes()[..]].concat(),
    );
    d.add(
        "swapped-signature-receipt",
        [&r0[..RECEIPT_FIELDS], &r1[RECEIPT_FIELDS..]].concat(),
    );

    // Rows: every row of the fixture store as it is, then changed ones (`gap-*`: what the
    // audit is known to pass, see `logic::audit_gap`).
    let rows = &f.rows;
    let mut index: BTreeMap<u8, usize> = BTreeMap::new();
    let mut at: Vec<(u8, usize)> = Vec::new();
    for row in rows {
        let k = row.key[0];
        let i = *index.entry(k).and_modify(|i| *i += 1).or_insert(0);
        at.push((k, i));
        let keep = !matches!(k, kind::REPLAY | kind::REPLAY_EXPIRY) || i < 2;
        if keep {
            d.add(
                &format!("valid-row-{}-{i}", kind_name(k)),
                row_input(i, &row.value),
            );
        }
    }
    let row = |k: u8, i: usize| -> &Vec<u8> {
        let n = at
            .iter()
            .position(|x| *x == (k, i))
            .unwrap_or_else(|| panic!("no row {} {i}", kind_name(k)));
        &rows[n].value
    };
    let count = |k: u8| *index.get(&k).expect("rows of the kind") + 1;
    // Key rows: another key's value, negated, bad points.
    assert!(count(kind::KEY) >= 2);
    let key0 = row(kind::KEY, 0).clone();
    d.add("key-substituted-row", row_input(0, row(kind::KEY, 1)));
    d.add(
        "key-negated-row",
        row_input(0, &splice(&key0, 2, &[key0[2] ^ 0x20])),
    );
    for (bad, point) in bad_g2() {
        d.add(
            &format!("key-{bad}-row"),
            row_input(0, &splice(&key0, 2, &point)),
        );
    }
    d.near_row("row-key", 0, &key0, &[3, 60, 99]);
    // The key-set leaves.
    let leaves = row(kind::LEAVES, 0).clone();
    d.add(
        "leaf-flipped-row",
        row_input(
            0,
            &splice(&leaves, 2 + 4 + 68 + 5, &[leaves[2 + 4 + 68 + 5] ^ 1]),
        ),
    );
    let n = u32::from_be_bytes(leaves[2..6].try_into().expect("4"));
    d.add(
        "leaves-count-plus-1-row",
        row_input(0, &splice(&leaves, 2, &(n + 1).to_be_bytes())),
    );
    d.add(
        "leaves-dropped-last-row",
        row_input(
            0,
            &[
                &leaves[..2],
                &(n - 1).to_be_bytes()[..],
                &leaves[6..leaves.len() - 100],
            ]
            .concat(),
        ),
    );
    if n >= 2 {
        d.add(
            "leaves-swapped-row",
            row_input(
                0,
                &[
                    &leaves[..6],
                    &leaves[106..206],
                    &leaves[6..106],
                    &leaves[206..],
                ]
                .concat(),
            ),
        );
    }
    d.near_row("row-leaves", 0, &leaves, &[3, 10, 80, 101]);
    // The record head: another owner-signed ACL (a rollback, the richer update's, the epoch
    // jump), another owner, the unsigned counters.
    let head = row(kind::HEAD, 0).clone();
    for (name, acl) in [
        ("v1", w.update.acl().to_bytes()),
        ("update2", w.update2.acl().to_bytes()),
        ("jumped", w.jumped.acl().to_bytes()),
    ] {
        d.add(
            &format!("head-acl-{name}-row"),
            row_input(0, &[&head[..26], &acl[..]].concat()),
        );
    }
    d.add(
        "head-owner-doctor-row",
        row_input(0, &splice(&head, 2, w.ids[DOCTOR].as_bytes())),
    );
    d.add(
        "gap-head-version-row",
        row_input(0, &splice(&head, 18, &[0, 0, 0, 0, 0, 0, 0, 9])),
    );
    let clock = row(kind::CLOCK, 0).clone();
    d.add(
        "gap-clock-max-row",
        row_input(0, &splice(&clock, 2, &u64::MAX.to_be_bytes())),
    );
    d.near_row("row-clock", 0, &clock, &[3, 9]);
    d.add(
        "head-signature-flip-row",
        row_input(
            0,
            &splice(&head, head.len() - 5, &[head[head.len() - 5] ^ 1]),
        ),
    );
    d.near_row("row-head", 0, &head, &[3, 40, 200, 600]);
    // Principals: another principal's bundle, the unsigned role and activation.
    let principals: Vec<(usize, &Vec<u8>)> = (0..count(kind::PRINCIPAL))
        .map(|i| (i, row(kind::PRINCIPAL, i)))
        .collect();
    let (pi, p) = principals[4];
    let (_, q) = principals[5];
    d.add(
        "principal-other-bundle-row",
        row_input(pi, &[&p[..4], &q[4..]].concat()),
    );
    d.add(
        "gap-principal-inactive-row",
        row_input(pi, &splice(p, 3, &[0])),
    );
    d.add(
        "gap-principal-admin-row",
        row_input(pi, &splice(p, 2, &[8])),
    );
    d.add("principal-role-9-row", row_input(pi, &splice(p, 2, &[9])));
    d.add("principal-active-2-row", row_input(pi, &splice(p, 3, &[2])));
    let b0 = row(kind::BUNDLE, 0).clone();
    d.add(
        "bundle-other-id-row",
        row_input(0, &splice(&b0, 2, w.ids[PHARMACIST].as_bytes())),
    );
    // Entries: another entry's key block, header, writer signature (reported); its receipt
    // signature, time, ACL version, capsule (the known gap).
    let e0 = row(kind::ENTRY, 0).clone();
    let e1 = row(kind::ENTRY, 1).clone();
    let kb_at = ENTRY_ROW_KEY_BLOCK;
    d.add(
        "entry-other-key-block-row",
        row_input(0, &[&e0[..kb_at], &e1[kb_at..]].concat()),
    );
    d.add(
        "entry-other-header-row",
        row_input(0, &[&e1[..2 + 97], &e0[2 + 97..]].concat()),
    );
    d.add(
        "entry-other-signature-row",
        row_input(
            0,
            &[
                &e0[..2 + 97 + 32],
                &e1[2 + 97 + 32..2 + 97 + 32 + 82],
                &e0[2 + 97 + 32 + 82..],
            ]
            .concat(),
        ),
    );
    d.add(
        "gap-entry-receipt-row",
        row_input(0, &[&e0[..229], &e1[229..311], &e0[311..]].concat()),
    );
    d.add(
        "gap-entry-time-row",
        row_input(0, &splice(&e0, 213, &u64::MAX.to_be_bytes())),
    );
    d.add(
        "gap-entry-acl-version-row",
        row_input(0, &splice(&e0, 221, &9u64.to_be_bytes())),
    );
    d.add(
        "gap-entry-capsule-row",
        row_input(
            0,
            &[
                &e0[..kb_at + 56],
                &e1[kb_at + 56..kb_at + 106],
                &e0[kb_at + 106..],
            ]
            .concat(),
        ),
    );
    d.add(
        "gap-entry-epoch-row",
        row_input(0, &splice(&e0, kb_at + 2, &[0, 0, 0, 0])),
    );
    d.near_row("row-entry", 0, &e0, &[3, 60, 150, 250, 400, e0.len() - 2]);
    // ACL versions: swapped, the owner-signed epoch jump, and other near-misses.
    let v0 = row(kind::ACL_VERSION, 0).clone();
    let v1 = row(kind::ACL_VERSION, 1).clone();
    d.add("acl-version-swapped-row", row_input(0, &v1));
    d.add(
        "acl-version-jumped-row",
        row_input(1, &[&v1[..2], &w.jumped.acl().to_bytes()[..]].concat()),
    );
    d.near_row("row-acl-version", 0, &v0, &[3, 50, 500]);
    // Index rows, requests, replay rows: values nothing reads or signs.
    for k in [
        kind::META,
        kind::SECTION_ENTRY,
        kind::OWNER_REQUEST,
        kind::READER_GRANT,
        kind::REPLAY_EXPIRY,
    ] {
        let v = row(k, 0).clone();
        d.add(
            &format!("gap-{}-extra-byte-row", kind_name(k)),
            row_input(0, &[&v[..], &[7]].concat()),
        );
    }
    let req = row(kind::REQUEST, 0).clone();
    d.add(
        "gap-request-state-row",
        row_input(0, &splice(&req, req.len() - 9, &[3])),
    );
    d.near_row("row-request", 0, &req, &[3, 20, req.len() - 1]);
    let replay = row(kind::REPLAY, 0).clone();
    d.add(
        "gap-replay-response-row",
        row_input(0, &splice(&replay, 2 + 40 + 2, &[5])),
    );
    // Rows from the stores the srs_ops scenarios leave, written over the fixture's.
    for (name, ops) in scenarios {
        let run = srs_ops_run(ops);
        let mut seen = BTreeMap::new();
        for r in &run.rows {
            let k = r.key[0];
            if matches!(k, kind::KEY | kind::LEAVES | kind::HEAD | kind::ENTRY)
                && !seen.contains_key(&k)
            {
                seen.insert(k, ());
                // Another store's entry under this store's entry key: the audit's known gap.
                let gap = if k == kind::ENTRY { "gap-" } else { "" };
                d.add(
                    &format!("{gap}ops-{name}-{}-row", kind_name(k)),
                    row_input(0, &r.value),
                );
            }
        }
    }
    d
}

fn open_entry() -> Dir {
    let w = world();
    let mut d = Dir::new();
    let frame = |e: &SealedEntry, rc: &[u8]| frame_entry(&e.to_bytes().expect("entry"), rc);
    for (i, f) in w.entries.iter().enumerate() {
        d.add(
            &format!("valid-entry-{i}"),
            frame(&f.entry, &f.recapsule.to_bytes()),
        );
    }
    let f0 = &w.entries[0];
    let rc0 = f0.recapsule.to_bytes().to_vec();
    let e0 = f0.entry.to_bytes().expect("entry");
    let body_at = 2 + 97 + 4 + f0.entry.key_block().to_bytes().len() + 4;
    let mut body_flip = e0.clone();
    body_flip[body_at] ^= 1;
    d.add("body-flip-entry-0", frame_entry(&body_flip, &rc0));
    let mut tag_flip = e0.clone();
    tag_flip[body_at + f0.entry.body().len() - 1] ^= 0x80;
    d.add("gcm-tag-flip-entry-0", frame_entry(&tag_flip, &rc0));
    let mut version = e0.clone();
    version[2 + 2 + 16 + 16 + 16 + 32 + 7] ^= 1;
    d.add("acl-version-entry-0", frame_entry(&version, &rc0));
    let mut writer = e0.clone();
    writer[2 + 2 + 16 + 16 + 16] ^= 1;
    d.add("writer-fingerprint-entry-0", frame_entry(&writer, &rc0));
    let mut nonce = e0.clone();
    nonce[2 + 96] ^= 1;
    d.add("nonce-prefix-entry-0", frame_entry(&nonce, &rc0));
    let sig1 = w.entries[1].entry.signature().to_bytes();
    d.add(
        "other-signature-entry-0",
        frame_entry(&[&e0[..e0.len() - 82], &sig1[..]].concat(), &rc0),
    );
    d.add(
        "other-recapsule-entry-0",
        frame(&f0.entry, &w.entries[1].recapsule.to_bytes()),
    );
    // C of this entry with T of another: decodes, but gives the wrong key.
    let t1 = w.entries[1].recapsule.to_bytes();
    d.add(
        "other-t-entry-0",
        frame(&f0.entry, &[&rc0[..50], &t1[50..]].concat()),
    );
    d.add(
        "other-key-block-entry-0",
        frame(
            &f0.entry
                .clone()
                .with_key_block(*w.entries[2].entry.key_block()),
            &w.entries[2].recapsule.to_bytes(),
        ),
    );
    d.add(
        "rewrapped-with-old-recapsule",
        frame(&w.entries[4].entry, &rc0),
    );
    // The re-wrap signature over the key block replaced by the writer's entry signature.
    let rewrapped = w.entries[4].entry.to_bytes().expect("entry");
    let kb4 = w.entries[4].entry.key_block().to_bytes();
    let rewrap_sig_at = 2 + 97 + 4 + kb4.len() - 82;
    d.add(
        "forged-rewrap-entry-4",
        frame_entry(
            &splice(&rewrapped, rewrap_sig_at, &f0.entry.signature().to_bytes()),
            &w.entries[4].recapsule.to_bytes(),
        ),
    );
    // The owner's key block sealed to another epoch's key: the recapsule stays the same.
    let wrong_epoch = {
        let mut b = e0.clone();
        b[2 + 97 + 4 + 2 + 3] ^= 1;
        b
    };
    d.add("key-block-epoch-entry-0", frame_entry(&wrong_epoch, &rc0));
    // The multi-segment entry: second segment dropped, segments swapped.
    let f3 = &w.entries[3];
    let rc3 = f3.recapsule.to_bytes();
    let body = f3.entry.body();
    assert!(body.len() > SEGMENT_SIZE + 16);
    let e3 = f3.entry.to_bytes().expect("entry");
    let body3_at = e3.len() - 82 - body.len();
    let first = &body[..SEGMENT_SIZE + 16];
    let cut = [
        &e3[..body3_at - 4],
        &(first.len() as u32).to_be_bytes()[..],
        first,
        &e3[e3.len() - 82..],
    ]
    .concat();
    d.add("dropped-last-segment-entry-3", frame_entry(&cut, &rc3));
    // An empty body.
    let empty = [
        &e0[..body_at - 4],
        &[0u8, 0, 0, 0][..],
        &e0[e0.len() - 82..],
    ]
    .concat();
    d.add("empty-body-entry-0", frame_entry(&empty, &rc0));
    d.add("frame-too-long", {
        let mut f = frame(&f0.entry, &rc0);
        f[0] = 0xff;
        f
    });
    d.add("frame-short", vec![0, 0, 1]);
    let small = order_4513();
    d.add(
        "t-order-4513-entry-0",
        frame(&f0.entry, &splice(&rc0, 50, &gt_bytes(&small))),
    );
    d
}

/// `srs_ops` inputs: a seed byte, then op code and argument bytes (see `fuzz/logic.rs`).
struct Ops(Vec<u8>);

impl Ops {
    fn new(seed: u8) -> Self {
        Self(vec![seed])
    }

    fn op(mut self, code: u8, args: &[u8]) -> Self {
        self.0.push(code);
        self.0.extend_from_slice(args);
        self
    }

    fn register(self, who: usize, role: Role) -> Self {
        let w = who as u8;
        self.op(OP_REGISTER, &[w, role_byte(role), w, w])
    }

    fn activate(self, who: usize) -> Self {
        self.op(OP_ACTIVATE, &[ADMIN as u8, who as u8])
    }
}

/// Change bytes for `OP_UPDATE` (kind, section, principal, [history, epoch]).
const ADD_SECTION: u8 = 0;
const GRANT_READ: u8 = 2;
const REVOKE_READ: u8 = 3;
const GRANT_WRITE: u8 = 4;
const ROTATE: u8 = 6;

/// The length of the update that grants the doctor read again (history none) after a
/// revocation, in a record made like `srs_scenarios`' `create` (medical: the hospital writes,
/// the doctor reads): one key to add, with a one-leaf proof, nothing to delete.
fn regrant_update_len() -> usize {
    let w = world();
    let owner = w.owner();
    let mut rng = logic::rng(5);
    let medical = w.sections[0][0];
    let (hospital, doctor) = (w.keys[HOSPITAL].bundle(), w.keys[DOCTOR].bundle());
    let u1 = owner
        .create_record(
            w.records[0],
            FAR,
            &[
                Change::AddSection { section: medical },
                Change::GrantWrite {
                    section: medical,
                    writer: hospital,
                },
                Change::GrantRead {
                    section: medical,
                    reader: doctor,
                    history: History::None,
                },
            ],
            &mut rng,
        )
        .expect("create");
    let next = |u: &AclUpdate, change: Change, rng: &mut ChaCha20Rng| {
        let acl = u.acl().verify(&owner.verifying_key()).expect("verifies");
        owner.update(&acl, FAR, &[change], rng).expect("update")
    };
    let u2 = next(
        &u1,
        Change::RevokeRead {
            section: medical,
            reader: doctor.fingerprint(),
        },
        &mut rng,
    );
    let u3 = next(
        &u2,
        Change::GrantRead {
            section: medical,
            reader: doctor,
            history: History::None,
        },
        &mut rng,
    );
    assert!(u3.keys_to_add().len() == 1 && u3.keys_to_delete().is_empty());
    assert!(u3.keys_to_add()[0].proof.path().is_empty());
    u3.to_bytes().len()
}

fn srs_scenarios() -> Vec<(&'static str, Vec<u8>)> {
    let (a, h, dr, ph) = (
        OWNER_A as u8,
        HOSPITAL as u8,
        DOCTOR as u8,
        PHARMACIST as u8,
    );
    let create = |o: Ops, not_after: u8| {
        o.op(
            OP_UPDATE,
            &[
                a,
                0,
                0,
                not_after,
                2,
                ADD_SECTION,
                0,
                0,
                GRANT_WRITE,
                0,
                h,
                GRANT_READ,
                0,
                dr,
                0,
                0,
            ],
        )
    };
    let writer_and_reader = |seed: u8| {
        Ops::new(seed)
            .register(OWNER_A, Role::Patient)
            .register(HOSPITAL, Role::Hospital)
            .register(DOCTOR, Role::Doctor)
            .activate(OWNER_A)
            .activate(HOSPITAL)
            .activate(DOCTOR)
    };
    // Register, activate, create a record (hospital writes, doctor reads), seal and submit
    // two entries, re-encrypt both for the doctor (with an unknown id), for the pharmacist
    // (inactive); the owner re-wraps the first, the doctor gets the re-wrapped key block.
    let flow = create(
        writer_and_reader(1).register(PHARMACIST, Role::Pharmacist),
        200,
    )
    .op(OP_SEAL, &[h, 0, 0, 20])
    .op(OP_SEAL, &[h, 0, 0, 0])
    .op(OP_REENCRYPT, &[dr, 0, 0b1001])
    .op(OP_REENCRYPT, &[ph, 0, 0])
    .op(OP_REWRAP, &[a, 0])
    .op(OP_REENCRYPT, &[dr, 0, 0]);
    // Requests: approve (with a rotation), reject, withdraw; deletions of an open request
    // and (by the requester) of a closed one.
    let requests = Ops::new(2)
        .register(OWNER_A, Role::Patient)
        .register(DOCTOR, Role::Doctor)
        .activate(OWNER_A)
        .activate(DOCTOR)
        .op(
            OP_UPDATE,
            &[a, 0, 0, 200, 1, ADD_SECTION, 0, 0, ADD_SECTION, 1, 0],
        )
        .op(OP_REQUEST, &[dr, 0, 1, 0b011])
        .op(OP_APPROVE, &[a, 0, 0b01, 200])
        .op(OP_SEAL, &[a, 0, 0, 5])
        .op(OP_REENCRYPT, &[dr, 0, 0])
        .op(OP_REQUEST, &[dr, 0, 0, 0b001])
        .op(OP_REJECT, &[a, 1])
        .op(OP_REQUEST, &[dr, 0, 4, 1, 0b010])
        .op(OP_DELETE, &[dr, 2])
        .op(OP_WITHDRAW, &[dr, 2])
        .op(OP_DELETE, &[dr, 1]);
    // Revocation: re-encryption stops; a replayed or tampered update is refused.
    let revoke = create(writer_and_reader(3), 200)
        .op(OP_SEAL, &[h, 0, 0, 1])
        .op(OP_REENCRYPT, &[dr, 0, 0])
        .op(OP_UPDATE, &[a, 0, 0, 200, 0, REVOKE_READ, 0, dr])
        .op(OP_REENCRYPT, &[dr, 0, 0])
        .op(OP_SEAL, &[h, 0, 0, 2])
        .op(OP_REPLAY, &[a, 0])
        .op(OP_TAMPER, &[a, 0, 100, 3]);
    // Login: unregistered, inactive, other keys; duplicate registration, a bundle already
    // registered, a registration signed with other keys, a non-admin activating,
    // deactivation; a login from before the deactivation sent again: the current status.
    let login = Ops::new(4)
        .op(OP_LOGIN, &[dr, dr])
        .register(DOCTOR, Role::Doctor)
        .op(OP_LOGIN, &[dr, dr])
        .activate(DOCTOR)
        .op(OP_LOGIN, &[dr, dr])
        .op(OP_LOGIN, &[dr, ph])
        .register(DOCTOR, Role::Doctor)
        .op(OP_REGISTER, &[ph, 2, dr, dr])
        .op(OP_REGISTER, &[ph, 3, ph, dr])
        .op(OP_ACTIVATE, &[dr, dr])
        .op(OP_DEACTIVATE, &[ADMIN as u8, dr])
        .op(OP_LOGIN, &[dr, dr])
        .op(OP_ENVELOPE, &[0, 3, 0]);
    // Two patients: B claims the record id A would use; A's update submitted by B.
    let b = OWNER_B as u8;
    let claim = Ops::new(5)
        .register(OWNER_A, Role::Patient)
        .register(OWNER_B, Role::Patient)
        .activate(OWNER_A)
        .activate(OWNER_B)
        .op(OP_UPDATE, &[b, 1, 0, 50, 0, ADD_SECTION, 0, 0])
        .op(OP_UPDATE, &[b, 0, 1, 50, 0, ADD_SECTION, 0, 0])
        .op(OP_UPDATE, &[a, 0, 1, 50, 0, ADD_SECTION, 0, 0])
        .op(OP_UPDATE, &[b, 0, 1, 50, 0, ROTATE, 0, 0])
        .op(OP_UPDATE, &[a, 0, 0, 50, 0, ADD_SECTION, 1, 0]);
    // Expiry: the ACL runs out; re-encryption and sealing stop until a new version.
    let expiry = create(writer_and_reader(6), 100)
        .op(OP_SEAL, &[h, 0, 0, 3])
        .op(OP_TIME, &[255])
        .op(OP_TIME, &[255])
        .op(OP_REENCRYPT, &[dr, 0, 0])
        .op(OP_SEAL, &[h, 0, 0, 3])
        .op(OP_UPDATE, &[a, 0, 0, 255, 0, ROTATE, 0, 0])
        .op(OP_SEAL, &[h, 0, 0, 4])
        .op(OP_REENCRYPT, &[dr, 1, 0]);
    // A section removed, added back in a later version and granted with all history to a
    // new reader (the hospital): the entry written before the removal stays out of reach,
    // for the doctor who read it before too; a new entry is served.
    let readd = create(writer_and_reader(7), 200)
        .op(OP_SEAL, &[h, 0, 0, 10])
        .op(OP_REENCRYPT, &[dr, 0, 0])
        .op(OP_READD, &[0, 0, h, 200])
        .op(OP_REENCRYPT, &[h, 0, 0])
        .op(OP_REENCRYPT, &[dr, 0, 0])
        .op(OP_UPDATE, &[a, 0, 0, 200, 0, GRANT_WRITE, 0, h])
        .op(OP_SEAL, &[h, 0, 0, 11])
        .op(OP_REENCRYPT, &[h, 1, 0]);
    // The doctor revoked, then granted again with a key value substituted by the one from
    // the first update (alone, then with its proof): refused. The owner's update of the
    // second substitution (built, not applied) bit-flipped in its key value (negated: a
    // valid point), its proof's index and its key-set root: refused. The owner's own
    // update passes.
    let regrant_len = regrant_update_len();
    let at = |pos: usize| [(pos >> 8) as u8, pos as u8];
    let (rekey_sign, proof_index) = (at(regrant_len - 4 - 9 - 98 + 2), at(regrant_len - 4 - 2));
    let root = at(2 + 4 + 2 + 4 + ACL_ROOT_AT + 5);
    let substitute = create(writer_and_reader(8), 200)
        .op(OP_UPDATE, &[a, 0, 0, 200, 0, REVOKE_READ, 0, dr])
        .op(OP_SUBSTITUTE, &[0, 0, dr, 0, 0, 0, 0, 200])
        .op(OP_SUBSTITUTE, &[0, 0, dr, 0, 0, 1, 0, 200])
        .op(OP_TAMPER, &[a, rekey_sign[0], rekey_sign[1], 5])
        .op(OP_TAMPER, &[a, proof_index[0], proof_index[1], 0])
        .op(OP_TAMPER, &[a, root[0], root[1], 0])
        .op(OP_UPDATE, &[a, 0, 0, 200, 0, GRANT_READ, 0, dr, 0, 0])
        .op(OP_SEAL, &[h, 0, 0, 6])
        .op(OP_REENCRYPT, &[dr, 0, 0]);
    // Owner-signed epoch jumps of 2 and to u32::MAX (refused), a hand-signed rotation
    // (accepted, and its keys serve the doctor).
    let jump = create(writer_and_reader(9), 200)
        .op(OP_JUMP, &[0, 0, 1, 200])
        .op(OP_JUMP, &[0, 0, 3, 200])
        .op(OP_JUMP, &[0, 0, 0, 200])
        .op(OP_SEAL, &[h, 0, 0, 5])
        .op(OP_REENCRYPT, &[dr, 0, 0]);
    // A request filed, the clock set back: approving it stamps the filing time, not the
    // earlier clock; a second request filed at the earlier time is withdrawn a little later.
    let clock = Ops::new(10)
        .register(OWNER_A, Role::Patient)
        .register(DOCTOR, Role::Doctor)
        .activate(OWNER_A)
        .activate(DOCTOR)
        .op(OP_UPDATE, &[a, 0, 0, 200, 0, ADD_SECTION, 0, 0])
        .op(OP_TIME, &[10])
        .op(OP_REQUEST, &[dr, 0, 1, 0b001])
        .op(OP_CLOCK_BACK, &[5])
        .op(OP_APPROVE, &[a, 0, 1, 200])
        .op(OP_REQUEST, &[dr, 0, 1, 0b001])
        .op(OP_CLOCK_BACK, &[2])
        .op(OP_WITHDRAW, &[dr, 1])
        .op(OP_REJECT, &[a, 1]);
    // Rows written behind the SRS's back, each then asked for: the doctor's key for one
    // epoch replaced by its key for the next, an entry's key block replaced by another
    // entry's, a key value replaced with its leaf recomputed.
    let hostile = create(writer_and_reader(11), 200)
        .op(OP_SEAL, &[h, 0, 0, 7])
        .op(OP_UPDATE, &[a, 0, 0, 200, 0, ROTATE, 0, 0])
        .op(OP_SEAL, &[h, 0, 0, 8])
        .op(OP_HOSTILE, &[0, 0, 0])
        .op(OP_REENCRYPT, &[dr, 0, 1])
        .op(OP_HOSTILE, &[4, 0, 1])
        .op(OP_REENCRYPT, &[dr, 0, 1])
        .op(OP_HOSTILE, &[2, 1, 0])
        .op(OP_REENCRYPT, &[dr, 0, 1]);
    // A key row restored after the revocation that deleted it, and one copied to a reader
    // the ACL does not name: never served (the audit's known gap: orphan key rows).
    let orphan = create(
        writer_and_reader(12)
            .register(PHARMACIST, Role::Pharmacist)
            .activate(PHARMACIST),
        200,
    )
    .op(OP_SEAL, &[h, 0, 0, 9])
    .op(OP_UPDATE, &[a, 0, 0, 200, 0, REVOKE_READ, 0, dr])
    .op(OP_HOSTILE, &[3, 0, 0])
    .op(OP_REENCRYPT, &[dr, 0, 0])
    .op(OP_HOSTILE, &[1, 0, ph])
    .op(OP_REENCRYPT, &[ph, 0, 0]);
    // Envelopes: an exact retry (the stored answer), another SRS, out of the window, other
    // keys, a reused nonce, a flipped bit; then the clock past the window and the replay
    // rows expired: the retry is out of the window.
    let envelope = create(writer_and_reader(13), 200)
        .op(OP_ENVELOPE, &[0, 6, 0])
        .op(OP_ENVELOPE, &[1, 6, 0])
        .op(OP_ENVELOPE, &[2, 6, 9])
        .op(OP_ENVELOPE, &[2, 5, 2])
        .op(OP_ENVELOPE, &[3, 6, ph])
        .op(OP_ENVELOPE, &[4, 6, 0])
        .op(OP_ENVELOPE, &[5, 6, 12])
        .op(OP_TIME, &[30])
        .op(OP_ENVELOPE, &[0, 6, 0]);
    // Submissions: an entry sealed while its writer is inactive (refused), the section
    // rotated, the writer activated: the old key block is no longer current; an entry
    // submitted again, and by someone else.
    let submit = create(
        Ops::new(14)
            .register(OWNER_A, Role::Patient)
            .register(HOSPITAL, Role::Hospital)
            .register(DOCTOR, Role::Doctor)
            .activate(OWNER_A)
            .activate(DOCTOR),
        200,
    )
    .op(OP_SEAL, &[h, 0, 0, 4])
    .op(OP_UPDATE, &[a, 0, 0, 200, 0, ROTATE, 0, 0])
    .activate(HOSPITAL)
    .op(OP_SUBMIT, &[h, 0])
    .op(OP_SEAL, &[h, 0, 0, 5])
    .op(OP_SUBMIT, &[h, 1])
    .op(OP_SUBMIT, &[dr, 1])
    .op(OP_REENCRYPT, &[dr, 1, 0]);
    vec![
        ("flow", flow.0),
        ("requests", requests.0),
        ("revoke", revoke.0),
        ("login", login.0),
        ("claim", claim.0),
        ("expiry", expiry.0),
        ("readd", readd.0),
        ("substitute", substitute.0),
        ("jump", jump.0),
        ("clock", clock.0),
        ("hostile", hostile.0),
        ("hostile-orphan", orphan.0),
        ("envelope", envelope.0),
        ("submit", submit.0),
    ]
}

fn srs_ops(scenarios: &[(&str, Vec<u8>)]) -> Dir {
    let mut d = Dir::new();
    for (name, ops) in scenarios {
        d.add(&format!("valid-{name}"), ops.clone());
    }
    let (_, flow) = &scenarios[0];
    d.add("truncated-flow", flow[..flow.len() / 2].to_vec());
    d.add("empty", Vec::new());
    d.add(
        "every-op",
        (0..OPS).flat_map(|op| [op, 1, 2, 3, 4]).collect(),
    );
    d.add("all-ff", vec![0xff; 64]);
    d
}

/// Writes every target's seed corpus under `root` (`fuzz/corpus`).
pub fn generate(root: &Path) {
    let scenarios = srs_scenarios();
    // Each valid scenario must do what it was written for.
    for (name, ops) in &scenarios {
        let run = srs_ops_run(ops);
        let s = |op: u8| run.successes[usize::from(op)];
        let no = |op: u8| run.refusals[usize::from(op)];
        let ok = match *name {
            "flow" => {
                s(OP_REENCRYPT) == 2
                    && no(OP_REENCRYPT) == 1
                    && s(OP_UPDATE) == 1
                    && s(OP_SEAL) == 2
                    && s(OP_REWRAP) == 1
            }
            "claim" => s(OP_UPDATE) == 2,
            "expiry" => s(OP_REENCRYPT) == 1 && s(OP_UPDATE) == 2,
            "requests" => {
                s(OP_APPROVE) == 1
                    && s(OP_REJECT) == 1
                    && s(OP_WITHDRAW) == 1
                    && s(OP_DELETE) == 1
                    && no(OP_DELETE) == 1
                    && s(OP_REENCRYPT) == 1
            }
            "revoke" => s(OP_REENCRYPT) == 1 && s(OP_UPDATE) == 2,
            "login" => {
                s(OP_LOGIN) == 3
                    && no(OP_LOGIN) == 2
                    && no(OP_REGISTER) == 3
                    && s(OP_DEACTIVATE) == 1
                    && s(OP_ENVELOPE) == 1
            }
            "readd" => s(OP_READD) == 1 && s(OP_REENCRYPT) == 2 && no(OP_REENCRYPT) == 2,
            "substitute" => {
                no(OP_SUBSTITUTE) == 2
                    && no(OP_TAMPER) == 3
                    && s(OP_UPDATE) == 3
                    && s(OP_REENCRYPT) == 1
            }
            "jump" => s(OP_JUMP) == 1 && no(OP_JUMP) == 2 && s(OP_REENCRYPT) == 1,
            "clock" => s(OP_APPROVE) == 1 && s(OP_WITHDRAW) == 1 && no(OP_REJECT) == 1,
            "hostile" => s(OP_HOSTILE) == 3 && s(OP_REENCRYPT) >= 1 && no(OP_REENCRYPT) >= 1,
            "hostile-orphan" => s(OP_HOSTILE) == 2 && no(OP_REENCRYPT) == 2,
            "envelope" => s(OP_ENVELOPE) == 1 && no(OP_ENVELOPE) == 7,
            "submit" => s(OP_SUBMIT) == 0 && no(OP_SUBMIT) == 3 && s(OP_SEAL) == 1,
            _ => true,
        };
        assert!(
            ok,
            "srs_ops scenario {name} did not go as planned: successes {:?}, refusals {:?}",
            run.successes, run.refusals
        );
    }
    decode_keys().write(root, "decode_keys");
    decode_recapsule().write(root, "decode_recapsule");
    decode_entry().write(root, "decode_entry");
    decode_acl().write(root, "decode_acl");
    decode_srs_rows(&scenarios).write(root, "decode_srs_rows");
    open_entry().write(root, "open_entry");
    srs_ops(&scenarios).write(root, "srs_ops");
    let _ = SectionSecretKey::from_bytes;
}
