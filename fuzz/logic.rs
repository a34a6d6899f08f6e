//! The logic of every fuzz target, in one plain Rust file with no libFuzzer dependency.
//!
//! It is compiled twice: by each thin wrapper in `fuzz/fuzz_targets/` (through
//! `#[path = "../logic.rs"] mod logic;`) and by the corpus replay test
//! `tests/corpus_replay.rs`, which runs every committed corpus file through the same function
//! on stable Rust, without the fuzzer.
//!
//! Every target panics (and so makes libFuzzer report a crash) when an invariant breaks:
//! a decoder that accepts bytes it does not re-encode identically, a forged value that
//! verifies or opens, an SRS operation that fails but changes the store, a re-encryption
//! that the newest ACL does not allow, a tampered store row the audit does not report, and of
//! course any panic inside the library.
//!
//! The cast (owners, writers, readers), the SRS's key, and the fixtures (ACL, entries with the
//! SRS's receipts, re-encrypted capsules, a whole SRS store and the signed operations that
//! made it) are built from fixed seeds with a deterministic RNG, once per process, so the
//! corpus generator and the targets agree on what is authentic.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::dem::WrappedKey;
use sesphr::log;
use sesphr::merkle;
use sesphr::phr::{
    AccessRequest, Acl, AclHash, AclHistory, AclProblem, AclUpdate, AclVerifier, AclVersion,
    BodyHeader, Change, EntryId, Epoch, Fingerprint, History, KeyBlock, KeyBundle, MasterSecret,
    Owner, PrincipalId, PrincipalKeys, ReKeyGrant, ReKeyId, RecordId, RequestAction, RequestId,
    RequestState, Right, Role, SealedEntry, SectionId, SectionName, SignedAcl, Timestamp,
    VerifiedAcl,
};
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderPublicKey, ReaderSecretKey, SectionPublicKey,
    SectionSecretKey,
};
use sesphr::sign::{ProofOfPossession, Purpose, Signature, SigningKey, VerifyingKey};
use sesphr::srs::{
    Accepted, Client, MemoryStore, Operation, Receipt, Refusal, Response, Row, RowVersion,
    SignedOperation, Srs, SrsConfig, SrsId, Store,
};
use sesphr::Error;
use sha2::Digest;

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
    ("decode_srs_rows", decode_srs_rows_count),
    ("open_entry", open_entry_count),
    ("srs_ops", srs_ops_count),
];

/// Fixed-size keys, signatures and small envelopes: `SectionPublicKey`, `ReaderPublicKey`,
/// `SectionSecretKey`, `ReaderSecretKey`, `Capsule`, `ReKey`, `VerifyingKey`, `SigningKey`,
/// `Signature`, `ProofOfPossession`, `WrappedKey`, `KeyBundle`, `MasterSecret`, `PrincipalKeys`,
/// `Owner`.
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

/// `Acl`, `SignedAcl`, `AclUpdate`, `AccessRequest`, `AclHistory`.
pub fn decode_acl(data: &[u8]) {
    decode_acl_count(data);
}

/// The SRS's wire decoders (`SignedOperation`, `Response`, `Receipt`) and its store rows: the
/// input is also written as the value of one row of the fixture store, which is then read,
/// audited and served from.
pub fn decode_srs_rows(data: &[u8]) {
    decode_srs_rows_count(data);
}

/// Decodes a sealed entry and a re-encrypted capsule and opens them as the fixed owner and
/// readers: never a panic, and success only for authentic entries.
pub fn open_entry(data: &[u8]) {
    open_entry_count(data);
}

/// Runs the input as a sequence of signed SRS operations and checks the invariants after each.
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

/// The time of the fixtures (every fixture operation is signed and run at it) and the start
/// time of `srs_ops`.
pub const T0: Timestamp = Timestamp::new(1_700_000_000);
/// `not_after` of the fixture ACL.
pub const FAR: Timestamp = Timestamp::new(4_000_000_000);
/// The SRS's deployment name (with its key, it makes the SRS id every operation names).
pub const SRS_NAME: &str = "sesphr-fuzz";

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
    /// The fixture SRS's receipt for it (the re-wrapped entry shares the original's).
    pub receipt: Receipt,
}

impl FixtureEntry {
    /// The verified receipt, as readers and the owner need it to open the entry.
    pub fn accepted(&self) -> Accepted {
        self.receipt
            .verify(&world().srs_vk, self.entry.header())
            .expect("a fixture receipt verifies")
    }
}

/// The fixture SRS: a store made by signed operations through the public API.
pub struct Fixture {
    /// Every row of the store, in key order.
    pub rows: Vec<Row>,
    /// Every operation it committed, in order, with its response.
    pub committed: Vec<(SignedOperation, Response)>,
    /// Operations signed at [`T0`] for it but never run (each succeeds on a copy of the
    /// store): the doctor's and the pharmacist's re-encryption of every fixture entry, the
    /// hospital submitting a fresh entry, the owner revoking the doctor.
    pub spare: Vec<SignedOperation>,
    /// Its requests, by state: `pending`, `approved`, `rejected`, `withdrawn`.
    pub requests: Vec<(&'static str, RequestId)>,
    /// The id of a request it filed, closed and deleted.
    pub deleted: RequestId,
    /// Every ACL version it holds (1, 2), as the owner signed them.
    pub acls: Vec<SignedAcl>,
    /// The entry the hospital submits in `spare` (sealed, not accepted).
    pub fresh: SealedEntry,
}

/// Everything fixed: keys, ids, proofs, the fixture record, ACL and entries, the SRS key and
/// its stores.
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
    /// The SRS's signing key.
    pub srs_key: SigningKey,
    /// Its verifying key (what readers trust receipts under).
    pub srs_vk: VerifyingKey,
    /// The SRS id ([`SRS_NAME`] under [`World::srs_key`]).
    pub srs_id: SrsId,
    /// A store holding only the active administrator (bootstrapped at [`T0`]).
    pub base_rows: Vec<Row>,
    /// `base_rows` plus owner A, registered as a patient and activated.
    pub owner_rows: Vec<Row>,
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
    /// Entries of the fixture record (the last one is the first re-wrapped by the owner).
    pub entries: Vec<FixtureEntry>,
    /// A signature by the hospital over `[b"fuzz"]` with purpose `Entry`.
    pub signature: Signature,
    /// The fixture SRS.
    pub fixture: Fixture,
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

    /// An SRS handle (the fixture SRS's key and name) over a store holding `rows`.
    pub fn srs(&self, rows: Vec<Row>) -> Srs<MemoryStore> {
        handle(&self.srs_key, rows)
    }

    /// Principal `who`'s client (its own keys).
    pub fn client(&self, who: usize) -> Client<'_> {
        Client::new(&self.keys[who], self.ids[who], self.srs_id)
    }

    /// Every owner-signed ACL of the fixtures (what an input may bring along, but not forge).
    pub fn signed_acls(&self) -> Vec<Vec<u8>> {
        let mut v = vec![
            self.update.acl().to_bytes(),
            self.update2.acl().to_bytes(),
            self.jumped.acl().to_bytes(),
        ];
        v.extend(self.fixture.acls.iter().map(SignedAcl::to_bytes));
        v
    }
}

fn handle(key: &SigningKey, rows: Vec<Row>) -> Srs<MemoryStore> {
    Srs::new(
        MemoryStore::from_rows(rows),
        key.clone(),
        SRS_NAME,
        SrsConfig::default(),
    )
}

/// Every row of `srs`'s store.
pub fn rows_of(srs: &Srs<MemoryStore>) -> Vec<Row> {
    srs.store().rows().expect("the memory store answers")
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

/// Runs `op` on `srs` at [`T0`] for the fixtures: it must succeed.
fn run_fixture(
    srs: &mut Srs<MemoryStore>,
    committed: &mut Vec<(SignedOperation, Response)>,
    op: SignedOperation,
    rng: &mut ChaCha20Rng,
) -> Response {
    let r = srs
        .execute(&op, T0, rng)
        .unwrap_or_else(|e| panic!("fixture operation {:?}: {e:?}", op.operation()));
    committed.push((op, r.clone()));
    r
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
                    history: History::FromEpoch(Epoch::new(0)),
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
    let mut sealed = Vec::new();
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
        sealed.push((writer, entry, pt));
    }
    // The first entry re-wrapped by the owner (new capsule, owner-signed key block).
    let kb = owner.rewrap(&sealed[0].1, &acl, &mut rng).expect("rewrap");
    let rewrapped = sealed[0].1.clone().with_key_block(kb);
    let signature = keys[HOSPITAL]
        .signing_key()
        .sign(Purpose::Entry, &[b"fuzz"], &mut rng)
        .expect("signature");
    let jumped = with_epoch(owner, None, &update, medical, Epoch::new(2), &mut rng)
        .expect("the hand-signed epoch jump");
    let fresh = keys[HOSPITAL]
        .seal_entry(&acl, medical, b"fresh", T0, &mut rng)
        .expect("fresh entry");

    // The fixture SRS: everything through signed operations, at T0.
    let srs_key = SigningKey::from_seed(&seed(20)).expect("SRS key");
    let srs_vk = srs_key.verifying_key();
    let mut srs = handle(&srs_key, Vec::new());
    let srs_id = srs.id();
    let client = |i: usize| Client::new(&keys[i], ids[i], srs_id);
    let mut committed = Vec::new();
    let admin = client(ADMIN)
        .register(Role::Admin, T0, &mut rng)
        .expect("sign");
    srs.bootstrap(&admin, T0).expect("bootstrap");
    let base_rows = rows_of(&srs);
    let mut owner_rows = Vec::new();
    for (who, role) in [
        (OWNER_A, Role::Patient),
        (HOSPITAL, Role::Hospital),
        (DOCTOR, Role::Doctor),
        (PHARMACIST, Role::Pharmacist),
        (OWNER_B, Role::Patient),
    ] {
        let op = client(who).register(role, T0, &mut rng).expect("sign");
        run_fixture(&mut srs, &mut committed, op, &mut rng);
        if who != OWNER_B {
            let op = client(ADMIN)
                .sign(Operation::Activate { target: ids[who] }, T0, &mut rng)
                .expect("sign");
            run_fixture(&mut srs, &mut committed, op, &mut rng);
        }
        if who == OWNER_A {
            owner_rows = rows_of(&srs);
        }
    }
    let sign = |who: usize, op: Operation, rng: &mut ChaCha20Rng| {
        client(who).sign(op, T0, rng).expect("sign")
    };
    let op = sign(OWNER_A, Operation::ApplyUpdate(update.clone()), &mut rng);
    run_fixture(&mut srs, &mut committed, op, &mut rng);
    let mut entries = Vec::new();
    for (writer, entry, plaintext) in sealed {
        let op = sign(writer, entry.submission(), &mut rng);
        let Response::Accepted(receipt) = run_fixture(&mut srs, &mut committed, op, &mut rng)
        else {
            panic!("an entry submission answers with a receipt");
        };
        let receipt = *receipt;
        let recapsule = recapsule_for(owner, records[0], medical, entry.key_block(), &doctor_pk);
        entries.push(FixtureEntry {
            entry,
            plaintext,
            recapsule,
            receipt,
        });
    }
    let op = sign(
        OWNER_A,
        Operation::Rewrap {
            record: records[0],
            entry: rewrapped.header().entry(),
            key_block: *rewrapped.key_block(),
        },
        &mut rng,
    );
    run_fixture(&mut srs, &mut committed, op, &mut rng);
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
        receipt: entries[0].receipt.clone(),
    });
    // Requests in every state.
    let mut file = |who: usize, right: Right, asked: &[SectionId], rng: &mut ChaCha20Rng| {
        let op = sign(
            who,
            Operation::Request {
                record: records[0],
                right,
                sections: asked.to_vec(),
            },
            rng,
        );
        match run_fixture(&mut srs, &mut committed, op, rng) {
            Response::RequestFiled(id) => id,
            other => panic!("a request answers with its id, not {other:?}"),
        }
    };
    let pending = file(
        PHARMACIST,
        Right::Read(Some(History::FromEpoch(Epoch::new(0)))),
        &[medical, lab],
        &mut rng,
    );
    let approved = file(DOCTOR, Right::Read(None), &[lab, medical], &mut rng);
    let rejected = file(HOSPITAL, Right::Write, &[lab], &mut rng);
    let withdrawn = file(
        DOCTOR,
        Right::Read(Some(History::None)),
        &[medical],
        &mut rng,
    );
    let deleted = file(PHARMACIST, Right::Write, &[lab], &mut rng);
    let update_v2 = owner
        .update(
            &acl,
            FAR,
            &[Change::GrantRead {
                section: lab,
                reader: keys[DOCTOR].bundle(),
                history: History::All,
            }],
            &mut rng,
        )
        .expect("approval update");
    for (who, op) in [
        (
            OWNER_A,
            Operation::Approve {
                request: approved,
                update: update_v2.clone(),
            },
        ),
        (OWNER_A, Operation::Reject { request: rejected }),
        (DOCTOR, Operation::Withdraw { request: withdrawn }),
        (OWNER_A, Operation::Reject { request: deleted }),
        (PHARMACIST, Operation::DeleteRequest { request: deleted }),
    ] {
        let op = sign(who, op, &mut rng);
        run_fixture(&mut srs, &mut committed, op, &mut rng);
    }
    let all: Vec<EntryId> = entries[..4]
        .iter()
        .map(|f| f.entry.header().entry())
        .collect();
    let reencrypt = |who: usize, rng: &mut ChaCha20Rng| {
        sign(
            who,
            Operation::Reencrypt {
                record: records[0],
                entries: all.clone(),
            },
            rng,
        )
    };
    let op = reencrypt(DOCTOR, &mut rng);
    run_fixture(&mut srs, &mut committed, op, &mut rng);
    let op = sign(DOCTOR, Operation::Login, &mut rng);
    run_fixture(&mut srs, &mut committed, op, &mut rng);
    let acl_v2 = update_v2
        .acl()
        .verify(&owner.verifying_key())
        .expect("verifies");
    let revoke = owner
        .update(
            &acl_v2,
            FAR,
            &[Change::RevokeRead {
                section: medical,
                reader: keys[DOCTOR].bundle().fingerprint(),
            }],
            &mut rng,
        )
        .expect("revocation");
    let spare = vec![
        reencrypt(DOCTOR, &mut rng),
        reencrypt(PHARMACIST, &mut rng),
        sign(HOSPITAL, fresh.submission(), &mut rng),
        sign(OWNER_A, Operation::ApplyUpdate(revoke), &mut rng),
    ];
    let rows = rows_of(&srs);
    for op in &spare {
        handle(&srs_key, rows.clone())
            .execute(op, T0, &mut rng)
            .expect("a spare fixture operation succeeds");
    }
    let fixture = Fixture {
        rows,
        committed,
        spare,
        requests: vec![
            ("pending", pending),
            ("approved", approved),
            ("rejected", rejected),
            ("withdrawn", withdrawn),
        ],
        deleted,
        acls: vec![update.acl().clone(), update_v2.acl().clone()],
        fresh,
    };

    World {
        owners,
        keys,
        ids,
        proofs,
        records,
        sections,
        srs_key,
        srs_vk,
        srs_id,
        base_rows,
        owner_rows,
        update,
        acl,
        update2,
        jumped,
        entries,
        signature,
        fixture,
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
    data.extend_from_slice(&id.epoch.get().to_be_bytes());
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
                .map(move |(_, g)| u64::from(top.get().saturating_sub(g.from.get())) + 1)
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
            for e in g.from.get()..=p.epoch().get() {
                out.push(ReKeyId {
                    record: acl.record(),
                    section: *section,
                    epoch: Epoch::new(e),
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
    if bytes.get(epoch_at..epoch_at + 4)? != policy.epoch().get().to_be_bytes() {
        return None;
    }
    splice_at(&mut bytes, epoch_at, &epoch.get().to_be_bytes())?;
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
            .section_key(w.records[0], w.sections[0][0], Epoch::new(0))
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
            .section_key(w.records[0], w.sections[0][0], Epoch::new(0))
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
            .section_key(w.records[0], w.sections[0][0], Epoch::new(0))
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
        let sig = sk.sign(Purpose::Op, &[data], &mut r).expect("sign");
        sk.verifying_key()
            .verify(Purpose::Op, &[data], &sig)
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
    if let Some(k) = round_trip(data, "PrincipalKeys", PrincipalKeys::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        // The halves belong together: a signature verifies under the bundle's key, and the
        // reader key opens what is re-encrypted to the bundle's reader key.
        let sig = k
            .signing_key()
            .sign(Purpose::Op, &[data], &mut r)
            .expect("sign");
        k.bundle()
            .signing_key()
            .verify(Purpose::Op, &[data], &sig)
            .expect("decoded principal keys sign under their bundle");
        assert!(k.reader_key().public_key() == *k.bundle().reader_key());
    }
    if let Some(o) = round_trip(data, "Owner", Owner::from_bytes, |v| v.to_bytes().to_vec()) {
        n += 1;
        let _ = o.record_id("main");
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
    let authentic = w.signed_acls();
    if let Some(h) = round_trip(
        data,
        "AclHistory",
        |b| AclHistory::from_bytes(b, &owner_vk),
        |v| v.to_bytes().expect("a decoded history re-encodes"),
    ) {
        n += 1;
        // Everything a decoded history holds is an ACL the owner signed, newest last.
        let kept: Vec<AclVersion> = h.versions().collect();
        assert!(kept.windows(2).all(|p| p[0] < p[1]));
        assert!(kept.len() <= usize::from(h.capacity().get()));
        for v in kept {
            let signed = h.get(v).expect("a listed version is kept");
            assert!(
                authentic.iter().any(|a| SignedAcl::from_bytes(a)
                    .and_then(|s| s.verify(&owner_vk))
                    .is_ok_and(|s| s == *signed)),
                "a history holds an ACL the owner never signed"
            );
        }
    }
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
        // bound to the signed key-set root). The owner signs the operation carrying it.
        let mut srs = w.srs(w.owner_rows.clone());
        let mut r = rng(data.len() as u64);
        let op = w
            .client(OWNER_A)
            .sign(Operation::ApplyUpdate(u.clone()), T0, &mut r)
            .expect("sign");
        let before = rows_of(&srs);
        let r = srs.execute(&op, T0, &mut r).map(drop);
        match &r {
            Ok(()) => assert!(
                u == w.update,
                "the SRS accepted an update the owner did not make"
            ),
            Err(_) => assert!(
                rows_of(&srs) == before,
                "a refused update changed the store"
            ),
        }
        if same_acl_and_key_ids(&u, &w.update) && u != w.update {
            assert!(
                matches!(
                    r,
                    Err(Error::NotAuthorized {
                        refusal: Refusal::KeyNotCommitted,
                        ..
                    })
                ),
                "another key value (or proof) than the owner's: {r:?}"
            );
        }
        if u == w.jumped {
            let medical = w.sections[0][0];
            assert!(
                matches!(
                    r,
                    Err(Error::AclRejected {
                        problem: AclProblem::BadSuccession { section },
                        ..
                    }) if section == medical
                ),
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

// ---------------------------------------------------------------------------------------------
// decode_srs_rows: the SRS's wire decoders and its store rows
// ---------------------------------------------------------------------------------------------

/// Row kinds of the SRS's store: the first byte of every row key and value (SPEC §8; the
/// table in `src/srs/rows.rs`). Values continue with a format version byte (1).
pub mod kind {
    /// `"srs"` → SRS id.
    pub const META: u8 = 0x00;
    /// principal id → role ‖ active ‖ key bundle.
    pub const PRINCIPAL: u8 = 0x01;
    /// fingerprint → principal id.
    pub const BUNDLE: u8 = 0x02;
    /// record → owner ‖ policy version ‖ signed ACL.
    pub const HEAD: u8 = 0x03;
    /// record ‖ version → signed ACL.
    pub const ACL_VERSION: u8 = 0x04;
    /// record ‖ section ‖ epoch ‖ reader fingerprint → re-encryption key.
    pub const KEY: u8 = 0x05;
    /// record → (key id ‖ leaf hash)*.
    pub const LEAVES: u8 = 0x06;
    /// record ‖ entry → header ‖ body hash ‖ writer signature ‖ time ‖ ACL version ‖ receipt
    /// signature ‖ key block.
    pub const ENTRY: u8 = 0x07;
    /// record ‖ section ‖ entry → (empty).
    pub const SECTION_ENTRY: u8 = 0x08;
    /// request id → access request.
    pub const REQUEST: u8 = 0x09;
    /// owner ‖ request id → (empty).
    pub const OWNER_REQUEST: u8 = 0x0a;
    /// reader fingerprint ‖ record → (empty).
    pub const READER_GRANT: u8 = 0x0b;
    /// principal ‖ nonce → expiry ‖ operation hash ‖ response.
    pub const REPLAY: u8 = 0x0c;
    /// expiry ‖ principal ‖ nonce → (empty).
    pub const REPLAY_EXPIRY: u8 = 0x0d;
    /// record → the last time stamped for it.
    pub const CLOCK: u8 = 0x0e;
    /// record → newest signed checkpoint ‖ frontier.
    pub const LOG_HEAD: u8 = 0x0f;
    /// record ‖ index → log leaf.
    pub const LOG_LEAF: u8 = 0x10;
    /// record ‖ level ‖ index → complete subtree hash.
    pub const LOG_NODE: u8 = 0x11;
}

/// The key of a record's head row.
pub fn head_row(record: RecordId) -> Vec<u8> {
    [&[kind::HEAD][..], record.as_bytes()].concat()
}

/// The key of a record's key-set leaves row.
pub fn leaves_row(record: RecordId) -> Vec<u8> {
    [&[kind::LEAVES][..], record.as_bytes()].concat()
}

/// The key of an accepted entry's row.
pub fn entry_row(record: RecordId, entry: EntryId) -> Vec<u8> {
    [&[kind::ENTRY][..], record.as_bytes(), entry.as_bytes()].concat()
}

/// The key of a re-encryption key's row.
pub fn key_row(id: &ReKeyId) -> Vec<u8> {
    [
        &[kind::KEY][..],
        id.record.as_bytes(),
        id.section.as_bytes(),
        &id.epoch.get().to_be_bytes(),
        id.reader.as_bytes(),
    ]
    .concat()
}

/// The key id a key row's key names.
pub fn key_row_id(key: &[u8]) -> Option<ReKeyId> {
    if key.len() != 1 + 68 || key[0] != kind::KEY {
        return None;
    }
    Some(ReKeyId {
        record: RecordId::new(key[1..17].try_into().ok()?),
        section: SectionId::new(key[17..33].try_into().ok()?),
        epoch: Epoch::new(u32::from_be_bytes(key[33..37].try_into().ok()?)),
        reader: Fingerprint::new(key[37..69].try_into().ok()?),
    })
}

/// The key of the replay row of an operation (its principal and nonce).
pub fn replay_row(op: &SignedOperation) -> Vec<u8> {
    [&[kind::REPLAY][..], op.principal().as_bytes(), op.nonce()].concat()
}

/// Where the key block starts in an entry row's value: kind, version, header, body hash,
/// writer signature, time, ACL version, receipt signature.
pub const ENTRY_ROW_KEY_BLOCK: usize =
    2 + BodyHeader::SIZE + 32 + Signature::SIZE + 8 + 8 + Signature::SIZE;

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The first byte of a `decode_srs_rows` input that writes the rest as a row value: at least
/// this (no wire encoding starts so high; row kinds are below `0x10`).
pub const ROW_SELECTOR: u8 = 0x80;

/// A `decode_srs_rows` input writing `value` into row `index` (counted among the rows of the
/// kind `value` starts with) of the fixture store.
pub fn row_input(index: usize, value: &[u8]) -> Vec<u8> {
    let mut out = vec![ROW_SELECTOR | (index as u8 & 0x7f)];
    out.extend_from_slice(value);
    out
}

/// The row of `rows` a `decode_srs_rows` input writes, and the value: `selector ‖ value`,
/// the selector at least [`ROW_SELECTOR`], the row the selector's low bits pick (modulo
/// their number) among the rows of the kind the value's first byte names.
pub fn row_for<'a>(rows: &[Row], data: &'a [u8]) -> Option<(usize, &'a [u8])> {
    let (&selector, value) = data.split_first()?;
    if selector < ROW_SELECTOR {
        return None;
    }
    let kind = *value.first()?;
    let of_kind: Vec<usize> = (0..rows.len())
        .filter(|i| rows[*i].key.first() == Some(&kind))
        .collect();
    let pick = usize::from(selector & 0x7f) % of_kind.len().max(1);
    Some((*of_kind.get(pick)?, value))
}

fn decode_srs_rows_count(data: &[u8]) -> usize {
    let mut n = 0;
    if let Some(op) = round_trip(
        data,
        "SignedOperation",
        SignedOperation::from_bytes,
        SignedOperation::to_bytes,
    ) {
        n += 1;
        check_signed_operation(&op);
    }
    if let Some(resp) = round_trip(data, "Response", Response::from_bytes, Response::to_bytes) {
        n += 1;
        check_response(&resp);
    }
    if let Some(rc) = round_trip(data, "Receipt", Receipt::from_bytes, |v| {
        v.to_bytes().to_vec()
    }) {
        n += 1;
        check_receipt(&rc);
    }
    n + decode_log(data) + tampered_store(data)
}

/// The fixture store's disclosure log: its newest checkpoint and every leaf.
pub struct FixtureLog {
    /// The newest signed checkpoint of record A's log.
    pub checkpoint: log::SignedCheckpoint,
    /// Every leaf, in order.
    pub leaves: Vec<log::LogLeaf>,
}

/// Record A's log in the fixture store.
pub fn fixture_log() -> &'static FixtureLog {
    static LOG: OnceLock<FixtureLog> = OnceLock::new();
    LOG.get_or_init(|| {
        let w = world();
        let store = MemoryStore::from_rows(w.fixture.rows.clone());
        let srs = Srs::new(store, w.srs_key.clone(), SRS_NAME, SrsConfig::default());
        let checkpoint = srs.checkpoint(w.records[0]).unwrap().unwrap();
        let size = checkpoint.checkpoint_unverified().size;
        let leaves = (0..size)
            .map(|i| srs.inclusion(w.records[0], i, size).unwrap().0)
            .collect();
        FixtureLog { checkpoint, leaves }
    })
}

/// The disclosure log's decoders (leaves, checkpoints, cosignatures, proofs, receipts, audit
/// pages, views) and verifiers: never a panic, and what verifies under the fixture SRS's key
/// is the fixture's own log.
fn decode_log(data: &[u8]) -> usize {
    let w = world();
    let fl = fixture_log();
    let record = w.records[0];
    let mut n = 0;
    if let Some(leaf) = round_trip(data, "LogLeaf", log::LogLeaf::from_bytes, |v| v.to_bytes()) {
        n += 1;
        let _ = (leaf.hash(), leaf.time(), leaf.record(), leaf.event());
    }
    let cp = |v: &log::SignedCheckpoint| v.to_bytes().to_vec();
    if let Some(c) = round_trip(
        data,
        "SignedCheckpoint",
        log::SignedCheckpoint::from_bytes,
        cp,
    ) {
        n += 1;
        if c.verify(&w.srs_vk).is_ok() {
            assert!(c == fl.checkpoint, "a forged checkpoint verified");
        }
    }
    let cs = |v: &log::Cosignature| v.to_bytes().to_vec();
    if let Some(c) = round_trip(data, "Cosignature", log::Cosignature::from_bytes, cs) {
        n += 1;
        let _ = c.verify(&w.srs_vk, fl.checkpoint.checkpoint_unverified());
    }
    let pf = log::ConsistencyProof::to_bytes;
    if let Some(p) = round_trip(
        data,
        "ConsistencyProof",
        log::ConsistencyProof::from_bytes,
        pf,
    ) {
        n += 1;
        let root = fl.checkpoint.checkpoint_unverified().root;
        let _ = p.verify(&root, &root);
    }
    let rc = log::DisclosureReceipt::to_bytes;
    if let Some(r) = round_trip(
        data,
        "DisclosureReceipt",
        log::DisclosureReceipt::from_bytes,
        rc,
    ) {
        n += 1;
        if r.verify_inclusion(&w.srs_vk).is_ok() {
            let i = r.proof().index() as usize;
            assert!(
                fl.leaves.get(i) == Some(r.leaf()),
                "a receipt verified for a leaf the fixture log does not have"
            );
        }
    }
    if let Some(p) = round_trip(
        data,
        "AuditPage",
        log::AuditPage::from_bytes,
        log::AuditPage::to_bytes,
    ) {
        n += 1;
        let mut view = log::LogView::new(record);
        let mut audit = view.audit();
        if audit.add_page(&p, &w.srs_vk) == Ok(true) {
            let accounting = audit.finish(&mut view).expect("a complete audit finishes");
            let got: Vec<_> = accounting.events().iter().map(|e| &e.leaf).collect();
            assert!(
                got.iter().copied().eq(fl.leaves.iter()),
                "an audit verified events that are not the fixture log's"
            );
        }
    }
    if let Some(v) = round_trip(
        data,
        "LogView",
        log::LogView::from_bytes,
        log::LogView::to_bytes,
    ) {
        n += 1;
        let _ = v.audit().next_from();
    }
    n
}

/// Runs `op` on `srs` at `now`; a failure must leave every row as it was.
fn execute_checked(
    srs: &mut Srs<MemoryStore>,
    op: &SignedOperation,
    now: Timestamp,
    rng: &mut ChaCha20Rng,
) -> Result<Response, Error> {
    let before = rows_of(srs);
    let r = srs.execute(op, now, rng);
    if let Err(e) = &r {
        assert!(
            rows_of(srs) == before,
            "a failed operation ({e:?}) changed the store: {:?}",
            op.operation()
        );
    }
    r
}

/// Which cast member's key made an operation's signature, checked outside the crate over
/// the signed message as SPEC §8 defines it: purpose `Op`, then `format version ‖ SRS id ‖
/// principal id ‖ signer's key fingerprint ‖ time ‖ nonce ‖ operation type ‖ SHA-256 of the
/// operation body`, each a field of the signature's message.
pub fn op_signer(op: &SignedOperation) -> Option<usize> {
    let b = op.to_bytes();
    let body_len = u32::from_be_bytes(b.get(107..111)?.try_into().ok()?) as usize;
    let body = b.get(111..111 + body_len)?;
    let sig = Signature::from_bytes(b.get(111 + body_len..)?).ok()?;
    let version = [b[1]];
    let body_hash: [u8; 32] = sha2::Sha256::digest(body).into();
    let fields: [&[u8]; 8] = [
        &version,
        b.get(2..34)?,
        b.get(34..50)?,
        b.get(50..82)?,
        b.get(82..90)?,
        b.get(90..106)?,
        b.get(106..107)?,
        &body_hash,
    ];
    let w = world();
    w.keys.iter().position(|k| {
        k.signing_key()
            .verifying_key()
            .verify(Purpose::Op, &fields, &sig)
            .is_ok()
    })
}

/// A decoded operation run on the fixture SRS: only what a principal signed with its
/// registered key runs; an exact retry of a committed one answers its stored response and
/// changes nothing.
fn check_signed_operation(op: &SignedOperation) {
    let w = world();
    let _ = (op.hash(), op.time(), op.principal(), op.operation());
    let mut srs = w.srs(w.fixture.rows.clone());
    let r = execute_checked(&mut srs, op, T0, &mut rng(1));
    let Ok(resp) = r else {
        return;
    };
    let signer = op_signer(op).expect("the SRS ran an operation no key of the cast signed");
    let registered = srs
        .principal(op.principal())
        .expect("read")
        .expect("the actor is registered");
    assert!(
        registered.bundle == w.keys[signer].bundle(),
        "the SRS ran an operation signed by another key than the actor's"
    );
    assert!(
        op.time().get().abs_diff(T0.get()) <= srs.config().window,
        "the SRS ran an operation outside its window"
    );
    if let Some((_, stored)) = w.fixture.committed.iter().find(|(c, _)| c == op) {
        assert!(resp == *stored, "an exact retry answered something else");
        assert!(
            rows_of(&srs) == w.fixture.rows,
            "an exact retry changed the store"
        );
    }
}

/// Whatever a response carries opens only for the reader it was made for, and only to the
/// fixture's plaintext; its receipts verify only if they are the SRS's.
fn check_response(resp: &Response) {
    let w = world();
    match resp {
        Response::Reencrypted { items, .. } => {
            for item in items.iter().flatten() {
                for f in w
                    .entries
                    .iter()
                    .filter(|f| f.entry.header().entry() == item.entry)
                {
                    let entry = f.entry.clone().with_key_block(item.key_block);
                    check_open(&entry, f, &item.recapsule);
                }
            }
        }
        Response::Accepted(rc) => check_receipt(rc),
        _ => {}
    }
}

/// A re-encrypted capsule for a fixture entry (carrying some key block): the doctor opens it
/// only to the fixture plaintext, the pharmacist never. Returns whether the doctor opened it.
fn check_open(entry: &SealedEntry, f: &FixtureEntry, rc: &ReCapsule) -> bool {
    let w = world();
    let accepted = f.accepted();
    let opened = w.keys[DOCTOR].open_entry(entry, &accepted, rc, &w.acl);
    if let Ok(pt) = &opened {
        assert!(
            *pt == f.plaintext,
            "a re-encrypted entry opened to the wrong plaintext"
        );
    }
    assert!(
        w.keys[PHARMACIST]
            .open_entry(entry, &accepted, rc, &w.acl)
            .is_err(),
        "an ungranted reader opened an entry"
    );
    opened.is_ok()
}

/// A receipt verifies under the SRS's key for a fixture entry only if it is the one the SRS
/// issued for it.
fn check_receipt(rc: &Receipt) {
    let w = world();
    let _ = (rc.time(), rc.acl_version());
    for f in &w.entries {
        if rc.verify(&w.srs_vk, f.entry.header()).is_ok() {
            assert!(*rc == f.receipt, "a forged receipt verified");
        }
    }
}

/// Whether the audit must report what its known gaps (the `FINDING`s of [`audit_gap`]) let
/// through: set `SESPHR_FUZZ_STRICT_AUDIT=1` to check a fix of the audit (the `gap-*` seeds of
/// `decode_srs_rows` then fail until it is fixed).
pub fn strict_audit() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("SESPHR_FUZZ_STRICT_AUDIT").is_some_and(|v| v == "1"))
}

/// Why the audit may pass a row whose value was changed from `honest` to `tampered`, or
/// `None`: it must report it. Two kinds of reasons: fields nothing signs, so no audit can
/// tell a changed value from a real one (inherent to a store the SRS trusts), and `FINDING`s:
/// rows or fields the audit could check and does not (see `fuzz/README.md`; ignored with
/// [`strict_audit`]).
pub fn audit_gap(key: &[u8], honest: &[u8], tampered: &[u8]) -> Option<&'static str> {
    let only = |from: usize, to: usize| {
        honest.len() == tampered.len()
            && honest
                .iter()
                .zip(tampered)
                .enumerate()
                .all(|(i, (a, b))| a == b || (from..to).contains(&i))
    };
    let inherent = match key.first().copied()? {
        // kind ‖ version ‖ role ‖ active ‖ bundle
        kind::PRINCIPAL if only(2, 4) => {
            Some("a principal's role and activation: the SRS's own word, signed by nobody")
        }
        // kind ‖ version ‖ owner ‖ policy version ‖ signed ACL
        kind::HEAD if only(18, 26) => Some("a record head's change counter: signed by nobody"),
        kind::CLOCK => Some("a record's last stamped time: signed by nobody"),
        kind::REQUEST => Some("an access request's row: signed by nobody"),
        _ => None,
    };
    if inherent.is_some() || strict_audit() {
        return inherent;
    }
    // An entry row: header, body hash and writer signature (the first 213 bytes) and the key
    // block's header hash (bytes 467..499) unchanged.
    let entry_kept =
        tampered.get(..213) == honest.get(..213) && tampered.get(467..499) == honest.get(467..499);
    // An entry row whose header names another record or entry than its key.
    let relocated =
        tampered.get(4..20) != key.get(1..17) || tampered.get(36..52) != key.get(17..33);
    match key[0] {
        kind::META => Some("FINDING: the meta row (the SRS id) is not audited"),
        kind::ENTRY if relocated => Some(
            "FINDING: an entry row's header is not checked against its key (another accepted \
             entry's row passes under this one's key)",
        ),
        kind::ENTRY if entry_kept => Some(
            "FINDING: an entry row's receipt signature, time, ACL version and key block (but \
             its header hash) are not checked",
        ),
        kind::SECTION_ENTRY | kind::OWNER_REQUEST | kind::READER_GRANT => {
            Some("FINDING: index rows are not audited")
        }
        kind::REPLAY | kind::REPLAY_EXPIRY => {
            Some("FINDING: replay rows are not audited (the stored response is not even decoded)")
        }
        _ => None,
    }
}

/// The input as the value of one row of the fixture store (see [`row_for`]): the store is
/// read through every listing, audited, and asked for re-encryptions, a submission and an
/// update. Returns 1 if the doctor's re-encryption of every fixture entry was served and
/// opened.
fn tampered_store(data: &[u8]) -> usize {
    let w = world();
    let Some((i, data)) = row_for(&w.fixture.rows, data) else {
        return 0;
    };
    let honest = &w.fixture.rows[i];
    let identical = honest.value == data;
    let mut rows = w.fixture.rows.clone();
    rows[i].value = data.to_vec();
    let srs = w.srs(rows.clone());
    let mut r = rng(2);

    // Reads: no panic; an ACL that verifies is one the owner signed: a fixture's, or one
    // the input carries (seeds bring ACLs from other stores).
    let authentic = w.signed_acls();
    for id in w.ids {
        let _ = srs.principal(id);
    }
    for (o, record) in w.records.iter().enumerate() {
        let owner_vk = w.owners[o].verifying_key();
        let mut acls = vec![srs.acl(*record)];
        acls.extend((0..4).map(|v| srs.acl_version(*record, AclVersion::new(v))));
        for acl in acls.into_iter().flatten().flatten() {
            if acl.verify(&owner_vk).is_ok() {
                let bytes = acl.to_bytes();
                assert!(
                    authentic.contains(&bytes) || find(data, &bytes).is_some(),
                    "the SRS served a forged ACL that verifies"
                );
            }
        }
        for section in w.sections[o] {
            let _ = srs.entries(*record, section, None, 16);
        }
    }
    for (_, id) in &w.fixture.requests {
        let _ = srs.request(*id);
    }
    let _ = srs.request(w.fixture.deleted);
    for f in &w.entries {
        if let Ok(Some(rc)) = srs.receipt(w.records[0], f.entry.header().entry()) {
            check_receipt(&rc);
        }
    }
    let _ = srs.requests_of_owner(w.ids[OWNER_A], None, 16);
    let _ = srs.records_of_reader(&w.keys[DOCTOR].bundle().fingerprint(), None, 16);

    // The audit reports every changed row (but for the known gaps).
    let report = srs.audit();
    if identical {
        assert!(
            report.as_ref().is_ok_and(|r| r.is_clean()),
            "the audit of the fixture store is not clean: {report:?}"
        );
    } else if report.as_ref().is_ok_and(|r| r.is_clean()) {
        assert!(
            audit_gap(&honest.key, &honest.value, data).is_some(),
            "the audit passed a tampered row (kind {:#04x}, first change at byte {})",
            honest.key[0],
            common_prefix(&honest.value, data)
        );
    }

    // Re-encryption: what is served opens only for the doctor and only to the fixture
    // plaintext; the fixture store serves everything.
    let mut served = 0;
    for (k, reader) in [(0, DOCTOR), (1, PHARMACIST)] {
        let mut srs = w.srs(rows.clone());
        let resp = execute_checked(&mut srs, &w.fixture.spare[k], T0, &mut r);
        if identical {
            assert!(resp.is_ok(), "the fixture store refused {reader}: {resp:?}");
        }
        let Ok(Response::Reencrypted { items, .. }) = resp else {
            continue;
        };
        for (f, item) in w.entries[..4].iter().zip(&items) {
            let Ok(item) = item else {
                assert!(
                    !identical || reader != DOCTOR,
                    "the doctor was refused: {item:?}"
                );
                continue;
            };
            assert!(item.entry == f.entry.header().entry(), "items out of order");
            let entry = f.entry.clone().with_key_block(item.key_block);
            let opened = check_open(&entry, f, &item.recapsule);
            if opened {
                served += 1;
            } else {
                assert!(
                    !identical || reader != DOCTOR,
                    "the doctor cannot open what the fixture store served"
                );
            }
        }
    }
    // Writes through the tampered store: no panic, a refusal changes nothing.
    for op in &w.fixture.spare[2..] {
        let mut srs = w.srs(rows.clone());
        let resp = execute_checked(&mut srs, op, T0, &mut r);
        if identical {
            assert!(
                resp.is_ok(),
                "the fixture store refused {:?}: {resp:?}",
                op.operation()
            );
        }
    }
    usize::from(served == 4)
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
    // The SRS's receipt for the entry with this header; for any other header (none was
    // accepted) the first entry's, which must not fit.
    let accepted = w
        .entries
        .iter()
        .find(|f| f.entry.header() == entry.header())
        .unwrap_or(&w.entries[0])
        .accepted();

    // The owner needs no re-encrypted capsule.
    if let Ok(pt) = w.owner().open_entry(&entry, &accepted, &w.acl) {
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
    let whole = doctor.open_entry(&entry, &accepted, &rc, &w.acl);
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
        .entry_opener(entry.header(), entry.key_block(), &accepted, &rc, &w.acl)
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
        w.keys[PHARMACIST]
            .open_entry(&entry, &accepted, &rc, &w.acl)
            .is_err(),
        "an ungranted reader opened an entry"
    );
    n
}

// ---------------------------------------------------------------------------------------------
// srs_ops
// ---------------------------------------------------------------------------------------------

/// The operations of `srs_ops`, by op code (the input byte modulo [`OPS`]). Every SRS
/// operation is signed by the principal it acts for (its registered keys unless said
/// otherwise) at the model's clock, and run at that clock.
///
/// `register(who, role, bundle, signer)`: `who` registers `bundle`'s keys, the operation
/// signed by `signer`'s keys.
pub const OP_REGISTER: u8 = 0;
/// `activate(actor, target)`.
pub const OP_ACTIVATE: u8 = 1;
/// `deactivate(actor, target)`.
pub const OP_DEACTIVATE: u8 = 2;
/// `request(requester, record, right, sections)`.
pub const OP_REQUEST: u8 = 3;
/// `approve(actor, request, mask, not_after)` with an update the record owner builds for it.
pub const OP_APPROVE: u8 = 4;
/// `reject(actor, request)`.
pub const OP_REJECT: u8 = 5;
/// `withdraw(actor, request)`.
pub const OP_WITHDRAW: u8 = 6;
/// `delete(actor, request)`.
pub const OP_DELETE: u8 = 7;
/// `apply_update(actor, builder, record, …)` with an update an owner builds from typed
/// changes.
pub const OP_UPDATE: u8 = 8;
/// `seal(writer, record, section, length)`: the writer seals an entry to the newest ACL
/// (client side) and submits it to the write gate.
pub const OP_SEAL: u8 = 9;
/// `reencrypt(reader, entry, mask)`: a batch of up to three sealed entries (and an unknown
/// id); every item served opens for the reader.
pub const OP_REENCRYPT: u8 = 10;
/// `login(who, signer)`.
pub const OP_LOGIN: u8 = 11;
/// Advances the clock, then expires replay rows.
pub const OP_TIME: u8 = 12;
/// Sends an update the SRS accepted before again, freshly signed (must be refused).
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
/// Moves the clock back (not before the start): a request transition is then stamped with
/// the request's last time, never earlier.
pub const OP_CLOCK_BACK: u8 = 18;
/// `submit(actor, entry)`: submits a sealed entry again, or as someone else.
pub const OP_SUBMIT: u8 = 19;
/// `rewrap(actor, entry)`: the record's owner re-wraps an entry's key block to the section's
/// current key and sends it.
pub const OP_REWRAP: u8 = 20;
/// `hostile(variant, row, source)`: an attacker with write access to the database writes a
/// row directly (`MemoryStore::put_raw`): a key row's value replaced by another value a key
/// row has held (0), a key row copied to another reader (1), a key value replaced so and its
/// leaf recomputed (2), a
/// deleted key row restored (3), an entry's key block replaced by another entry's (4). It
/// is never served, and the audit reports it.
pub const OP_HOSTILE: u8 = 21;
/// `envelope(variant, operation, argument)`: one of the last operations the SRS committed
/// sent again exactly (0: its stored response — a login's current status — nothing
/// changes), or re-signed for another
/// SRS (1), outside the time window (2), with other keys (3), or another operation under its
/// nonce (4), or bit-flipped (5): all refused.
pub const OP_ENVELOPE: u8 = 22;
/// Number of op codes.
pub const OPS: u8 = 23;
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

/// What a `srs_ops` run did: successes and refusals per op code, and the final store.
#[derive(Default)]
pub struct SrsRun {
    /// Successful operations per op code.
    pub successes: [usize; OPS as usize],
    /// Refused operations per op code (the SRS said no).
    pub refusals: [usize; OPS as usize],
    /// Every row of the store at the end.
    pub rows: Vec<Row>,
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

/// An operation the SRS committed, with its answer.
#[derive(Clone)]
struct Sent {
    op: SignedOperation,
    response: Response,
}

/// An entry sealed in a `srs_ops` run.
#[derive(Clone)]
struct ModelEntry {
    entry: SealedEntry,
    /// The ACL it was sealed under.
    acl: VerifiedAcl,
    plaintext: Vec<u8>,
    /// The removal count of its section when it was sealed (or last re-wrapped).
    generation: u32,
    /// The SRS's receipt, once its write gate accepted it.
    receipt: Option<Receipt>,
    /// The key block the SRS holds for it (the owner may re-wrap it).
    key_block: KeyBlock,
}

struct Model<'w> {
    w: &'w World,
    srs: Srs<MemoryStore>,
    now: Timestamp,
    rng: ChaCha20Rng,
    /// Who owns each record: the cast index of the principal id that created it.
    record_owner: BTreeMap<RecordId, usize>,
    /// Whose keys sign each record's ACLs (`OWNER_A` or `OWNER_B`).
    record_builder: BTreeMap<RecordId, usize>,
    /// Every ACL version the SRS accepted, verified.
    acls: BTreeMap<(RecordId, AclVersion), VerifiedAcl>,
    /// Updates the SRS accepted.
    accepted: Vec<AclUpdate>,
    /// The live sections of each record's newest accepted ACL.
    live: BTreeMap<RecordId, Vec<SectionId>>,
    /// How many times each section of each record has been removed: entries carry the count
    /// at sealing, and nothing sealed before a removal is re-encrypted for anyone after it
    /// (unless the owner re-wraps it into the re-created section).
    removals: BTreeMap<(RecordId, SectionId), u32>,
    /// The last update built (accepted or not).
    last_built: Option<AclUpdate>,
    /// Sealed entries (at most 6, oldest first).
    entries: Vec<ModelEntry>,
    /// Requests filed so far, in order (deleted ones too).
    requests: Vec<RequestId>,
    /// Requests deleted.
    deleted: BTreeSet<RequestId>,
    /// The last operations the SRS committed (at most 8).
    sent: Vec<Sent>,
    /// Rows written behind the SRS's back and still in the store as written: key → the
    /// version the write got, and the value the row had before the first such write (`None`:
    /// absent). A hostile write that puts that value back restores the row.
    hostile: BTreeMap<Vec<u8>, (RowVersion, Option<Vec<u8>>)>,
    /// Every key row value the store has held (to restore deleted ones).
    seen_keys: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The latest clock replay rows were expired at.
    expired_at: Timestamp,
    /// The rows at the last audit (no need to audit them again).
    audited: Vec<Row>,
}

fn refused(r: &Result<Response, Error>, refusal: Refusal) -> bool {
    matches!(r, Err(Error::NotAuthorized { refusal: x, .. }) if *x == refusal)
}

impl Model<'_> {
    fn registered(&self, who: usize) -> Option<sesphr::srs::Registration> {
        self.srs
            .principal(self.w.ids[who])
            .expect("the store answers")
    }

    fn active(&self, who: usize) -> bool {
        self.registered(who).is_some_and(|r| r.active)
    }

    /// The cast member whose keys `who` registered (its own if unregistered).
    fn keys_of(&self, who: usize) -> usize {
        self.registered(who)
            .and_then(|r| self.w.who_has(&r.bundle))
            .unwrap_or(who)
    }

    fn acl(&self, record: RecordId) -> Option<SignedAcl> {
        self.srs.acl(record).expect("the store answers")
    }

    /// `op`, signed for principal `who` with `signer`'s keys at the model's clock.
    fn sign(&mut self, who: usize, signer: usize, op: Operation) -> SignedOperation {
        Client::new(&self.w.keys[signer], self.w.ids[who], self.w.srs_id)
            .sign(op, self.now, &mut self.rng)
            .expect("sign")
    }

    /// `op`, signed by `who` with the keys it registered.
    fn act(&mut self, who: usize, op: Operation) -> SignedOperation {
        let signer = self.keys_of(who);
        self.sign(who, signer, op)
    }

    /// Runs `op` at the model's clock. A failure leaves every row as it was; a success is
    /// remembered for the envelope operations.
    fn exec(&mut self, op: &SignedOperation) -> Result<Response, Error> {
        let r = execute_checked(&mut self.srs, op, self.now, &mut self.rng);
        match &r {
            Ok(response) => {
                if self.sent.len() == 8 {
                    self.sent.remove(0);
                }
                self.sent.push(Sent {
                    op: op.clone(),
                    response: response.clone(),
                });
            }
            Err(e) => assert!(
                !matches!(e, Error::Store(_)),
                "a store error with one handle: {e:?}"
            ),
        }
        r
    }

    /// Whether `op` would succeed now (run on a copy of the store).
    fn dry_run(&mut self, op: &SignedOperation) -> bool {
        let mut copy = self.w.srs(rows_of(&self.srs));
        copy.execute(op, self.now, &mut self.rng).is_ok()
    }

    /// The refusal every operation but registration meets before its own checks: an
    /// unknown principal, keys other than the registered ones, an inactive principal
    /// (`login` passes that last one).
    fn gate(&self, who: usize, signer: usize, login: bool) -> Option<Refusal> {
        let Some(reg) = self.registered(who) else {
            return Some(Refusal::UnknownPrincipal);
        };
        if reg.bundle != self.w.keys[signer].bundle() {
            return Some(Refusal::WrongSigner);
        }
        (!reg.active && !login).then_some(Refusal::Inactive)
    }

    fn owner_of(&self, record: RecordId) -> Option<usize> {
        self.record_owner.get(&record).copied()
    }

    fn builder_of(&self, record: RecordId) -> Option<usize> {
        self.record_builder.get(&record).copied()
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
            1 => History::FromEpoch(Epoch::new(u32::from(e % 4))),
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
        let current = self.acl(record);
        let built = match &current {
            Some(current) => current
                .verify(&owner.verifying_key())
                .and_then(|current| owner.update(&current, not_after, changes, &mut self.rng)),
            None => owner.create_record(record, not_after, changes, &mut self.rng),
        };
        let u = built.ok()?;
        // What the owner may make of a version (SPEC §7): a section rotates at most once, by
        // one epoch, and keeps its creation epoch; one removed in it is not added back in it.
        let new = u.acl().acl_unverified();
        if let Some(current) = current.as_ref().map(SignedAcl::acl_unverified) {
            for (id, p) in new.sections() {
                if let Some(old) = current.section(id) {
                    assert!(
                        p.first() == old.first()
                            && p.epoch().get().wrapping_sub(old.epoch().get()) <= 1,
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

    /// Records an update the SRS accepted from principal `owner` (cast index of its id),
    /// signed by `builder`'s keys.
    fn accepted(&mut self, owner: usize, builder: usize, update: &AclUpdate) {
        let record = update.acl().acl_unverified().record();
        self.record_owner.entry(record).or_insert(owner);
        self.record_builder.entry(record).or_insert(builder);
        assert!(
            self.owner_of(record) == Some(owner) && self.builder_of(record) == Some(builder),
            "a second owner took over a record"
        );
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
        let o = &self.w.owners[builder - OWNER_A];
        let v = update
            .acl()
            .verify(&o.verifying_key())
            .expect("an accepted ACL verifies under its builder's key");
        self.acls.insert((record, v.version()), v);
        self.accepted.push(update.clone());
    }

    /// Sends `update` for principal `actor`; on success records it.
    fn apply(&mut self, actor: usize, update: &AclUpdate) -> Result<Response, Error> {
        let op = self.act(actor, Operation::ApplyUpdate(update.clone()));
        let r = self.exec(&op);
        if r.is_ok() {
            let reg = self.registered(actor).expect("actor");
            assert!(
                reg.active && reg.role == Role::Patient,
                "update by a non-patient"
            );
            let builder = self
                .w
                .who_has(update.acl().acl_unverified().owner())
                .expect("a cast member's ACL");
            assert!(
                reg.bundle == self.w.keys[builder].bundle(),
                "update by a non-owner"
            );
            self.accepted(actor, builder, update);
        }
        r
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

    /// A request transition at `self.now` is stamped with the SRS's clock, but never before
    /// the request's last transition (instances' clocks differ a little): time in a
    /// request's history never goes back.
    fn check_request_time<T>(
        &self,
        id: RequestId,
        before: Option<&AccessRequest>,
        r: &Result<T, Error>,
    ) {
        let last = before.and_then(|q| q.history().last()).map(|(_, t)| *t);
        match r {
            Ok(_) => {
                let after = self.request(id).expect("the request is kept");
                let stamped = after.history().last().map(|(_, t)| *t);
                assert!(
                    stamped == Some(last.map_or(self.now, |l| l.max(self.now))),
                    "a request transition stamped {stamped:?}, not the later of {last:?} and {:?}",
                    self.now
                );
            }
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

    /// A filed request (`b` picks one), or an id never filed.
    fn request_id(&self, b: u8) -> RequestId {
        let i = usize::from(b) % (self.requests.len() + 1);
        self.requests
            .get(i)
            .copied()
            .unwrap_or(RequestId::new([0xee; 16]))
    }

    fn request(&self, id: RequestId) -> Option<AccessRequest> {
        self.srs.request(id).expect("the store answers")
    }

    /// Runs one operation; returns its op code and whether the SRS call succeeded (`None`
    /// when the operation did not reach the SRS).
    fn step(&mut self, inp: &mut Input<'_>) -> (u8, Option<bool>) {
        let w = self.w;
        let op = inp.byte() % OPS;
        let result: Option<bool> = match op {
            OP_REGISTER => {
                let (who, role, bundle, signer) =
                    (inp.pick(CAST), inp.pick(8), inp.pick(CAST), inp.pick(CAST));
                let keys = w.keys[bundle].bundle();
                let taken = (0..CAST).any(|i| self.registered(i).is_some_and(|r| r.bundle == keys));
                let signed = self.sign(
                    who,
                    signer,
                    Operation::Register {
                        role: ROLES[role],
                        bundle: keys,
                    },
                );
                let was = self.registered(who);
                let r = self.exec(&signed);
                if signer != bundle {
                    assert!(refused(&r, Refusal::WrongSigner), "register: {r:?}");
                } else if was.is_some() || taken {
                    assert!(
                        matches!(r, Err(Error::AlreadyExists { .. })),
                        "register twice: {r:?}"
                    );
                } else {
                    assert!(r == Ok(Response::Done), "register: {r:?}");
                    let reg = self.registered(who).expect("registered");
                    assert!(reg.role == ROLES[role] && reg.bundle == keys && !reg.active);
                }
                Some(r.is_ok())
            }
            OP_ACTIVATE | OP_DEACTIVATE => {
                let (actor, target) = (inp.pick(CAST), inp.pick(CAST));
                let signer = self.keys_of(actor);
                let target_id = w.ids[target];
                let o = if op == OP_ACTIVATE {
                    Operation::Activate { target: target_id }
                } else {
                    Operation::Deactivate { target: target_id }
                };
                let signed = self.sign(actor, signer, o);
                let refusal = self.gate(actor, signer, false).or_else(|| {
                    let reg = self.registered(actor).expect("registered");
                    (reg.role != Role::Admin).then_some(Refusal::NotAdmin)
                });
                let target_known = self.registered(target).is_some();
                let r = self.exec(&signed);
                match refusal {
                    Some(x) => assert!(refused(&r, x), "(de)activate: {r:?}, expected {x:?}"),
                    None if !target_known => assert!(
                        matches!(r, Err(Error::NotFound { .. })),
                        "(de)activate an unknown principal: {r:?}"
                    ),
                    None => {
                        assert!(r == Ok(Response::Done), "(de)activate: {r:?}");
                        assert!(self.active(target) == (op == OP_ACTIVATE));
                    }
                }
                Some(r.is_ok())
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
                let signer = self.keys_of(requester);
                let refusal = self.gate(requester, signer, false);
                let acl = self.acl(record);
                let signed = self.sign(
                    requester,
                    signer,
                    Operation::Request {
                        record,
                        right,
                        sections: sections.clone(),
                    },
                );
                let r = self.exec(&signed);
                let distinct = sections.iter().collect::<BTreeSet<_>>().len() == sections.len();
                if let Some(x) = refusal {
                    assert!(refused(&r, x), "request: {r:?}, expected {x:?}");
                } else if acl.is_none() {
                    assert!(refused(&r, Refusal::NoAcl), "request without ACL: {r:?}");
                } else if sections.is_empty() || !distinct {
                    assert!(
                        matches!(r, Err(Error::InvalidChange { .. })),
                        "request with no or repeated sections: {r:?}"
                    );
                } else if sections.iter().any(|s| {
                    acl.as_ref()
                        .is_none_or(|a| a.acl_unverified().section(s).is_none())
                }) {
                    assert!(refused(&r, Refusal::UnknownSection), "request: {r:?}");
                } else {
                    let Ok(Response::RequestFiled(id)) = r else {
                        panic!("request: {r:?}");
                    };
                    assert!(!self.requests.contains(&id), "a request id used twice");
                    let req = self.request(id).expect("filed request");
                    assert!(
                        req.state() == RequestState::Pending
                            && req.requester() == w.ids[requester]
                            && req.record() == record
                            && req.right() == right
                            && req.sections() == sections.as_slice()
                            && req.history() == [(RequestState::Pending, self.now)]
                    );
                    self.requests.push(id);
                }
                Some(r.is_ok())
            }
            OP_APPROVE => {
                let actor = inp.pick(CAST);
                let id = self.request_id(inp.byte());
                let mask = inp.byte();
                let not_after = Timestamp::new(self.now.get() + u64::from(inp.byte()) * 64);
                let req = self.request(id);
                let record = req.as_ref().map_or(w.records[0], |r| r.record());
                let builder = self.builder_of(record).unwrap_or(OWNER_A);
                let mut changes = Vec::new();
                if let Some(req) = &req {
                    let bundle = self
                        .registered_bundle(req.requester())
                        .unwrap_or_else(|| w.keys[ADMIN].bundle());
                    let default = self
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
                    let before = self.acl(record).map(|a| a.acl_unverified().clone());
                    let requester = req
                        .as_ref()
                        .and_then(|r| self.registered_bundle(r.requester()));
                    let signed = self.act(
                        actor,
                        Operation::Approve {
                            request: id,
                            update: update.clone(),
                        },
                    );
                    let r = self.exec(&signed);
                    self.check_request_time(id, req.as_ref(), &r);
                    if let Ok(resp) = &r {
                        let Response::Approved(outcome) = resp else {
                            panic!("approve answered {resp:?}");
                        };
                        let asked = req.as_ref().expect("an approved request existed");
                        let fp = requester.expect("a registered requester").fingerprint();
                        let expected = approval_outcome(asked, &fp, before.as_ref(), &update);
                        let req = self.request(id).expect("approved request");
                        assert!(
                            req.state() == *outcome
                                && *outcome == expected.0
                                && req.granted() == expected.1.as_slice(),
                            "approval: {outcome:?} on {:?}, expected {expected:?}",
                            req.granted()
                        );
                        let reg = self.registered(actor).expect("actor");
                        assert!(
                            reg.active
                                && reg.role == Role::Patient
                                && reg.bundle == *update.acl().acl_unverified().owner(),
                            "an approval by someone other than the record owner"
                        );
                        self.accepted(actor, builder, &update);
                    }
                    r.is_ok()
                })
            }
            OP_REJECT | OP_WITHDRAW => {
                let actor = inp.pick(CAST);
                let id = self.request_id(inp.byte());
                let req = self.request(id);
                let o = if op == OP_REJECT {
                    Operation::Reject { request: id }
                } else {
                    Operation::Withdraw { request: id }
                };
                let signed = self.act(actor, o);
                let r = self.exec(&signed);
                self.check_request_time(id, req.as_ref(), &r);
                if r.is_ok() {
                    assert!(r == Ok(Response::Done));
                    let req = self.request(id).expect("request");
                    let reg = self.registered(actor).expect("actor");
                    assert!(reg.active);
                    if op == OP_REJECT {
                        assert!(req.state() == RequestState::Rejected);
                        assert!(
                            self.owner_of(req.record()) == Some(actor) && reg.role == Role::Patient,
                            "a request rejected by someone other than the record owner"
                        );
                    } else {
                        assert!(req.state() == RequestState::Withdrawn);
                        assert!(req.requester() == w.ids[actor]);
                    }
                }
                Some(r.is_ok())
            }
            OP_DELETE => {
                let actor = inp.pick(CAST);
                let id = self.request_id(inp.byte());
                let req = self.request(id);
                let signer = self.keys_of(actor);
                let refusal = self.gate(actor, signer, false);
                let signed = self.sign(actor, signer, Operation::DeleteRequest { request: id });
                let r = self.exec(&signed);
                match (refusal, &req) {
                    (Some(x), _) => assert!(refused(&r, x), "delete: {r:?}, expected {x:?}"),
                    (None, None) => assert!(
                        matches!(r, Err(Error::NotFound { .. })),
                        "delete an unknown request: {r:?}"
                    ),
                    (None, Some(q)) => {
                        let may = q.requester() == w.ids[actor]
                            || self.owner_of(q.record()) == Some(actor);
                        if !may {
                            assert!(refused(&r, Refusal::NotRequester), "delete: {r:?}");
                        } else if !q.state().is_closed() {
                            assert!(
                                matches!(r, Err(Error::IllegalTransition { .. })),
                                "delete an open request: {r:?}"
                            );
                        } else {
                            assert!(r == Ok(Response::Done), "delete: {r:?}");
                            assert!(self.request(id).is_none());
                            self.deleted.insert(id);
                        }
                    }
                }
                Some(r.is_ok())
            }
            OP_UPDATE => {
                let actor = inp.pick(CAST);
                let builder = OWNER_A + inp.pick(2);
                let record = w.records[inp.pick(2)];
                let not_after = Timestamp::new(self.now.get() + u64::from(inp.byte()) * 64);
                let n = 1 + inp.pick(3);
                let changes: Vec<Change> = (0..n).map(|_| self.change(inp, record)).collect();
                self.build(builder, record, &changes, not_after)
                    .map(|update| self.apply(actor, &update).is_ok())
            }
            OP_SEAL => {
                let writer = inp.pick(CAST);
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(3));
                let pt = pattern(usize::from(inp.byte()), op);
                let acl = self.builder_of(record).and_then(|o| {
                    let signed = self.acl(record)?;
                    Some(
                        signed
                            .verify(&w.keys[o].signing_key().verifying_key())
                            .expect("the SRS's ACL verifies under the record owner's key"),
                    )
                });
                acl.and_then(|acl| {
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
                    let entry = r.ok()?;
                    if self.entries.len() == 6 {
                        self.entries.remove(0);
                    }
                    let generation = self.generation(record, section);
                    self.entries.push(ModelEntry {
                        key_block: *entry.key_block(),
                        entry,
                        acl,
                        plaintext: pt,
                        generation,
                        receipt: None,
                    });
                    Some(self.submit(writer, self.entries.len() - 1))
                })
            }
            OP_SUBMIT => {
                let actor = inp.pick(CAST);
                let pick = usize::from(inp.byte());
                (!self.entries.is_empty()).then(|| self.submit(actor, pick % self.entries.len()))
            }
            OP_REENCRYPT => {
                let reader = inp.pick(CAST);
                let pick = usize::from(inp.byte());
                let mask = inp.byte();
                self.reencrypt(reader, pick, mask)
            }
            OP_LOGIN => {
                let (who, signer) = (inp.pick(CAST), inp.pick(CAST));
                let refusal = self.gate(who, signer, true);
                let signed = self.sign(who, signer, Operation::Login);
                let r = self.exec(&signed);
                match refusal {
                    Some(x) => assert!(refused(&r, x), "login: {r:?}, expected {x:?}"),
                    None => {
                        let reg = self.registered(who).expect("registered");
                        assert!(
                            r == Ok(Response::Status {
                                role: reg.role,
                                active: reg.active
                            }),
                            "login: {r:?}"
                        );
                    }
                }
                Some(r.is_ok())
            }
            OP_TIME => {
                self.now = Timestamp::new(self.now.get() + u64::from(inp.byte()) * 16);
                self.srs
                    .expire_replays(self.now, 64)
                    .expect("replay rows expire");
                self.expired_at = self.expired_at.max(self.now);
                None
            }
            OP_REPLAY => {
                let actor = inp.pick(CAST);
                let k = inp.byte();
                if self.accepted.is_empty() {
                    None
                } else {
                    let u = self.accepted[usize::from(k) % self.accepted.len()].clone();
                    let r = self.apply(actor, &u);
                    assert!(r.is_err(), "a replayed update was accepted again");
                    Some(false)
                }
            }
            OP_TAMPER => {
                let actor = inp.pick(CAST);
                let (hi, lo, bit) = (inp.byte(), inp.byte(), inp.byte());
                self.tamper(actor, (usize::from(hi) << 8) | usize::from(lo), bit)
            }
            OP_READD => {
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(2));
                let reader = inp.pick(CAST);
                let not_after = Timestamp::new(self.now.get() + u64::from(inp.byte()) * 64);
                self.readd(record, section, reader, not_after)
            }
            OP_SUBSTITUTE => {
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(2));
                let reader = inp.pick(CAST);
                let (h, e) = (inp.byte(), inp.byte());
                let history = self.history(h, e);
                let (k, i) = (inp.byte(), inp.byte());
                let not_after = Timestamp::new(self.now.get() + u64::from(inp.byte()) * 64);
                self.substitute(record, section, reader, history, (k, i), not_after)
            }
            OP_JUMP => {
                let record = w.records[inp.pick(2)];
                let section = self.section(record, inp.pick(2));
                let by = inp.byte() % 4;
                let not_after = Timestamp::new(self.now.get() + u64::from(inp.byte()) * 64);
                self.jump(record, section, by, not_after)
            }
            OP_CLOCK_BACK => {
                let back = u64::from(inp.byte()) * 16;
                self.now = Timestamp::new(self.now.get().saturating_sub(back).max(T0.get()));
                None
            }
            OP_REWRAP => {
                let actor = inp.pick(CAST);
                let pick = usize::from(inp.byte());
                self.rewrap(actor, pick)
            }
            OP_HOSTILE => {
                let (variant, pick, src) = (inp.byte() % 5, inp.byte(), inp.byte());
                self.hostile(variant, usize::from(pick), usize::from(src))
            }
            OP_ENVELOPE => {
                let (variant, pick, arg) = (inp.byte() % 6, inp.byte(), inp.byte());
                self.envelope(variant, usize::from(pick), arg)
            }
            _ => None,
        };
        (op, result)
    }

    fn registered_bundle(&self, id: PrincipalId) -> Option<KeyBundle> {
        self.srs
            .principal(id)
            .expect("the store answers")
            .map(|r| r.bundle)
    }

    /// The newest ACL of a record, verified under its builder's key.
    fn verified_acl(&self, record: RecordId) -> Option<VerifiedAcl> {
        let signed = self.acl(record)?;
        let builder = self.builder_of(record)?;
        Some(
            signed
                .verify(&self.w.keys[builder].signing_key().verifying_key())
                .expect("the newest ACL verifies under its owner's key"),
        )
    }

    /// `OP_SUBMIT` (and the second half of `OP_SEAL`): `actor` sends entry `i` to the write
    /// gate. Accepted exactly when the writer gate allows it; the receipt verifies.
    fn submit(&mut self, actor: usize, i: usize) -> bool {
        let w = self.w;
        let me = self.entries[i].clone();
        let header = *me.entry.header();
        let signer = self.keys_of(actor);
        let record = header.record();
        let section = header.section();
        let acl = self.acl(record).map(|a| a.acl_unverified().clone());
        let fp = w.keys[signer].bundle().fingerprint();
        let kb = me.entry.key_block();
        let refusal = self.gate(actor, signer, false).or_else(|| {
            if header.writer() != fp {
                return Some(Refusal::NoWriteRight);
            }
            let Some(acl) = &acl else {
                return Some(Refusal::NoAcl);
            };
            if acl.not_after() < self.now {
                return Some(Refusal::AclExpired);
            }
            let Some(policy) = acl.section(&section) else {
                return Some(Refusal::UnknownSection);
            };
            if acl.writer(&section, &fp).is_none() {
                return Some(Refusal::NoWriteRight);
            }
            if kb.epoch() != policy.epoch() || kb.section_key() != policy.key() {
                return Some(Refusal::KeyBlockNotCurrent);
            }
            if header.acl_version() > acl.version() {
                return Some(Refusal::FutureAclVersion);
            }
            let named = self
                .acls
                .get(&(record, header.acl_version()))
                .expect("an entry names an accepted ACL");
            named
                .writer(&section, &fp)
                .is_none()
                .then_some(Refusal::NoWriteRight)
        });
        let signed = self.sign(actor, signer, me.entry.submission());
        let r = self.exec(&signed);
        if let Some(x) = refusal {
            assert!(refused(&r, x), "submit: {r:?}, expected {x:?}");
            return false;
        }
        if me.receipt.is_some() {
            assert!(
                matches!(r, Err(Error::AlreadyExists { .. })),
                "an entry accepted twice: {r:?}"
            );
            return false;
        }
        let Ok(Response::Accepted(receipt)) = r else {
            panic!("submit: {r:?}");
        };
        let receipt = *receipt;
        let accepted = receipt
            .verify(&w.srs_vk, &header)
            .expect("the SRS's receipt verifies");
        assert!(
            receipt.acl_version() == acl.expect("ACL").version(),
            "a receipt names another ACL version than the newest"
        );
        assert!(
            self.srs.receipt(record, header.entry()).expect("read") == Some(receipt.clone()),
            "the stored receipt is not the one issued"
        );
        let builder = self.builder_of(record).expect("builder");
        let opened = w.owners[builder - OWNER_A]
            .open_entry(&me.entry, &accepted, &me.acl)
            .expect("the owner opens an accepted entry");
        assert!(opened == me.plaintext);
        // The same entry id with the other entries' (any accepted entry) is another entry:
        // every copy in the model gets the receipt.
        for e in &mut self.entries {
            if e.entry.header() == &header {
                e.receipt = Some(receipt.clone());
            }
        }
        true
    }

    /// `OP_REENCRYPT`: `reader` asks for a batch of entries of one record. Each item is
    /// served exactly when the gate allows it (honest rows), never from a hostile row, and
    /// whatever is served opens for the reader to the entry's plaintext.
    fn reencrypt(&mut self, reader: usize, pick: usize, mask: u8) -> Option<bool> {
        let w = self.w;
        if self.entries.is_empty() {
            return None;
        }
        let n = self.entries.len();
        let first = pick % n;
        let mut idx = vec![first];
        for k in 0..3 {
            let j = (first + k + 1) % n;
            if mask & (1 << k) != 0 && !idx.contains(&j) {
                idx.push(j);
            }
        }
        let record = self.entries[first].entry.header().record();
        let mut ids: Vec<EntryId> = idx
            .iter()
            .map(|i| self.entries[*i].entry.header().entry())
            .collect();
        if mask & 8 != 0 {
            ids.push(EntryId::new([0xab; 16]));
        }
        ids.dedup();
        let signer = self.keys_of(reader);
        let acl = self.acl(record).map(|a| a.acl_unverified().clone());
        let hostile_leaves = self.hostile.contains_key(&leaves_row(record));
        let refusal = self.gate(reader, signer, false).or_else(|| match &acl {
            None => Some(Refusal::NoAcl),
            Some(a) if a.not_after() < self.now => Some(Refusal::AclExpired),
            Some(_) if hostile_leaves => Some(Refusal::KeyNotCommitted),
            Some(_) => None,
        });
        let signed = self.sign(
            reader,
            signer,
            Operation::Reencrypt {
                record,
                entries: ids.clone(),
            },
        );
        let r = self.exec(&signed);
        if let Some(x) = refusal {
            assert!(refused(&r, x), "reencrypt: {r:?}, expected {x:?}");
            return Some(false);
        }
        let acl = acl.expect("ACL");
        let Ok(Response::Reencrypted { items, .. }) = r else {
            panic!("reencrypt: {r:?}");
        };
        assert!(items.len() == ids.len(), "one answer per entry");
        let fp = w.keys[signer].bundle().fingerprint();
        let mut served = 0;
        for (id, item) in ids.iter().zip(&items) {
            let me = self
                .entries
                .iter()
                .find(|e| {
                    e.entry.header().entry() == *id
                        && e.entry.header().record() == record
                        && e.receipt.is_some()
                })
                .cloned();
            let loose = self.hostile.contains_key(&entry_row(record, *id));
            let expected = match &me {
                None => Err(Refusal::UnknownEntry),
                Some(me) => {
                    let section = me.entry.header().section();
                    let epoch = me.key_block.epoch();
                    let key = key_row(&ReKeyId {
                        record,
                        section,
                        epoch,
                        reader: fp,
                    });
                    match acl.section(&section) {
                        None => Err(Refusal::UnknownSection),
                        Some(p) if !p.can_read(&fp, epoch) => Err(Refusal::NoReadRight),
                        Some(_) if self.hostile.contains_key(&key) => Err(Refusal::KeyNotCommitted),
                        Some(_) => Ok(()),
                    }
                }
            };
            if loose {
                // An entry row written behind the SRS's back: whatever is served must not
                // open to anything but the entry (checked below).
            } else {
                assert!(
                    item.as_ref().map(drop).map_err(|e| *e) == expected,
                    "reencrypt item: {item:?}, expected {expected:?}"
                );
            }
            let (Ok(item), Some(me)) = (item, me) else {
                continue;
            };
            assert!(item.entry == *id);
            let entry = me.entry.clone().with_key_block(item.key_block);
            let accepted = me
                .receipt
                .as_ref()
                .expect("accepted")
                .verify(&w.srs_vk, me.entry.header())
                .expect("receipt");
            let holder = w.who_has(&w.keys[signer].bundle()).expect("a cast member");
            let opened = w.keys[holder].open_entry(&entry, &accepted, &item.recapsule, &me.acl);
            if loose {
                if let Ok(pt) = opened {
                    assert!(
                        pt == me.plaintext,
                        "a hostile row opened to another plaintext"
                    );
                }
                continue;
            }
            assert!(
                item.key_block == me.key_block,
                "the SRS served another key block than the one it holds"
            );
            assert!(
                me.generation == self.generation(record, me.entry.header().section()),
                "an entry written before its section was removed was re-encrypted"
            );
            let pt = opened.expect("a granted reader opens what the SRS re-encrypted");
            assert!(pt == me.plaintext);
            served += 1;
        }
        Some(served > 0)
    }

    /// `OP_REWRAP`: `actor` sends the owner's re-wrap of entry `pick` to the section's
    /// current key: accepted exactly when `actor` is the record's owner and the entry was
    /// accepted.
    fn rewrap(&mut self, actor: usize, pick: usize) -> Option<bool> {
        let w = self.w;
        if self.entries.is_empty() {
            return None;
        }
        let i = pick % self.entries.len();
        let me = self.entries[i].clone();
        let header = *me.entry.header();
        let record = header.record();
        let builder = self.builder_of(record)?;
        let current = self.verified_acl(record)?;
        let kb = w.owners[builder - OWNER_A]
            .rewrap(
                &me.entry.clone().with_key_block(me.key_block),
                &current,
                &mut self.rng,
            )
            .ok()?;
        let signer = self.keys_of(actor);
        let refusal = self.gate(actor, signer, false).or_else(|| {
            let reg = self.registered(actor).expect("registered");
            (self.owner_of(record) != Some(actor) || reg.role != Role::Patient)
                .then_some(Refusal::NotOwner)
        });
        let signed = self.sign(
            actor,
            signer,
            Operation::Rewrap {
                record,
                entry: header.entry(),
                key_block: kb,
            },
        );
        let r = self.exec(&signed);
        let loose = self
            .hostile
            .contains_key(&entry_row(record, header.entry()));
        if let Some(x) = refusal {
            assert!(refused(&r, x), "rewrap: {r:?}, expected {x:?}");
        } else if me.receipt.is_none() {
            assert!(
                matches!(r, Err(Error::NotFound { .. })),
                "rewrap of an entry never accepted: {r:?}"
            );
        } else if !loose {
            assert!(r == Ok(Response::Done), "rewrap: {r:?}");
        }
        if r.is_ok() {
            // The owner moved the entry to the section's current key: it is the re-created
            // section's now, if the section was removed and added back.
            let generation = self.generation(record, header.section());
            for e in &mut self.entries {
                if e.entry.header() == &header {
                    e.key_block = kb;
                    e.generation = generation;
                }
            }
        }
        Some(r.is_ok())
    }

    /// `OP_HOSTILE`: writes a row behind the SRS's back (see the op code).
    fn hostile(&mut self, variant: u8, pick: usize, src: usize) -> Option<bool> {
        let w = self.w;
        let rows = rows_of(&self.srs);
        let of_kind = |k: u8| -> Vec<&Row> { rows.iter().filter(|r| r.key[0] == k).collect() };
        let mut writes: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        match variant {
            0 | 2 => {
                // Another value any key row has held (this record's or not, revoked or not).
                let keys = of_kind(kind::KEY);
                let t = keys.get(pick % keys.len().max(1))?;
                let mut values: Vec<&Vec<u8>> = self
                    .seen_keys
                    .values()
                    .chain(keys.iter().map(|r| &r.value))
                    .filter(|v| **v != t.value)
                    .collect();
                values.sort();
                values.dedup();
                let s = values.get(src % values.len().max(1))?;
                writes.push((t.key.clone(), (*s).clone()));
                if variant == 2 {
                    // The leaf recomputed for the new value: now the root does not match.
                    let id = key_row_id(&t.key)?;
                    let rk = ReKey::from_bytes(s.get(2..)?).ok()?;
                    let leaves = rows.iter().find(|r| r.key == leaves_row(id.record))?;
                    let mut v = leaves.value.clone();
                    let at = find(&v, &key_row(&id)[1..])? + 68;
                    splice_at(&mut v, at, &key_leaf(&id, &rk))?;
                    writes.push((leaves.key.clone(), v));
                }
            }
            1 => {
                let keys = of_kind(kind::KEY);
                let t = keys.get(pick % keys.len().max(1))?;
                let mut id = key_row_id(&t.key)?;
                id.reader = w.keys[src % CAST].bundle().fingerprint();
                let key = key_row(&id);
                if rows.iter().any(|r| r.key == key && r.value == t.value) {
                    return None;
                }
                writes.push((key, t.value.clone()));
            }
            3 => {
                let gone: Vec<(&Vec<u8>, &Vec<u8>)> = self
                    .seen_keys
                    .iter()
                    .filter(|(k, _)| !rows.iter().any(|r| r.key == **k))
                    .collect();
                let (k, v) = gone.get(pick % gone.len().max(1))?;
                writes.push(((*k).clone(), (*v).clone()));
            }
            _ => {
                let entries = of_kind(kind::ENTRY);
                let (t, s) = (
                    entries.get(pick % entries.len().max(1))?,
                    entries.get(src % entries.len())?,
                );
                let kb = s.value.get(ENTRY_ROW_KEY_BLOCK..)?;
                let v = [t.value.get(..ENTRY_ROW_KEY_BLOCK)?, kb].concat();
                if v == t.value {
                    return None;
                }
                writes.push((t.key.clone(), v));
            }
        }
        for (k, v) in writes {
            let store = self.srs.store();
            let honest = match self.hostile.get(&k) {
                Some((_, honest)) => honest.clone(),
                None => store.get(&k).expect("the store answers").map(|r| r.value),
            };
            store.put_raw(k.clone(), v.clone()).expect("put_raw");
            let row = store.get(&k).expect("the store answers").expect("written");
            if honest.as_ref() == Some(&v) {
                self.hostile.remove(&k);
            } else {
                self.hostile.insert(k, (row.version, honest));
            }
        }
        Some(true)
    }

    /// `OP_ENVELOPE` (see the op code).
    fn envelope(&mut self, variant: u8, pick: usize, arg: u8) -> Option<bool> {
        let w = self.w;
        let sent = self.sent.get(pick % self.sent.len().max(1))?.clone();
        let op = &sent.op;
        let operation = op.operation().expect("a committed operation decodes");
        let who = w.ids.iter().position(|id| *id == op.principal())?;
        let window = self.srs.config().window;
        let skew = self.srs.config().max_skew;
        let replay_row = self
            .srs
            .store()
            .get(&replay_row(op))
            .expect("the store answers");
        let r = match variant {
            0 => {
                let before = rows_of(&self.srs);
                let r = execute_checked(&mut self.srs, op, self.now, &mut self.rng);
                if op.time().get().abs_diff(self.now.get()) > window {
                    assert!(refused(&r, Refusal::OutsideWindow), "retry: {r:?}");
                } else if operation == Operation::Login {
                    // A status query keeps no replay row: answered from the current rows,
                    // every time.
                    let reg = self.registered(who).expect("registered");
                    assert!(
                        r == Ok(Response::Status {
                            role: reg.role,
                            active: reg.active
                        }),
                        "a login retried: {r:?}"
                    );
                    assert!(rows_of(&self.srs) == before, "a login changed the store");
                } else if replay_row.is_some() {
                    assert!(
                        r.as_ref() == Ok(&sent.response),
                        "an exact retry answered {r:?}, not its stored response"
                    );
                    assert!(
                        rows_of(&self.srs) == before,
                        "an exact retry changed the store"
                    );
                } else {
                    // Only a clock set back further than the skew the deployment allows
                    // brings a forgotten operation back into the window.
                    assert!(
                        self.now.get() + skew < self.expired_at.get(),
                        "a committed operation's replay row is gone while it is in the window"
                    );
                }
                return Some(r.is_ok());
            }
            1 => {
                let other = SrsId::new(&w.srs_vk, "another deployment");
                let signer = self.keys_of(who);
                let forged = SignedOperation::sign(
                    &w.keys[signer],
                    other,
                    op.principal(),
                    operation.clone(),
                    self.now,
                    &mut self.rng,
                )
                .expect("sign");
                let r = self.exec(&forged);
                assert!(
                    refused(&r, Refusal::WrongSrs),
                    "another SRS's operation: {r:?}"
                );
                r
            }
            2 => {
                let by = window + 1 + u64::from(arg >> 1);
                let time = if arg & 1 == 0 {
                    self.now.get() + by
                } else {
                    self.now.get().checked_sub(by)?
                };
                let signer = self.keys_of(who);
                let forged = SignedOperation::sign(
                    &w.keys[signer],
                    w.srs_id,
                    op.principal(),
                    operation.clone(),
                    Timestamp::new(time),
                    &mut self.rng,
                )
                .expect("sign");
                let r = self.exec(&forged);
                assert!(
                    refused(&r, Refusal::OutsideWindow),
                    "an operation out of the window: {r:?}"
                );
                r
            }
            3 => {
                let signer = usize::from(arg) % CAST;
                if signer == self.keys_of(who) {
                    return None;
                }
                let forged = self.sign(who, signer, operation.clone());
                let r = self.exec(&forged);
                let expected = if matches!(operation, Operation::Register { .. }) {
                    Refusal::WrongSigner
                } else {
                    self.gate(who, signer, true).unwrap_or(Refusal::WrongSigner)
                };
                assert!(
                    refused(&r, expected),
                    "other keys: {r:?}, expected {expected:?}"
                );
                r
            }
            4 => {
                let signer = self.keys_of(who);
                let forged = SignedOperation::sign_with_nonce(
                    &w.keys[signer],
                    w.srs_id,
                    op.principal(),
                    Operation::Login,
                    self.now,
                    *op.nonce(),
                    &mut self.rng,
                )
                .expect("sign");
                let r = self.exec(&forged);
                if replay_row.is_some() && self.gate(who, signer, true).is_none() {
                    assert!(refused(&r, Refusal::Replayed), "a reused nonce: {r:?}");
                }
                r
            }
            _ => {
                let mut bytes = op.to_bytes();
                let pos = usize::from(arg) * 7 % bytes.len();
                bytes[pos] ^= 1 << (arg % 8);
                let t = SignedOperation::from_bytes(&bytes).ok()?;
                if t == *op {
                    return None;
                }
                let r = execute_checked(&mut self.srs, &t, self.now, &mut self.rng);
                assert!(
                    r.is_err(),
                    "a bit-flipped operation ran: {:?}",
                    t.operation()
                );
                r
            }
        };
        Some(r.is_ok())
    }

    /// `OP_TAMPER`: the last update built with bit `bit` of byte `pos` flipped, sent by
    /// `actor`.
    fn tamper(&mut self, actor: usize, pos: usize, bit: u8) -> Option<bool> {
        let u = self.last_built.clone()?;
        let mut bytes = u.to_bytes();
        let pos = pos % bytes.len();
        bytes[pos] ^= 1 << (bit % 8);
        let t = AclUpdate::from_bytes(&bytes).ok()?;
        let r = self.apply(actor, &t);
        if r.is_ok() {
            // Every byte is signed or bound to the signed key-set root: only a flip that
            // decodes to the same update could pass (never, with canonical encodings).
            assert!(t == u, "a bit-flipped update was accepted");
        }
        Some(r.is_ok())
    }

    /// Applies an update the record owner built, as the record's owner.
    fn apply_owned(&mut self, record: RecordId, update: &AclUpdate) -> bool {
        let Some(owner) = self.owner_of(record) else {
            return false;
        };
        self.apply(owner, update).is_ok()
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
    ) -> Option<bool> {
        let w = self.w;
        let builder = self.builder_of(record)?;
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
            let update = self.build(builder, record, std::slice::from_ref(change), not_after)?;
            if !self.apply_owned(record, &update) {
                return Some(false);
            }
            if removed_at.is_none() {
                removed_at = Some(self.generation(record, section));
            }
        }
        let generation = self.generation(record, section);
        assert!(removed_at == Some(generation) && generation == removals + 1);
        let acl = self.acl(record).expect("ACL").acl_unverified().clone();
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
        let old: Vec<ModelEntry> = self
            .entries
            .iter()
            .filter(|e| {
                e.generation < generation
                    && e.entry.header().record() == record
                    && e.entry.header().section() == section
            })
            .cloned()
            .collect();
        for old in old {
            assert!(
                grant.from > old.key_block.epoch(),
                "a History::All grant on a re-added section reaches a removed predecessor's epoch"
            );
            let registered = self
                .registered(reader)
                .is_some_and(|r| r.bundle == w.keys[reader].bundle());
            if !registered {
                continue;
            }
            let signed = self.act(
                reader,
                Operation::Reencrypt {
                    record,
                    entries: vec![old.entry.header().entry()],
                },
            );
            if let Ok(Response::Reencrypted { items, .. }) = self.exec(&signed) {
                assert!(
                    items.iter().all(Result::is_err),
                    "an entry written before the section was removed was re-encrypted for a \
                     reader granted after it was added back"
                );
            }
        }
        Some(true)
    }

    /// `OP_SUBSTITUTE`: the owner grants `reader` read on `section`; one added key value is
    /// replaced by one from an earlier accepted update or another key of this one (`pick.0`
    /// chooses which, `pick.1` which key is replaced; an odd `pick.0` moves the proof along).
    /// The SRS must refuse it with `KeyNotCommitted` whenever it would take the owner's own
    /// update, and leave its store unchanged.
    fn substitute(
        &mut self,
        record: RecordId,
        section: SectionId,
        reader: usize,
        history: History,
        pick: (u8, u8),
        not_after: Timestamp,
    ) -> Option<bool> {
        let w = self.w;
        let builder = self.builder_of(record)?;
        let owner = self.owner_of(record)?;
        let change = Change::GrantRead {
            section,
            reader: w.keys[reader].bundle(),
            history,
        };
        let genuine = self.build(builder, record, &[change], not_after)?;
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
        let genuine_op = self.act(owner, Operation::ApplyUpdate(genuine));
        let would_take = self.dry_run(&genuine_op);
        let r = self.apply(owner, &forged);
        assert!(
            r.is_err(),
            "an update with a substituted key value was accepted"
        );
        if would_take {
            assert!(
                refused(&r, Refusal::KeyNotCommitted),
                "a substituted key value: {r:?}"
            );
        }
        Some(false)
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
    ) -> Option<bool> {
        let w = self.w;
        let builder = self.builder_of(record)?;
        let owner = self.owner_of(record)?;
        let signed = self.acl(record)?;
        let o = &w.owners[builder - OWNER_A];
        let current = signed.verify(&o.verifying_key()).ok()?;
        let epoch = current.section(&section)?.epoch().get();
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
            Epoch::new(target),
            &mut self.rng,
        )?;
        let rotation = target == epoch + 1;
        if rotation && implied_key_ids(forged.acl().acl_unverified(), FORGE_MAX_KEYS).is_none() {
            // Sent without keys (see `with_epoch`): not the rotation the owner would make.
            return None;
        }
        let genuine_op = self.act(owner, Operation::ApplyUpdate(genuine));
        let would_take = self.dry_run(&genuine_op);
        let r = self.apply(owner, &forged);
        if rotation {
            assert!(
                r.is_ok() == would_take,
                "a hand-signed rotation: {r:?}, expected ok = {would_take}"
            );
        } else {
            assert!(r.is_err(), "an owner-signed epoch jump was accepted");
            if would_take {
                assert!(
                    matches!(
                        r,
                        Err(Error::AclRejected {
                            problem: AclProblem::BadSuccession { section: s },
                            ..
                        }) if s == section
                    ),
                    "an owner-signed epoch jump: {r:?}"
                );
            }
        }
        Some(r.is_ok())
    }

    /// The invariants that hold after every operation: the rows are exactly what the
    /// accepted ACLs, entries and requests imply (plus the hostile rows), every listing
    /// agrees, and the audit reports exactly the hostile rows.
    fn check(&mut self) {
        let w = self.w;
        let rows = rows_of(&self.srs);
        let version = |k: &[u8]| rows.iter().find(|r| r.key == k).map(|r| r.version);
        self.hostile.retain(|k, (v, _)| version(k) == Some(*v));
        for r in rows.iter().filter(|r| r.key[0] == kind::KEY) {
            self.seen_keys
                .entry(r.key.clone())
                .or_insert(r.value.clone());
        }

        // Stored re-encryption keys are exactly what the newest ACLs grant.
        for record in w.records {
            let key_rows: BTreeSet<ReKeyId> = rows
                .iter()
                .filter(|r| r.key[0] == kind::KEY)
                .filter_map(|r| key_row_id(&r.key))
                .filter(|id| id.record == record)
                .collect();
            let Some(signed) = self.acl(record) else {
                assert!(
                    key_rows
                        .iter()
                        .all(|id| self.hostile.contains_key(&key_row(id))),
                    "keys stored for a record with no ACL"
                );
                continue;
            };
            let acl = signed.acl_unverified();
            let builder = self.builder_of(record).expect("a record has an owner");
            signed
                .verify(&w.keys[builder].signing_key().verifying_key())
                .expect("the newest ACL is signed by the record's owner");
            assert!(
                self.acls.contains_key(&(record, acl.version())),
                "an ACL nobody accepted"
            );
            let implied: BTreeSet<ReKeyId> = implied_key_ids(acl, u64::MAX)
                .expect("no limit")
                .into_iter()
                .collect();
            assert!(
                acl.key_set().size() == implied.len() as u64,
                "the ACL's key-set size is not what it grants"
            );
            for (_, policy) in acl.sections() {
                assert!(policy.first() <= policy.epoch());
                for (_, grant) in policy.readers() {
                    assert!(
                        grant.from >= policy.first(),
                        "a grant reaches before its section's creation"
                    );
                }
            }
            for id in &implied {
                assert!(key_rows.contains(id), "a granted key is missing: {id:?}");
            }
            for id in key_rows.difference(&implied) {
                assert!(
                    self.hostile.contains_key(&key_row(id)),
                    "the SRS stores a key no ACL grants: {id:?}"
                );
            }
            // Listings: the accepted entries of each section.
            for section in [self.section(record, 0), self.section(record, 1)] {
                let mut expected: Vec<EntryId> = self
                    .entries
                    .iter()
                    .filter(|e| {
                        e.receipt.is_some()
                            && e.entry.header().record() == record
                            && e.entry.header().section() == section
                    })
                    .map(|e| e.entry.header().entry())
                    .collect();
                expected.sort();
                expected.dedup();
                let listed = self
                    .srs
                    .entries(record, section, None, 64)
                    .expect("listing");
                assert!(
                    expected.iter().all(|e| listed.contains(e)),
                    "an accepted entry is not listed"
                );
            }
        }
        // Readers' grants index: a record is listed for a reader iff its newest ACL names it.
        for k in &w.keys {
            let fp = k.bundle().fingerprint();
            let listed: BTreeSet<RecordId> = self
                .srs
                .records_of_reader(&fp, None, 16)
                .expect("listing")
                .into_iter()
                .collect();
            let expected: BTreeSet<RecordId> = w
                .records
                .iter()
                .copied()
                .filter(|r| {
                    self.acl(*r).is_some_and(|a| {
                        a.acl_unverified()
                            .sections()
                            .any(|(_, p)| p.readers().any(|(f, _)| *f == fp))
                    })
                })
                .collect();
            assert!(
                listed == expected,
                "the reader index disagrees with the ACLs"
            );
        }
        // Requests: histories start pending and go forward in time; owners list exactly the
        // requests on their records that were not deleted.
        let mut of_owner: BTreeMap<usize, BTreeSet<RequestId>> = BTreeMap::new();
        for id in &self.requests {
            let req = self.request(*id);
            assert!(
                req.is_some() != self.deleted.contains(id),
                "a request lost or kept"
            );
            let Some(req) = req else {
                continue;
            };
            assert!(req.history().first().map(|h| h.0) == Some(RequestState::Pending));
            assert!(
                req.history().windows(2).all(|p| p[0].1 <= p[1].1),
                "a request's history goes back in time"
            );
            let owner = self.owner_of(req.record()).expect("a request on a record");
            of_owner.entry(owner).or_default().insert(*id);
        }
        for who in 0..CAST {
            let listed: BTreeSet<RequestId> = self
                .srs
                .requests_of_owner(w.ids[who], None, 64)
                .expect("listing")
                .into_iter()
                .collect();
            assert!(
                listed == of_owner.remove(&who).unwrap_or_default(),
                "the owner's request index disagrees"
            );
        }

        // The audit: clean without hostile rows; with them, it reports them (and only them).
        if rows != self.audited {
            let report = self.srs.audit().expect("the audit runs");
            let explained = |key: &Vec<u8>| {
                self.hostile.contains_key(key)
                    || self.hostile.keys().any(|h| {
                        (h[0] == kind::KEY || h[0] == kind::LEAVES)
                            && key.len() == 17
                            && key[0] == kind::HEAD
                            && h[1..17] == key[1..17]
                    })
            };
            for (key, e) in &report.problems {
                assert!(
                    explained(key),
                    "the audit reports an honest row (kind {:#04x}): {e:?}",
                    key[0]
                );
            }
            for key in self.hostile.keys() {
                let head = [&[kind::HEAD][..], key.get(1..17).unwrap_or_default()].concat();
                assert!(
                    report
                        .problems
                        .iter()
                        .any(|(k, _)| k == key || (key[0] != kind::ENTRY && *k == head)),
                    "the audit passed a row written behind the SRS's back (kind {:#04x})",
                    key[0]
                );
            }
            self.audited = rows;
        }
    }
}

/// Runs `data` as SRS operations: byte 0 seeds the RNG, then each operation is an op code
/// byte and its argument bytes (missing bytes read as 0), at most [`MAX_OPS`] of them.
pub fn srs_ops_run(data: &[u8]) -> SrsRun {
    let w = world();
    let (seed, ops) = data.split_first().map_or((0, &[][..]), |(s, r)| (*s, r));
    let srs = w.srs(w.base_rows.clone());
    let mut model = Model {
        w,
        srs,
        now: T0,
        rng: rng(u64::from(seed)),
        record_owner: BTreeMap::new(),
        record_builder: BTreeMap::new(),
        acls: BTreeMap::new(),
        accepted: Vec::new(),
        live: BTreeMap::new(),
        removals: BTreeMap::new(),
        last_built: None,
        entries: Vec::new(),
        requests: Vec::new(),
        deleted: BTreeSet::new(),
        sent: Vec::new(),
        hostile: BTreeMap::new(),
        seen_keys: BTreeMap::new(),
        expired_at: T0,
        audited: Vec::new(),
    };
    let mut inp = Input { data: ops };
    let mut run = SrsRun::default();
    model.check();
    for _ in 0..MAX_OPS {
        if inp.data.is_empty() {
            break;
        }
        let (op, ok) = model.step(&mut inp);
        model.check();
        match ok {
            Some(true) => run.successes[usize::from(op)] += 1,
            Some(false) => run.refusals[usize::from(op)] += 1,
            None => {}
        }
    }
    run.rows = rows_of(&model.srs);
    run
}

fn srs_ops_count(data: &[u8]) -> usize {
    srs_ops_run(data).successes.iter().sum()
}
