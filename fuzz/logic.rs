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
use sesphr::merkle;
use sesphr::phr::{
    AccessRequest, Acl, AclHash, AclProblem, AclUpdate, AclVerifier, AclVersion, BodyHeader,
    Change, Epoch, History, KeyBlock, KeyBundle, LoginChallenge, MasterSecret, Owner, PrincipalId,
    PrincipalKeys, ReKeyGrant, ReKeyId, RecordId, Refusal, RequestAction, RequestId, RequestState,
    Right, Role, SealedEntry, SectionId, SectionName, SignedAcl, Srs, Timestamp, VerifiedAcl,
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
    /// `update` with `medical` at epoch 2 instead of 1 — an epoch jump, which the owner's API
    /// never makes — signed by hand with the owner's key, with its keys and proofs
    /// ([`with_epoch`]): owner-signed, yet every SRS must refuse it (SPEC §7).
    pub jumped: AclUpdate,
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
    let jumped = with_epoch(owner, None, &update, medical, Epoch(2), &mut rng)
        .expect("the hand-signed epoch jump");

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
        jumped,
        entries,
        signature,
    }
}

// ---------------------------------------------------------------------------------------------
// Updates signed by hand: what only the owner's key can make, but the owner's API never does
// ---------------------------------------------------------------------------------------------

/// Most keys [`with_epoch`] computes; above, it sends none (see there).
pub const FORGE_MAX_KEYS: u64 = 256;

/// The leaf of one key in a key-set commitment (SPEC §7), recomputed outside the crate:
/// `SHA-256(0x00 ‖ lp16("sesphr/v1/keyset") ‖ key id ‖ key)`. [`with_epoch`] checks it
/// against the owner's own commitment every time.
fn key_leaf(id: &ReKeyId, rekey: &ReKey) -> merkle::Hash {
    let label = b"sesphr/v1/keyset";
    let mut data = Vec::with_capacity(2 + label.len() + 68 + 98);
    data.extend_from_slice(&(label.len() as u16).to_be_bytes());
    data.extend_from_slice(label);
    data.extend_from_slice(id.record.as_bytes());
    data.extend_from_slice(id.section.as_bytes());
    data.extend_from_slice(&id.epoch.0.to_be_bytes());
    data.extend_from_slice(id.reader.as_bytes());
    data.extend_from_slice(&rekey.to_bytes());
    merkle::leaf_hash(&data)
}

/// How many keys an ACL implies (one per reader per epoch from its first to the section's
/// current one), with section `over.0` at epoch `over.1` if given (readers kept).
fn key_count_with(acl: &Acl, over: Option<(SectionId, Epoch)>) -> u64 {
    acl.sections()
        .flat_map(|(id, p)| {
            let top = match over {
                Some((s, e)) if s == *id => e,
                _ => p.epoch(),
            };
            p.readers()
                .map(move |(_, g)| u64::from(top.0.saturating_sub(g.from.0)) + 1)
        })
        .sum()
}

/// Every key id an ACL implies, in order; `None` if there are more than `limit`.
pub fn implied_key_ids(acl: &Acl, limit: u64) -> Option<Vec<ReKeyId>> {
    if key_count_with(acl, None) > limit {
        return None;
    }
    let mut out = Vec::new();
    for (section, p) in acl.sections() {
        for (reader, g) in p.readers() {
            for e in g.from.0..=p.epoch().0 {
                out.push(ReKeyId {
                    record: acl.record(),
                    section: *section,
                    epoch: Epoch(e),
                    reader: *reader,
                });
            }
        }
    }
    out.sort();
    Some(out)
}

/// The owner's re-encryption key for `id`, to the reader `acl` names.
fn owner_rekey(owner: &Owner, acl: &Acl, id: &ReKeyId) -> Option<ReKey> {
    let (_, grant) = acl
        .section(&id.section)?
        .readers()
        .find(|(fp, _)| **fp == id.reader)?;
    let sk = owner.section_key(id.record, id.section, id.epoch).ok()?;
    Some(ReKey::new(&sk, grant.bundle.reader_key()))
}

/// The Merkle tree over an ACL's keys (ids in order, keys as the owner makes them).
fn key_tree(owner: &Owner, acl: &Acl, ids: &[ReKeyId]) -> Option<(merkle::Tree, Vec<ReKey>)> {
    let keys = ids
        .iter()
        .map(|id| owner_rekey(owner, acl, id))
        .collect::<Option<Vec<_>>>()?;
    let leaves = ids
        .iter()
        .zip(&keys)
        .map(|(id, k)| key_leaf(id, k))
        .collect();
    Some((merkle::Tree::new(leaves), keys))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn splice_at(bytes: &mut [u8], at: usize, with: &[u8]) -> Option<()> {
    bytes.get_mut(at..at + with.len())?.copy_from_slice(with);
    Some(())
}

/// `genuine` — an update the owner built on top of `before` (the record's stored ACL; `None`
/// for a first version) — re-signed by hand with section `section` at epoch `epoch`: its
/// public key, the key-set commitment and the keys to add and delete recomputed, the readers'
/// first epochs kept. Epoch `e + 1` is a rotation the owner's API could have made; anything
/// else is an epoch jump it never makes (SPEC §7). With more than [`FORGE_MAX_KEYS`] keys the
/// commitment gets the right size but a zero root and no keys are sent: a verifier must refuse
/// the jump before it looks at (or enumerates) keys. `None` if the encodings do not have the
/// shape this function expects (it checks its own work against the owner's commitment and
/// signature).
pub fn with_epoch<R: sesphr::rand_core::RngCore + sesphr::rand_core::CryptoRng>(
    owner: &Owner,
    before: Option<&Acl>,
    genuine: &AclUpdate,
    section: SectionId,
    epoch: Epoch,
    rng: &mut R,
) -> Option<AclUpdate> {
    let acl = genuine.acl().acl_unverified();
    let policy = acl.section(&section)?;
    // The owner's own commitment, recomputed: checks `key_leaf` and the order of the ids.
    let ids = implied_key_ids(acl, FORGE_MAX_KEYS)?;
    let (tree, _) = key_tree(owner, acl, &ids)?;
    if tree.root() != *acl.key_set().root() || ids.len() as u64 != acl.key_set().size() {
        return None;
    }
    let mut bytes = acl.to_bytes().ok()?;
    let epoch_at = find(&bytes, section.as_bytes())? + 16;
    if bytes.get(epoch_at..epoch_at + 4)? != policy.epoch().0.to_be_bytes() {
        return None;
    }
    splice_at(&mut bytes, epoch_at, &epoch.0.to_be_bytes())?;
    let key_at = find(&bytes, &policy.key().to_bytes())?;
    let key = owner.section_key(acl.record(), section, epoch).ok()?;
    splice_at(&mut bytes, key_at, &key.public_key().to_bytes())?;
    let root_at = find(&bytes, acl.key_set().root())?;
    if bytes.get(root_at + 32..root_at + 40)? != acl.key_set().size().to_be_bytes() {
        return None;
    }
    let size = key_count_with(acl, Some((section, epoch)));
    splice_at(&mut bytes, root_at, &[0; 32])?;
    splice_at(&mut bytes, root_at + 32, &size.to_be_bytes())?;
    let mut add = Vec::new();
    let mut delete = Vec::new();
    if size <= FORGE_MAX_KEYS {
        let unrooted = Acl::from_bytes(&bytes).ok()?;
        let ids = implied_key_ids(&unrooted, FORGE_MAX_KEYS)?;
        let (tree, keys) = key_tree(owner, &unrooted, &ids)?;
        splice_at(&mut bytes, root_at, &tree.root())?;
        let stored = match before {
            Some(b) => implied_key_ids(b, FORGE_MAX_KEYS)?,
            None => Vec::new(),
        };
        for (i, (id, rekey)) in ids.iter().zip(keys).enumerate() {
            if stored.binary_search(id).is_err() {
                add.push(ReKeyGrant {
                    id: *id,
                    rekey,
                    proof: tree.proof(i)?,
                });
            }
        }
        delete = stored
            .into_iter()
            .filter(|id| ids.binary_search(id).is_err())
            .collect();
    }
    let signature = owner
        .keys()
        .signing_key()
        .sign(Purpose::Acl, &[AclHash::of(&bytes).as_bytes()], rng)
        .ok()?;
    let mut signed = genuine.acl().to_bytes().get(..2)?.to_vec();
    signed.extend_from_slice(&u32::try_from(bytes.len()).ok()?.to_be_bytes());
    signed.extend_from_slice(&bytes);
    signed.extend_from_slice(&signature.to_bytes());
    let signed = SignedAcl::from_bytes(&signed).ok()?;
    signed.verify(&owner.verifying_key()).ok()?;
    let forged = AclUpdate::from_parts(signed, add, delete);
    (AclUpdate::from_bytes(&forged.to_bytes()).ok()? == forged).then_some(forged)
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

/// If `data` is a version-1 encoding (`tag ‖ 0x01 ‖ …`) of the envelope whose current
/// encoding is `current`, `decode` must refuse it as an unknown version.
fn refuses_version_1<T>(
    data: &[u8],
    current: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, Error>,
    name: &str,
) {
    if data.len() >= 2 && data[0] == current[0] && data[1] == 1 {
        assert!(
            matches!(decode(data), Err(Error::UnknownVersion { version: 1, .. })),
            "{name}: a version-1 encoding is not refused as an unknown version"
        );
    }
}

fn decode_acl_count(data: &[u8]) -> usize {
    let w = world();
    let owner_vk = w.owner().verifying_key();
    let mut n = 0;
    // Version 2 of the ACL (and of what carries one) commits to the key set and the previous
    // version; version-1 encodings are refused, never read with a default.
    let acl_bytes = w.update.acl().acl_unverified().to_bytes().expect("ACL");
    refuses_version_1(data, &acl_bytes, Acl::from_bytes, "Acl");
    let signed_bytes = w.update.acl().to_bytes();
    refuses_version_1(data, &signed_bytes, SignedAcl::from_bytes, "SignedAcl");
    refuses_version_1(
        data,
        &w.update.to_bytes(),
        AclUpdate::from_bytes,
        "AclUpdate",
    );
    if round_trip(data, "Acl", Acl::from_bytes, |v| {
        v.to_bytes().expect("a decoded ACL re-encodes")
    })
    .is_some()
    {
        n += 1;
    }
    let authentic = [
        w.update.acl().to_bytes(),
        w.update2.acl().to_bytes(),
        w.jumped.acl().to_bytes(),
    ];
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
        // A fresh SRS takes a first version only from the record's registered owner, only
        // with exactly the key material it implies and only with the key values the owner
        // committed to: the owner's own update and nothing else (every byte of it is signed or
        // bound to the signed key-set root).
        let mut srs = w.base_srs.clone();
        let owner = &w.keys[OWNER_A];
        let id = w.ids[OWNER_A];
        srs.register(id, Role::Patient, owner.bundle(), &w.proofs[OWNER_A])
            .expect("register");
        srs.activate(w.ids[ADMIN], id).expect("activate");
        let before = srs.to_bytes().expect("state");
        let r = srs.apply_update(id, &u, T0);
        match &r {
            Ok(()) => assert!(
                u == w.update,
                "the SRS accepted an update the owner did not make"
            ),
            Err(_) => assert!(srs.to_bytes().expect("state") == before),
        }
        if same_acl_and_key_ids(&u, &w.update) && u != w.update {
            assert!(
                r == Err(Error::NotAuthorized(Refusal::KeyNotCommitted)),
                "another key value (or proof) than the owner's: {r:?}"
            );
        }
        if u == w.jumped {
            let medical = w.sections[0][0];
            assert!(
                r == Err(Error::AclRejected(AclProblem::BadSuccession {
                    section: medical
                })),
                "an owner-signed epoch jump: {r:?}"
            );
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

/// Whether two updates have the same signed ACL and the same key ids to add and delete (so
/// they can differ only in key values and proofs).
fn same_acl_and_key_ids(a: &AclUpdate, b: &AclUpdate) -> bool {
    let ids = |u: &AclUpdate| -> Vec<ReKeyId> { u.keys_to_add().iter().map(|g| g.id).collect() };
    a.acl() == b.acl() && ids(a) == ids(b) && a.keys_to_delete() == b.keys_to_delete()
}

fn decode_srs_count(data: &[u8]) -> usize {
    let w = world();
    refuses_version_1(
        data,
        &w.base_srs.to_bytes().expect("state"),
        Srs::from_bytes,
        "Srs",
    );
    let Some(srs) = round_trip(data, "Srs", Srs::from_bytes, |v| {
        v.to_bytes().expect("a decoded SRS state re-encodes")
    }) else {
        return 0;
    };
    // What the decoder promises: every stored ACL is signed by its registered owner, every
    // record's stored keys are exactly the key set its ACL commits to (no key row inserted,
    // restored or lost without the owner's signature), request histories are time-ordered.
    let mut keys = 0;
    for record in w.records {
        if let Some(acl) = srs.acl(record) {
            acl.verify(acl.acl_unverified().owner().signing_key())
                .expect("a decoded SRS holds only owner-signed ACLs");
            let ids = implied_key_ids(acl.acl_unverified(), u64::MAX).expect("no limit");
            assert!(ids.len() as u64 == acl.acl_unverified().key_set().size());
            for id in &ids {
                assert!(
                    srs.has_key(id),
                    "a decoded SRS lacks a committed key: {id:?}"
                );
            }
            keys += ids.len();
            for r in srs.requests_for(record) {
                assert!(r.record() == record);
                assert!(
                    r.history().windows(2).all(|p| p[0].1 <= p[1].1),
                    "a decoded request's history goes back in time"
                );
            }
        }
    }
    // Only the fixture owners sign ACLs, and only for the fixture records (an input cannot
    // sign), so these are all the records there are.
    assert!(
        srs.stored_keys() == keys,
        "a decoded SRS stores keys its ACLs do not commit to"
    );
    1
}

/// What approving `req` with `update` must record (SPEC §7): the sections the update newly
/// grants the requester (reader fingerprint `fp`) the right on, and `Approved` if those are
/// all the sections asked and each read grant reaches back as far as the history asked for
/// (a `Read(None)` request asks for the ACL's default), `ApprovedNarrower` otherwise.
fn approval_outcome(
    req: &AccessRequest,
    fp: &sesphr::phr::Fingerprint,
    before: Option<&Acl>,
    update: &AclUpdate,
) -> (RequestState, Vec<SectionId>) {
    let new = update.acl().acl_unverified();
    let has = |acl: Option<&Acl>, s: &SectionId| {
        acl.and_then(|a| a.section(s))
            .is_some_and(|p| match req.right() {
                Right::Write => p.can_write(fp),
                Right::Read(_) => p.readers().any(|(f, _)| f == fp),
            })
    };
    let granted: Vec<SectionId> = req
        .sections()
        .iter()
        .filter(|s| has(Some(new), s) && !has(before, s))
        .copied()
        .collect();
    let asked = match req.right() {
        Right::Read(Some(h)) => Some(h),
        Right::Read(None) => Some(before.map_or(History::None, |a| a.default_history())),
        Right::Write => None,
    };
    let as_asked = |s: &SectionId| {
        let (Some(h), Some(p)) = (asked, new.section(s)) else {
            return true;
        };
        let wanted = match h {
            History::All => p.first(),
            History::FromEpoch(e) => e.max(p.first()),
            History::None => p.epoch(),
        };
        p.readers().any(|(f, g)| f == fp && g.from <= wanted)
    };
    let state = if granted.len() == req.sections().len() && granted.iter().all(as_asked) {
        RequestState::Approved
    } else {
        RequestState::ApprovedNarrower
    };
    (state, granted)
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
/// Applies a bit-flipped copy of the last update built (never accepted: every byte is signed
/// or bound to the signed key-set root).
pub const OP_TAMPER: u8 = 14;
/// The owner removes a section, adds it back in a later version, then grants a reader
/// `History::All` on it (three updates): the reader never gets an entry written before the
/// removal.
pub const OP_READD: u8 = 15;
/// The owner builds a read grant; one of its key values is replaced by a key value from an
/// earlier update (or another key of the same one): refused with `KeyNotCommitted`.
pub const OP_SUBSTITUTE: u8 = 16;
/// The owner's next version signed by hand with one section's epoch moved by 1 (a rotation:
/// accepted exactly when the owner's own update is), 2, 3 or to `u32::MAX` (a jump: refused
/// with `BadSuccession`, without enumerating keys).
pub const OP_JUMP: u8 = 17;
/// Moves the clock back (not before the start): request transitions stamped earlier than the
/// request's last one fail with `ClockWentBackwards`.
pub const OP_CLOCK_BACK: u8 = 18;
/// Number of op codes.
pub const OPS: u8 = 19;
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
    /// Refused operations per op code (the SRS said no).
    pub refusals: [usize; OPS as usize],
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
    /// The live sections of each record's newest accepted ACL.
    live: BTreeMap<RecordId, Vec<SectionId>>,
    /// How many times each section of each record has been removed: entries carry the count
    /// at sealing, and nothing sealed before a removal is re-encrypted for anyone after it.
    removals: BTreeMap<(RecordId, SectionId), u32>,
    /// The last update built (accepted or not).
    last_built: Option<AclUpdate>,
    /// Sealed entries (at most 4, oldest first).
    entries: Vec<ModelEntry>,
    /// Requests filed so far (ids are 0..requests).
    requests: u64,
    /// The last login challenge issued to each principal id index.
    challenges: BTreeMap<usize, LoginChallenge>,
}

/// An entry sealed in a `srs_ops` run.
#[derive(Clone)]
struct ModelEntry {
    entry: SealedEntry,
    /// The ACL it was sealed under.
    acl: VerifiedAcl,
    plaintext: Vec<u8>,
    /// The removal count of its section when it was sealed.
    generation: u32,
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
        let current = self.srs.acl(record);
        let built = match current {
            Some(current) => current
                .verify(&owner.verifying_key())
                .and_then(|current| owner.update(&current, not_after, changes, &mut self.rng)),
            None => owner.create_record(record, not_after, changes, &mut self.rng),
        };
        let u = built.ok()?;
        // What the owner may make of a version (SPEC §7): a section rotates at most once, by
        // one epoch, and keeps its creation epoch; one removed in it is not added back in it.
        let new = u.acl().acl_unverified();
        if let Some(current) = current.map(SignedAcl::acl_unverified) {
            for (id, p) in new.sections() {
                if let Some(old) = current.section(id) {
                    assert!(
                        p.first() == old.first() && p.epoch().0.wrapping_sub(old.epoch().0) <= 1,
                        "the owner made an epoch jump or moved a creation epoch"
                    );
                }
            }
        }
        for (i, c) in changes.iter().enumerate() {
            if let Change::RemoveSection { section } = c {
                assert!(
                    !changes[i..].contains(&Change::AddSection { section: *section }),
                    "the owner removed and re-added a section in one version"
                );
            }
        }
        self.last_built = Some(u.clone());
        Some(u)
    }

    fn accepted(&mut self, builder: usize, update: &AclUpdate) {
        let record = update.acl().acl_unverified().record();
        self.record_owner.entry(record).or_insert(builder);
        let now_live: Vec<SectionId> = update
            .acl()
            .acl_unverified()
            .sections()
            .map(|(id, _)| *id)
            .collect();
        for s in self.live.get(&record).into_iter().flatten() {
            if !now_live.contains(s) {
                *self.removals.entry((record, *s)).or_default() += 1;
            }
        }
        self.live.insert(record, now_live);
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

    /// A request transition at `self.now` succeeds only if the request's last action is not
    /// later, and a refusal for the clock names the request's last time and `now`.
    fn check_request_time<T>(&self, req: Option<&AccessRequest>, r: &Result<T, Error>) {
        let last = req.and_then(|q| q.history().last()).map(|(_, t)| *t);
        match r {
            Ok(_) => assert!(
                last.is_none_or(|l| l <= self.now),
                "a request transition stamped before the request's last one"
            ),
            Err(Error::ClockWentBackwards { last: l, offered }) => assert!(
                Some(*l) == last && *offered == self.now && self.now < *l,
                "ClockWentBackwards with wrong times"
            ),
            Err(_) => {}
        }
    }

    /// How many times `section` of `record` has been removed so far.
    fn generation(&self, record: RecordId, section: SectionId) -> u32 {
        self.removals
            .get(&(record, section))
            .copied()
            .unwrap_or_default()
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
                    let before = self.srs.acl(record).map(|a| a.acl_unverified().clone());
                    let requester = req
                        .as_ref()
                        .and_then(|r| self.registered_bundle(r.requester()));
                    let r = self.srs.approve(w.ids[actor], id, &update, self.now);
                    self.check_request_time(req.as_ref(), &r);
                    if let Ok(outcome) = r {
                        let asked = req.as_ref().expect("an approved request existed");
                        let fp = requester.expect("a registered requester").fingerprint();
                        let expected = approval_outcome(asked, &fp, before.as_ref(), &update);
                        let req = self.srs.request_by_id(id).expect("approved request");
                        assert!(
                            req.state() == outcome
                                && outcome == expected.0
                                && req.granted() == expected.1.as_slice(),
                            "approval: {outcome:?} on {:?}, expected {expected:?}",
                            req.granted()
                        );
                        let reg = self.registered(actor).expect("actor");
                        assert!(
                            reg.active && reg.bundle == *update.acl().acl_unverified().owner(),
                            "an approval by someone other than the record owner"
                        );
                        self.accepted(builder, &update);
                    }
                    r.map(|_| ())
                })
            }
            OP_REJECT | OP_WITHDRAW => {
                let actor = inp.pick(CAST);
                let id = self.request_id(inp.byte());
                let req = self.srs.request_by_id(id).cloned();
                let r = if op == OP_REJECT {
                    self.srs.reject(w.ids[actor], id, self.now)
                } else {
                    self.srs.withdraw(w.ids[actor], id, self.now)
                };
                self.check_request_time(req.as_ref(), &r);
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
                        let generation = self.generation(record, section);
                        self.entries.push(ModelEntry {
                            entry,
                            acl,
                            plaintext: pt,
                            generation,
                        });
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
                    let ModelEntry {
                        entry,
                        acl: named,
                        plaintext: pt,
                        generation,
                    } = self.entries[i].clone();
                    let header = if mismatch {
                        *self.entries[j].entry.header()
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
                    if let Ok(rc) = &r {
                        assert!(
                            generation == self.generation(header.record(), header.section()),
                            "an entry written before its section was removed was re-encrypted"
                        );
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
                                    // Every byte is signed or bound to the signed key-set
                                    // root: only a flip that decodes to the same update could
                                    // pass (never, with canonical encodings).
                                    assert!(t == u, "a bit-flipped update was accepted");
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
            OP_READD => {
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(2));
                let reader = inp.pick(CAST);
                let not_after = Timestamp(self.now.0 + u64::from(inp.byte()) * 64);
                self.readd(record, section, reader, not_after)
            }
            OP_SUBSTITUTE => {
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(2));
                let reader = inp.pick(CAST);
                let (h, e) = (inp.byte(), inp.byte());
                let history = self.history(h, e);
                let (k, i) = (inp.byte(), inp.byte());
                let not_after = Timestamp(self.now.0 + u64::from(inp.byte()) * 64);
                self.substitute(record, section, reader, history, (k, i), not_after)
            }
            OP_JUMP => {
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(2));
                let by = inp.byte() % 4;
                let not_after = Timestamp(self.now.0 + u64::from(inp.byte()) * 64);
                self.jump(record, section, by, not_after)
            }
            OP_CLOCK_BACK => {
                let back = u64::from(inp.byte()) * 16;
                self.now = Timestamp(self.now.0.saturating_sub(back).max(T0.0));
                None
            }
            _ => None,
        };
        (op, result.map(|r| r.is_ok()))
    }

    /// Applies an update the record owner built; a refusal must leave the state unchanged
    /// (checked here: a composite operation changes the state on its earlier steps).
    fn apply_owned(&mut self, owner: usize, update: &AclUpdate) -> bool {
        let before = self.srs.to_bytes().expect("state");
        match self.srs.apply_update(self.w.ids[owner], update, self.now) {
            Ok(()) => {
                self.accepted(owner, update);
                true
            }
            Err(_) => {
                assert!(
                    self.srs.to_bytes().expect("state") == before,
                    "a refused update changed the SRS state"
                );
                false
            }
        }
    }

    /// `OP_READD`: remove `section`, add it back in the next version, grant `reader` all
    /// history on it. Whatever was written to the section before the removal stays out of
    /// the new reader's reach: no key for its epochs, no re-encryption (SPEC §7: a re-added
    /// section starts clean).
    fn readd(
        &mut self,
        record: RecordId,
        section: SectionId,
        reader: usize,
        not_after: Timestamp,
    ) -> Option<Result<(), Error>> {
        let w = self.w;
        let owner = self.owner_of(record)?;
        let steps = [
            Change::RemoveSection { section },
            Change::AddSection { section },
            Change::GrantRead {
                section,
                reader: w.keys[reader].bundle(),
                history: History::All,
            },
        ];
        let removals = self.generation(record, section);
        let mut removed_at = None;
        for change in &steps {
            let update = self.build(owner, record, std::slice::from_ref(change), not_after)?;
            if !self.apply_owned(owner, &update) {
                return None;
            }
            if removed_at.is_none() {
                removed_at = Some(self.generation(record, section));
            }
        }
        let generation = self.generation(record, section);
        assert!(removed_at == Some(generation) && generation == removals + 1);
        let acl = self.srs.acl(record).expect("ACL").acl_unverified().clone();
        let policy = acl.section(&section).expect("the re-added section");
        let fp = w.keys[reader].bundle().fingerprint();
        let (_, grant) = policy
            .readers()
            .find(|(f, _)| **f == fp)
            .expect("the new reader");
        assert!(
            grant.from == policy.first(),
            "History::All starts at the section's creation"
        );
        for old in self.entries.iter().filter(|e| {
            e.generation < generation
                && e.entry.header().record() == record
                && e.entry.header().section() == section
        }) {
            let kb = old.entry.key_block();
            assert!(
                grant.from > kb.epoch(),
                "a History::All grant on a re-added section reaches a removed predecessor's epoch"
            );
            let r = self
                .srs
                .reencrypt(w.ids[reader], old.entry.header(), kb, self.now);
            assert!(
                r.is_err(),
                "an entry written before the section was removed was re-encrypted for a reader \
                 granted after it was added back"
            );
        }
        Some(Ok(()))
    }

    /// `OP_SUBSTITUTE`: the owner grants `reader` read on `section`; one added key value is
    /// replaced by one from an earlier accepted update or another key of this one (`pick.0`
    /// chooses which, `pick.1` which key is replaced; an odd `pick.0` moves the proof along).
    /// The SRS must refuse it with `KeyNotCommitted` whenever it would take the owner's own
    /// update, and leave its state unchanged.
    fn substitute(
        &mut self,
        record: RecordId,
        section: SectionId,
        reader: usize,
        history: History,
        pick: (u8, u8),
        not_after: Timestamp,
    ) -> Option<Result<(), Error>> {
        let w = self.w;
        let owner = self.owner_of(record)?;
        let change = Change::GrantRead {
            section,
            reader: w.keys[reader].bundle(),
            history,
        };
        let genuine = self.build(owner, record, &[change], not_after)?;
        let mut add = genuine.keys_to_add().to_vec();
        if add.is_empty() {
            return None;
        }
        let i = usize::from(pick.1) % add.len();
        let candidates: Vec<ReKeyGrant> = self
            .accepted
            .iter()
            .flat_map(|u| u.keys_to_add())
            .chain(genuine.keys_to_add())
            .filter(|g| g.rekey != add[i].rekey)
            .cloned()
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let other = &candidates[usize::from(pick.0 / 2) % candidates.len()];
        add[i].rekey = other.rekey.clone();
        if pick.0 % 2 == 1 {
            add[i].proof = other.proof.clone();
        }
        let forged = AclUpdate::from_parts(
            genuine.acl().clone(),
            add,
            genuine.keys_to_delete().to_vec(),
        );
        let would_take = self
            .srs
            .clone()
            .apply_update(w.ids[owner], &genuine, self.now)
            .is_ok();
        let r = self.srs.apply_update(w.ids[owner], &forged, self.now);
        assert!(
            r.is_err(),
            "an update with a substituted key value was accepted"
        );
        if would_take {
            assert!(
                r == Err(Error::NotAuthorized(Refusal::KeyNotCommitted)),
                "a substituted key value: {r:?}"
            );
        }
        Some(r)
    }

    /// `OP_JUMP`: the owner's next version, signed by hand with `section`'s epoch moved by
    /// 1, 2, 3 or to `u32::MAX` (`by` = 0, 1, 2, 3; see [`with_epoch`]). By one it is a
    /// rotation, accepted exactly when the owner's own (empty) update is; anything else is
    /// refused (`BadSuccession` when the owner's own update would be taken), without the
    /// SRS enumerating a key.
    fn jump(
        &mut self,
        record: RecordId,
        section: SectionId,
        by: u8,
        not_after: Timestamp,
    ) -> Option<Result<(), Error>> {
        let w = self.w;
        let owner = self.owner_of(record)?;
        let signed = self.srs.acl(record)?.clone();
        let o = &w.owners[owner - OWNER_A];
        let current = signed.verify(&o.verifying_key()).ok()?;
        let epoch = current.section(&section)?.epoch().0;
        let target = match by {
            0 => epoch.checked_add(1)?,
            1 => epoch.checked_add(2)?,
            2 => epoch.checked_add(3)?,
            _ => u32::MAX,
        };
        let genuine = o.update(&current, not_after, &[], &mut self.rng).ok()?;
        let forged = with_epoch(
            o,
            Some(signed.acl_unverified()),
            &genuine,
            section,
            Epoch(target),
            &mut self.rng,
        )?;
        let rotation = target == epoch + 1;
        if rotation && implied_key_ids(forged.acl().acl_unverified(), FORGE_MAX_KEYS).is_none() {
            // Sent without keys (see `with_epoch`): not the rotation the owner would make.
            return None;
        }
        let would_take = self
            .srs
            .clone()
            .apply_update(w.ids[owner], &genuine, self.now)
            .is_ok();
        let r = self.srs.apply_update(w.ids[owner], &forged, self.now);
        if rotation {
            assert!(
                r.is_ok() == would_take,
                "a hand-signed rotation: {r:?}, expected ok = {would_take}"
            );
            if r.is_ok() {
                self.accepted(owner, &forged);
            }
        } else {
            assert!(r.is_err(), "an owner-signed epoch jump was accepted");
            if would_take {
                assert!(
                    r == Err(Error::AclRejected(AclProblem::BadSuccession { section })),
                    "an owner-signed epoch jump: {r:?}"
                );
            }
        }
        Some(r)
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
            let mut implied = 0;
            for (section, policy) in acl.sections() {
                assert!(policy.first() <= policy.epoch());
                for (fp, grant) in policy.readers() {
                    assert!(
                        grant.from >= policy.first(),
                        "a grant reaches before its section's creation"
                    );
                    implied += u64::from(policy.epoch().0 - grant.from.0) + 1;
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
            assert!(
                acl.key_set().size() == implied,
                "the ACL's key-set size is not what it grants"
            );
            for req in self.srs.requests_for(record) {
                assert!(req.history().first().map(|h| h.0) == Some(RequestState::Pending));
                assert!(
                    req.history().windows(2).all(|p| p[0].1 <= p[1].1),
                    "a request's history goes back in time"
                );
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
        live: BTreeMap::new(),
        removals: BTreeMap::new(),
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
            Some(false) => {
                assert!(after == before, "op {op} failed but changed the SRS state");
                run.refusals[usize::from(op)] += 1;
            }
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
