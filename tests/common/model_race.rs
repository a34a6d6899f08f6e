//! Races in the model test (`tests/model.rs`). Its two SRS handles run over one shared
//! [`MemoryStore`], each through a [`RaceStore`] whose next commit can be armed with a
//! closure, run after the operation read its rows and before its changeset is applied. The
//! closure runs the other handle's operation on the same store, so two operations race
//! deterministically: the armed one was planned from rows the other then changed. Each race
//! checks that exactly one of two conflicting operations commits, that the loser changed
//! nothing and fails with a conflict, and that after its retry the state is the model's for
//! the order winner, then loser.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use rand_chacha::rand_core::RngCore;
use sesphr::phr::{AclProblem, Change, RequestState, Right, SectionName};
use sesphr::srs::{
    Changeset, Client, MemoryStore, Operation, Refusal, Response, Row, Store, StoreError,
};
use sesphr::Error;

use super::model_ops::{Outcome, Race, Req};
use super::{
    cast, fingerprint, mask_sections, pid, refused, register, role, Signed, World, CAST, HOSPITALS,
    OTHER, SECTIONS, UNTIL,
};

/// What runs between an operation's reads and its commit.
type Interloper = Box<dyn FnOnce()>;

/// A handle's view of the shared store.
pub struct RaceStore {
    inner: Arc<MemoryStore>,
    armed: RefCell<Option<Interloper>>,
}

impl RaceStore {
    pub fn new(inner: Arc<MemoryStore>) -> Self {
        Self {
            inner,
            armed: RefCell::new(None),
        }
    }

    /// Runs `f` at the next commit through this store, just before that commit.
    pub fn arm(&self, f: impl FnOnce() + 'static) {
        let old = self.armed.borrow_mut().replace(Box::new(f));
        assert!(old.is_none(), "store armed twice");
    }

    /// Drops an armed closure that never ran; whether there was one.
    pub fn disarm(&self) -> bool {
        self.armed.borrow_mut().take().is_some()
    }
}

impl Store for RaceStore {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        self.inner.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        self.inner.scan(prefix, after, limit)
    }

    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        // Taken out first: the closure commits through another handle's store.
        let interloper = self.armed.borrow_mut().take();
        if let Some(f) = interloper {
            f();
        }
        self.inner.commit(changeset)
    }
}

impl World {
    /// Runs `first` through handle `h` and, between its reads and its commit, `second`
    /// through the other handle. If `second` committed and `conflicts`, `first` must have
    /// failed with a conflict; a failed operation changes nothing. If `first` was refused
    /// before it reached its commit, `second` runs after it.
    fn race(&mut self, h: usize, first: &Signed, second: &Signed, conflicts: bool) -> [Outcome; 2] {
        let now = self.now;
        let before = self.rows();
        let slot = Rc::new(RefCell::new(None));
        let (other, store) = (Rc::clone(&self.srs[1 - h]), Arc::clone(&self.store));
        let (op, out, mut rng) = (second.op.clone(), Rc::clone(&slot), self.fork_rng());
        self.srs[h].borrow().store().arm(move || {
            let r = other.borrow_mut().execute(&op, now, &mut rng);
            *out.borrow_mut() = Some((r, store.rows().unwrap()));
        });
        let r1 = self.srs[h]
            .borrow_mut()
            .execute(&first.op, now, &mut self.rng);
        let ran = slot.borrow_mut().take();
        let Some((r2, after_second)) = ran else {
            assert!(self.srs[h].borrow().store().disarm());
            assert!(r1.is_err(), "{first:?} committed without a commit");
            assert!(self.rows() == before, "refused {first:?} changed the store");
            let r2 = self.run(1 - h, second, now);
            return [r1, r2];
        };
        if r2.is_err() {
            assert!(
                after_second == before,
                "refused {second:?} changed the store"
            );
        }
        if r1.is_err() {
            assert!(
                self.rows() == after_second,
                "losing {first:?} changed the store"
            );
        }
        if conflicts && r2.is_ok() {
            assert_eq!(r1, Err(Error::Store(StoreError::Conflict)), "{first:?}");
        }
        if let Ok(response) = &r2 {
            self.committed(1 - h, second, response, now);
        }
        if let Ok(response) = &r1 {
            self.committed(h, first, response, now);
        }
        [r1, r2]
    }

    /// Every (reader, entry) the model lets the reader have now.
    fn readable(&self) -> Vec<(usize, usize)> {
        let pairs = (HOSPITALS..CAST).flat_map(|p| (0..self.entries.len()).map(move |e| (p, e)));
        let readable = |(p, e): &(usize, usize)| {
            let entry = &self.entries[*e];
            let ok = self.model.active(*p).is_ok() && entry.receipt.is_some();
            ok && self.model.may_read(*p, entry.section, entry.epoch).is_ok()
        };
        pairs.filter(readable).collect()
    }

    pub(super) fn race_step(&mut self, race: &Race, via: usize) {
        let c = cast();
        let now = self.now;
        match *race {
            Race::Approvals { k } => {
                // Two pending requests (perhaps one): the newest, and the one `k` picks.
                let pending = self.model.requests.iter();
                let pending = pending.filter(|q| q.state == RequestState::Pending);
                let pending: Vec<Req> = pending.cloned().collect();
                let n = pending.len().max(1);
                let (Some(second), Some(first)) = (pending.last(), pending.get(k % n)) else {
                    return;
                };
                let (first, second) = (first.clone(), second.clone());
                let (u1, g1) = self.approval(&first, false, None);
                let (u2, g2) = self.approval(&second, false, None);
                let owner = self.owner(0);
                let ops = [(&first, &u1), (&second, &u2)].map(|(q, u)| {
                    let update = u.clone();
                    Operation::Approve {
                        request: q.id,
                        update,
                    }
                });
                let [o1, o2] = ops.map(|op| self.sign(owner, op, now));
                let [r1, r2] = self.race(via, &o1, &o2, true);
                self.approved(&second, &u2, &g2, r2, now);
                if r1 != Err(Error::Store(StoreError::Conflict)) {
                    return self.approved(&first, &u1, &g1, r1, now);
                }
                // The loser's exact retry is refused: its request was approved, or it grants
                // nothing new now, or its ACL version is taken. The owner plans it again.
                let retry = self.run(via, &o1, now);
                let held = |s: &usize| match first.right {
                    Right::Read(_) => self.model.sections[*s].readers.contains_key(&first.p),
                    Right::Write => self.model.sections[*s].writers.contains(&first.p),
                };
                if first.id == second.id {
                    assert!(
                        matches!(retry, Err(Error::IllegalTransition { .. })),
                        "{retry:?}"
                    );
                } else if g1.iter().all(|(s, _)| held(s)) {
                    assert_eq!(retry, Err(refused(Refusal::ApprovalMismatch)));
                } else {
                    let stale = matches!(
                        retry,
                        Err(Error::AclRejected {
                            problem: AclProblem::Stale { .. } | AclProblem::AlreadySeen,
                            ..
                        })
                    );
                    assert!(stale, "{retry:?}");
                }
                let again = self.model.requests.iter().find(|q| q.id == first.id);
                let again = again.cloned().unwrap();
                self.approve(via, &again, false, None, now);
            }
            Race::RevokeRead { pick, reader_first } => {
                let mut pairs = self.readable();
                if pairs.is_empty() {
                    // Make one: an active writer writes where an active reader reads.
                    let active = |p: &&usize| self.model.active(**p).is_ok();
                    let target = (0..SECTIONS).find_map(|s| {
                        let sec = &self.model.sections[s];
                        let read = sec.live && sec.readers.keys().any(|p| active(&p));
                        Some((*sec.writers.iter().find(active).filter(|_| read)?, s))
                    });
                    if let Some((h, s)) = target {
                        self.write(1 - via, h, s, false);
                        pairs = self.readable();
                    }
                }
                let Some(&(p, e)) = pairs.get(pick % pairs.len().max(1)) else {
                    return;
                };
                let s = self.entries[e].section;
                let (section, reader) = (c.sections[s], fingerprint(p));
                let update = self.owner_update(&[Change::RevokeRead { section, reader }]);
                let update = update.unwrap();
                let apply = Operation::ApplyUpdate(update.clone());
                let revoke = self.sign(self.owner(0), apply, now);
                let read = self.read_op(p, &[e]);
                if reader_first {
                    // The revocation commits first: the re-encryption planned before it
                    // fails, hands out nothing, and when retried is refused.
                    let [r1, r2] = self.race(via, &read, &revoke, true);
                    let conflict = Err(Error::Store(StoreError::Conflict));
                    assert_eq!([r1, r2], [conflict, Ok(Response::Done)]);
                    self.model.revoke_read(p, s);
                    self.commit_acl(&update);
                    let retry = self.run(via, &read, now);
                    self.check_items(p, &[e], &retry);
                } else {
                    // The re-encryption commits first: it is served, and it appended its
                    // disclosure to the record's log, whose head the revocation read too:
                    // the revocation conflicts, and its retry commits.
                    let [r1, r2] = self.race(via, &revoke, &read, true);
                    self.check_items(p, &[e], &r2);
                    assert_eq!(r1, Err(Error::Store(StoreError::Conflict)));
                    assert_eq!(self.run(via, &revoke, now), Ok(Response::Done));
                    self.model.revoke_read(p, s);
                    self.commit_acl(&update);
                }
            }
            Race::Register { p, rival } => {
                let (keys, id) = match rival {
                    0 => (&c.people[p], pid(p)),
                    1 => (&c.spare, pid(p)),
                    _ => (&c.people[p], OTHER),
                };
                let bundle = keys.bundle();
                let body = Operation::Register {
                    role: role(p),
                    bundle,
                };
                let first = self.sign(Client::new(keys, id, self.id), body, now);
                let second = self.sign(self.person(p), register(p), now);
                let what = if id == OTHER {
                    "key bundle"
                } else {
                    "principal"
                };
                let taken = Err(Error::AlreadyExists { what });
                let was = self.model.registry[p];
                let [r1, r2] = self.race(via, &first, &second, true);
                self.registered(p, r2);
                if was.is_some() {
                    assert_eq!(r1, taken);
                } else {
                    assert_eq!(self.run(via, &first, now), taken);
                }
            }
            Race::CreateRecord { winner } => {
                let n = self.extra.len();
                let record = c.owners[0].record_id(&format!("race {n}")).unwrap();
                let notes = SectionName::new("notes").unwrap();
                let [u1, u2] = [1 - winner, winner].map(|o| {
                    let section = c.owners[o].section_id(&notes);
                    let changes = [Change::AddSection { section }];
                    c.owners[o].create_record(record, UNTIL, &changes, &mut self.rng)
                });
                let (u1, u2) = (u1.unwrap(), u2.unwrap());
                let acl = u2.acl().clone();
                let first = self.sign(self.owner(1 - winner), Operation::ApplyUpdate(u1), now);
                let second = self.sign(self.owner(winner), Operation::ApplyUpdate(u2), now);
                let [_, r2] = self.race(via, &first, &second, true);
                assert_eq!(r2, Ok(Response::Done));
                let retry = self.run(via, &first, now);
                assert_eq!(retry, Err(refused(Refusal::NotOwner)));
                assert_eq!(
                    self.srs[via].borrow().acl(record).unwrap(),
                    Some(acl.clone())
                );
                self.extra.push((record, acl));
            }
            Race::Submit { h, s, same } => {
                let acl = self.current().clone();
                let (section, n) = (c.sections[s], self.entries.len());
                let mut seal = |i: usize| {
                    let plaintext = format!("entry {} by hospital {h} at once", n + i).into_bytes();
                    let r = c.people[h].seal_entry(&acl, section, &plaintext, now, &mut self.rng);
                    r.ok().map(|e| (e, plaintext))
                };
                let (Some(one), Some(two)) = (seal(0), seal(1)) else {
                    return;
                };
                let two = if same { one.clone() } else { two };
                let epoch = acl.section(&section).unwrap().epoch().get();
                let [first, second] = [&two, &one].map(|(e, _)| e.submission());
                let writer = self.person(h);
                let [first, second] = [first, second].map(|op| self.sign(writer, op, now));
                let [r1, r2] = self.race(via, &first, &second, true);
                let expected = self.model.may_write(h, s, epoch);
                self.submitted(h, s, epoch, one.0, one.1, r2);
                match (expected, same) {
                    (Err(reason), _) => assert_eq!(r1.map(drop), Err(refused(reason))),
                    (Ok(()), true) => {
                        let retry = self.run(via, &first, now);
                        assert_eq!(retry, Err(Error::AlreadyExists { what: "entry" }));
                    }
                    (Ok(()), false) => {
                        let retry = self.run(via, &first, now);
                        self.submitted(h, s, epoch, two.0, two.1, retry);
                    }
                }
            }
            Race::Nonce { p, mask } => {
                let secs = mask_sections(mask);
                let (read, write) = (Right::Read(None), Right::Write);
                let mut nonce = [0u8; 16];
                self.rng.fill_bytes(&mut nonce);
                let [first, second] = [write, read].map(|right| {
                    let body = self.request_op(right, &secs);
                    self.sign_with_nonce(self.person(p), body, nonce)
                });
                let [r1, r2] = self.race(via, &first, &second, true);
                let refusal = r2.clone().err();
                self.filed(p, read, secs, r2);
                match refusal {
                    Some(e) => assert_eq!(r1, Err(e)),
                    None => {
                        let retry = self.run(via, &first, now);
                        assert_eq!(retry, Err(refused(Refusal::Replayed)));
                    }
                }
            }
        }
    }
}
