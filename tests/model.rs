//! Model-based test of the PHR system: random sequences of register, activate/deactivate,
//! login, request, approve (as asked or narrower), reject, withdraw, backdated transitions,
//! delete, write, read, revoke, rotate, re-wrap, and removing and re-adding sections, run
//! against the real SRS and cryptography and against a plain reference model of who may read
//! and write what. This stands where the SeSPHR paper used HLPN/Z3 verification.
//!
//! Properties checked after every step:
//! 1. **Agreement**: every operation succeeds exactly when the model says it may, and a
//!    refusal names the condition the model says failed. An approval's outcome (`Approved`
//!    or `ApprovedNarrower`) and granted sections are the model's (SPEC §7).
//! 2. **Atomicity**: a failed SRS operation leaves the SRS state byte-for-byte unchanged
//!    (among them transitions stamped before a request's last time).
//! 3. **Key hygiene**: the SRS stores exactly one re-encryption key per (reader, section,
//!    epoch) the newest ACL grants, and no other; the ACL's epochs, first epochs, readers
//!    (with their first epochs) and writers are the model's.
//! 4. **Read soundness and completeness**: a read the model allows is re-encrypted and
//!    decrypts to the written plaintext; a read it forbids is refused by the SRS (checked for
//!    the step's read, and for every reader × recent entry at the end of each sequence).
//! 5. **Forward/backward access control**: falls out of 4 with the model's epochs: a revoked
//!    reader is refused every entry, a reader approved without history is refused every
//!    entry written before its approval, and a reader granted `History::All` on a removed and
//!    re-added section is refused every entry of its predecessor (checked explicitly).
//! 6. **Persistence**: the SRS state round-trips through bytes at the end of each sequence.
//!
//! `cargo test` runs 1 000 sequences of 24 steps. A longer run:
//! `PROPTEST_CASES=10000 cargo test --release --test model`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use sesphr::phr::{
    AclUpdate, Change, Epoch, Fingerprint, History, Owner, PrincipalId, PrincipalKeys, ReKeyId,
    Refusal, RequestAction as Action, RequestId, RequestState, Right, Role, SealedEntry, SectionId,
    SectionName, SignedAcl, Srs, Timestamp, VerifiedAcl,
};
use sesphr::Error;

const NOW: Timestamp = Timestamp(1_000);
const UNTIL: Timestamp = Timestamp(1_000_000);
/// Principals the test registers: hospitals 0..2, readers 2..5.
const CAST: usize = 5;
const HOSPITALS: usize = 2;
const SECTIONS: usize = 2;
/// The ACL's default history for new members (what `Right::Read(None)` asks for); the test
/// never changes it.
const DEFAULT_HISTORY: History = History::None;

struct Cast {
    admin: PrincipalKeys,
    owner: Owner,
    people: Vec<PrincipalKeys>,
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
            admin: PrincipalKeys::random(&mut rng),
            owner,
            people: (0..CAST).map(|_| PrincipalKeys::random(&mut rng)).collect(),
            sections,
        }
    })
}

const ADMIN: PrincipalId = PrincipalId::new([0xaa; 16]);
const OWNER: PrincipalId = PrincipalId::new([0x0e; 16]);

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

/// One step. Requests are picked by `k`: 0 is the newest pending one (if any), others
/// count back from the newest. `Approve` grants every asked-for section the requester
/// lacks, or only the first of them (`one`), with the history asked for or `history`
/// instead. `Backdated` tries `action` on a request, stamped `back` before its last recorded
/// time. `AddSection` re-adds a removed section and then, in a later version, grants it to
/// `grant`'s (reader, writer), the reader with `History::All`.
#[derive(Clone, Debug)]
enum Op {
    Register(usize),
    Activate(usize),
    Deactivate(usize),
    Login(usize),
    RequestRead { p: usize, mask: u8, history: Asked },
    RequestWrite { p: usize, mask: u8 },
    Approve { k: usize, one: bool, history: Asked },
    Reject(usize),
    Withdraw { k: usize, by_requester: bool },
    Backdated { k: usize, action: Action, back: u64 },
    Delete(usize),
    Write { h: usize, s: usize },
    Read { p: usize, e: usize },
    Revoke { p: usize, s: usize },
    RevokeWrite { h: usize, s: usize },
    Rotate(usize),
    Rewrap(usize),
    RemoveSection(usize),
    AddSection { s: usize, grant: Grant },
}

/// A history asked for (`None`: the ACL's default) or granted instead of the one asked for.
type Asked = Option<History>;
/// A (reader, hospital) to grant read and write.
type Grant = Option<(usize, usize)>;
/// Sections granted, with the history given.
type Grants = Vec<(usize, History)>;

fn history() -> impl Strategy<Value = History> {
    prop_oneof![
        Just(History::None),
        Just(History::All),
        (0u32..3).prop_map(|e| History::FromEpoch(Epoch(e))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..CAST;
    let r = HOSPITALS..CAST;
    let h = 0..HOSPITALS;
    let s = 0..SECTIONS;
    let action = proptest::sample::select(vec![Action::Approve, Action::Reject, Action::Withdraw]);
    // Often the newest pending request.
    let k = || prop_oneof![Just(0usize), 0usize..8];
    prop_oneof![
        3 => p.clone().prop_map(Op::Register),
        3 => p.clone().prop_map(Op::Activate),
        1 => p.clone().prop_map(Op::Deactivate),
        1 => p.clone().prop_map(Op::Login),
        3 => (r.clone(), 1u8..4, proptest::option::weighted(0.8, history()))
            .prop_map(|(p, mask, history)| Op::RequestRead { p, mask, history }),
        2 => (h.clone(), 1u8..4).prop_map(|(p, mask)| Op::RequestWrite { p, mask }),
        4 => (k(), proptest::bool::weighted(0.25), proptest::option::weighted(0.3, history()))
            .prop_map(|(k, one, history)| Op::Approve { k, one, history }),
        1 => k().prop_map(Op::Reject),
        1 => (k(), any::<bool>()).prop_map(|(k, by_requester)| Op::Withdraw { k, by_requester }),
        1 => (k(), action, 1u64..3).prop_map(|(k, action, back)| Op::Backdated { k, action, back }),
        1 => k().prop_map(Op::Delete),
        4 => (h.clone(), s.clone()).prop_map(|(h, s)| Op::Write { h, s }),
        4 => (p, 0usize..16).prop_map(|(p, e)| Op::Read { p, e }),
        1 => (r.clone(), s.clone()).prop_map(|(p, s)| Op::Revoke { p, s }),
        1 => (h.clone(), s.clone()).prop_map(|(h, s)| Op::RevokeWrite { h, s }),
        1 => s.clone().prop_map(Op::Rotate),
        1 => (0usize..16).prop_map(Op::Rewrap),
        2 => s.clone().prop_map(Op::RemoveSection),
        3 => (s, proptest::option::weighted(0.7, (r, h)))
            .prop_map(|(s, grant)| Op::AddSection { s, grant }),
    ]
}

/// One section in the model.
#[derive(Default)]
struct Section {
    /// Whether it is in the ACL (not removed).
    live: bool,
    /// Its current epoch (while removed: the last one it had).
    epoch: u32,
    /// The epoch of its latest creation: no grant reaches before it.
    first: u32,
    /// Reader → first epoch it may read.
    readers: BTreeMap<usize, u32>,
    writers: BTreeSet<usize>,
}

/// An open (not deleted) request.
#[derive(Clone, Debug)]
struct Req {
    id: RequestId,
    p: usize,
    right: Right,
    secs: Vec<usize>,
    state: RequestState,
    /// The time of its last recorded action.
    at: Timestamp,
}

/// The reference model: plain sets and numbers, no cryptography.
#[derive(Default)]
struct Model {
    /// `None`: unregistered; `Some(active)`.
    registry: [Option<bool>; CAST],
    sections: [Section; SECTIONS],
    requests: Vec<Req>,
}

impl Model {
    fn active(&self, p: usize) -> Result<(), Refusal> {
        match self.registry[p] {
            None => Err(Refusal::UnknownPrincipal),
            Some(false) => Err(Refusal::Inactive),
            Some(true) => Ok(()),
        }
    }

    fn may_read(&self, p: usize, s: usize, epoch: u32) -> Result<(), Refusal> {
        self.active(p)?;
        let sec = &self.sections[s];
        if !sec.live {
            return Err(Refusal::UnknownSection);
        }
        match sec.readers.get(&p) {
            Some(from) if *from <= epoch => Ok(()),
            _ => Err(Refusal::NoReadRight),
        }
    }

    /// Grants `p` read on `s` with `history`; whether that is at least as far back as
    /// `asked` wants. `History::All` reaches back to the section's latest creation.
    fn grant_read(&mut self, p: usize, s: usize, history: History, asked: History) -> bool {
        let sec = &mut self.sections[s];
        // A grant without history rotates the section first.
        sec.epoch += u32::from(history == History::None);
        let from = |h| match h {
            History::FromEpoch(Epoch(e)) => e.max(sec.first),
            History::All => sec.first,
            History::None => sec.epoch,
        };
        let (given, wanted) = (from(history), from(asked));
        sec.readers.insert(p, given);
        given <= wanted
    }
}

struct Entry {
    entry: SealedEntry,
    plaintext: Vec<u8>,
    section: usize,
    epoch: u32,
}

struct World {
    srs: Srs,
    model: Model,
    acl: SignedAcl,
    /// Every ACL version, for checking entries against the version they name.
    versions: Vec<VerifiedAcl>,
    entries: Vec<Entry>,
    rng: ChaCha20Rng,
    /// The clock: one tick per step.
    now: Timestamp,
}

fn refused(r: Refusal) -> Error {
    Error::NotAuthorized(r)
}

impl World {
    /// A world where the principals in `setup` (bit p) start registered and active, with
    /// every started hospital a writer of both sections and every started reader a reader of
    /// section 0 without history, so that deep states are reached in few steps.
    fn new(seed: u8, setup: u8) -> Self {
        let c = cast();
        let mut rng = common::rng(seed);
        let mut srs = Srs::new(
            ADMIN,
            c.admin.bundle(),
            &c.admin.prove_possession(&mut rng).unwrap(),
        )
        .unwrap();
        srs.register(
            OWNER,
            Role::Patient,
            c.owner.keys().bundle(),
            &c.owner.keys().prove_possession(&mut rng).unwrap(),
        )
        .unwrap();
        srs.activate(ADMIN, OWNER).unwrap();
        let record = c.owner.record_id("model").unwrap();
        let changes = c.sections.map(|section| Change::AddSection { section });
        let update = c
            .owner
            .create_record(record, UNTIL, &changes, &mut rng)
            .unwrap();
        srs.apply_update(OWNER, &update, NOW).unwrap();
        let acl = update.acl().clone();
        let versions = vec![acl.verify(&c.owner.verifying_key()).unwrap()];
        let mut model = Model::default();
        for sec in &mut model.sections {
            sec.live = true;
        }
        let mut world = Self {
            srs,
            model,
            acl,
            versions,
            entries: Vec::new(),
            rng,
            now: NOW,
        };
        for p in (0..CAST).filter(|p| setup & (1 << p) != 0) {
            world.step(&Op::Register(p));
            world.step(&Op::Activate(p));
            if p < HOSPITALS {
                world.step(&Op::RequestWrite { p, mask: 3 });
            } else {
                world.step(&Op::RequestRead {
                    p,
                    mask: 1,
                    history: Some(History::None),
                });
            }
            let approve = Op::Approve {
                k: 0,
                one: false,
                history: None,
            };
            world.step(&approve);
        }
        world
    }

    fn current(&self) -> &VerifiedAcl {
        self.versions.last().expect("at least one version")
    }

    /// Runs an SRS mutation; on error, asserts the state is byte-for-byte unchanged.
    fn srs_op<T>(
        &mut self,
        f: impl FnOnce(&mut Srs, &mut ChaCha20Rng) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let before = self.srs.to_bytes().unwrap();
        let out = f(&mut self.srs, &mut self.rng);
        if out.is_err() {
            assert_eq!(
                self.srs.to_bytes().unwrap(),
                before,
                "failed SRS operation changed state"
            );
        }
        out
    }

    fn owner_update(&mut self, changes: &[Change]) -> Result<AclUpdate, Error> {
        let current = self.versions.last().expect("at least one version");
        cast().owner.update(current, UNTIL, changes, &mut self.rng)
    }

    fn commit_acl(&mut self, update: &AclUpdate) {
        self.acl = update.acl().clone();
        self.versions
            .push(self.acl.verify(&cast().owner.verifying_key()).unwrap());
    }

    /// The owner makes `changes` and the SRS applies them, if the model says they are
    /// `valid`; otherwise the owner refuses to make them.
    fn change(&mut self, valid: bool, changes: &[Change]) -> Option<AclUpdate> {
        let r = self.owner_update(changes);
        if !valid {
            assert!(matches!(r, Err(Error::InvalidChange { .. })), "{r:?}");
            return None;
        }
        let (update, now) = (r.unwrap(), self.now);
        self.srs_op(|srs, _| srs.apply_update(OWNER, &update, now))
            .unwrap();
        self.commit_acl(&update);
        Some(update)
    }

    fn check_read(&mut self, p: usize, e: usize) {
        let c = cast();
        let entry = &self.entries[e];
        let expected = self.model.may_read(p, entry.section, entry.epoch);
        let (header, key_block) = (entry.entry.header(), entry.entry.key_block());
        let got = self.srs.reencrypt(pid(p), header, key_block, self.now);
        match (expected, got) {
            (Ok(()), Ok(rc)) => {
                let named = &self.versions[header.acl_version().0 as usize - 1];
                let pt = c.people[p]
                    .open_entry(&entry.entry, &rc, named)
                    .expect("allowed read decrypts");
                assert_eq!(pt, entry.plaintext);
            }
            (Err(reason), Err(e)) => assert_eq!(e, refused(reason), "reader {p} entry {e:?}"),
            (exp, got) => panic!(
                "reader {p}: model says {exp:?}, SRS says {:?}",
                got.map(drop)
            ),
        }
    }

    /// The attack SPEC §7 closes: a reader granted read on a removed and re-added section,
    /// even with `History::All`, must be refused every entry of the removed predecessor
    /// (`check_keys` finds no key for its epochs either).
    fn check_predecessor_sealed(&self, p: usize, s: usize) {
        let first = self.model.sections[s].first;
        let old = self.entries.iter().enumerate();
        for (i, e) in old.filter(|(_, e)| e.section == s && e.epoch < first) {
            let (header, key_block) = (e.entry.header(), e.entry.key_block());
            let got = self.srs.reencrypt(pid(p), header, key_block, self.now);
            let reason = self.model.active(p).err().unwrap_or(Refusal::NoReadRight);
            assert_eq!(
                got.map(drop),
                Err(refused(reason)),
                "reader {p} reached entry {i} of section {s}'s removed predecessor"
            );
        }
    }

    fn check_keys(&self) {
        let c = cast();
        let record = self.acl.acl_unverified().record();
        let acl = self.current();
        assert_eq!(acl.default_history(), DEFAULT_HISTORY);
        let mut expected = 0;
        for (s, sec) in self.model.sections.iter().enumerate() {
            for p in HOSPITALS..CAST {
                for epoch in 0..=sec.epoch + 1 {
                    let granted = sec.live
                        && epoch <= sec.epoch
                        && sec.readers.get(&p).is_some_and(|from| *from <= epoch);
                    expected += usize::from(granted);
                    let id = ReKeyId {
                        record,
                        section: c.sections[s],
                        epoch: Epoch(epoch),
                        reader: fingerprint(p),
                    };
                    assert_eq!(
                        self.srs.has_key(&id),
                        granted,
                        "key for reader {p} section {s} epoch {epoch}"
                    );
                }
            }
            // The ACL agrees with the model's epochs and members.
            let Some(policy) = acl.section(&c.sections[s]) else {
                assert!(!sec.live, "section {s} missing from the ACL");
                continue;
            };
            assert!(sec.live, "removed section {s} still in the ACL");
            assert_eq!(policy.epoch(), Epoch(sec.epoch), "section {s}");
            assert_eq!(policy.first(), Epoch(sec.first), "section {s}");
            let readers: BTreeMap<Fingerprint, Epoch> =
                policy.readers().map(|(fp, g)| (*fp, g.from)).collect();
            let model = sec.readers.iter();
            let model = model.map(|(p, from)| (fingerprint(*p), Epoch(*from)));
            assert_eq!(readers, model.collect(), "readers of section {s}");
            let writers: BTreeSet<Fingerprint> = policy.writers().map(|(fp, _)| *fp).collect();
            let model = sec.writers.iter().map(|h| fingerprint(*h)).collect();
            assert_eq!(writers, model, "writers of section {s}");
        }
        assert_eq!(self.srs.stored_keys(), expected);
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
                History::FromEpoch(Epoch(e)) => History::FromEpoch(Epoch(e.min(sec.epoch))),
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

    fn step(&mut self, op: &Op) {
        let c = cast();
        self.now.0 += 1;
        let now = self.now;
        match *op {
            Op::Register(p) => {
                let proof = c.people[p].prove_possession(&mut self.rng).unwrap();
                let r = self
                    .srs_op(|srs, _| srs.register(pid(p), role(p), c.people[p].bundle(), &proof));
                if self.model.registry[p].is_some() {
                    assert_eq!(r, Err(Error::AlreadyExists { what: "principal" }));
                } else {
                    r.unwrap();
                    self.model.registry[p] = Some(false);
                }
            }
            Op::Activate(p) | Op::Deactivate(p) => {
                let on = matches!(op, Op::Activate(_));
                let r = self.srs_op(|srs, _| {
                    if on {
                        srs.activate(ADMIN, pid(p))
                    } else {
                        srs.deactivate(ADMIN, pid(p))
                    }
                });
                match self.model.registry[p] {
                    None => assert_eq!(r, Err(Error::NotFound { what: "principal" })),
                    Some(_) => {
                        r.unwrap();
                        self.model.registry[p] = Some(on);
                    }
                }
                // A non-admin can never do it.
                let r = self.srs_op(|srs, _| srs.activate(OWNER, pid(p)));
                assert_eq!(r, Err(refused(Refusal::NotAdmin)));
            }
            Op::Login(p) => {
                let r = self.srs_op(|srs, rng| srs.login_challenge(pid(p), rng));
                match self.model.active(p) {
                    Err(reason) => assert_eq!(r, Err(refused(reason))),
                    Ok(()) => {
                        let ch = r.unwrap();
                        // A wrong key's answer is refused; the right one logs in once.
                        let wrong = c.people[(p + 1) % CAST]
                            .answer_login(pid(p), &ch, &mut self.rng)
                            .unwrap();
                        assert_eq!(
                            self.srs_op(|srs, _| srs.login(pid(p), &wrong)),
                            Err(Error::BadSignature)
                        );
                        let answer = c.people[p]
                            .answer_login(pid(p), &ch, &mut self.rng)
                            .unwrap();
                        self.srs_op(|srs, _| srs.login(pid(p), &answer)).unwrap();
                        assert_eq!(
                            self.srs_op(|srs, _| srs.login(pid(p), &answer)),
                            Err(refused(Refusal::NoChallenge))
                        );
                    }
                }
            }
            Op::RequestRead { p, mask, .. } | Op::RequestWrite { p, mask } => {
                let right = match *op {
                    Op::RequestRead { history, .. } => Right::Read(history),
                    _ => Right::Write,
                };
                let secs: Vec<usize> = (0..SECTIONS).filter(|s| mask & (1 << s) != 0).collect();
                let ids: Vec<SectionId> = secs.iter().map(|s| c.sections[*s]).collect();
                let record = self.acl.acl_unverified().record();
                let r = self.srs_op(|srs, _| srs.request(pid(p), record, right, &ids, now));
                let gone = secs.iter().any(|s| !self.model.sections[*s].live);
                match self.model.active(p) {
                    Err(reason) => assert_eq!(r, Err(refused(reason))),
                    Ok(()) if gone => assert_eq!(r, Err(refused(Refusal::UnknownSection))),
                    Ok(()) => {
                        let (id, state, at) = (r.unwrap(), RequestState::Pending, now);
                        self.model.requests.push(Req {
                            id,
                            p,
                            right,
                            secs,
                            state,
                            at,
                        });
                    }
                }
            }
            Op::Approve { k, one, history } => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let (update, grants) = self.approval(&req, one, history);
                let r = self.srs_op(|srs, _| srs.approve(OWNER, req.id, &update, now));
                if req.state != RequestState::Pending {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })), "{r:?}");
                } else if grants.is_empty() {
                    assert_eq!(r, Err(refused(Refusal::ApprovalMismatch)));
                } else {
                    // Approved only if every section asked for is granted now, each from an
                    // epoch no later than the history asked for wants (after the update).
                    let mut as_asked = grants.len() == req.secs.len();
                    for &(s, given) in &grants {
                        if let Right::Read(asked) = req.right {
                            let asked = asked.unwrap_or(DEFAULT_HISTORY);
                            as_asked &= self.model.grant_read(req.p, s, given, asked);
                        } else {
                            self.model.sections[s].writers.insert(req.p);
                        }
                    }
                    let outcome = if as_asked {
                        RequestState::Approved
                    } else {
                        RequestState::ApprovedNarrower
                    };
                    assert_eq!(r, Ok(outcome), "{req:?} granted {grants:?}");
                    self.commit_acl(&update);
                    self.set_state(req.id, outcome, now);
                    let granted: Vec<SectionId> = grants.iter().map(|g| c.sections[g.0]).collect();
                    assert_eq!(self.srs.request_by_id(req.id).unwrap().granted(), granted);
                    if matches!(req.right, Right::Read(_)) {
                        for &(s, _) in &grants {
                            self.check_predecessor_sealed(req.p, s);
                        }
                    }
                }
            }
            Op::Reject(k) => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let r = self.srs_op(|srs, _| srs.reject(OWNER, req.id, now));
                if req.state == RequestState::Pending {
                    r.unwrap();
                    self.set_state(req.id, RequestState::Rejected, now);
                } else {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })));
                }
            }
            Op::Withdraw { k, by_requester } => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let actor = if by_requester { pid(req.p) } else { OWNER };
                let r = self.srs_op(|srs, _| srs.withdraw(actor, req.id, now));
                if !by_requester {
                    assert_eq!(r, Err(refused(Refusal::NotRequester)));
                } else if req.state == RequestState::Pending {
                    r.unwrap();
                    self.set_state(req.id, RequestState::Withdrawn, now);
                } else {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })));
                }
            }
            Op::Backdated { k, action, back } => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let then = Timestamp(req.at.0 - back);
                // An approval that would otherwise succeed (when anything is left to grant).
                let (update, _) = self.approval(&req, false, None);
                let r = self.srs_op(|srs, _| match action {
                    Action::Approve => srs.approve(OWNER, req.id, &update, then).map(drop),
                    Action::Reject => srs.reject(OWNER, req.id, then),
                    _ => srs.withdraw(pid(req.p), req.id, then),
                });
                if req.state == RequestState::Pending {
                    let went_back = Error::ClockWentBackwards {
                        last: req.at,
                        offered: then,
                    };
                    assert_eq!(r, Err(went_back));
                } else {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })), "{r:?}");
                }
                assert_eq!(self.pick_request(k).map(|q| q.state), Some(req.state));
            }
            Op::Delete(k) => {
                let Some(req) = self.pick_request(k) else {
                    return;
                };
                let r = self.srs_op(|srs, _| srs.delete_request(req.id));
                if req.state == RequestState::Pending {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })));
                } else {
                    r.unwrap();
                    self.model.requests.retain(|q| q.id != req.id);
                    assert!(self.srs.request_by_id(req.id).is_none());
                }
            }
            Op::Write { h, s } => {
                let plaintext = format!(
                    "entry {} by hospital {h} in section {s}",
                    self.entries.len()
                )
                .into_bytes();
                let acl = self.current().clone();
                let r = c.people[h].seal_entry(&acl, c.sections[s], &plaintext, now, &mut self.rng);
                let sec = &self.model.sections[s];
                if !sec.live {
                    assert_eq!(r.unwrap_err(), refused(Refusal::UnknownSection));
                } else if sec.writers.contains(&h) {
                    let entry = r.unwrap();
                    assert_eq!(c.owner.open_entry(&entry, &acl).unwrap(), plaintext);
                    let epoch = sec.epoch;
                    self.entries.push(Entry {
                        entry,
                        plaintext,
                        section: s,
                        epoch,
                    });
                } else {
                    assert_eq!(r.unwrap_err(), refused(Refusal::NoWriteRight));
                }
            }
            Op::Read { p, e } => {
                if !self.entries.is_empty() {
                    self.check_read(p, e % self.entries.len());
                }
            }
            Op::Revoke { p, s } => {
                let sec = &mut self.model.sections[s];
                let valid = sec.readers.remove(&p).is_some();
                sec.epoch += u32::from(valid);
                let (section, reader) = (c.sections[s], fingerprint(p));
                self.change(valid, &[Change::RevokeRead { section, reader }]);
            }
            Op::RevokeWrite { h, s } => {
                let valid = self.model.sections[s].writers.remove(&h);
                let (section, writer) = (c.sections[s], fingerprint(h));
                self.change(valid, &[Change::RevokeWrite { section, writer }]);
            }
            Op::Rotate(s) => {
                let (sec, section) = (&mut self.model.sections[s], c.sections[s]);
                let valid = sec.live;
                sec.epoch += u32::from(valid);
                if let Some(update) = self.change(valid, &[Change::Rotate { section }]) {
                    // Replaying the previous ACL version is refused, and changes nothing.
                    let replay = self.srs_op(|srs, _| srs.apply_update(OWNER, &update, now));
                    assert!(matches!(replay, Err(Error::AclRejected(_))));
                }
            }
            Op::Rewrap(e) => {
                if self.entries.is_empty() {
                    return;
                }
                let e = e % self.entries.len();
                let acl = self.current().clone();
                let r = c.owner.rewrap(&self.entries[e].entry, &acl, &mut self.rng);
                let entry = &mut self.entries[e];
                let sec = &self.model.sections[entry.section];
                if !sec.live {
                    assert_eq!(r.unwrap_err(), refused(Refusal::UnknownSection));
                    return;
                }
                entry.entry = entry.entry.clone().with_key_block(r.unwrap());
                entry.epoch = sec.epoch;
                let named = &self.versions[entry.entry.header().acl_version().0 as usize - 1];
                assert_eq!(
                    c.owner.open_entry(&entry.entry, named).unwrap(),
                    entry.plaintext
                );
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
                self.change(valid, &[Change::RemoveSection { section }]);
            }
            Op::AddSection { s, grant } => {
                let section = c.sections[s];
                let sec = &mut self.model.sections[s];
                let valid = !sec.live;
                if valid {
                    // Re-created one epoch after its predecessor's last, with nobody on it.
                    (sec.live, sec.epoch, sec.first) = (true, sec.epoch + 1, sec.epoch + 1);
                }
                self.change(valid, &[Change::AddSection { section }]);
                if let (true, Some((r, h))) = (valid, grant) {
                    // The first active reader from `r` on, if any: the attack needs one.
                    let mut from_r = (r..CAST).chain(HOSPITALS..r);
                    let r = from_r.find(|&r| self.model.active(r).is_ok()).unwrap_or(r);
                    self.check_keys();
                    let history = History::All;
                    self.model.grant_read(r, s, history, history);
                    self.model.sections[s].writers.insert(h);
                    let (reader, writer) = (c.people[r].bundle(), c.people[h].bundle());
                    self.change(
                        true,
                        &[
                            Change::GrantRead {
                                section,
                                reader,
                                history,
                            },
                            Change::GrantWrite { section, writer },
                        ],
                    );
                    self.check_predecessor_sealed(r, s);
                }
            }
        }
        self.check_keys();
    }

    fn pick_request(&self, k: usize) -> Option<Req> {
        let reqs = &self.model.requests;
        if reqs.is_empty() {
            return None;
        }
        let q = match reqs.iter().rposition(|q| q.state == RequestState::Pending) {
            Some(i) if k == 0 => &reqs[i],
            _ => &reqs[reqs.len() - 1 - k % reqs.len()],
        };
        let srs_req = self
            .srs
            .request_by_id(q.id)
            .expect("model and SRS agree on open requests");
        assert_eq!(srs_req.state(), q.state);
        assert_eq!(srs_req.history().last().map(|h| h.1), Some(q.at));
        Some(q.clone())
    }

    fn set_state(&mut self, id: RequestId, state: RequestState, now: Timestamp) {
        let q = self.model.requests.iter_mut().find(|q| q.id == id).unwrap();
        let created = q.at;
        (q.state, q.at) = (state, now);
        let req = self.srs.request_by_id(id).unwrap();
        let history = [(RequestState::Pending, created), (state, now)];
        assert_eq!(req.history(), history);
    }

    fn finish(&mut self) {
        let bytes = self.srs.to_bytes().unwrap();
        let back = Srs::from_bytes(&bytes).unwrap();
        assert_eq!(back, self.srs);
        assert_eq!(back.to_bytes().unwrap(), bytes);
        for s in (0..SECTIONS).filter(|s| self.model.sections[*s].live) {
            for p in HOSPITALS..CAST {
                self.check_predecessor_sealed(p, s);
            }
        }
        let n = self.entries.len();
        for e in n.saturating_sub(3)..n {
            for p in 0..CAST {
                self.check_read(p, e);
            }
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
    fn srs_and_cryptography_agree_with_the_model(seed in any::<u8>(), setup in any::<u8>(), ops in proptest::collection::vec(op(), 24..=24)) {
        let mut world = World::new(seed, setup);
        for op in &ops {
            world.step(op);
        }
        world.finish();
    }
}
