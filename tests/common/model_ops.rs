//! The model test's steps (`tests/model.rs`): what a sequence is made of, and the plain
//! reference model of who may read and write what that the SRS is checked against.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use sesphr::phr::{
    Epoch, History, RequestAction as Action, RequestId, RequestState, Right, Timestamp,
};
use sesphr::srs::{Refusal, Response};
use sesphr::Error;

use super::{CAST, HOSPITALS, SECTIONS};

/// One step, run through handle `via` (a race's first planned operation runs there, the
/// other through the other handle). Requests are picked by `k`: 0 is the newest pending one
/// (if any), others count back from the newest. `Approve` grants every asked-for section the
/// requester lacks, or only the first of them (`one`), with the history asked for or
/// `history` instead. `Backdated` runs `action` on an instance whose clock is `back` before
/// the request's last recorded time. `AddSection` re-adds a removed section and then, in a
/// later version, grants it to `grant`'s (reader, writer), the reader with `History::All`.
/// `Write` seals to the current ACL or (`stale`) to the newest earlier one that lists the
/// writer.
/// `Read` asks for `n` entries from `e` in one batch. `Replay` retries a committed
/// operation exactly, `ReuseNonce` signs a login with its nonce, `Expire` moves the clock
/// past every replay row's life and expires them.
#[derive(Clone, Debug)]
pub enum Op {
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
    Delete { k: usize, by_owner: bool },
    Write { h: usize, s: usize, stale: bool },
    Read { p: usize, e: usize, n: usize },
    Revoke { p: usize, s: usize },
    RevokeWrite { h: usize, s: usize },
    Rotate(usize),
    Rewrap(usize),
    RemoveSection(usize),
    AddSection { s: usize, grant: Grant },
    Replay(usize),
    ReuseNonce(usize),
    Expire,
    Race(Race),
}

/// Two operations at once: the first planned runs through `via`, the second commits between
/// the first's reads and its commit.
#[derive(Clone, Debug)]
pub enum Race {
    /// The owner approves the newest pending request and the `k`-th pending one (perhaps the
    /// same), each with an update of the same ACL version.
    Approvals { k: usize },
    /// A reader's re-encryption of an entry it may read (the pair `pick` chooses) and the
    /// owner revoking it; `reader_first`: the re-encryption is planned first.
    RevokeRead { pick: usize, reader_first: bool },
    /// `p` registers while a rival registers `p`'s id with `p`'s keys (0), with an
    /// impostor's keys (1), or another id with `p`'s keys (2).
    Register { p: usize, rival: u8 },
    /// Both patients create the same record id; patient `winner` commits first.
    CreateRecord { winner: usize },
    /// Writer `h` submits one entry (`same`) or two entries of `s` through both handles.
    Submit { h: usize, s: usize, same: bool },
    /// `p` files two requests signed with one nonce.
    Nonce { p: usize, mask: u8 },
}

/// A history asked for (`None`: the ACL's default) or granted instead of the one asked for.
pub type Asked = Option<History>;
/// A (reader, hospital) to grant read and write.
pub type Grant = Option<(usize, usize)>;
/// Sections granted, with the history given.
pub type Grants = Vec<(usize, History)>;
pub type Outcome = Result<Response, Error>;

fn history() -> impl Strategy<Value = History> {
    prop_oneof![
        Just(History::None),
        Just(History::All),
        (0u32..3).prop_map(|e| History::FromEpoch(Epoch::new(e))),
    ]
}

fn race() -> impl Strategy<Value = Race> {
    prop_oneof![
        2 => (0usize..8).prop_map(|k| Race::Approvals { k }),
        2 => (any::<u8>(), any::<bool>())
            .prop_map(|(pick, reader_first)| Race::RevokeRead { pick: pick.into(), reader_first }),
        1 => (0..CAST, 0u8..3).prop_map(|(p, rival)| Race::Register { p, rival }),
        1 => (0usize..2).prop_map(|winner| Race::CreateRecord { winner }),
        2 => (0..HOSPITALS, 0..SECTIONS, any::<bool>())
            .prop_map(|(h, s, same)| Race::Submit { h, s, same }),
        1 => (0..CAST, 1u8..4).prop_map(|(p, mask)| Race::Nonce { p, mask }),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
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
        1 => (k(), any::<bool>()).prop_map(|(k, by_owner)| Op::Delete { k, by_owner }),
        4 => (h.clone(), s.clone(), proptest::bool::weighted(0.3))
            .prop_map(|(h, s, stale)| Op::Write { h, s, stale }),
        4 => (p, 0usize..16, 1usize..4).prop_map(|(p, e, n)| Op::Read { p, e, n }),
        1 => (r.clone(), s.clone()).prop_map(|(p, s)| Op::Revoke { p, s }),
        1 => (h.clone(), s.clone()).prop_map(|(h, s)| Op::RevokeWrite { h, s }),
        1 => s.clone().prop_map(Op::Rotate),
        1 => (0usize..16).prop_map(Op::Rewrap),
        2 => s.clone().prop_map(Op::RemoveSection),
        3 => (s, proptest::option::weighted(0.7, (r, h)))
            .prop_map(|(s, grant)| Op::AddSection { s, grant }),
        1 => (0usize..8).prop_map(Op::Replay),
        1 => (0usize..8).prop_map(Op::ReuseNonce),
        1 => Just(Op::Expire),
        5 => race().prop_map(Op::Race),
    ]
}

/// One section in the model.
#[derive(Default)]
pub struct Section {
    /// Whether it is in the ACL (not removed).
    pub live: bool,
    /// Its current epoch (while removed: the last one it had).
    pub epoch: u32,
    /// The epoch of its latest creation: no grant reaches before it.
    pub first: u32,
    /// Reader → first epoch it may read.
    pub readers: BTreeMap<usize, u32>,
    pub writers: BTreeSet<usize>,
}

/// An open (not deleted) request.
#[derive(Clone, Debug)]
pub struct Req {
    pub id: RequestId,
    pub p: usize,
    pub right: Right,
    pub secs: Vec<usize>,
    pub state: RequestState,
    /// The time of its last recorded action.
    pub at: Timestamp,
}

/// The reference model: plain sets and numbers, no cryptography.
#[derive(Default)]
pub struct Model {
    /// `None`: unregistered; `Some(active)`.
    pub registry: [Option<bool>; CAST],
    pub sections: [Section; SECTIONS],
    pub requests: Vec<Req>,
}

impl Model {
    pub fn active(&self, p: usize) -> Result<(), Refusal> {
        match self.registry[p] {
            None => Err(Refusal::UnknownPrincipal),
            Some(false) => Err(Refusal::Inactive),
            Some(true) => Ok(()),
        }
    }

    /// Whether an (active) reader `p` gets an accepted entry of `s` sealed at `epoch`.
    pub fn may_read(&self, p: usize, s: usize, epoch: u32) -> Result<(), Refusal> {
        let sec = &self.sections[s];
        if !sec.live {
            return Err(Refusal::UnknownSection);
        }
        match sec.readers.get(&p) {
            Some(from) if *from <= epoch => Ok(()),
            _ => Err(Refusal::NoReadRight),
        }
    }

    /// Whether the write gate accepts writer `h`'s entry of `s` sealed at `epoch`.
    pub fn may_write(&self, h: usize, s: usize, epoch: u32) -> Result<(), Refusal> {
        self.active(h)?;
        let sec = &self.sections[s];
        if !sec.live {
            Err(Refusal::UnknownSection)
        } else if !sec.writers.contains(&h) {
            Err(Refusal::NoWriteRight)
        } else if epoch != sec.epoch {
            Err(Refusal::KeyBlockNotCurrent)
        } else {
            Ok(())
        }
    }

    /// Grants `p` read on `s` with `history`; whether that is at least as far back as
    /// `asked` wants. `History::All` reaches back to the section's latest creation.
    pub fn grant_read(&mut self, p: usize, s: usize, history: History, asked: History) -> bool {
        let sec = &mut self.sections[s];
        // A grant without history rotates the section first.
        sec.epoch += u32::from(history == History::None);
        let from = |h| match h {
            History::FromEpoch(e) => e.get().max(sec.first),
            History::All => sec.first,
            History::None => sec.epoch,
        };
        let (given, wanted) = (from(history), from(asked));
        sec.readers.insert(p, given);
        given <= wanted
    }

    /// Revokes `p`'s read on `s` (the section rotates); whether it had it.
    pub fn revoke_read(&mut self, p: usize, s: usize) -> bool {
        let sec = &mut self.sections[s];
        let had = sec.readers.remove(&p).is_some();
        sec.epoch += u32::from(had);
        had
    }
}
