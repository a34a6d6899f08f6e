//! What the model test (`tests/model.rs`) expects of each answer the SRS gives, and the
//! checks of the whole state: after every step, and at the end of a sequence.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use sesphr::phr::{
    Epoch, Fingerprint, RequestId, RequestState, Right, SealedEntry, SectionId, Timestamp,
};
use sesphr::srs::{MemoryStore, Refusal, Response, Srs, SrsConfig};
use sesphr::Error;

use super::model_ops::{Grants, Outcome, Req};
use super::*;

impl World {
    /// The login answer the model expects for `id`.
    pub(super) fn status(&self, id: PrincipalId) -> Outcome {
        let person = (0..CAST).find(|p| pid(*p) == id);
        let (role, active) = match person.map(|p| (p, self.model.registry[p])) {
            _ if id == ADMIN => (Role::Admin, true),
            _ if OWNERS.contains(&id) => (Role::Patient, true),
            Some((p, Some(active))) => (role(p), active),
            _ => return Err(refused(Refusal::UnknownPrincipal)),
        };
        Ok(Response::Status { role, active })
    }

    pub(super) fn registered(&mut self, p: usize, r: Outcome) {
        if self.model.registry[p].is_some() {
            assert_eq!(r, Err(Error::AlreadyExists { what: "principal" }));
        } else {
            assert_eq!(r, Ok(Response::Done));
            self.model.registry[p] = Some(false);
        }
    }

    pub(super) fn filed(&mut self, p: usize, right: Right, secs: Vec<usize>, r: Outcome) {
        let gone = secs.iter().any(|s| !self.model.sections[*s].live);
        match self.model.active(p) {
            Err(reason) => assert_eq!(r, Err(refused(reason))),
            Ok(()) if gone => assert_eq!(r, Err(refused(Refusal::UnknownSection))),
            Ok(()) => {
                let Ok(Response::RequestFiled(id)) = r else {
                    panic!("{r:?}")
                };
                let req = self.srs[0].borrow().request(id).unwrap().unwrap();
                assert_eq!((req.requester(), req.right()), (pid(p), right));
                let (state, at) = (RequestState::Pending, self.now);
                let req = Req {
                    id,
                    p,
                    right,
                    secs,
                    state,
                    at,
                };
                self.model.requests.push(req);
            }
        }
    }

    /// Checks an approval's result against the model, and applies it there.
    pub(super) fn approved(
        &mut self,
        req: &Req,
        update: &AclUpdate,
        grants: &Grants,
        r: Outcome,
        at: Timestamp,
    ) {
        let c = cast();
        if req.state != RequestState::Pending {
            assert!(matches!(r, Err(Error::IllegalTransition { .. })), "{r:?}");
            return;
        }
        if grants.is_empty() {
            assert_eq!(r, Err(refused(Refusal::ApprovalMismatch)));
            return;
        }
        // Approved only if every section asked for is granted now, each from an epoch no
        // later than the history asked for wants (after the update).
        let mut as_asked = grants.len() == req.secs.len();
        for &(s, given) in grants {
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
        assert_eq!(
            r,
            Ok(Response::Approved(outcome)),
            "{req:?} granted {grants:?}"
        );
        self.commit_acl(update);
        // An instance whose clock is behind stamps the request's last time (SPEC §7).
        self.set_state(req.id, outcome, at.max(req.at));
        let granted: Vec<SectionId> = grants.iter().map(|g| c.sections[g.0]).collect();
        let srs_req = self.srs[1].borrow().request(req.id).unwrap().unwrap();
        assert_eq!(srs_req.granted(), granted);
        if matches!(req.right, Right::Read(_)) {
            for &(s, _) in grants {
                self.check_predecessor_sealed(req.p, s);
            }
        }
    }

    /// Checks a rejection's or withdrawal's result (`actor`: whether the actor may act).
    pub(super) fn closed(
        &mut self,
        req: &Req,
        to: RequestState,
        actor: Result<(), Refusal>,
        r: Outcome,
        at: Timestamp,
    ) {
        match actor {
            Err(reason) => assert_eq!(r, Err(refused(reason))),
            Ok(()) if req.state == RequestState::Pending => {
                assert_eq!(r, Ok(Response::Done));
                self.set_state(req.id, to, at.max(req.at));
            }
            Ok(()) => assert!(matches!(r, Err(Error::IllegalTransition { .. })), "{r:?}"),
        }
    }

    /// Checks the write gate's answer to an entry against the model, and books the entry.
    pub(super) fn submitted(
        &mut self,
        h: usize,
        s: usize,
        epoch: u32,
        entry: SealedEntry,
        plaintext: Vec<u8>,
        r: Outcome,
    ) {
        let header = *entry.header();
        let receipt = match (self.model.may_write(h, s, epoch), r) {
            (Ok(()), Ok(Response::Accepted(receipt))) => {
                let accepted = receipt.verify(&self.vk, &header).unwrap();
                assert_eq!(receipt.acl_version(), self.current().version());
                let named = &self.versions[header.acl_version().get() as usize - 1];
                let opened = cast().owners[0].open_entry(&entry, &accepted, named);
                assert_eq!(opened.unwrap(), plaintext);
                Some(*receipt)
            }
            (Err(reason), Err(e)) => {
                let Error::NotAuthorized {
                    refusal, section, ..
                } = e
                else {
                    panic!("writer {h} section {s}: {e:?}")
                };
                assert_eq!(refusal, reason, "writer {h} section {s}");
                // The write gate names the section once it has found it in the ACL.
                if matches!(reason, Refusal::UnknownSection | Refusal::NoWriteRight)
                    && header.writer() == fingerprint(h)
                {
                    assert_eq!(section, Some(header.section()), "writer {h} section {s}");
                }
                None
            }
            (exp, got) => panic!("writer {h}: model says {exp:?}, SRS says {got:?}"),
        };
        let stored = self.srs[1].borrow().receipt(self.record(), header.entry());
        assert_eq!(stored.unwrap(), receipt);
        self.entries.push(Entry {
            entry,
            plaintext,
            section: s,
            epoch,
            receipt,
        });
    }

    /// Checks a batch's results: what the model allows decrypts, the rest is refused.
    pub(super) fn check_items(&self, p: usize, idx: &[usize], r: &Outcome) {
        if let Err(reason) = self.model.active(p) {
            return assert_eq!(r, &Err(refused(reason)), "reader {p}");
        }
        let Ok(Response::Reencrypted { items, .. }) = r else {
            panic!("reader {p}: {r:?}")
        };
        assert_eq!(items.len(), idx.len());
        for (item, &e) in items.iter().zip(idx) {
            let entry = &self.entries[e];
            let expected = match entry.receipt {
                None => Err(Refusal::UnknownEntry),
                Some(_) => self.model.may_read(p, entry.section, entry.epoch),
            };
            match (expected, item) {
                (Ok(()), Ok(item)) => {
                    let (header, receipt) = (entry.entry.header(), entry.receipt.as_ref());
                    assert_eq!(item.entry, header.entry());
                    assert_eq!(&item.key_block, entry.entry.key_block());
                    let accepted = receipt.unwrap().verify(&self.vk, header).unwrap();
                    let named = &self.versions[header.acl_version().get() as usize - 1];
                    let sealed = entry.entry.clone().with_key_block(item.key_block);
                    let pt = cast().people[p]
                        .open_entry(&sealed, &accepted, &item.recapsule, named)
                        .expect("allowed read decrypts");
                    assert_eq!(pt, entry.plaintext);
                }
                (Err(reason), Err(got)) => assert_eq!(*got, reason, "reader {p} entry {e}"),
                (exp, got) => panic!(
                    "reader {p} entry {e}: model says {exp:?}, SRS says {:?}",
                    got.as_ref().map(drop)
                ),
            }
        }
    }

    /// The attack SPEC §7 closes: a reader granted read on a removed and re-added section,
    /// even with `History::All`, must be refused every entry of the removed predecessor
    /// (`check_state` finds no key for its epochs either).
    pub(super) fn check_predecessor_sealed(&mut self, p: usize, s: usize) {
        let first = self.model.sections[s].first;
        let old = self.entries.iter().enumerate();
        let old = old.filter(|(_, e)| e.section == s && e.epoch < first && e.receipt.is_some());
        let idx: Vec<usize> = old.map(|(i, _)| i).collect();
        if idx.is_empty() {
            return;
        }
        let served = self.read(p % 2, p, &idx);
        assert_eq!(
            served, 0,
            "reader {p} reached section {s}'s removed predecessor"
        );
    }

    /// The store's key, replay and head rows against the model, and the ACL.
    pub(super) fn check_state(&self) {
        let c = cast();
        let record = self.record();
        let rows = self.rows();
        let tails = |kind: u8| -> BTreeSet<Vec<u8>> {
            let rows = rows.iter().filter(|r| r.key[0] == kind);
            rows.map(|r| r.key[1..].to_vec()).collect()
        };
        // Key rows: record ‖ section ‖ epoch (u32 BE) ‖ reader fingerprint.
        let mut keys = BTreeSet::new();
        let live = self
            .model
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.live);
        for (s, sec) in live {
            for (&p, &from) in &sec.readers {
                for epoch in from..=sec.epoch {
                    let (section, epoch) = (c.sections[s], epoch.to_be_bytes());
                    let fp = fingerprint(p);
                    let parts: [&[u8]; 4] =
                        [record.as_bytes(), section.as_bytes(), &epoch, fp.as_bytes()];
                    keys.insert(parts.concat());
                }
            }
        }
        assert_eq!(tails(KEY_ROW), keys, "key rows");
        let nonces = self
            .nonces
            .keys()
            .map(|(p, n)| [p.as_bytes().as_slice(), n.as_slice()].concat());
        assert_eq!(tails(REPLAY_ROW), nonces.collect(), "replay rows");
        assert_eq!(tails(REPLAY_EXPIRY_ROW).len(), self.nonces.len());
        let head = [&[HEAD_ROW][..], record.as_bytes()].concat();
        let head = rows
            .iter()
            .find(|r| r.key == head)
            .expect("the record's head row");
        assert!(head.value.ends_with(&self.acl.to_bytes()), "head row's ACL");
        // The ACL agrees with the model's epochs and members.
        let acl = self.current();
        assert_eq!(acl.default_history(), DEFAULT_HISTORY);
        for (s, sec) in self.model.sections.iter().enumerate() {
            let Some(policy) = acl.section(&c.sections[s]) else {
                assert!(!sec.live, "section {s} missing from the ACL");
                continue;
            };
            assert!(sec.live, "removed section {s} still in the ACL");
            assert_eq!(policy.epoch(), Epoch::new(sec.epoch), "section {s}");
            assert_eq!(policy.first(), Epoch::new(sec.first), "section {s}");
            let readers: BTreeMap<Fingerprint, Epoch> =
                policy.readers().map(|(fp, g)| (*fp, g.from)).collect();
            let model = sec.readers.iter();
            let model = model.map(|(p, from)| (fingerprint(*p), Epoch::new(*from)));
            assert_eq!(readers, model.collect(), "readers of section {s}");
            let writers: BTreeSet<Fingerprint> = policy.writers().map(|(fp, _)| *fp).collect();
            let model = sec.writers.iter().map(|h| fingerprint(*h)).collect();
            assert_eq!(writers, model, "writers of section {s}");
        }
    }

    pub(super) fn pick_request(&self, k: usize) -> Option<Req> {
        let reqs = &self.model.requests;
        if reqs.is_empty() {
            return None;
        }
        let q = match reqs.iter().rposition(|q| q.state == RequestState::Pending) {
            Some(i) if k == 0 => &reqs[i],
            _ => &reqs[reqs.len() - 1 - k % reqs.len()],
        };
        let srs_req = self.srs[0].borrow().request(q.id).unwrap();
        let srs_req = srs_req.expect("model and SRS agree on open requests");
        assert_eq!(srs_req.state(), q.state);
        assert_eq!(srs_req.history().last().map(|h| h.1), Some(q.at));
        Some(q.clone())
    }

    pub(super) fn set_state(&mut self, id: RequestId, state: RequestState, at: Timestamp) {
        let q = self.model.requests.iter_mut().find(|q| q.id == id).unwrap();
        let created = q.at;
        (q.state, q.at) = (state, at);
        let req = self.srs[0].borrow().request(id).unwrap().unwrap();
        let history = [(RequestState::Pending, created), (state, at)];
        assert_eq!(req.history(), history);
    }

    pub(super) fn finish(&mut self) {
        let c = cast();
        for s in 0..SECTIONS {
            let live = self.model.sections[s].live;
            for p in (HOSPITALS..CAST).filter(|_| live) {
                self.check_predecessor_sealed(p, s);
            }
        }
        let n = self.entries.len();
        let recent: Vec<usize> = (n.saturating_sub(3)..n).collect();
        for p in (0..CAST).filter(|_| n > 0) {
            self.read(p % 2, p, &recent);
        }
        let report = self.srs[0].borrow().audit().unwrap();
        assert!(report.is_clean(), "audit: {:?}", report.problems);

        // A fresh handle over a copy of the rows answers as the shared ones do.
        let rows = MemoryStore::from_rows(self.rows());
        let mut copy = Srs::new(rows, c.srs_key.clone(), NAME, SrsConfig::default());
        let srs = Rc::clone(&self.srs[1]);
        let srs = srs.borrow();
        let record = self.record();
        assert_eq!(copy.acl(record).unwrap().as_ref(), Some(&self.acl));
        for (record, acl) in &self.extra {
            assert_eq!(copy.acl(*record).unwrap().as_ref(), Some(acl));
        }
        let ids = (0..CAST).map(pid).chain([ADMIN, OTHER]).chain(OWNERS);
        for id in ids {
            let reg = copy.principal(id).unwrap();
            assert_eq!(reg, srs.principal(id).unwrap());
            let status = reg.map(|r| Response::Status {
                role: r.role,
                active: r.active,
            });
            assert_eq!(
                status.ok_or(refused(Refusal::UnknownPrincipal)),
                self.status(id)
            );
        }
        let mut open: Vec<RequestId> = self.model.requests.iter().map(|q| q.id).collect();
        for q in &self.model.requests {
            let req = copy.request(q.id).unwrap();
            assert_eq!(req, srs.request(q.id).unwrap());
            assert_eq!(req.map(|r| r.state()), Some(q.state));
        }
        open.sort();
        assert_eq!(copy.requests_of_owner(OWNERS[0], None, 1000).unwrap(), open);
        for (s, section) in c.sections.iter().enumerate() {
            let accepted = self
                .entries
                .iter()
                .filter(|e| e.section == s && e.receipt.is_some());
            let mut ids: Vec<_> = accepted.map(|e| e.entry.header().entry()).collect();
            ids.sort();
            assert_eq!(copy.entries(record, *section, None, 1000).unwrap(), ids);
        }
        for p in HOSPITALS..CAST {
            let reads = self
                .model
                .sections
                .iter()
                .any(|s| s.live && s.readers.contains_key(&p));
            let records = copy.records_of_reader(&fingerprint(p), None, 10).unwrap();
            assert_eq!(
                records,
                if reads { vec![record] } else { vec![] },
                "reader {p}"
            );
        }
        for e in &self.entries {
            let id = e.entry.header().entry();
            assert_eq!(copy.receipt(record, id).unwrap(), e.receipt);
        }
        drop(srs);
        for p in (0..CAST).filter(|_| n > 0) {
            let op = self.read_op(p, &recent);
            let r = copy.execute(&op.op, self.now, &mut self.rng);
            self.check_items(p, &recent, &r);
        }
    }
}
