//! Runs SRS operations over a [`MemoryStore`] holding a chosen number of re-encryption key
//! rows, for instruction counts under callgrind (issue 11, BENCHMARKS.md "The SRS as a
//! service"). `benches/srs.rs` uses the same world, so criterion and callgrind measure the
//! same thing.
//!
//! ```sh
//! cargo run --release --example srs_scale                    # 10 000 key rows, every op once
//! cargo build --release --example srs_scale
//! valgrind --tool=callgrind --toggle-collect='srs_scale::measured_*' \
//!     target/release/examples/srs_scale 1000000 all 20
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep measured_
//! ```
//!
//! Arguments: key rows in the store (default 10 000), the operation (`register`, `request`,
//! `approve`, `grant`, `reencrypt`, `reencrypt-bytes`, `reencrypt-cold`, `batch`, `floor`,
//! or `all`, the default) and the number of measured runs (default 1). Everything outside
//! the `measured_*` functions is setup: the store, the signed operations (signing is the
//! client's cost), and one unmeasured warm-up run of each operation. The per-operation
//! instruction count is the inclusive cost of its `measured_*` function divided by the
//! number of runs. The rows each operation touched (`Srs::rows_touched`) are printed, to
//! compare across store sizes.
//!
//! The operation `wall` instead times each re-encryption back to back with the floor, run
//! after run, and prints the ratio of the medians: a wall-clock ratio that holds up on a
//! machine whose load changes from one second to the next.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sesphr::phr::{
    AclUpdate, Change, EntryId, History, Owner, PrincipalId, PrincipalKeys, RecordId, Right, Role,
    SectionId, SectionName, Timestamp, VerifiedAcl,
};
use sesphr::pre::{Capsule, ReCapsule, ReKey};
use sesphr::sign::SigningKey;
use sesphr::srs::{
    Client, MemoryStore, Operation, Response, SignedOperation, Srs, SrsConfig, SrsId, Store,
};

/// The SRS's clock, and the time every operation is signed at.
pub const NOW: Timestamp = Timestamp::new(1_700_000_000);
const UNTIL: Timestamp = Timestamp::new(1_800_000_000);
/// Entries in the record, and the size of the batch re-encryption.
pub const BATCH: usize = 100;
const NAME: &str = "bench";
/// The kind byte of a key row (src/srs/rows.rs).
const KEY_ROW: u8 = 0x05;
/// The kind byte of a replay row.
const REPLAY_ROW: u8 = 0x0c;
/// The format version byte of every row value.
const ROW_VERSION: u8 = 0x01;

/// A handle over the world's store.
pub type Handle<'s> = Srs<&'s MemoryStore>;

/// The measured operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A new principal registers.
    Register,
    /// A registered principal files a request on the record.
    Request,
    /// The owner approves a pending request (on a record of its own) with the granting update.
    Approve,
    /// The owner grants a new reader read access (`ApplyUpdate`, one key added).
    Grant,
    /// The doctor asks for the re-encryption of one entry.
    Reencrypt,
    /// The same, with the SRS decoding the signed operation from bytes first.
    ReencryptBytes,
    /// The same, on a handle that has not served the record yet (nothing cached: the head
    /// is decoded, the key decoded and prepared, the key-set root recomputed).
    ReencryptCold,
    /// The doctor asks for the re-encryption of `BATCH` entries in one operation.
    Batch,
    /// `ReKey::reencrypt` alone (the floor).
    Floor,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 9] = [
        Op::Floor,
        Op::Reencrypt,
        Op::ReencryptBytes,
        Op::ReencryptCold,
        Op::Batch,
        Op::Grant,
        Op::Register,
        Op::Request,
        Op::Approve,
    ];

    /// The command-line name.
    pub fn arg(self) -> &'static str {
        match self {
            Op::Register => "register",
            Op::Request => "request",
            Op::Approve => "approve",
            Op::Grant => "grant",
            Op::Reencrypt => "reencrypt",
            Op::ReencryptBytes => "reencrypt-bytes",
            Op::ReencryptCold => "reencrypt-cold",
            Op::Batch => "batch",
            Op::Floor => "floor",
        }
    }

    /// The benchmark name (API names, as in the other groups).
    pub fn bench_name(self) -> &'static str {
        match self {
            Op::Register => "Srs::execute Register",
            Op::Request => "Srs::execute Request",
            Op::Approve => "Srs::execute Approve",
            Op::Grant => "Srs::execute ApplyUpdate (grant read)",
            Op::Reencrypt => "Srs::execute Reencrypt (1 entry)",
            Op::ReencryptBytes => "SignedOperation::from_bytes + Srs::execute Reencrypt (1 entry)",
            Op::ReencryptCold => "Srs::execute Reencrypt (1 entry, cold handle)",
            Op::Batch => "Srs::execute Reencrypt (batch of 100)",
            Op::Floor => "ReKey::reencrypt (floor)",
        }
    }
}

/// The principals, their ids, the SRS key, and the real record's names.
struct Cast {
    store: MemoryStore,
    key: SigningKey,
    srs_id: SrsId,
    ids: [PrincipalId; 5],
    admin: PrincipalKeys,
    owner: Owner,
    hospital: PrincipalKeys,
    doctor: PrincipalKeys,
    requester: PrincipalKeys,
    record: RecordId,
    medical: SectionId,
}

const ADMIN: usize = 0;
const OWNER: usize = 1;
const HOSPITAL: usize = 2;
const DOCTOR: usize = 3;
const REQUESTER: usize = 4;

impl Cast {
    fn handle(&self) -> Handle<'_> {
        Srs::new(&self.store, self.key.clone(), NAME, SrsConfig::default())
    }

    fn client(&self, who: usize) -> Client<'_> {
        let keys = match who {
            ADMIN => &self.admin,
            OWNER => self.owner.keys(),
            HOSPITAL => &self.hospital,
            DOCTOR => &self.doctor,
            _ => &self.requester,
        };
        Client::new(keys, self.ids[who], self.srs_id)
    }

    fn sign(&self, who: usize, op: Operation, rng: &mut ChaCha20Rng) -> SignedOperation {
        self.client(who).sign(op, NOW, rng).expect("sign")
    }

    /// Creates `record`: the `medical` section, written by the hospital, read by the doctor.
    fn create_record(
        &self,
        srs: &mut Handle<'_>,
        record: RecordId,
        rng: &mut ChaCha20Rng,
    ) -> VerifiedAcl {
        let changes = [
            Change::AddSection {
                section: self.medical,
            },
            Change::GrantWrite {
                section: self.medical,
                writer: self.hospital.bundle(),
            },
            Change::GrantRead {
                section: self.medical,
                reader: self.doctor.bundle(),
                history: History::All,
            },
        ];
        let update = self
            .owner
            .create_record(record, UNTIL, &changes, rng)
            .expect("create");
        let op = self.sign(OWNER, Operation::ApplyUpdate(update.clone()), rng);
        run(srs, &op, rng);
        update
            .acl()
            .verify(&self.owner.verifying_key())
            .expect("owner-signed")
    }

    /// A fresh record (created through `setup`) and the owner's update granting the
    /// requester read access on its `medical` section (one key added).
    fn grant_on_fresh_record(
        &self,
        setup: &mut Handle<'_>,
        rng: &mut ChaCha20Rng,
    ) -> (RecordId, AclUpdate) {
        let mut r = [0u8; 16];
        rng.fill_bytes(&mut r);
        let record = RecordId::new(r);
        let acl = self.create_record(setup, record, rng);
        let grant = [Change::GrantRead {
            section: self.medical,
            reader: self.requester.bundle(),
            history: History::All,
        }];
        let update = self.owner.update(&acl, UNTIL, &grant, rng).expect("update");
        (record, update)
    }
}

/// A store with one real record (a `medical` section written by a hospital, read by a doctor,
/// `BATCH` accepted entries) and filler key rows for random other records, up to the number
/// of key rows asked for; and the principals that sign the operations.
pub struct World {
    cast: Cast,
    entries: Vec<EntryId>,
    /// The doctor's key for `medical` and the first entry's capsule: the floor's inputs.
    rekey: ReKey,
    capsule: Capsule,
}

/// What one measured run needs, prepared (and signed) beforehand.
// Few are alive at a time (one criterion batch); boxing would only add an indirection.
#[allow(clippy::large_enum_variant)]
pub enum Prepared<'w> {
    /// A signed operation for `Srs::execute`.
    Op(SignedOperation),
    /// The same, encoded (the SRS decodes it first).
    Bytes(Vec<u8>),
    /// A signed operation and a new handle to run it on.
    Cold(SignedOperation, Handle<'w>),
    /// The floor's inputs are the world's key and capsule.
    Floor,
}

impl World {
    /// A world whose store holds `keys` key rows (at least the real record's).
    pub fn new(keys: usize, rng: &mut ChaCha20Rng) -> Self {
        let key = SigningKey::random(rng);
        let owner = Owner::random(rng);
        let record = owner.record_id("main").expect("record id");
        let medical = owner.section_id(&SectionName::new("medical").expect("name"));
        let cast = Cast {
            store: MemoryStore::new(),
            srs_id: SrsId::new(&key.verifying_key(), NAME),
            key,
            ids: [(); 5].map(|()| PrincipalId::random(rng)),
            admin: PrincipalKeys::random(rng),
            owner,
            hospital: PrincipalKeys::random(rng),
            doctor: PrincipalKeys::random(rng),
            requester: PrincipalKeys::random(rng),
            record,
            medical,
        };
        let mut srs = cast.handle();
        let admin = cast.client(ADMIN);
        srs.bootstrap(&admin.register(Role::Admin, NOW, rng).expect("sign"), NOW)
            .expect("bootstrap");
        for (who, role) in [
            (OWNER, Role::Patient),
            (HOSPITAL, Role::Hospital),
            (DOCTOR, Role::Doctor),
            (REQUESTER, Role::Doctor),
        ] {
            let c = cast.client(who);
            run(&mut srs, &c.register(role, NOW, rng).expect("sign"), rng);
            let activate = Operation::Activate { target: c.id() };
            run(&mut srs, &cast.sign(ADMIN, activate, rng), rng);
        }
        let acl = cast.create_record(&mut srs, record, rng);
        let mut entries = Vec::with_capacity(BATCH);
        let mut first = None;
        for i in 0..BATCH {
            let e = cast
                .hospital
                .seal_entry(&acl, medical, format!("entry {i}").as_bytes(), NOW, rng)
                .expect("seal");
            run(&mut srs, &cast.sign(HOSPITAL, e.submission(), rng), rng);
            entries.push(e.header().entry());
            first.get_or_insert(e);
        }
        let kb = *first.expect("one entry").key_block();
        let section = cast
            .owner
            .section_key(record, medical, kb.epoch())
            .expect("section key");
        let rekey = ReKey::new(&section, &cast.doctor.reader_key().public_key());
        drop(srs);
        let world = World {
            cast,
            entries,
            rekey,
            capsule: *kb.capsule(),
        };
        // The floor computes exactly what the SRS serves.
        let mut srs = world.handle();
        let Response::Reencrypted { items, .. } = run(&mut srs, &world.reencrypt(1, rng), rng)
        else {
            panic!("not a re-encryption");
        };
        let item = items
            .into_iter()
            .next()
            .expect("one")
            .expect("re-encrypted");
        assert!(item.recapsule == world.floor());
        world.fill(keys, rng);
        world
    }

    /// Adds filler key rows (random record, section and reader; epoch 0) until the store
    /// holds `keys` key rows. Their value is a real key row's; no operation reads them.
    fn fill(&self, keys: usize, rng: &mut ChaCha20Rng) {
        let mut value = vec![KEY_ROW, ROW_VERSION];
        value.extend_from_slice(&self.rekey.to_bytes());
        for _ in self.key_rows()..keys {
            let mut k = vec![0u8; 1 + 16 + 16 + 4 + 32];
            rng.fill_bytes(&mut k);
            k[0] = KEY_ROW;
            k[33..37].copy_from_slice(&0u32.to_be_bytes());
            self.cast.store.put_raw(k, value.clone()).expect("put");
        }
    }

    /// The store.
    pub fn store(&self) -> &MemoryStore {
        &self.cast.store
    }

    /// The number of key rows in the store.
    pub fn key_rows(&self) -> usize {
        let (mut n, mut after) = (0, None::<Vec<u8>>);
        loop {
            let page = self
                .cast
                .store
                .scan(&[KEY_ROW], after.as_deref(), 4096)
                .expect("scan");
            n += page.len();
            match page.last() {
                Some(last) if page.len() == 4096 => after = Some(last.key.clone()),
                _ => return n,
            }
        }
    }

    /// A new handle over the store (with its own, empty cache).
    pub fn handle(&self) -> Handle<'_> {
        self.cast.handle()
    }

    /// A new handle over the store with another configuration (same key and name).
    pub fn handle_with(&self, config: SrsConfig) -> Handle<'_> {
        Srs::new(&self.cast.store, self.cast.key.clone(), NAME, config)
    }

    /// The real record and its section.
    pub fn record(&self) -> (RecordId, SectionId) {
        (self.cast.record, self.cast.medical)
    }

    /// `op` signed by the record's owner (`true`) or by the requester (`false`).
    pub fn sign_as(&self, owner: bool, op: Operation, rng: &mut ChaCha20Rng) -> SignedOperation {
        self.cast
            .sign(if owner { OWNER } else { REQUESTER }, op, rng)
    }

    fn reencrypt(&self, n: usize, rng: &mut ChaCha20Rng) -> SignedOperation {
        let op = Operation::Reencrypt {
            record: self.cast.record,
            entries: self.entries[..n].to_vec(),
        };
        self.cast.sign(DOCTOR, op, rng)
    }

    /// Prepares one run of `op`: signs it with a fresh nonce and, where it changes state,
    /// fresh ids; `setup` (another handle) runs whatever must precede it.
    pub fn prepare(&self, op: Op, setup: &mut Handle<'_>, rng: &mut ChaCha20Rng) -> Prepared<'_> {
        let c = &self.cast;
        let signed = match op {
            Op::Floor => return Prepared::Floor,
            Op::Reencrypt => self.reencrypt(1, rng),
            Op::ReencryptBytes => return Prepared::Bytes(self.reencrypt(1, rng).to_bytes()),
            Op::ReencryptCold => return Prepared::Cold(self.reencrypt(1, rng), self.handle()),
            Op::Batch => self.reencrypt(BATCH, rng),
            Op::Register => {
                let keys = PrincipalKeys::random(rng);
                Client::new(&keys, PrincipalId::random(rng), c.srs_id)
                    .register(Role::Doctor, NOW, rng)
                    .expect("sign")
            }
            Op::Request => {
                let ask = Operation::Request {
                    record: c.record,
                    right: Right::Read(Some(History::All)),
                    sections: vec![c.medical],
                };
                c.sign(REQUESTER, ask, rng)
            }
            Op::Grant => {
                let (_, update) = c.grant_on_fresh_record(setup, rng);
                c.sign(OWNER, Operation::ApplyUpdate(update), rng)
            }
            Op::Approve => {
                let (record, update) = c.grant_on_fresh_record(setup, rng);
                let ask = Operation::Request {
                    record,
                    right: Right::Read(Some(History::All)),
                    sections: vec![c.medical],
                };
                let Response::RequestFiled(request) = run(setup, &c.sign(REQUESTER, ask, rng), rng)
                else {
                    panic!("not filed");
                };
                c.sign(OWNER, Operation::Approve { request, update }, rng)
            }
        };
        Prepared::Op(signed)
    }

    /// `ReKey::reencrypt` of the first entry's capsule with the doctor's key.
    pub fn floor(&self) -> ReCapsule {
        self.rekey.reencrypt(&self.capsule)
    }

    /// Runs one prepared `op` through its `measured_*` function; returns the rows it touched.
    pub fn measure(
        &self,
        op: Op,
        srs: &mut Handle<'_>,
        prepared: &mut Prepared<'_>,
        rng: &mut ChaCha20Rng,
    ) -> usize {
        match prepared {
            Prepared::Cold(signed, fresh) => {
                black_box(measured_reencrypt_cold(fresh, signed, rng));
                return fresh.rows_touched();
            }
            Prepared::Floor => {
                black_box(measured_floor(&self.rekey, &self.capsule));
                return 0;
            }
            Prepared::Bytes(bytes) => {
                black_box(measured_reencrypt_bytes(srs, bytes, rng));
            }
            Prepared::Op(signed) => {
                let f = match op {
                    Op::Register => measured_register,
                    Op::Request => measured_request,
                    Op::Approve => measured_approve,
                    Op::Grant => measured_grant,
                    Op::Reencrypt => measured_reencrypt,
                    Op::Batch => measured_batch,
                    Op::ReencryptBytes | Op::ReencryptCold | Op::Floor => {
                        unreachable!("prepared as another variant")
                    }
                };
                black_box(f(srs, signed, rng));
            }
        }
        srs.rows_touched()
    }
}

/// Runs an operation that must succeed (setup).
pub fn run(srs: &mut Handle<'_>, op: &SignedOperation, rng: &mut ChaCha20Rng) -> Response {
    srs.execute(op, NOW, rng).expect("operation")
}

macro_rules! measured {
    ($($name:ident),*) => {$(
        /// One measured `Srs::execute` (callgrind collects inside these functions only).
        #[inline(never)]
        pub fn $name(srs: &mut Handle<'_>, op: &SignedOperation, rng: &mut ChaCha20Rng) -> Response {
            // A distinct body per function, so the linker cannot fold them into one symbol.
            black_box(stringify!($name));
            srs.execute(black_box(op), NOW, rng).expect("operation")
        }
    )*};
}

/// One measured `Srs::execute` of an operation that arrives encoded.
#[inline(never)]
pub fn measured_reencrypt_bytes(
    srs: &mut Handle<'_>,
    bytes: &[u8],
    rng: &mut ChaCha20Rng,
) -> Response {
    let op = SignedOperation::from_bytes(black_box(bytes)).expect("decode");
    srs.execute(&op, NOW, rng).expect("operation")
}

measured!(
    measured_register,
    measured_request,
    measured_approve,
    measured_grant,
    measured_reencrypt,
    measured_reencrypt_cold,
    measured_batch
);

/// The floor, measured alone.
#[inline(never)]
pub fn measured_floor(rekey: &ReKey, capsule: &Capsule) -> ReCapsule {
    black_box(rekey).reencrypt(black_box(capsule))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let keys: usize = args.get(1).map_or(10_000, |a| a.parse().expect("key rows"));
    let which = args.get(2).map_or("all", String::as_str);
    let runs: usize = args.get(3).map_or(1, |a| a.parse().expect("runs"));
    let ops: Vec<Op> = Op::ALL
        .into_iter()
        .filter(|op| which == "all" || which == op.arg())
        .collect();
    assert!(
        !ops.is_empty() || which == "wall",
        "unknown operation {which}"
    );

    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let t = Instant::now();
    let world = World::new(keys, &mut rng);
    println!(
        "store: {} rows, {} key rows (setup {:.1?})",
        world.store().len(),
        world.key_rows(),
        t.elapsed()
    );
    let mut setup = world.handle();
    let mut srs = world.handle();
    let mut exec_rng = ChaCha20Rng::seed_from_u64(12);
    if which == "wall" {
        wall(&world, &mut setup, &mut srs, runs, &mut rng, &mut exec_rng);
    }
    for op in ops {
        let mut warm = world.prepare(op, &mut setup, &mut rng);
        let mut prepared: Vec<Prepared> = (0..runs)
            .map(|_| world.prepare(op, &mut setup, &mut rng))
            .collect();
        // Warm-up, unmeasured: the handle's cache of prepared keys and verified roots.
        match &mut warm {
            Prepared::Op(signed) => drop(run(&mut srs, signed, &mut exec_rng)),
            Prepared::Bytes(bytes) => {
                let signed = SignedOperation::from_bytes(bytes).expect("decode");
                drop(run(&mut srs, &signed, &mut exec_rng));
            }
            Prepared::Cold(signed, fresh) => drop(run(fresh, signed, &mut exec_rng)),
            Prepared::Floor => drop(world.floor()),
        }
        let t = Instant::now();
        let mut touched = 0;
        for p in &mut prepared {
            touched = world.measure(op, &mut srs, p, &mut exec_rng);
        }
        let per = t.elapsed() / u32::try_from(runs.max(1)).expect("runs");
        println!(
            "{:<16} key rows {keys:>8}  runs {runs:>3}  rows touched {touched:>3}  wall {per:.2?}/op",
            op.arg()
        );
    }
    // The largest replay row: a committed operation's answer, kept for exact retries.
    let replay = world
        .store()
        .scan(&[REPLAY_ROW], None, usize::MAX)
        .expect("scan")
        .iter()
        .map(|r| r.value.len())
        .max()
        .unwrap_or(0);
    println!("largest replay row: {replay} bytes");
}

/// Wall-clock ratios to the floor that survive a busy machine: each run times the floor
/// (`BATCH` times for the batch) and then the operation, back to back, so both see the same
/// load; the medians of the per-entry times are compared.
fn wall(
    world: &World,
    setup: &mut Handle<'_>,
    srs: &mut Handle<'_>,
    runs: usize,
    rng: &mut ChaCha20Rng,
    exec_rng: &mut ChaCha20Rng,
) {
    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }
    let runs = runs.max(1);
    for op in [
        Op::Reencrypt,
        Op::ReencryptBytes,
        Op::ReencryptCold,
        Op::Batch,
    ] {
        let per = if op == Op::Batch { BATCH } else { 1 };
        let n = u32::try_from(per).expect("batch");
        let mut warm = world.prepare(op, setup, rng);
        world.measure(op, srs, &mut warm, exec_rng);
        let (mut floor, mut served) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut p = world.prepare(op, setup, rng);
            let t = Instant::now();
            for _ in 0..per {
                black_box(world.floor());
            }
            floor.push(t.elapsed() / n);
            let t = Instant::now();
            world.measure(op, srs, &mut p, exec_rng);
            served.push(t.elapsed() / n);
        }
        let (f, s) = (median(floor), median(served));
        println!(
            "{:<16} interleaved with the floor, {runs} runs: {s:.2?} per entry, floor {f:.2?}, ratio {:.3}",
            op.arg(),
            s.as_secs_f64() / f.as_secs_f64()
        );
    }
}
