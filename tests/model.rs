//! Model-based test of the PHR system: random sequences of register, activate/deactivate,
//! login, request, approve, reject, withdraw, delete, write, read, revoke, rotate and re-wrap,
//! run against the real SRS and cryptography and against a plain reference model of who may
//! read and write what. This stands where the SeSPHR paper used HLPN/Z3 verification.
//!
//! Properties checked after every step:
//! 1. **Agreement**: every operation succeeds exactly when the model says it may, and a
//!    refusal names the condition the model says failed.
//! 2. **Atomicity**: a failed SRS operation leaves the SRS state byte-for-byte unchanged.
//! 3. **Key hygiene**: the SRS stores exactly one re-encryption key per (reader, section,
//!    epoch) the newest ACL grants, and no other.
//! 4. **Read soundness and completeness**: a read the model allows is re-encrypted and
//!    decrypts to the written plaintext; a read it forbids is refused by the SRS (checked for
//!    the step's read, and for every reader × recent entry at the end of each sequence).
//! 5. **Forward/backward access control**: falls out of 4 with the model's epochs: a revoked
//!    reader is refused every entry, and a reader approved without history is refused every
//!    entry written before its approval.
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
    Change, Epoch, History, Owner, PrincipalId, PrincipalKeys, ReKeyId, Refusal, RequestId,
    RequestState, Right, Role, SealedEntry, SectionId, SectionName, SignedAcl, Srs, Timestamp,
    VerifiedAcl,
};
use sesphr::Error;

const NOW: Timestamp = Timestamp(1_000);
const UNTIL: Timestamp = Timestamp(1_000_000);
/// Principals the test registers: hospitals 0..2, readers 2..5.
const CAST: usize = 5;
const HOSPITALS: usize = 2;
const SECTIONS: usize = 2;

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

fn role(p: usize) -> Role {
    [
        Role::Hospital,
        Role::Hospital,
        Role::Doctor,
        Role::Pharmacist,
        Role::Family,
    ][p]
}

#[derive(Clone, Debug)]
enum Op {
    Register(usize),
    Activate(usize),
    Deactivate(usize),
    Login(usize),
    RequestRead { p: usize, mask: u8, history: bool },
    RequestWrite { p: usize, mask: u8 },
    Approve(usize),
    Reject(usize),
    Withdraw { k: usize, by_requester: bool },
    Delete(usize),
    Write { h: usize, s: usize },
    Read { p: usize, e: usize },
    Revoke { p: usize, s: usize },
    RevokeWrite { h: usize, s: usize },
    Rotate(usize),
    Rewrap(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..CAST;
    let r = HOSPITALS..CAST;
    let h = 0..HOSPITALS;
    let s = 0..SECTIONS;
    prop_oneof![
        3 => p.clone().prop_map(Op::Register),
        3 => p.clone().prop_map(Op::Activate),
        1 => p.clone().prop_map(Op::Deactivate),
        1 => p.clone().prop_map(Op::Login),
        3 => (r.clone(), 1u8..4, any::<bool>()).prop_map(|(p, mask, history)| Op::RequestRead { p, mask, history }),
        2 => (h.clone(), 1u8..4).prop_map(|(p, mask)| Op::RequestWrite { p, mask }),
        3 => (0usize..8).prop_map(Op::Approve),
        1 => (0usize..8).prop_map(Op::Reject),
        1 => (0usize..8, any::<bool>()).prop_map(|(k, by_requester)| Op::Withdraw { k, by_requester }),
        1 => (0usize..8).prop_map(Op::Delete),
        3 => (h.clone(), s.clone()).prop_map(|(h, s)| Op::Write { h, s }),
        4 => (p, 0usize..16).prop_map(|(p, e)| Op::Read { p, e }),
        1 => (r, s.clone()).prop_map(|(p, s)| Op::Revoke { p, s }),
        1 => (h, s.clone()).prop_map(|(h, s)| Op::RevokeWrite { h, s }),
        1 => s.prop_map(Op::Rotate),
        1 => (0usize..16).prop_map(Op::Rewrap),
    ]
}

/// The reference model: plain sets and numbers, no cryptography.
#[derive(Default)]
struct Model {
    /// `None`: unregistered; `Some(active)`.
    registry: [Option<bool>; CAST],
    epochs: [u32; SECTIONS],
    readers: [BTreeMap<usize, u32>; SECTIONS],
    writers: [BTreeSet<usize>; SECTIONS],
    /// Open (not deleted) requests: id, requester, right, sections, state.
    requests: Vec<(RequestId, usize, Right, Vec<usize>, RequestState)>,
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
        match self.readers[s].get(&p) {
            Some(from) if *from <= epoch => Ok(()),
            _ => Err(Refusal::NoReadRight),
        }
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
        let changes: Vec<Change> = c
            .sections
            .iter()
            .map(|s| Change::AddSection { section: *s })
            .collect();
        let update = c
            .owner
            .create_record(record, UNTIL, &changes, &mut rng)
            .unwrap();
        srs.apply_update(OWNER, &update, NOW).unwrap();
        let acl = update.acl().clone();
        let versions = vec![acl.verify(&c.owner.verifying_key()).unwrap()];
        let mut world = Self {
            srs,
            model: Model::default(),
            acl,
            versions,
            entries: Vec::new(),
            rng,
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
                    history: false,
                });
            }
            let k = world.model.requests.len() - 1;
            world.step(&Op::Approve(k));
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

    fn owner_update(&mut self, changes: &[Change]) -> Result<sesphr::phr::AclUpdate, Error> {
        let c = cast();
        let current = self.versions.last().expect("at least one version");
        c.owner.update(current, UNTIL, changes, &mut self.rng)
    }

    fn commit_acl(&mut self, update: &sesphr::phr::AclUpdate) {
        self.acl = update.acl().clone();
        self.versions
            .push(self.acl.verify(&cast().owner.verifying_key()).unwrap());
    }

    fn check_read(&mut self, p: usize, e: usize) {
        let c = cast();
        let entry = &self.entries[e];
        let expected = self.model.may_read(p, entry.section, entry.epoch);
        let got = self
            .srs
            .reencrypt(pid(p), entry.entry.header(), entry.entry.key_block(), NOW);
        match (expected, got) {
            (Ok(()), Ok(rc)) => {
                let named = &self.versions[entry.entry.header().acl_version().0 as usize - 1];
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

    fn check_keys(&self) {
        let c = cast();
        let record = self.acl.acl_unverified().record();
        let mut expected = 0;
        for s in 0..SECTIONS {
            for p in HOSPITALS..CAST {
                for epoch in 0..=self.model.epochs[s] {
                    let granted = self.model.readers[s]
                        .get(&p)
                        .is_some_and(|from| *from <= epoch);
                    expected += usize::from(granted);
                    let id = ReKeyId {
                        record,
                        section: c.sections[s],
                        epoch: Epoch(epoch),
                        reader: c.people[p].bundle().fingerprint(),
                    };
                    assert_eq!(
                        self.srs.has_key(&id),
                        granted,
                        "key for reader {p} section {s} epoch {epoch}"
                    );
                }
            }
        }
        assert_eq!(self.srs.stored_keys(), expected);
        // The ACL agrees with the model's epochs and members.
        let acl = self.current();
        for s in 0..SECTIONS {
            let policy = acl.section(&c.sections[s]).unwrap();
            assert_eq!(policy.epoch(), Epoch(self.model.epochs[s]));
            assert_eq!(policy.readers().count(), self.model.readers[s].len());
            assert_eq!(policy.writers().count(), self.model.writers[s].len());
        }
    }

    fn step(&mut self, op: &Op) {
        let c = cast();
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
                    Op::RequestRead { history, .. } => {
                        Right::Read(Some(if history { History::All } else { History::None }))
                    }
                    _ => Right::Write,
                };
                let secs: Vec<usize> = (0..SECTIONS).filter(|s| mask & (1 << s) != 0).collect();
                let ids: Vec<SectionId> = secs.iter().map(|s| c.sections[*s]).collect();
                let record = self.acl.acl_unverified().record();
                let r = self.srs_op(|srs, _| srs.request(pid(p), record, right, &ids, NOW));
                match self.model.active(p) {
                    Err(reason) => assert_eq!(r, Err(refused(reason))),
                    Ok(()) => {
                        let id = r.unwrap();
                        self.model
                            .requests
                            .push((id, p, right, secs, RequestState::Pending));
                    }
                }
            }
            Op::Approve(k) => {
                let Some((id, p, right, secs, state)) = self.pick_request(k) else {
                    return;
                };
                let (changes, grants): (Vec<Change>, Vec<usize>) = secs
                    .iter()
                    .filter_map(|&s| {
                        let section = c.sections[s];
                        match right {
                            Right::Read(h) if !self.model.readers[s].contains_key(&p) => Some((
                                Change::GrantRead {
                                    section,
                                    reader: c.people[p].bundle(),
                                    history: h.unwrap_or(History::None),
                                },
                                s,
                            )),
                            Right::Write if !self.model.writers[s].contains(&p) => Some((
                                Change::GrantWrite {
                                    section,
                                    writer: c.people[p].bundle(),
                                },
                                s,
                            )),
                            _ => None,
                        }
                    })
                    .unzip();
                // With nothing left to grant, an update that grants nothing is refused.
                let changes = if changes.is_empty() {
                    vec![Change::Rotate {
                        section: c.sections[0],
                    }]
                } else {
                    changes
                };
                let update = self.owner_update(&changes).unwrap();
                let r = self.srs_op(|srs, _| srs.approve(OWNER, id, &update, NOW));
                if state != RequestState::Pending {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })), "{r:?}");
                } else if grants.is_empty() {
                    assert_eq!(r, Err(refused(Refusal::ApprovalMismatch)));
                } else {
                    r.unwrap();
                    self.commit_acl(&update);
                    for s in grants {
                        match right {
                            Right::Read(Some(History::All)) => {
                                self.model.readers[s].insert(p, 0);
                            }
                            Right::Read(_) => {
                                self.model.epochs[s] += 1;
                                self.model.readers[s].insert(p, self.model.epochs[s]);
                            }
                            Right::Write => {
                                self.model.writers[s].insert(p);
                            }
                        }
                    }
                    self.set_state(id, RequestState::Approved);
                }
            }
            Op::Reject(k) => {
                let Some((id, _, _, _, state)) = self.pick_request(k) else {
                    return;
                };
                let r = self.srs_op(|srs, _| srs.reject(OWNER, id, NOW));
                if state == RequestState::Pending {
                    r.unwrap();
                    self.set_state(id, RequestState::Rejected);
                } else {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })));
                }
            }
            Op::Withdraw { k, by_requester } => {
                let Some((id, p, _, _, state)) = self.pick_request(k) else {
                    return;
                };
                let actor = if by_requester { pid(p) } else { OWNER };
                let r = self.srs_op(|srs, _| srs.withdraw(actor, id, NOW));
                if !by_requester {
                    assert_eq!(r, Err(refused(Refusal::NotRequester)));
                } else if state == RequestState::Pending {
                    r.unwrap();
                    self.set_state(id, RequestState::Withdrawn);
                } else {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })));
                }
            }
            Op::Delete(k) => {
                let Some((id, _, _, _, state)) = self.pick_request(k) else {
                    return;
                };
                let r = self.srs_op(|srs, _| srs.delete_request(id));
                if state == RequestState::Pending {
                    assert!(matches!(r, Err(Error::IllegalTransition { .. })));
                } else {
                    r.unwrap();
                    self.model.requests.retain(|q| q.0 != id);
                    assert!(self.srs.request_by_id(id).is_none());
                }
            }
            Op::Write { h, s } => {
                let plaintext = format!(
                    "entry {} by hospital {h} in section {s}",
                    self.entries.len()
                )
                .into_bytes();
                let acl = self.current().clone();
                let r = c.people[h].seal_entry(&acl, c.sections[s], &plaintext, NOW, &mut self.rng);
                if self.model.writers[s].contains(&h) {
                    let entry = r.unwrap();
                    assert_eq!(c.owner.open_entry(&entry, &acl).unwrap(), plaintext);
                    self.entries.push(Entry {
                        entry,
                        plaintext,
                        section: s,
                        epoch: self.model.epochs[s],
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
                let r = self.owner_update(&[Change::RevokeRead {
                    section: c.sections[s],
                    reader: c.people[p].bundle().fingerprint(),
                }]);
                if self.model.readers[s].contains_key(&p) {
                    let update = r.unwrap();
                    self.srs_op(|srs, _| srs.apply_update(OWNER, &update, NOW))
                        .unwrap();
                    self.commit_acl(&update);
                    self.model.readers[s].remove(&p);
                    self.model.epochs[s] += 1;
                } else {
                    assert!(matches!(r, Err(Error::InvalidChange { .. })));
                }
            }
            Op::RevokeWrite { h, s } => {
                let r = self.owner_update(&[Change::RevokeWrite {
                    section: c.sections[s],
                    writer: c.people[h].bundle().fingerprint(),
                }]);
                if self.model.writers[s].contains(&h) {
                    let update = r.unwrap();
                    self.srs_op(|srs, _| srs.apply_update(OWNER, &update, NOW))
                        .unwrap();
                    self.commit_acl(&update);
                    self.model.writers[s].remove(&h);
                } else {
                    assert!(matches!(r, Err(Error::InvalidChange { .. })));
                }
            }
            Op::Rotate(s) => {
                let update = self
                    .owner_update(&[Change::Rotate {
                        section: c.sections[s],
                    }])
                    .unwrap();
                // Replaying the previous ACL version is refused, and changes nothing.
                let stale = self
                    .srs_op(|srs, _| srs.apply_update(OWNER, &update, NOW))
                    .map(|_| ());
                stale.unwrap();
                self.commit_acl(&update);
                self.model.epochs[s] += 1;
                let replay = self.srs_op(|srs, _| srs.apply_update(OWNER, &update, NOW));
                assert!(matches!(replay, Err(Error::AclRejected(_))));
            }
            Op::Rewrap(e) => {
                if self.entries.is_empty() {
                    return;
                }
                let e = e % self.entries.len();
                let acl = self.current().clone();
                let kb = c
                    .owner
                    .rewrap(&self.entries[e].entry, &acl, &mut self.rng)
                    .unwrap();
                let entry = &mut self.entries[e];
                entry.entry = entry.entry.clone().with_key_block(kb);
                entry.epoch = self.model.epochs[entry.section];
                let named = &self.versions[entry.entry.header().acl_version().0 as usize - 1];
                assert_eq!(
                    c.owner.open_entry(&entry.entry, named).unwrap(),
                    entry.plaintext
                );
            }
        }
        self.check_keys();
    }

    fn pick_request(
        &self,
        k: usize,
    ) -> Option<(RequestId, usize, Right, Vec<usize>, RequestState)> {
        if self.model.requests.is_empty() {
            return None;
        }
        let q = &self.model.requests[k % self.model.requests.len()];
        let srs_req = self
            .srs
            .request_by_id(q.0)
            .expect("model and SRS agree on open requests");
        assert_eq!(srs_req.state(), q.4);
        Some(q.clone())
    }

    fn set_state(&mut self, id: RequestId, state: RequestState) {
        for q in &mut self.model.requests {
            if q.0 == id {
                q.4 = state;
            }
        }
        let req = self.srs.request_by_id(id).unwrap();
        assert_eq!(req.state(), state);
        assert_eq!(req.history().len(), 2);
    }

    fn finish(&mut self) {
        let bytes = self.srs.to_bytes().unwrap();
        let back = Srs::from_bytes(&bytes).unwrap();
        assert_eq!(back, self.srs);
        assert_eq!(back.to_bytes().unwrap(), bytes);
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
