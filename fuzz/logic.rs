//! The logic of every fuzz target, in one plain Rust file with no libFuzzer dependency.
//!
//! It is compiled twice: by each thin wrapper in `fuzz/fuzz_targets/` (through
//! `#[path = "../logic.rs"] mod logic;`) and by the corpus replay test
//! `tests/corpus_replay.rs`, which runs every committed corpus file through the same function
//! on stable Rust, without the fuzzer.
//!
//! Every target panics (and so makes libFuzzer report a crash) when an invariant breaks:
//! a decoder that accepts bytes it does not re-encode identically, a forged value that
//! verifies or opens, an SRS operation that fails but changes the state, a re-encryption
//! that the newest ACL does not allow, and of course any panic inside the library.
//!
//! The cast (owners, writers, readers) and the fixtures (ACL, entries, re-encrypted capsules)
//! are built from fixed seeds with a deterministic RNG, once per process, so the corpus
//! generator and the targets agree on what is authentic.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::dem::WrappedKey;
use sesphr::phr::{
    AccessRequest, Acl, AclUpdate, AclVerifier, AclVersion, BodyHeader, Change, Epoch, History,
    KeyBlock, KeyBundle, LoginChallenge, MasterSecret, Owner, PrincipalId, PrincipalKeys, ReKeyId,
    RecordId, RequestAction, RequestId, RequestState, Right, Role, SealedEntry, SectionId,
    SectionName, SignedAcl, Srs, Timestamp, VerifiedAcl,
};
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderPublicKey, ReaderSecretKey, SectionPublicKey,
    SectionSecretKey,
};
use sesphr::sign::{ProofOfPossession, Purpose, Signature, SigningKey, VerifyingKey};
use sesphr::Error;

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// A target's logic: how many "accepts" an input produced.
pub type Target = fn(&[u8]) -> usize;

/// Every target: its name (the directory under `fuzz/corpus/` and the binary under
/// `fuzz/fuzz_targets/`) and how many "accepts" an input produced (decodes that succeeded,
/// entries that opened, SRS operations that succeeded). The replay test uses the count to
/// check that seeds named `valid-*` are still accepted.
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_keys", decode_keys_count),
    ("decode_recapsule", decode_recapsule_count),
    ("decode_entry", decode_entry_count),
    ("decode_acl", decode_acl_count),
    ("decode_srs", decode_srs_count),
    ("open_entry", open_entry_count),
    ("srs_ops", srs_ops_count),
];

/// Fixed-size keys, signatures and small envelopes: `SectionPublicKey`, `ReaderPublicKey`,
/// `SectionSecretKey`, `ReaderSecretKey`, `Capsule`, `ReKey`, `VerifyingKey`, `SigningKey`,
/// `Signature`, `ProofOfPossession`, `WrappedKey`, `KeyBundle`, `MasterSecret`.
pub fn decode_keys(data: &[u8]) {
    decode_keys_count(data);
}

/// `ReCapsule` (the GT checks), and the reader's decapsulation of whatever decodes.
pub fn decode_recapsule(data: &[u8]) {
    decode_recapsule_count(data);
}

/// `BodyHeader`, `KeyBlock`, `SealedEntry`.
pub fn decode_entry(data: &[u8]) {
    decode_entry_count(data);
}

/// `Acl`, `SignedAcl`, `AclUpdate`, `AccessRequest`.
pub fn decode_acl(data: &[u8]) {
    decode_acl_count(data);
}

/// `Srs::from_bytes` (the whole SRS state).
pub fn decode_srs(data: &[u8]) {
    decode_srs_count(data);
}

/// Decodes a sealed entry and a re-encrypted capsule and opens them as the fixed owner and
/// readers: never a panic, and success only for authentic entries.
pub fn open_entry(data: &[u8]) {
    open_entry_count(data);
}

/// Runs the input as a sequence of SRS operations and checks the invariants after each.
pub fn srs_ops(data: &[u8]) {
    srs_ops_count(data);
}

// ---------------------------------------------------------------------------------------------
// The cast and the fixtures
// ---------------------------------------------------------------------------------------------

/// Index of each principal in [`World::keys`] and [`World::ids`].
pub const ADMIN: usize = 0;
/// The first record owner (patient A). Owns the fixture record.
pub const OWNER_A: usize = 1;
/// A second record owner (patient B), who may try to claim A's record.
pub const OWNER_B: usize = 2;
/// A hospital: the fixture record's writer.
pub const HOSPITAL: usize = 3;
/// A doctor: the fixture record's reader.
pub const DOCTOR: usize = 4;
/// A pharmacist: registered, but granted nothing in the fixture record.
pub const PHARMACIST: usize = 5;
/// Number of principals.
pub const CAST: usize = 6;

/// The time of the fixtures and the start time of `srs_ops`.
pub const T0: Timestamp = Timestamp(1_700_000_000);
/// `not_after` of the fixture ACL.
pub const FAR: Timestamp = Timestamp(4_000_000_000);

/// Deterministic RNG for the fixtures and the targets.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// An entry of the fixture record with its plaintext.
pub struct FixtureEntry {
    /// The sealed entry.
    pub entry: SealedEntry,
    /// What it opens to.
    pub plaintext: Vec<u8>,
    /// Its capsule re-encrypted for the doctor.
    pub recapsule: ReCapsule,
}

/// Everything fixed: keys, ids, proofs, the fixture record, ACL and entries.
pub struct World {
    /// The two owners (A, B).
    pub owners: [Owner; 2],
    /// The principals' keys, indexed by the constants above (owners' own keys at 1 and 2).
    pub keys: Vec<PrincipalKeys>,
    /// Their SRS ids.
    pub ids: [PrincipalId; CAST],
    /// Their proofs of possession.
    pub proofs: Vec<ProofOfPossession>,
    /// The record of each owner ("main").
    pub records: [RecordId; 2],
    /// Two sections per owner ("medical", "lab").
    pub sections: [[SectionId; 2]; 2],
    /// A fresh SRS holding only its active administrator.
    pub base_srs: Srs,
    /// The fixture record's first ACL update (owner A, record A: medical with hospital
    /// writing and doctor reading from epoch 1; lab with no one).
    pub update: AclUpdate,
    /// Its verified ACL.
    pub acl: VerifiedAcl,
    /// A richer second update (pharmacist reader with history, a second writer, a retired
    /// section), for ACL near-misses.
    pub update2: AclUpdate,
    /// Entries of the fixture record.
    pub entries: Vec<FixtureEntry>,
    /// A signature by the hospital over `[b"fuzz"]` with purpose `Entry`.
    pub signature: Signature,
}

impl World {
    /// The owner of record A.
    pub fn owner(&self) -> &Owner {
        &self.owners[0]
    }

    /// Whether `entry` has the header, body and writer signature of a fixture entry; if so,
    /// its plaintext.
    pub fn authentic(&self, entry: &SealedEntry) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|f| {
                f.entry.header() == entry.header()
                    && f.entry.body() == entry.body()
                    && f.entry.signature() == entry.signature()
            })
            .map(|f| f.plaintext.as_slice())
    }

    /// Index of the cast member with this key bundle.
    pub fn who_has(&self, bundle: &KeyBundle) -> Option<usize> {
        self.keys.iter().position(|k| k.bundle() == *bundle)
    }
}

fn seed(n: u8) -> [u8; 32] {
    let mut s = [n; 32];
    s[0] = 0xf0;
    s
}

fn keys_from_seed(n: u8) -> PrincipalKeys {
    let sign = SigningKey::from_seed(&seed(n)).expect("signing seed");
    let read = ReaderSecretKey::from_seed(&seed(n.wrapping_add(100))).expect("reader seed");
    PrincipalKeys::from_parts(sign, read)
}

fn section_name(name: &str) -> SectionName {
    SectionName::new(name).expect("valid section name")
}

/// Plaintext of `len` bytes with a recognisable pattern.
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

/// A reader's re-encrypted capsule for a key block, made directly with the re-encryption key
/// the owner would give the SRS.
pub fn recapsule_for(
    owner: &Owner,
    record: RecordId,
    section: SectionId,
    kb: &KeyBlock,
    reader: &ReaderPublicKey,
) -> ReCapsule {
    let sk = owner
        .section_key(record, section, kb.epoch())
        .expect("section key");
    ReKey::new(&sk, reader).reencrypt(kb.capsule())
}

fn build_world() -> World {
    let mut rng = rng(0x5e5_0001);
    let owners = [
        Owner::from_master(MasterSecret::from_raw(seed(1))).expect("owner A"),
        Owner::from_master(MasterSecret::from_raw(seed(2))).expect("owner B"),
    ];
    let keys = vec![
        keys_from_seed(10),
        owners[0].keys().clone(),
        owners[1].keys().clone(),
        keys_from_seed(13),
        keys_from_seed(14),
        keys_from_seed(15),
    ];
    let mut ids = [PrincipalId::new([0; 16]); CAST];
    for (i, id) in ids.iter_mut().enumerate() {
        *id = PrincipalId::new([i as u8; 16]);
    }
    let proofs: Vec<ProofOfPossession> = keys
        .iter()
        .map(|k| k.prove_possession(&mut rng).expect("proof"))
        .collect();
    let records = [
        owners[0].record_id("main").expect("record id"),
        owners[1].record_id("main").expect("record id"),
    ];
    let sections = [
        [
            owners[0].section_id(&section_name("medical")),
            owners[0].section_id(&section_name("lab")),
        ],
        [
            owners[1].section_id(&section_name("medical")),
            owners[1].section_id(&section_name("lab")),
        ],
    ];
    let base_srs = Srs::new(ids[ADMIN], keys[ADMIN].bundle(), &proofs[ADMIN]).expect("SRS");

    let owner = &owners[0];
    let [medical, lab] = sections[0];
    let update = owner
        .create_record(
            records[0],
            FAR,
            &[
                Change::AddSection { section: medical },
                Change::AddSection { section: lab },
                Change::GrantWrite {
                    section: medical,
                    writer: keys[HOSPITAL].bundle(),
                },
                Change::GrantRead {
                    section: medical,
                    reader: keys[DOCTOR].bundle(),
                    history: History::None,
                },
            ],
            &mut rng,
        )
        .expect("fixture ACL");
    let acl = update
        .acl()
        .verify(&owner.verifying_key())
        .expect("fixture ACL verifies");
    let update2 = owner
        .update(
            &acl,
            FAR,
            &[
                Change::GrantRead {
                    section: medical,
                    reader: keys[PHARMACIST].bundle(),
                    history: History::All,
                },
                Change::GrantWrite {
                    section: medical,
                    writer: keys[OWNER_B].bundle(),
                },
                Change::GrantRead {
                    section: lab,
                    reader: keys[DOCTOR].bundle(),
                    history: History::FromEpoch(Epoch(0)),
                },
                Change::SetDefaultHistory(History::All),
                Change::AddSection {
                    section: sections[1][0],
                },
                Change::RemoveSection {
                    section: sections[1][0],
                },
            ],
            &mut rng,
        )
        .expect("second fixture ACL");

    let doctor_pk = keys[DOCTOR].reader_key().public_key();
    let mut entries = Vec::new();
    let plaintexts: [(usize, Vec<u8>); 4] = [
        (HOSPITAL, b"HbA1c 5.4 %".to_vec()),
        (HOSPITAL, Vec::new()),
        (OWNER_A, b"self-reported: allergic to penicillin".to_vec()),
        (HOSPITAL, pattern(sesphr::dem::SEGMENT_SIZE + 10, 7)),
    ];
    for (writer, pt) in plaintexts {
        let entry = keys[writer]
            .seal_entry(&acl, medical, &pt, T0, &mut rng)
            .expect("fixture entry");
        let recapsule = recapsule_for(owner, records[0], medical, entry.key_block(), &doctor_pk);
        entries.push(FixtureEntry {
            entry,
            plaintext: pt,
            recapsule,
        });
    }
    // The first entry re-wrapped by the owner (new capsule, owner-signed key block).
    let kb = owner
        .rewrap(&entries[0].entry, &acl, &mut rng)
        .expect("rewrap");
    let rewrapped = entries[0].entry.clone().with_key_block(kb);
    let recapsule = recapsule_for(
        owner,
        records[0],
        medical,
        rewrapped.key_block(),
        &doctor_pk,
    );
    entries.push(FixtureEntry {
        entry: rewrapped,
        plaintext: entries[0].plaintext.clone(),
        recapsule,
    });
    let signature = keys[HOSPITAL]
        .signing_key()
        .sign(Purpose::Entry, &[b"fuzz"], &mut rng)
        .expect("signature");

    World {
        owners,
        keys,
        ids,
        proofs,
        records,
        sections,
        base_srs,
        update,
        acl,
        update2,
        entries,
        signature,
    }
}

/// The fixed world, built once per process.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build_world)
}

// ---------------------------------------------------------------------------------------------
// Decoders
// ---------------------------------------------------------------------------------------------

/// Decodes `data`; if that succeeds, the value must re-encode to exactly `data`.
fn round_trip<T>(
    data: &[u8],
    name: &str,
    decode: impl Fn(&[u8]) -> Result<T, Error>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> Option<T> {
    let value = decode(data).ok()?;
    let again = encode(&value);
    assert!(
        again == data,
        "{name}: decode → encode is not the identity\n input: {}\noutput: {}",
        hex(data),
        hex(&again)
    );
    Some(value)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn decode_keys_count(data: &[u8]) -> usize {
    let w = world();
    let mut n = 0;
    let mut r = rng(data.len() as u64);

    if let Some(pk) = round_trip(
        data,
        "SectionPublicKey",
        SectionPublicKey::from_bytes,
        |v| v.to_bytes().to_vec(),
    ) {
        n += 1;
        // Any valid section key can be encapsulated to.
        let (c, _) = encapsulate(&pk, b"ctx", &mut r).expect("encapsulate to a decoded key");
        let _ = c.to_bytes();
    }
    if let Some(pk) = round_trip(data, "ReaderPublicKey", ReaderPublicKey::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        let sk = w
            .owner()
            .section_key(w.records[0], w.sections[0][0], Epoch(0))
            .expect("sk");
        let _ = ReKey::new(&sk, &pk).to_bytes();
    }
    if let Some(sk) = round_trip(
        data,
        "SectionSecretKey",
        SectionSecretKey::from_bytes,
        |v| v.to_bytes().to_vec(),
    ) {
        n += 1;
        // The decoded secret matches its public key: owner decapsulation recovers the key.
        let (c, k) = encapsulate(&sk.public_key(), b"ctx", &mut r).expect("encapsulate");
        assert!(sk.decapsulate(&c, b"ctx").expect("decapsulate") == k);
    }
    if let Some(sk) = round_trip(data, "ReaderSecretKey", ReaderSecretKey::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        let section = w
            .owner()
            .section_key(w.records[0], w.sections[0][0], Epoch(0))
            .expect("sk");
        let (c, k) = encapsulate(&section.public_key(), b"ctx", &mut r).expect("encapsulate");
        let rc = ReKey::new(&section, &sk.public_key()).reencrypt(&c);
        let k2 = sk
            .decapsulate_reencrypted(&rc, &section.public_key(), b"ctx")
            .expect("decapsulate");
        assert!(
            k == k2,
            "a decoded reader key must open what is re-encrypted for it"
        );
    }
    if let Some(c) = round_trip(data, "Capsule", Capsule::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        let sk = w
            .owner()
            .section_key(w.records[0], w.sections[0][0], Epoch(0))
            .expect("sk");
        let _ = sk.decapsulate(&c, b"ctx");
    }
    if let Some(rk) = round_trip(data, "ReKey", ReKey::from_bytes, |v| v.to_bytes().to_vec()) {
        n += 1;
        let c = w.entries[0].entry.key_block().capsule();
        let rc = rk.reencrypt(c);
        // The proxy's output is in GT by construction and must pass the decoder's checks.
        let back = ReCapsule::from_bytes(&rc.to_bytes()).expect("re-encryption output decodes");
        assert!(back == rc);
    }
    if let Some(vk) = round_trip(data, "VerifyingKey", VerifyingKey::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        if vk.verify(Purpose::Entry, &[b"fuzz"], &w.signature).is_ok() {
            assert!(
                vk == w.keys[HOSPITAL].signing_key().verifying_key(),
                "a signature verified under a key that did not make it"
            );
        }
    }
    if let Some(sk) = round_trip(data, "SigningKey", SigningKey::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        let sig = sk.sign(Purpose::Login, &[data], &mut r).expect("sign");
        sk.verifying_key()
            .verify(Purpose::Login, &[data], &sig)
            .expect("a decoded signing key's signature verifies");
        assert!(
            sk.verifying_key()
                .verify(Purpose::Acl, &[data], &sig)
                .is_err(),
            "a signature verified for another purpose"
        );
    }
    if let Some(sig) = round_trip(data, "Signature", Signature::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        let hospital = w.keys[HOSPITAL].signing_key().verifying_key();
        if hospital.verify(Purpose::Entry, &[b"fuzz"], &sig).is_ok() {
            assert!(sig == w.signature, "forged signature verified");
        }
    }
    if let Some(pop) = round_trip(
        data,
        "ProofOfPossession",
        ProofOfPossession::from_bytes,
        |v| v.to_bytes().to_vec(),
    ) {
        n += 1;
        for (k, proof) in w.keys.iter().zip(&w.proofs) {
            if k.signing_key()
                .verifying_key()
                .verify_possession(&pop)
                .is_ok()
            {
                assert!(pop == *proof, "forged proof of possession verified");
            }
        }
    }
    if round_trip(data, "WrappedKey", WrappedKey::from_bytes, |v| {
        v.to_bytes().to_vec()
    })
    .is_some()
    {
        n += 1;
    }
    if let Some(b) = round_trip(data, "KeyBundle", KeyBundle::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        let _ = b.fingerprint().short();
    }
    if let Some(m) = round_trip(data, "MasterSecret", MasterSecret::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        if let Ok(o) = Owner::from_master(m) {
            let _ = o.record_id("main");
        }
    }
    n
}

fn decode_recapsule_count(data: &[u8]) -> usize {
    let w = world();
    let decoded = round_trip(data, "ReCapsule", ReCapsule::from_bytes, |v| {
        v.to_bytes().to_vec()
    });
    // `from_bytes_for` (the reader's decoder, given the capsule it already holds) accepts
    // exactly what `from_bytes` accepts with that capsule, and the same value.
    for f in &w.entries {
        let c = f.entry.key_block().capsule();
        let for_c = round_trip(
            data,
            "ReCapsule (from_bytes_for)",
            |b| ReCapsule::from_bytes_for(b, c),
            |v| v.to_bytes().to_vec(),
        );
        let expected = decoded.as_ref().filter(|rc| rc.capsule() == c);
        assert!(
            for_c.as_ref() == expected,
            "from_bytes_for and from_bytes disagree"
        );
    }
    let Some(rc) = decoded else {
        return 0;
    };
    // Whatever decodes is safe to exponentiate with a reader secret (it is in GT).
    let doctor = w.keys[DOCTOR].reader_key();
    let section = w.acl.section(&w.sections[0][0]).expect("medical").key();
    let _ = doctor.decapsulate_reencrypted(&rc, section, b"ctx");
    1
}

fn decode_entry_count(data: &[u8]) -> usize {
    let w = world();
    let mut n = 0;
    if let Some(h) = round_trip(data, "BodyHeader", BodyHeader::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        assert!(h.hash() == BodyHeader::from_bytes(data).expect("again").hash());
    }
    if let Some(kb) = round_trip(data, "KeyBlock", KeyBlock::from_bytes, |v| v.to_bytes()) {
        n += 1;
        for f in &w.entries {
            let _ = kb.belongs_to(f.entry.header());
        }
    }
    if let Some(e) = round_trip(data, "SealedEntry", SealedEntry::from_bytes, |v| {
        v.to_bytes().expect("a decoded entry re-encodes")
    }) {
        n += 1;
        if e.verify_writer(&w.acl).is_ok() {
            assert!(
                w.authentic(&e).is_some(),
                "forged writer signature verified"
            );
        }
    }
    n
}

fn decode_acl_count(data: &[u8]) -> usize {
    let w = world();
    let owner_vk = w.owner().verifying_key();
    let mut n = 0;
    if round_trip(data, "Acl", Acl::from_bytes, |v| {
        v.to_bytes().expect("a decoded ACL re-encodes")
    })
    .is_some()
    {
        n += 1;
    }
    let authentic = [w.update.acl().to_bytes(), w.update2.acl().to_bytes()];
    if let Some(s) = round_trip(data, "SignedAcl", SignedAcl::from_bytes, |v| v.to_bytes()) {
        n += 1;
        if s.verify(&owner_vk).is_ok() {
            assert!(authentic.contains(&s.to_bytes()), "forged ACL verified");
        }
        let mut verifier = AclVerifier::new(w.records[0], owner_vk);
        if verifier.accept(&s, T0).is_ok() {
            assert!(authentic.contains(&s.to_bytes()), "forged ACL accepted");
        }
    }
    if let Some(u) = round_trip(data, "AclUpdate", AclUpdate::from_bytes, |v| v.to_bytes()) {
        n += 1;
        if u.acl().verify(&owner_vk).is_ok() {
            assert!(
                authentic.contains(&u.acl().to_bytes()),
                "forged ACL verified"
            );
        }
        // The SRS takes an update only from the record's registered owner and only with
        // exactly the key material it implies.
        let mut srs = w.base_srs.clone();
        let owner = &w.keys[OWNER_A];
        let id = w.ids[OWNER_A];
        srs.register(id, Role::Patient, owner.bundle(), &w.proofs[OWNER_A])
            .expect("register");
        srs.activate(w.ids[ADMIN], id).expect("activate");
        let before = srs.to_bytes().expect("state");
        match srs.apply_update(id, &u, T0) {
            Ok(()) => same_acl_and_key_ids(&u, &w.update),
            Err(_) => assert!(srs.to_bytes().expect("state") == before),
        }
    }
    if let Some(req) = round_trip(data, "AccessRequest", AccessRequest::from_bytes, |v| {
        v.to_bytes().expect("a decoded request re-encodes")
    }) {
        n += 1;
        assert!(!req.sections().is_empty());
        for action in [
            RequestAction::Approve,
            RequestAction::Reject,
            RequestAction::Withdraw,
            RequestAction::Delete,
        ] {
            let next = req.next_state(action);
            assert!(next.is_ok() == (req.state().is_closed() == (action == RequestAction::Delete)));
        }
    }
    n
}

/// What the SRS may only accept unchanged from the owner: the signed ACL and which keys to
/// add and delete. (The re-encryption key points themselves are not covered by the owner's
/// signature; see fuzz/README.md.)
fn same_acl_and_key_ids(accepted: &AclUpdate, made: &AclUpdate) {
    assert!(
        accepted.acl() == made.acl(),
        "the SRS accepted an ACL the owner did not sign"
    );
    let ids = |u: &AclUpdate| -> Vec<ReKeyId> { u.keys_to_add().iter().map(|g| g.id).collect() };
    let mut a = ids(accepted);
    let mut b = ids(made);
    a.sort();
    b.sort();
    assert!(
        a == b,
        "the SRS accepted other keys to add than the owner's"
    );
    let mut a = accepted.keys_to_delete().to_vec();
    let mut b = made.keys_to_delete().to_vec();
    a.sort();
    b.sort();
    assert!(
        a == b,
        "the SRS accepted other keys to delete than the owner's"
    );
}

fn decode_srs_count(data: &[u8]) -> usize {
    let Some(srs) = round_trip(data, "Srs", Srs::from_bytes, |v| {
        v.to_bytes().expect("a decoded SRS state re-encodes")
    }) else {
        return 0;
    };
    // What the decoder promises: every stored ACL is signed by its registered owner.
    let w = world();
    for record in w.records {
        if let Some(acl) = srs.acl(record) {
            acl.verify(acl.acl_unverified().owner().signing_key())
                .expect("a decoded SRS holds only owner-signed ACLs");
            for r in srs.requests_for(record) {
                assert!(r.record() == record);
            }
        }
    }
    1
}

// ---------------------------------------------------------------------------------------------
// open_entry
// ---------------------------------------------------------------------------------------------

/// The `open_entry` input: `u32be(len) ‖ SealedEntry (len bytes) ‖ ReCapsule (the rest)`.
pub fn frame_entry(entry: &[u8], recapsule: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + entry.len() + recapsule.len());
    out.extend_from_slice(&(entry.len() as u32).to_be_bytes());
    out.extend_from_slice(entry);
    out.extend_from_slice(recapsule);
    out
}

fn open_entry_count(data: &[u8]) -> usize {
    let w = world();
    if data.len() < 4 {
        return 0;
    }
    let (len, rest) = data.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if rest.len() < len {
        return 0;
    }
    let (entry, recapsule) = rest.split_at(len);
    let Ok(entry) = SealedEntry::from_bytes(entry) else {
        return 0;
    };
    let mut n = 0;

    // The owner needs no re-encrypted capsule.
    if let Ok(pt) = w.owner().open_entry(&entry, &w.acl) {
        let expected = w.authentic(&entry).expect("owner opened a forged entry");
        assert!(
            pt == expected,
            "owner opened an entry to the wrong plaintext"
        );
        n += 1;
    }

    let decoded = ReCapsule::from_bytes(recapsule);
    let for_entry = ReCapsule::from_bytes_for(recapsule, entry.key_block().capsule());
    if let Ok(rc) = &for_entry {
        assert!(
            decoded.as_ref().ok() == Some(rc),
            "from_bytes_for accepted what from_bytes refuses"
        );
    }
    let Ok(rc) = decoded else {
        return n;
    };
    let doctor = &w.keys[DOCTOR];
    let whole = doctor.open_entry(&entry, &rc, &w.acl);
    if let Ok(pt) = &whole {
        let expected = w.authentic(&entry).expect("reader opened a forged entry");
        assert!(
            pt == expected,
            "reader opened an entry to the wrong plaintext"
        );
        n += 1;
    }
    // The segment-by-segment path must agree with the in-memory one.
    let segmented = doctor
        .entry_opener(entry.header(), entry.key_block(), &rc, &w.acl)
        .and_then(|mut opener| {
            let body = entry.body();
            let count = body.len().div_ceil(sesphr::dem::SEALED_SEGMENT_SIZE).max(1);
            let mut pt = Vec::new();
            let mut chunks = body.chunks(sesphr::dem::SEALED_SEGMENT_SIZE);
            for _ in 1..count {
                let chunk = chunks.next().unwrap_or_default();
                pt.extend(opener.open_segment(chunk)?.into_unverified());
            }
            let last = chunks.next().unwrap_or_default();
            pt.extend(opener.finish(last, entry.signature())?);
            Ok(pt)
        });
    assert!(
        whole.as_ref().ok() == segmented.as_ref().ok(),
        "open_entry and entry_opener disagree: {:?} vs {:?}",
        whole.as_ref().err(),
        segmented.as_ref().err()
    );
    // Nothing in the fixtures re-encrypts for the pharmacist: it must never open anything.
    assert!(
        w.keys[PHARMACIST].open_entry(&entry, &rc, &w.acl).is_err(),
        "an ungranted reader opened an entry"
    );
    n
}

// ---------------------------------------------------------------------------------------------
// srs_ops
// ---------------------------------------------------------------------------------------------

/// The operations of `srs_ops`, by op code (the input byte modulo [`OPS`]).
pub const OP_REGISTER: u8 = 0;
/// `activate(actor, target)`.
pub const OP_ACTIVATE: u8 = 1;
/// `deactivate(actor, target)`.
pub const OP_DEACTIVATE: u8 = 2;
/// `request(requester, record, right, sections)`.
pub const OP_REQUEST: u8 = 3;
/// `approve(actor, request, update)` with an update the record owner builds for it.
pub const OP_APPROVE: u8 = 4;
/// `reject(actor, request)`.
pub const OP_REJECT: u8 = 5;
/// `withdraw(actor, request)`.
pub const OP_WITHDRAW: u8 = 6;
/// `delete_request(request)`.
pub const OP_DELETE: u8 = 7;
/// `apply_update(actor, update)` with an update an owner builds from typed changes.
pub const OP_UPDATE: u8 = 8;
/// A writer seals an entry to the newest ACL (client side; no SRS change).
pub const OP_SEAL: u8 = 9;
/// `reencrypt(reader, header, key block)`; on success the reader opens the entry.
pub const OP_REENCRYPT: u8 = 10;
/// `login_challenge` and `login`.
pub const OP_LOGIN: u8 = 11;
/// Advances the clock.
pub const OP_TIME: u8 = 12;
/// Replays an update the SRS accepted before (must be refused).
pub const OP_REPLAY: u8 = 13;
/// Applies a bit-flipped copy of the last update built (accepted only if unchanged).
pub const OP_TAMPER: u8 = 14;
/// Number of op codes.
pub const OPS: u8 = 15;
/// Most operations run per input.
pub const MAX_OPS: usize = 16;

const ROLES: [Role; 8] = [
    Role::Patient,
    Role::Hospital,
    Role::Doctor,
    Role::Pharmacist,
    Role::Insurer,
    Role::Family,
    Role::Researcher,
    Role::Admin,
];

/// Index of a role in the role byte of `OP_REGISTER`.
pub fn role_byte(role: Role) -> u8 {
    ROLES.iter().position(|r| *r == role).unwrap_or(0) as u8
}

/// What a `srs_ops` run did: successes per op code and the state after each op.
#[derive(Default)]
pub struct SrsRun {
    /// Successful operations per op code.
    pub successes: [usize; OPS as usize],
    /// `srs.to_bytes()` after each operation.
    pub states: Vec<Vec<u8>>,
}

struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    fn pick(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }
}

struct Model<'w> {
    w: &'w World,
    srs: Srs,
    now: Timestamp,
    rng: ChaCha20Rng,
    /// Who created each record (cast index of the owner).
    record_owner: BTreeMap<RecordId, usize>,
    /// Every ACL version the SRS accepted, verified.
    acls: BTreeMap<(RecordId, AclVersion), VerifiedAcl>,
    /// Updates the SRS accepted.
    accepted: Vec<AclUpdate>,
    /// The last update built (accepted or not).
    last_built: Option<AclUpdate>,
    /// Sealed entries, with the ACL each was sealed under and its plaintext.
    entries: Vec<(SealedEntry, VerifiedAcl, Vec<u8>)>,
    /// Requests filed so far (ids are 0..requests).
    requests: u64,
    /// The last login challenge issued to each principal id index.
    challenges: BTreeMap<usize, LoginChallenge>,
    /// Whether the SRS accepted an update with altered re-encryption keys.
    rekeys_tampered: bool,
}

impl Model<'_> {
    fn registered(&self, who: usize) -> Option<sesphr::phr::Registration> {
        self.srs.principal(self.w.ids[who]).cloned()
    }

    fn active(&self, who: usize) -> bool {
        self.registered(who).is_some_and(|r| r.active)
    }

    fn owner_of(&self, record: RecordId) -> Option<usize> {
        self.record_owner.get(&record).copied()
    }

    /// Section `i` (0, 1) of a record as its owner names it; 2 is a foreign section.
    fn section(&self, record: RecordId, i: usize) -> SectionId {
        let o: usize = self
            .w
            .records
            .iter()
            .position(|r| *r == record)
            .unwrap_or_default();
        if i < 2 {
            self.w.sections[o][i]
        } else {
            self.w.sections[1 - o][0]
        }
    }

    fn history(&self, b: u8, e: u8) -> History {
        match b % 3 {
            0 => History::None,
            1 => History::FromEpoch(Epoch(u32::from(e % 4))),
            _ => History::All,
        }
    }

    /// An update by `builder` (cast index of an owner) on `record`: the next version of the
    /// SRS's newest ACL of the record, or a first version.
    fn build(
        &mut self,
        builder: usize,
        record: RecordId,
        changes: &[Change],
        not_after: Timestamp,
    ) -> Option<AclUpdate> {
        let owner = &self.w.owners[builder - OWNER_A];
        let built = match self.srs.acl(record) {
            Some(current) => current
                .verify(&owner.verifying_key())
                .and_then(|current| owner.update(&current, not_after, changes, &mut self.rng)),
            None => owner.create_record(record, not_after, changes, &mut self.rng),
        };
        let u = built.ok()?;
        self.last_built = Some(u.clone());
        Some(u)
    }

    fn accepted(&mut self, builder: usize, update: &AclUpdate) {
        let record = update.acl().acl_unverified().record();
        self.record_owner.entry(record).or_insert(builder);
        let owner = &self.w.owners[builder - OWNER_A];
        let v = update
            .acl()
            .verify(&owner.verifying_key())
            .expect("an accepted ACL verifies under its builder's key");
        self.acls.insert((record, v.version()), v);
        self.accepted.push(update.clone());
    }

    fn change(&mut self, inp: &mut Input<'_>, record: RecordId) -> Change {
        let kind = inp.byte() % 8;
        let section = self.section(record, inp.pick(3));
        let who = inp.pick(CAST);
        let bundle = self.w.keys[who].bundle();
        match kind {
            0 => Change::AddSection { section },
            1 => Change::RemoveSection { section },
            2 => {
                let (h, e) = (inp.byte(), inp.byte());
                Change::GrantRead {
                    section,
                    reader: bundle,
                    history: self.history(h, e),
                }
            }
            3 => Change::RevokeRead {
                section,
                reader: bundle.fingerprint(),
            },
            4 => Change::GrantWrite {
                section,
                writer: bundle,
            },
            5 => Change::RevokeWrite {
                section,
                writer: bundle.fingerprint(),
            },
            6 => Change::Rotate { section },
            _ => {
                let (h, e) = (inp.byte(), inp.byte());
                Change::SetDefaultHistory(self.history(h, e))
            }
        }
    }

    fn request_id(&self, b: u8) -> RequestId {
        RequestId(u64::from(b) % (self.requests + 1))
    }

    /// Runs one operation; returns its op code and whether the SRS call succeeded (`None`
    /// when the operation did not reach the SRS).
    fn step(&mut self, inp: &mut Input<'_>) -> (u8, Option<bool>) {
        let w = self.w;
        let op = inp.byte() % OPS;
        let result: Option<Result<(), Error>> = match op {
            OP_REGISTER => {
                let (who, role, bundle, proof) =
                    (inp.pick(CAST), inp.pick(8), inp.pick(CAST), inp.pick(CAST));
                let expected = self.registered(who).is_none() && bundle == proof;
                let r = self.srs.register(
                    w.ids[who],
                    ROLES[role],
                    w.keys[bundle].bundle(),
                    &w.proofs[proof],
                );
                assert!(
                    r.is_ok() == expected,
                    "register: {r:?}, expected ok = {expected}"
                );
                Some(r)
            }
            OP_ACTIVATE | OP_DEACTIVATE => {
                let (actor, target) = (inp.pick(CAST), inp.pick(CAST));
                let expected = self
                    .registered(actor)
                    .is_some_and(|r| r.active && r.role == Role::Admin)
                    && self.registered(target).is_some();
                let r = if op == OP_ACTIVATE {
                    self.srs.activate(w.ids[actor], w.ids[target])
                } else {
                    self.srs.deactivate(w.ids[actor], w.ids[target])
                };
                assert!(
                    r.is_ok() == expected,
                    "(de)activate: {r:?}, expected ok = {expected}"
                );
                if r.is_ok() {
                    assert!(self.active(target) == (op == OP_ACTIVATE));
                }
                Some(r)
            }
            OP_REQUEST => {
                let requester = inp.pick(CAST);
                let record = w.records[inp.pick(2)];
                let right = match inp.byte() % 5 {
                    0 => Right::Write,
                    1 => Right::Read(None),
                    k => {
                        let e = inp.byte();
                        Right::Read(Some(self.history(k - 2, e)))
                    }
                };
                let mask = inp.byte();
                let mut sections: Vec<SectionId> = (0..3)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| self.section(record, i))
                    .collect();
                if mask & 8 != 0 {
                    if let Some(s) = sections.first().copied() {
                        sections.push(s);
                    }
                }
                let r = self
                    .srs
                    .request(w.ids[requester], record, right, &sections, self.now);
                if let Ok(id) = &r {
                    assert!(self.active(requester) && self.srs.acl(record).is_some());
                    assert!(*id == RequestId(self.requests));
                    let req = self.srs.request_by_id(*id).expect("filed request");
                    assert!(req.state() == RequestState::Pending);
                    self.requests += 1;
                }
                Some(r.map(|_| ()))
            }
            OP_APPROVE => {
                let actor = inp.pick(CAST);
                let id = self.request_id(inp.byte());
                let mask = inp.byte();
                let not_after = Timestamp(self.now.0 + u64::from(inp.byte()) * 64);
                let req = self.srs.request_by_id(id).cloned();
                let record = req.as_ref().map_or(w.records[0], |r| r.record());
                let builder = self.owner_of(record).unwrap_or(OWNER_A);
                let mut changes = Vec::new();
                if let Some(req) = &req {
                    let bundle = self
                        .registered_bundle(req.requester())
                        .unwrap_or_else(|| w.keys[ADMIN].bundle());
                    let default = self
                        .srs
                        .acl(record)
                        .map_or(History::None, |a| a.acl_unverified().default_history());
                    for (i, s) in req.sections().iter().enumerate() {
                        if mask & (1 << (i % 8)) == 0 {
                            continue;
                        }
                        changes.push(match req.right() {
                            Right::Write => Change::GrantWrite {
                                section: *s,
                                writer: bundle,
                            },
                            Right::Read(h) => Change::GrantRead {
                                section: *s,
                                reader: bundle,
                                history: h.unwrap_or(default),
                            },
                        });
                    }
                }
                let update = self
                    .build(builder, record, &changes, not_after)
                    .or_else(|| {
                        let s = self.section(record, 0);
                        self.build(builder, record, &[Change::Rotate { section: s }], not_after)
                    });
                update.map(|update| {
                    let r = self.srs.approve(w.ids[actor], id, &update, self.now);
                    if r.is_ok() {
                        let req = self.srs.request_by_id(id).expect("approved request");
                        assert!(req.state() == RequestState::Approved && !req.granted().is_empty());
                        let reg = self.registered(actor).expect("actor");
                        assert!(
                            reg.active && reg.bundle == *update.acl().acl_unverified().owner(),
                            "an approval by someone other than the record owner"
                        );
                        self.accepted(builder, &update);
                    }
                    r
                })
            }
            OP_REJECT | OP_WITHDRAW => {
                let actor = inp.pick(CAST);
                let id = self.request_id(inp.byte());
                let r = if op == OP_REJECT {
                    self.srs.reject(w.ids[actor], id, self.now)
                } else {
                    self.srs.withdraw(w.ids[actor], id, self.now)
                };
                if r.is_ok() {
                    let req = self.srs.request_by_id(id).expect("request");
                    if op == OP_REJECT {
                        assert!(req.state() == RequestState::Rejected);
                        let reg = self.registered(actor).expect("actor");
                        let owner = self.owner_of(req.record()).expect("owner");
                        assert!(
                            reg.active && reg.bundle == w.keys[owner].bundle(),
                            "a request rejected by someone other than the record owner"
                        );
                    } else {
                        assert!(req.state() == RequestState::Withdrawn);
                        assert!(req.requester() == w.ids[actor]);
                    }
                }
                Some(r)
            }
            OP_DELETE => {
                let id = self.request_id(inp.byte());
                let closed = self.srs.request_by_id(id).map(|r| r.state().is_closed());
                let r = self.srs.delete_request(id);
                assert!(r.is_ok() == (closed == Some(true)));
                if r.is_ok() {
                    assert!(self.srs.request_by_id(id).is_none());
                }
                Some(r)
            }
            OP_UPDATE => {
                let actor = inp.pick(CAST);
                let builder = OWNER_A + inp.pick(2);
                let record = w.records[inp.pick(2)];
                let not_after = Timestamp(self.now.0 + u64::from(inp.byte()) * 64);
                let n = 1 + inp.pick(3);
                let changes: Vec<Change> = (0..n).map(|_| self.change(inp, record)).collect();
                self.build(builder, record, &changes, not_after)
                    .map(|update| {
                        let r = self.srs.apply_update(w.ids[actor], &update, self.now);
                        if r.is_ok() {
                            let reg = self.registered(actor).expect("actor");
                            assert!(reg.active && reg.role == Role::Patient);
                            assert!(
                                reg.bundle == w.keys[builder].bundle(),
                                "update by a non-owner"
                            );
                            if let Some(o) = self.owner_of(record) {
                                assert!(o == builder, "a second owner took over a record");
                            }
                            self.accepted(builder, &update);
                        }
                        r
                    })
            }
            OP_SEAL => {
                let writer = inp.pick(CAST);
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(3));
                let pt = pattern(usize::from(inp.byte()), op);
                let acl = self.owner_of(record).and_then(|o| {
                    let signed = self.srs.acl(record)?;
                    Some(
                        signed
                            .verify(&w.keys[o].signing_key().verifying_key())
                            .expect("the SRS's ACL verifies under the record owner's key"),
                    )
                });
                if let Some(acl) = acl {
                    let fp = w.keys[writer].bundle().fingerprint();
                    let expected = acl.not_after() >= self.now
                        && acl.writer(&section, &fp).is_some()
                        && acl.section(&section).is_some();
                    let r = w.keys[writer].seal_entry(&acl, section, &pt, self.now, &mut self.rng);
                    assert!(
                        r.is_ok() == expected,
                        "seal: {:?}, expected ok = {expected}",
                        r.as_ref().err()
                    );
                    if let Ok(entry) = r {
                        let opened = self.w.owners[self.owner_of(record).expect("owner") - OWNER_A]
                            .open_entry(&entry, &acl)
                            .expect("the owner opens a fresh entry");
                        assert!(opened == pt);
                        if self.entries.len() == 4 {
                            self.entries.remove(0);
                        }
                        self.entries.push((entry, acl, pt));
                    }
                }
                None
            }
            OP_REENCRYPT => {
                let reader = inp.pick(CAST);
                let pick = inp.byte();
                let mismatch = inp.byte() % 4 == 1;
                if self.entries.is_empty() {
                    None
                } else {
                    let i = usize::from(pick) % self.entries.len();
                    let j = (i + 1) % self.entries.len();
                    let (entry, named, pt) = self.entries[i].clone();
                    let header = if mismatch {
                        *self.entries[j].0.header()
                    } else {
                        *entry.header()
                    };
                    let kb = entry.key_block();
                    let expected = self.registered(reader).is_some_and(|reg| {
                        reg.active
                            && kb.belongs_to(&header)
                            && self.srs.acl(header.record()).is_some_and(|signed| {
                                let acl = signed.acl_unverified();
                                acl.not_after() >= self.now
                                    && acl.section(&header.section()).is_some_and(|p| {
                                        p.can_read(&reg.bundle.fingerprint(), kb.epoch())
                                    })
                            })
                    });
                    let r = self.srs.reencrypt(w.ids[reader], &header, kb, self.now);
                    assert!(
                        r.is_ok() == expected,
                        "reencrypt: {:?}, expected ok = {expected}",
                        r.as_ref().err()
                    );
                    if let (Ok(rc), false) = (&r, self.rekeys_tampered) {
                        let reg = self.registered(reader).expect("reader");
                        let holder = w.who_has(&reg.bundle).expect("a cast member's keys");
                        let opened = w.keys[holder]
                            .open_entry(&entry, rc, &named)
                            .expect("a granted reader opens what the SRS re-encrypted");
                        assert!(opened == pt);
                    }
                    Some(r.map(|_| ()))
                }
            }
            OP_LOGIN => {
                let (who, answerer, fresh) =
                    (inp.pick(CAST), inp.pick(CAST), inp.byte().is_multiple_of(2));
                if fresh {
                    match self.srs.login_challenge(w.ids[who], &mut self.rng) {
                        Ok(c) => {
                            assert!(self.active(who));
                            self.challenges.insert(who, c);
                        }
                        Err(_) => assert!(!self.active(who)),
                    }
                }
                let challenge = self
                    .challenges
                    .get(&who)
                    .copied()
                    .unwrap_or(LoginChallenge([0; 32]));
                let answer = w.keys[answerer]
                    .answer_login(w.ids[who], &challenge, &mut self.rng)
                    .expect("sign");
                let before = self.srs.to_bytes().expect("state");
                let r = self.srs.login(w.ids[who], &answer);
                if r.is_ok() {
                    let reg = self.registered(who).expect("registered");
                    assert!(
                        reg.active && reg.bundle == w.keys[answerer].bundle(),
                        "login by the wrong keys"
                    );
                    // The challenge is used up.
                    assert!(
                        self.srs.login(w.ids[who], &answer).is_err(),
                        "login replayed"
                    );
                    self.challenges.remove(&who);
                    Some(Ok(()))
                } else {
                    // Checked here: the challenge issued just before may have changed the state.
                    assert!(self.srs.to_bytes().expect("state") == before);
                    None
                }
            }
            OP_TIME => {
                self.now = Timestamp(self.now.0 + u64::from(inp.byte()) * 16);
                None
            }
            OP_REPLAY => {
                let actor = inp.pick(CAST);
                let k = inp.byte();
                if self.accepted.is_empty() {
                    None
                } else {
                    let u = self.accepted[usize::from(k) % self.accepted.len()].clone();
                    let r = self.srs.apply_update(w.ids[actor], &u, self.now);
                    assert!(r.is_err(), "a replayed update was accepted again");
                    Some(r)
                }
            }
            OP_TAMPER => {
                let actor = inp.pick(CAST);
                let (hi, lo, bit) = (inp.byte(), inp.byte(), inp.byte());
                match self.last_built.clone() {
                    None => None,
                    Some(u) => {
                        let mut bytes = u.to_bytes();
                        let pos = (usize::from(hi) << 8 | usize::from(lo)) % bytes.len();
                        bytes[pos] ^= 1 << (bit % 8);
                        match AclUpdate::from_bytes(&bytes) {
                            Err(_) => None,
                            Ok(t) => {
                                let r = self.srs.apply_update(w.ids[actor], &t, self.now);
                                if r.is_ok() {
                                    same_acl_and_key_ids(&t, &u);
                                    if t != u {
                                        // Only a re-encryption key can differ (its point is not
                                        // covered by the owner's signature): re-encryption with
                                        // it may give readers capsules they cannot open.
                                        self.rekeys_tampered = true;
                                    }
                                    let builder =
                                        w.who_has(t.acl().acl_unverified().owner()).expect("owner");
                                    self.accepted(builder, &t);
                                }
                                Some(r)
                            }
                        }
                    }
                }
            }
            _ => None,
        };
        (op, result.map(|r| r.is_ok()))
    }

    fn registered_bundle(&self, id: PrincipalId) -> Option<KeyBundle> {
        self.srs.principal(id).map(|r| r.bundle)
    }

    /// The invariants that hold after every operation.
    fn check(&self) -> Vec<u8> {
        let bytes = self.srs.to_bytes().expect("the SRS state encodes");
        let back = Srs::from_bytes(&bytes).expect("the SRS state decodes");
        assert!(back == self.srs, "the SRS state does not round-trip");
        assert!(back.to_bytes().expect("state") == bytes);

        // Stored re-encryption keys are exactly what the newest ACLs grant.
        let mut total = 0;
        for record in self.w.records {
            let Some(signed) = self.srs.acl(record) else {
                continue;
            };
            let acl = signed.acl_unverified();
            let owner = self.owner_of(record).expect("a record has an owner");
            signed
                .verify(&self.w.keys[owner].signing_key().verifying_key())
                .expect("the newest ACL is signed by the record's owner");
            assert!(
                self.acls.contains_key(&(record, acl.version())),
                "an ACL nobody accepted"
            );
            for (section, policy) in acl.sections() {
                for (fp, grant) in policy.readers() {
                    for e in grant.from.0..=policy.epoch().0 {
                        let id = ReKeyId {
                            record,
                            section: *section,
                            epoch: Epoch(e),
                            reader: *fp,
                        };
                        assert!(self.srs.has_key(&id), "a granted key is missing: {id:?}");
                        total += 1;
                    }
                }
            }
            for req in self.srs.requests_for(record) {
                assert!(req.history().first().map(|h| h.0) == Some(RequestState::Pending));
            }
        }
        assert!(
            self.srs.stored_keys() == total,
            "the SRS stores keys no ACL grants"
        );
        bytes
    }
}

/// Runs `data` as SRS operations: byte 0 seeds the RNG, then each operation is an op code
/// byte and its argument bytes (missing bytes read as 0), at most [`MAX_OPS`] of them.
pub fn srs_ops_run(data: &[u8]) -> SrsRun {
    let w = world();
    let (seed, ops) = data.split_first().map_or((0, &[][..]), |(s, r)| (*s, r));
    let mut model = Model {
        w,
        srs: w.base_srs.clone(),
        now: T0,
        rng: rng(u64::from(seed)),
        record_owner: BTreeMap::new(),
        acls: BTreeMap::new(),
        accepted: Vec::new(),
        last_built: None,
        entries: Vec::new(),
        requests: 0,
        challenges: BTreeMap::new(),
        rekeys_tampered: false,
    };
    let mut inp = Input { data: ops };
    let mut run = SrsRun::default();
    let mut before = model.check();
    for _ in 0..MAX_OPS {
        if inp.data.is_empty() {
            break;
        }
        let (op, ok) = model.step(&mut inp);
        let after = model.check();
        match ok {
            Some(true) => run.successes[usize::from(op)] += 1,
            Some(false) => assert!(after == before, "op {op} failed but changed the SRS state"),
            None => {}
        }
        run.states.push(after.clone());
        before = after;
    }
    run
}

fn srs_ops_count(data: &[u8]) -> usize {
    srs_ops_run(data).successes.iter().sum()
}
