//! Model-based test of the PHR system: random sequences of register, activate/deactivate,
//! login, request, approve (as asked or narrower), reject, withdraw, transitions on an
//! instance whose clock is behind, delete, write (also with a stale ACL), read, revoke,
//! rotate, re-wrap, removing and re-adding sections, replays, nonce reuse, replay expiry and
//! races, every one a signed operation through [`Client`], run against the real SRS (two
//! handles over one store) and cryptography and against a plain reference model of who may
//! read and write what. This stands where the SeSPHR paper used HLPN/Z3 verification.
//!
//! Properties checked after every step:
//! 1. **Agreement**: every operation succeeds exactly when the model says it may, and a
//!    refusal names the condition the model says failed. An approval's outcome (`Approved`
//!    or `ApprovedNarrower`) and granted sections are the model's (SPEC §7).
//! 2. **Atomicity**: a failed operation leaves every row of the store byte-for-byte
//!    unchanged; a committed one, retried exactly (on the other handle), returns the same
//!    response and changes nothing; a nonce reused with another body is refused.
//! 3. **Key hygiene**: the store holds exactly one key row per (reader, section, epoch) the
//!    newest ACL grants, and no other, and one replay row per unexpired committed operation
//!    (a login, a read, leaves none); the ACL's epochs, first epochs, readers (with their
//!    first epochs) and writers are the model's.
//! 4. **Read soundness and completeness**: a read the model allows is re-encrypted and
//!    decrypts (with the SRS's receipt) to the written plaintext; a read it forbids is
//!    refused; an entry the write gate refused (a revoked writer's, or one sealed to an old
//!    key) is re-encrypted for nobody.
//! 5. **Forward/backward access control**: falls out of 4 with the model's epochs: a revoked
//!    reader is refused every entry, a reader approved without history is refused every
//!    entry written before its approval, and a reader granted `History::All` on a removed and
//!    re-added section is refused every entry of its predecessor (checked explicitly).
//! 6. **Serialisability**: two conflicting operations run at once on the two handles (the
//!    second commits between the first's reads and its commit): exactly one commits, the
//!    other fails with a conflict and changes nothing (a re-encryption hands out nothing),
//!    and after it is retried the state is the model's for the winner-then-loser order.
//! 7. **Persistence**: at the end of each sequence the store passes the audit, and a fresh
//!    handle over a copy of its rows answers every read as the shared handles do.
//!
//! The steps and the reference model are in `tests/common/model_ops.rs`, what the model
//! expects of each answer and the state checks in `model_checks.rs`, the races in
//! `model_race.rs`.
//!
//! `cargo test` runs 1 000 sequences of 24 steps. A longer run:
//! `PROPTEST_CASES=10000 cargo test --release --test model`.

mod common;
#[path = "common/model_checks.rs"]
mod model_checks;
#[path = "common/model_ops.rs"]
mod model_ops;
#[path = "common/model_race.rs"]
mod model_race;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use model_ops::{op, Asked, Grants, Model, Op, Outcome, Req};
use model_race::RaceStore;
use proptest::prelude::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sesphr::phr::{
    AclProblem, AclUpdate, Change, Epoch, Fingerprint, History, Owner, PrincipalId, PrincipalKeys,
    RecordId, RequestAction as Action, RequestState, Right, Role, SealedEntry, SectionId,
    SectionName, SignedAcl, Timestamp, VerifiedAcl,
};
use sesphr::sign::{SigningKey, VerifyingKey};
use sesphr::srs::{
    Client, MemoryStore, Operation, Receipt, Refusal, Response, Row, SignedOperation, Srs,
    SrsConfig, SrsId,
};
use sesphr::Error;

const NOW: Timestamp = Timestamp::new(1_000);
const UNTIL: Timestamp = Timestamp::new(1_000_000);
const NAME: &str = "model";
/// The default window (seconds) and how long replay rows live past an operation's time.
const WINDOW: u64 = 300;
const REPLAY_LIFE: u64 = WINDOW + 60;
/// Row kinds (src/srs/rows.rs).
const HEAD_ROW: u8 = 0x03;
const KEY_ROW: u8 = 0x05;
const REPLAY_ROW: u8 = 0x0c;
const REPLAY_EXPIRY_ROW: u8 = 0x0d;
/// Principals the test registers: hospitals 0..2, readers 2..5.
const CAST: usize = 5;
const HOSPITALS: usize = 2;
const SECTIONS: usize = 2;
/// The ACL's default history for new members (what `Right::Read(None)` asks for); the test
/// never changes it.
const DEFAULT_HISTORY: History = History::None;

struct Cast {
    srs_key: SigningKey,
    admin: PrincipalKeys,
    /// The model record's owner, and a second patient.
    owners: [Owner; 2],
    people: Vec<PrincipalKeys>,
    /// Keys nobody manages to register: an impostor's.
    spare: PrincipalKeys,
    sections: [SectionId; SECTIONS],
}

fn cast() -> &'static Cast {
    static CAST_KEYS: OnceLock<Cast> = OnceLock::new();
    CAST_KEYS.get_or_init(|| {
        let mut rng = common::rng(77);
        let owner = Owner::random(&mut rng);
        let sections = [
            owner.section_id(&SectionName::new("lab-results").unwrap()),
            owner.section_id(&SectionName::new("imaging").unwrap()),
        ];
        Cast {
            srs_key: SigningKey::random(&mut rng),
            admin: PrincipalKeys::random(&mut rng),
            owners: [owner, Owner::random(&mut rng)],
            people: (0..CAST).map(|_| PrincipalKeys::random(&mut rng)).collect(),
            spare: PrincipalKeys::random(&mut rng),
            sections,
        }
    })
}

const ADMIN: PrincipalId = PrincipalId::new([0xaa; 16]);
const OWNERS: [PrincipalId; 2] = [PrincipalId::new([0x0e; 16]), PrincipalId::new([0x0f; 16])];
/// An id nobody manages to register (a rival registration's).
const OTHER: PrincipalId = PrincipalId::new([0xbb; 16]);

fn pid(p: usize) -> PrincipalId {
    PrincipalId::new([p as u8 + 1; 16])
}

fn fingerprint(p: usize) -> Fingerprint {
    cast().people[p].bundle().fingerprint()
}

fn role(p: usize) -> Role {
    [
        Role::Hospital,
        Role::Hospital,
        Role::Doctor,
        Role::Pharmacist,
        Role::Family,
    ][p]
}

fn register(p: usize) -> Operation {
    let bundle = cast().people[p].bundle();
    Operation::Register {
        role: role(p),
        bundle,
    }
}

fn refused_in(
    r: Refusal,
    section: SectionId,
    epoch: Option<Epoch>,
    principal: Option<Fingerprint>,
) -> Error {
    Error::NotAuthorized {
        refusal: r,
        section: Some(section),
        epoch,
        principal,
    }
}

fn refused(r: Refusal) -> Error {
    Error::NotAuthorized {
        refusal: r,
        section: None,
        epoch: None,
        principal: None,
    }
}

fn is_login(s: &Signed) -> bool {
    matches!(s.op.operation(), Ok(Operation::Login))
}

fn mask_sections(mask: u8) -> Vec<usize> {
    (0..SECTIONS).filter(|s| mask & (1 << s) != 0).collect()
}

struct Entry {
    entry: SealedEntry,
    plaintext: Vec<u8>,
    section: usize,
    epoch: u32,
    /// The write gate's receipt; `None`: refused.
    receipt: Option<Receipt>,
}

/// A signed operation, with the client that signed it.
#[derive(Clone)]
struct Signed {
    client: Client<'static>,
    op: SignedOperation,
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = self.op.operation();
        write!(
            f,
            "{:?} at {:?}: {op:?}",
            self.op.principal(),
            self.op.time()
        )
    }
}

type Handle = Rc<RefCell<Srs<RaceStore>>>;

struct World {
    store: Arc<MemoryStore>,
    /// Two handles (the same key and name) over the store.
    srs: [Handle; 2],
    id: SrsId,
    vk: VerifyingKey,
    model: Model,
    acl: SignedAcl,
    /// Every ACL version, for checking entries against the version they name.
    versions: Vec<VerifiedAcl>,
    entries: Vec<Entry>,
    /// Records the `CreateRecord` race made, with their ACLs.
    extra: Vec<(RecordId, SignedAcl)>,
    /// Every committed operation, with its response.
    log: Vec<(Signed, Response)>,
    /// The replay rows the store must hold: (principal, nonce) → expiry.
    nonces: BTreeMap<(PrincipalId, [u8; 16]), u64>,
    rng: ChaCha20Rng,
    /// The clock: one tick per step.
    now: Timestamp,
}

impl World {
    /// A world where the principals in `setup` (bit p) start registered and active, with
    /// every started hospital a writer of both sections and every started reader a reader of
    /// section 0 without history, so that deep states are reached in few steps.
    fn new(seed: u8, setup: u8) -> Self {
        let c = cast();
        let store = Arc::new(MemoryStore::new());
        let handle = || {
            let store = RaceStore::new(Arc::clone(&store));
            let srs = Srs::new(store, c.srs_key.clone(), NAME, SrsConfig::default());
            Rc::new(RefCell::new(srs))
        };
        let srs = [handle(), handle()];
        let id = srs[0].borrow().id();
        assert_eq!(srs[1].borrow().id(), id);
        assert_eq!(SrsConfig::default().window, WINDOW);
        let mut rng = common::rng(seed);
        let owner = &c.owners[0];
        let record = owner.record_id("model").unwrap();
        let changes = c.sections.map(|section| Change::AddSection { section });
        let update = owner
            .create_record(record, UNTIL, &changes, &mut rng)
            .unwrap();
        let acl = update.acl().clone();
        let versions = vec![acl.verify(&owner.verifying_key()).unwrap()];
        let mut model = Model::default();
        for sec in &mut model.sections {
            sec.live = true;
        }
        let mut world = Self {
            store,
            srs,
            id,
            vk: c.srs_key.verifying_key(),
            model,
            acl,
            versions,
            entries: Vec::new(),
            extra: Vec::new(),
            log: Vec::new(),
            nonces: BTreeMap::new(),
            rng,
            now: NOW,
        };
        let bundle = c.admin.bundle();
        let admin = Operation::Register {
            role: Role::Admin,
            bundle,
        };
        let boot = world.sign(world.admin(), admin, NOW);
        world.srs[0].borrow_mut().bootstrap(&boot.op, NOW).unwrap();
        let again = world.srs[1].borrow_mut().bootstrap(&boot.op, NOW);
        assert_eq!(again, Err(Error::AlreadyExists { what: "SRS setup" }));
        for (o, target) in OWNERS.into_iter().enumerate() {
            let bundle = c.owners[o].keys().bundle();
            let patient = Operation::Register {
                role: Role::Patient,
                bundle,
            };
            let reg = world.sign(world.owner(o), patient, NOW);
            assert_eq!(world.run(o, &reg, NOW), Ok(Response::Done));
            let activate = world.sign(world.admin(), Operation::Activate { target }, NOW);
            assert_eq!(world.run(1 - o, &activate, NOW), Ok(Response::Done));
        }
        let create = world.sign(world.owner(0), Operation::ApplyUpdate(update), NOW);
        assert_eq!(world.run(0, &create, NOW), Ok(Response::Done));
        for p in (0..CAST).filter(|p| setup & (1 << p) != 0) {
            let via = p % 2;
            world.step(&Op::Register(p), via);
            world.step(&Op::Activate(p), via);
            if p < HOSPITALS {
                world.step(&Op::RequestWrite { p, mask: 3 }, via);
            } else {
                let history = Some(History::None);
                world.step(
                    &Op::RequestRead {
                        p,
                        mask: 1,
                        history,
                    },
                    via,
                );
            }
            let approve = Op::Approve {
                k: 0,
                one: false,
                history: None,
            };
            world.step(&approve, 1 - via);
        }
        world
    }

    fn admin(&self) -> Client<'static> {
        Client::new(&cast().admin, ADMIN, self.id)
    }

    fn owner(&self, o: usize) -> Client<'static> {
        Client::new(cast().owners[o].keys(), OWNERS[o], self.id)
    }

    fn person(&self, p: usize) -> Client<'static> {
        Client::new(&cast().people[p], pid(p), self.id)
    }

    fn record(&self) -> RecordId {
        self.acl.acl_unverified().record()
    }

    fn current(&self) -> &VerifiedAcl {
        self.versions.last().expect("at least one version")
    }

    fn rows(&self) -> Vec<Row> {
        self.store.rows().unwrap()
    }

    fn fork_rng(&mut self) -> ChaCha20Rng {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        ChaCha20Rng::from_seed(seed)
    }

    fn sign(&mut self, client: Client<'static>, op: Operation, time: Timestamp) -> Signed {
        let op = client.sign(op, time, &mut self.rng).unwrap();
        Signed { client, op }
    }

    /// Signs `op` with a nonce the client chose.
    fn sign_with_nonce(
        &mut self,
        client: Client<'static>,
        op: Operation,
        nonce: [u8; 16],
    ) -> Signed {
        let (keys, id, now) = (client.keys(), client.id(), self.now);
        let op = SignedOperation::sign_with_nonce(keys, self.id, id, op, now, nonce, &mut self.rng);
        let op = op.unwrap();
        Signed { client, op }
    }

    /// Runs `s` through handle `h` on an SRS whose clock says `clock`; a failed operation
    /// must leave every row as it was.
    fn run(&mut self, h: usize, s: &Signed, clock: Timestamp) -> Outcome {
        let before = self.rows();
        let out = self.srs[h]
            .borrow_mut()
            .execute(&s.op, clock, &mut self.rng);
        match &out {
            Ok(response) => self.committed(h, s, response, clock),
            Err(e) => assert!(
                self.rows() == before,
                "failed {s:?} changed the store: {e:?}"
            ),
        }
        out
    }

    /// Books a committed operation, and checks that its exact retry through the other
    /// handle answers the same and changes nothing. A login is a read: it leaves no replay
    /// row.
    fn committed(&mut self, h: usize, s: &Signed, response: &Response, clock: Timestamp) {
        if !is_login(s) {
            let nonce = (s.op.principal(), *s.op.nonce());
            let expiry = s.op.time().get() + REPLAY_LIFE;
            let fresh = self.nonces.insert(nonce, expiry).is_none();
            assert!(fresh, "nonce used twice");
        }
        self.log.push((s.clone(), response.clone()));
        let rows = self.rows();
        let again = self.srs[1 - h]
            .borrow_mut()
            .execute(&s.op, clock, &mut self.rng);
        assert_eq!(again.as_ref(), Ok(response), "exact retry of {s:?}");
        assert!(self.rows() == rows, "an exact retry changed the store");
    }

    fn owner_update(&mut self, changes: &[Change]) -> Result<AclUpdate, Error> {
        let current = self.versions.last().expect("at least one version");
        cast().owners[0].update(current, UNTIL, changes, &mut self.rng)
    }

    /// The owner's new ACL, which the SRS (through either handle) must now serve.
    fn commit_acl(&mut self, update: &AclUpdate) {
        self.acl = update.acl().clone();
        let owner = cast().owners[0].verifying_key();
        self.versions.push(self.acl.verify(&owner).unwrap());
        let srs = self.srs[self.versions.len() % 2].borrow();
        assert_eq!(srs.acl(self.record()).unwrap().as_ref(), Some(&self.acl));
    }

    /// The owner makes `changes` and the SRS applies them, if the model says they are
    /// `valid`; otherwise the owner refuses to make them.
    fn change(&mut self, via: usize, valid: bool, changes: &[Change]) -> Option<AclUpdate> {
        let r = self.owner_update(changes);
        if !valid {
            assert!(matches!(r, Err(Error::InvalidChange { .. })), "{r:?}");
            return None;
        }
        let (update, now) = (r.unwrap(), self.now);
        let op = self.sign(self.owner(0), Operation::ApplyUpdate(update.clone()), now);
        assert_eq!(self.run(via, &op, now), Ok(Response::Done));
        self.commit_acl(&update);
        Some(update)
    }

    fn request_op(&self, right: Right, secs: &[usize]) -> Operation {
        let sections = secs.iter().map(|s| cast().sections[*s]).collect();
        let record = self.record();
        Operation::Request {
            record,
            right,
            sections,
        }
    }

    /// The owner approves `req` on an SRS whose clock says `clock`.
    fn approve(&mut self, via: usize, req: &Req, one: bool, history: Asked, clock: Timestamp) {
        let (update, grants) = self.approval(req, one, history);
        let request = req.id;
        let op = Operation::Approve {
            request,
            update: update.clone(),
        };
        let op = self.sign(self.owner(0), op, clock);
        let r = self.run(via, &op, clock);
        self.approved(req, &update, &grants, r, clock);
    }

    /// Writer `h` seals a new entry of section `s` to the current ACL, or (`stale`) to the
    /// newest earlier version that lists it as a writer, and submits it to the write gate.
    fn write(&mut self, via: usize, h: usize, s: usize, stale: bool) {
        let c = cast();
        let (section, fp, now) = (c.sections[s], fingerprint(h), self.now);
        let listed = |v: &&VerifiedAcl| v.writer(&section, &fp).is_some();
        let mut earlier = self.versions.iter().rev().skip(1);
        let stale = earlier.find(listed).filter(|_| stale);
        let acl = stale.unwrap_or(self.current()).clone();
        let n = self.entries.len();
        let plaintext = format!("entry {n} by hospital {h} in section {s}").into_bytes();
        let r = c.people[h].seal_entry(&acl, section, &plaintext, now, &mut self.rng);
        let Some(policy) = acl.section(&section) else {
            return assert_eq!(
                r.unwrap_err(),
                refused_in(Refusal::UnknownSection, section, None, None)
            );
        };
        if acl.writer(&section, &fp).is_none() {
            return assert_eq!(
                r.unwrap_err(),
                refused_in(
                    Refusal::NoWriteRight,
                    section,
                    Some(policy.epoch()),
                    Some(fp)
                )
            );
        }
        let (entry, epoch) = (r.unwrap(), policy.epoch().get());
        let op = self.sign(self.person(h), entry.submission(), now);
        let r = self.run(via, &op, now);
        self.submitted(h, s, epoch, entry, plaintext, r);
    }

    fn read_op(&mut self, p: usize, idx: &[usize]) -> Signed {
        let entries = idx.iter().map(|&e| self.entries[e].entry.header().entry());
        let record = self.record();
        let op = Operation::Reencrypt {
            record,
            entries: entries.collect(),
        };
        self.sign(self.person(p), op, self.now)
    }

    /// Reader `p` asks for re-encryptions of the entries `idx` in one batch; how many it
    /// got.
    fn read(&mut self, via: usize, p: usize, idx: &[usize]) -> usize {
        let op = self.read_op(p, idx);
        let r = self.run(via, &op, self.now);
        self.check_items(p, idx, &r);
        match r {
            Ok(Response::Reencrypted { items, .. }) => items.iter().filter(|i| i.is_ok()).count(),
            _ => 0,
        }
    }

    /// The owner's update approving `req` (granting nothing still needs a change), and the
    /// sections granted with the history given (unused for write). A `FromEpoch` after the
    /// current epoch would be refused, so the owner clamps it.
    fn approval(&mut self, req: &Req, one: bool, history: Asked) -> (AclUpdate, Grants) {
        let c = cast();
        let bundle = c.people[req.p].bundle();
        let asked = match req.right {
            Right::Read(asked) => asked,
            Right::Write => None,
        };
        let (mut grants, mut changes) = (Vec::new(), Vec::new());
        for &s in &req.secs {
            let (section, sec) = (c.sections[s], &self.model.sections[s]);
            if !sec.live || (one && !grants.is_empty()) {
                continue;
            }
            let history = match history.or(asked).unwrap_or(DEFAULT_HISTORY) {
                History::FromEpoch(e) => History::FromEpoch(Epoch::new(e.get().min(sec.epoch))),
                h => h,
            };
            let change = match req.right {
                Right::Read(_) if !sec.readers.contains_key(&req.p) => Change::GrantRead {
                    section,
                    reader: bundle,
                    history,
                },
                Right::Write if !sec.writers.contains(&req.p) => Change::GrantWrite {
                    section,
                    writer: bundle,
                },
                _ => continue,
            };
            grants.push((s, history));
            changes.push(change);
        }
        if changes.is_empty() {
            changes.push(Change::SetDefaultHistory(DEFAULT_HISTORY));
        }
        (self.owner_update(&changes).unwrap(), grants)
    }

    fn step(&mut self, op: &Op, via: usize) {
        self.now = Timestamp::new(self.now.get() + 1);
        self.act(op, via);
        self.check_state();
    }

    fn act(&mut self, op: &Op, via: usize) {
        let c = cast();
        let now = self.now;
        match *op {
            Op::Register(p) => {
                let reg = self.sign(self.person(p), register(p), now);
                let r = self.run(via, &reg, now);
                self.registered(p, r);
            }
            Op::Activate(p) | Op::Deactivate(p) => {
                let (on, target) = (matches!(op, Op::Activate(_)), pid(p));
                let body = if on {
                    Operation::Activate { target }
                } else {
                    Operation::Deactivate { target }
                };
                let signed = self.sign(self.admin(), body.clone(), now);
                let r = self.run(via, &signed, now);
                match self.model.registry[p] {
                    None => assert_eq!(r, Err(Error::NotFound { what: "principal" })),
                    Some(_) => {
                        assert_eq!(r, Ok(Response::Done));
                        self.model.registry[p] = Some(on);
                    }
                }
                // A non-admin can never do it.
                let signed = self.sign(self.owner(0), body, now);
                let r = self.run(1 - via, &signed, now);
                assert_eq!(r, Err(refused(Refusal::NotAdmin)));
            }
            Op::Login(p) => {
                let login = self.sign(self.person(p), Operation::Login, now);
                let r = self.run(via, &login, now);
                assert_eq!(r, self.status(pid(p)));
                // Signed with another principal's keys, for another SRS, or too long ago.
                let wrong = Client::new(&c.people[(p + 1) % CAST], pid(p), self.id);
                let elsewhere = SrsId::new(&self.vk, "elsewhere");
                let elsewhere = Client::new(&c.people[p], pid(p), elsewhere);
                let wrong_key = match self.model.registry[p] {
                    Some(_) => Refusal::WrongSigner,
                    None => Refusal::UnknownPrincipal,
                };
                let early = Timestamp::new(now.get() - WINDOW - 1);
                for (client, time, refusal) in [
                    (wrong, now, wrong_key),
                    (elsewhere, now, Refusal::WrongSrs),
                    (self.person(p), early, Refusal::OutsideWindow),
                ] {
                    let op = self.sign(client, Operation::Login, time);
                    assert_eq!(self.run(via, &op, now), Err(refused(refusal)));
                }
            }
            Op::RequestRead { p, mask, .. } | Op::RequestWrite { p, mask } => {
                let right = match *op {
                    Op::RequestRead { history, .. } => Right::Read(history),
                    _ => Right::Write,
                };
                let secs = mask_sections(mask);
                let op = self.sign(self.person(p), self.request_op(right, &secs), now);
                let r = self.run(via, &op, now);
                self.filed(p, right, secs, r);
            }
            Op::Approve { k, one, history } => {
                if let Some(req) = self.pick_request(k) {
                    self.approve(via, &req, one, history, now);
                }
            }
            Op::Reject(k) => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let op = self.sign(self.owner(0), Operation::Reject { request: req.id }, now);
                let r = self.run(via, &op, now);
                self.closed(&req, RequestState::Rejected, Ok(()), r, now);
            }
            Op::Withdraw { k, by_requester } => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let (client, actor) = match by_requester {
                    true => (self.person(req.p), self.model.active(req.p)),
                    false => (self.owner(0), Err(Refusal::NotRequester)),
                };
                let op = self.sign(client, Operation::Withdraw { request: req.id }, now);
                let r = self.run(via, &op, now);
                self.closed(&req, RequestState::Withdrawn, actor, r, now);
            }
            Op::Backdated { k, action, back } => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                // An instance (and a client) whose clock is behind the request's last time:
                // the SRS stamps that time instead (SPEC §7).
                let (then, request) = (Timestamp::new(req.at.get() - back), req.id);
                if action == Action::Approve {
                    return self.approve(via, &req, false, None, then);
                }
                let (client, body, to, actor) = if action == Action::Reject {
                    let body = Operation::Reject { request };
                    (self.owner(0), body, RequestState::Rejected, Ok(()))
                } else {
                    let (client, actor) = (self.person(req.p), self.model.active(req.p));
                    let body = Operation::Withdraw { request };
                    (client, body, RequestState::Withdrawn, actor)
                };
                let op = self.sign(client, body, then);
                let r = self.run(via, &op, then);
                self.closed(&req, to, actor, r, then);
            }
            Op::Delete { k, by_owner } => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let (client, actor) = match by_owner {
                    true => (self.owner(0), Ok(())),
                    false => (self.person(req.p), self.model.active(req.p)),
                };
                let op = self.sign(client, Operation::DeleteRequest { request: req.id }, now);
                let r = self.run(via, &op, now);
                match actor {
                    Err(reason) => assert_eq!(r, Err(refused(reason))),
                    Ok(()) if req.state == RequestState::Pending => {
                        assert!(matches!(r, Err(Error::IllegalTransition { .. })), "{r:?}");
                    }
                    Ok(()) => {
                        assert_eq!(r, Ok(Response::Done));
                        self.model.requests.retain(|q| q.id != req.id);
                        assert!(self.srs[via].borrow().request(req.id).unwrap().is_none());
                    }
                }
            }
            Op::Write { h, s, stale } => self.write(via, h, s, stale),
            Op::Read { p, e, n } => {
                let len = self.entries.len();
                if len > 0 {
                    let idx: Vec<usize> = (0..n.min(len)).map(|i| (e + i) % len).collect();
                    self.read(via, p, &idx);
                }
            }
            Op::Revoke { p, s } => {
                let valid = self.model.revoke_read(p, s);
                let (section, reader) = (c.sections[s], fingerprint(p));
                self.change(via, valid, &[Change::RevokeRead { section, reader }]);
            }
            Op::RevokeWrite { h, s } => {
                let valid = self.model.sections[s].writers.remove(&h);
                let (section, writer) = (c.sections[s], fingerprint(h));
                let revoke = [Change::RevokeWrite { section, writer }];
                if self.change(via, valid, &revoke).is_some() {
                    // The revoked writer submits a new entry sealed to its last ACL: the gate
                    // refuses it, and nobody ever gets it re-encrypted.
                    self.write(1 - via, h, s, true);
                    let e = self.entries.len() - 1;
                    assert!(
                        self.entries[e].receipt.is_none(),
                        "revoked writer's entry accepted"
                    );
                    assert_eq!(self.read(via, HOSPITALS + h, &[e]), 0);
                }
            }
            Op::Rotate(s) => {
                let (sec, section) = (&mut self.model.sections[s], c.sections[s]);
                let valid = sec.live;
                sec.epoch += u32::from(valid);
                if let Some(update) = self.change(via, valid, &[Change::Rotate { section }]) {
                    // Submitting the same version again is refused, and changes nothing.
                    let op = self.sign(self.owner(0), Operation::ApplyUpdate(update), now);
                    let again = self.run(1 - via, &op, now);
                    let stale = matches!(
                        again,
                        Err(Error::AclRejected {
                            problem: AclProblem::AlreadySeen,
                            ..
                        })
                    );
                    assert!(stale, "{again:?}");
                }
            }
            Op::Rewrap(e) => {
                if self.entries.is_empty() {
                    return;
                }
                let e = e % self.entries.len();
                let acl = self.current().clone();
                let r = c.owners[0].rewrap(&self.entries[e].entry, &acl, &mut self.rng);
                let s = self.entries[e].section;
                if !self.model.sections[s].live {
                    let entry = &self.entries[e].entry;
                    return assert_eq!(
                        r.unwrap_err(),
                        refused_in(
                            Refusal::UnknownSection,
                            entry.header().section(),
                            Some(entry.key_block().epoch()),
                            None
                        )
                    );
                }
                let (key_block, record) = (r.unwrap(), self.record());
                let entry = self.entries[e].entry.header().entry();
                let op = Operation::Rewrap {
                    record,
                    entry,
                    key_block,
                };
                let op = self.sign(self.owner(0), op, now);
                let r = self.run(via, &op, now);
                let entry = &mut self.entries[e];
                let Some(receipt) = &entry.receipt else {
                    return assert_eq!(r, Err(Error::NotFound { what: "entry" }));
                };
                assert_eq!(r, Ok(Response::Done));
                entry.entry = entry.entry.clone().with_key_block(key_block);
                entry.epoch = self.model.sections[s].epoch;
                let accepted = receipt.verify(&self.vk, entry.entry.header()).unwrap();
                let named = &self.versions[entry.entry.header().acl_version().get() as usize - 1];
                let opened = c.owners[0].open_entry(&entry.entry, &accepted, named);
                assert_eq!(opened.unwrap(), entry.plaintext);
            }
            Op::RemoveSection(s) => {
                let section = c.sections[s];
                // Removing and re-adding in one version is refused.
                let both = [
                    Change::RemoveSection { section },
                    Change::AddSection { section },
                ];
                let r = self.owner_update(&both);
                assert!(matches!(r, Err(Error::InvalidChange { .. })), "{r:?}");
                let sec = &mut self.model.sections[s];
                let valid = std::mem::take(&mut sec.live);
                (sec.readers, sec.writers) = Default::default();
                self.change(via, valid, &[Change::RemoveSection { section }]);
            }
            Op::AddSection { s, grant } => {
                let section = c.sections[s];
                let sec = &mut self.model.sections[s];
                let valid = !sec.live;
                if valid {
                    // Re-created one epoch after its predecessor's last, with nobody on it.
                    (sec.live, sec.epoch, sec.first) = (true, sec.epoch + 1, sec.epoch + 1);
                }
                self.change(via, valid, &[Change::AddSection { section }]);
                if let (true, Some((r, h))) = (valid, grant) {
                    // The first active reader from `r` on, if any: the attack needs one.
                    let mut from_r = (r..CAST).chain(HOSPITALS..r);
                    let r = from_r.find(|&r| self.model.active(r).is_ok()).unwrap_or(r);
                    self.check_state();
                    let history = History::All;
                    self.model.grant_read(r, s, history, history);
                    self.model.sections[s].writers.insert(h);
                    let (reader, writer) = (c.people[r].bundle(), c.people[h].bundle());
                    let grant_read = Change::GrantRead {
                        section,
                        reader,
                        history,
                    };
                    let grant_write = Change::GrantWrite { section, writer };
                    self.change(1 - via, true, &[grant_read, grant_write]);
                    self.check_predecessor_sealed(r, s);
                }
            }
            Op::Replay(i) => {
                // An exact retry, however late: the stored response (a login's: the current
                // status), or too late.
                let Some((s, response)) = self.log.iter().rev().nth(i).cloned() else {
                    return;
                };
                let rows = self.rows();
                let r = self.srs[via]
                    .borrow_mut()
                    .execute(&s.op, now, &mut self.rng);
                if now.get() - s.op.time().get() > WINDOW {
                    assert_eq!(r, Err(refused(Refusal::OutsideWindow)));
                } else if is_login(&s) {
                    assert_eq!(r, self.status(s.client.id()));
                } else {
                    assert_eq!(r, Ok(response));
                }
                assert!(self.rows() == rows, "a replay changed the store");
            }
            Op::ReuseNonce(i) => {
                // Another body under a committed operation's nonce: refused while its
                // replay row lives.
                let Some((s, _)) = self.log.iter().rev().nth(i).cloned() else {
                    return;
                };
                let reuse = self.sign_with_nonce(s.client, Operation::Login, *s.op.nonce());
                let seen = self.nonces.contains_key(&(s.op.principal(), *s.op.nonce()));
                let r = self.run(via, &reuse, now);
                if seen {
                    assert_eq!(r, Err(refused(Refusal::Replayed)));
                } else {
                    assert_eq!(r, self.status(s.client.id()));
                }
            }
            Op::Expire => {
                self.now = Timestamp::new(self.now.get() + REPLAY_LIFE + 40);
                let now = self.now;
                let n = self.srs[via]
                    .borrow_mut()
                    .expire_replays(now, 10_000)
                    .unwrap();
                let before = self.nonces.len();
                self.nonces.retain(|_, expiry| *expiry >= now.get());
                assert_eq!(n, before - self.nonces.len());
            }
            Op::Race(ref race) => self.race_step(race, via),
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn srs_and_cryptography_agree_with_the_model(
        seed in any::<u8>(),
        setup in any::<u8>(),
        ops in proptest::collection::vec((op(), 0usize..2), 24..=24),
    ) {
        let mut world = World::new(seed, setup);
        for (op, via) in &ops {
            world.step(op, *via);
        }
        world.finish();
    }
}
