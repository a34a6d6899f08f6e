//! The SRS side of the disclosure log (SPEC §9): a record's log is its leaf rows, the rows
//! of its complete subtrees and a head row holding the newest signed checkpoint and the
//! frontier. An operation's events are appended in its own changeset — the event exists
//! exactly when the change committed — reading one row (the head) and writing the leaves,
//! at most `log2 n` finished subtrees and the head: `O(log n)` rows. Proofs read `O(log n)`
//! rows; an audit page reads its leaves.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::log::{
    self, AuditPage, Checkpoint, ConsistencyProof, Event, Frontier, KeyId, LogLeaf, LogProblem,
    Nodes, SignedCheckpoint, MAX_AUDIT_PAGE,
};
use crate::merkle::{Hash, InclusionProof};
use crate::phr::{AclHash, RecordId, Timestamp};
use crate::sign::SigningKey;
use crate::srs::rows::{self, Kind};
use crate::srs::store::{Store, StoreError};
use crate::srs::tx::Tx;
use crate::Error;

fn head_key(record: RecordId) -> Vec<u8> {
    rows::key(Kind::LogHead, &[record.as_bytes()])
}

fn leaf_key(record: RecordId, index: u64) -> Vec<u8> {
    rows::key(Kind::LogLeaf, &[record.as_bytes(), &index.to_be_bytes()])
}

fn node_key(record: RecordId, level: u8, index: u64) -> Vec<u8> {
    rows::key(
        Kind::LogNode,
        &[record.as_bytes(), &[level], &index.to_be_bytes()],
    )
}

/// The events one operation records, for one record, with the record's newest ACL hash
/// after the operation.
pub(crate) struct Pending {
    pub(crate) record: RecordId,
    pub(crate) acl: AclHash,
    pub(crate) events: Vec<Event>,
}

/// A log's head row: the newest signed checkpoint and the frontier of its tree.
pub(crate) struct LogHead {
    pub(crate) checkpoint: SignedCheckpoint,
    pub(crate) frontier: Frontier,
}

impl LogHead {
    fn encode(&self) -> Vec<u8> {
        let mut v = rows::value(Kind::LogHead, SignedCheckpoint::SIZE + 9 + 64 * 32);
        self.checkpoint.write(&mut v);
        self.frontier.encode(&mut v);
        v
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = rows::reader(bytes, Kind::LogHead, "log head row")?;
        let checkpoint = SignedCheckpoint::read(&mut r)?;
        let frontier = Frontier::decode(&mut r)?;
        r.finish()?;
        Ok(Self {
            checkpoint,
            frontier,
        })
    }
}

pub(crate) fn head<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
) -> Result<Option<LogHead>, Error> {
    tx.get(&head_key(record))?
        .map(|v| LogHead::decode(&v))
        .transpose()
}

/// The bytes of a leaf row's leaf.
pub(crate) fn leaf_bytes(row: &[u8]) -> Result<&[u8], Error> {
    let mut r = rows::reader(row, Kind::LogLeaf, "log leaf row")?;
    Ok(r.rest())
}

/// What an append returns: the new checkpoint, the last leaf and its inclusion proof in it.
pub(crate) struct Appended {
    pub(crate) checkpoint: SignedCheckpoint,
    pub(crate) last: LogLeaf,
    pub(crate) proof: InclusionProof,
}

/// Appends `pending`'s events (after a key-rotation event if the log's last checkpoint was
/// signed by another key), stamped with the record's clock, and signs the new checkpoint.
pub(crate) fn append<S: Store + ?Sized, R: RngCore + CryptoRng + ?Sized>(
    tx: &mut Tx<'_, S>,
    key: &SigningKey,
    key_id: KeyId,
    pending: Pending,
    now: Timestamp,
    rng: &mut R,
) -> Result<Appended, Error> {
    let record = pending.record;
    let (mut frontier, signer) = match head(tx, record)? {
        Some(h) => (h.frontier, Some(h.checkpoint.checkpoint_unverified().key)),
        None => (Frontier::new(), None),
    };
    let time = rows::stamp(tx, record, now)?;
    let rotated = signer
        .filter(|old| *old != key_id)
        .map(|old| Event::KeyRotated { old, new: key_id });
    let mut last = None;
    for event in rotated.into_iter().chain(pending.events) {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let leaf = LogLeaf::new(salt, record, time, event);
        let bytes = leaf.to_bytes();
        let index = frontier.size();
        let (proof, completed) = frontier.push(LogLeaf::hash_bytes(&bytes))?;
        let mut row = rows::value(Kind::LogLeaf, bytes.len());
        row.extend_from_slice(&bytes);
        tx.put(leaf_key(record, index), row);
        for (level, at, hash) in completed {
            let mut row = rows::value(Kind::LogNode, 32);
            row.extend_from_slice(&hash);
            tx.put(node_key(record, level, at), row);
        }
        last = Some((leaf, proof));
    }
    let Some((last, proof)) = last else {
        return Err(Error::InvalidChange {
            reason: "an append records at least one event",
        });
    };
    let checkpoint = Checkpoint {
        key: key_id,
        record,
        size: frontier.size(),
        root: frontier.root(),
        time,
        acl: pending.acl,
    }
    .sign(key, rng)?;
    tx.put(
        head_key(record),
        LogHead {
            checkpoint: checkpoint.clone(),
            frontier,
        }
        .encode(),
    );
    Ok(Appended {
        checkpoint,
        last,
        proof,
    })
}

/// Reads complete-subtree hashes of a record's log from the store (leaves hashed from
/// their rows).
struct RowNodes<'a, 't, S: Store + ?Sized> {
    tx: &'a mut Tx<'t, S>,
    record: RecordId,
}

impl<S: Store + ?Sized> Nodes for RowNodes<'_, '_, S> {
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Error> {
        if level == 0 {
            let row = self
                .tx
                .get(&leaf_key(self.record, index))?
                .ok_or(Error::NotFound {
                    what: "log leaf row",
                })?;
            return Ok(LogLeaf::hash_bytes(leaf_bytes(&row)?));
        }
        let row = self
            .tx
            .get(&node_key(self.record, level, index))?
            .ok_or(Error::NotFound {
                what: "log node row",
            })?;
        let mut r = rows::reader(&row, Kind::LogNode, "log node row")?;
        let h = r.array()?;
        r.finish()?;
        Ok(h)
    }
}

fn size<S: Store + ?Sized>(tx: &mut Tx<'_, S>, record: RecordId) -> Result<u64, Error> {
    Ok(head(tx, record)?.map_or(0, |h| h.frontier.size()))
}

/// The consistency proof from the first `from` leaves to the first `to`.
pub(crate) fn consistency<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
    from: u64,
    to: u64,
) -> Result<ConsistencyProof, Error> {
    if to > size(tx, record)? {
        return Err(Error::NotFound {
            what: "log of that size",
        });
    }
    log::consistency(&mut RowNodes { tx, record }, from, to)
}

/// The inclusion proof of leaf `index` in the first `size` leaves, and the leaf.
pub(crate) fn inclusion<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
    index: u64,
    tree_size: u64,
) -> Result<(LogLeaf, InclusionProof), Error> {
    if tree_size > size(tx, record)? {
        return Err(Error::NotFound {
            what: "log of that size",
        });
    }
    let proof = log::inclusion(
        &mut RowNodes {
            tx: &mut *tx,
            record,
        },
        index,
        tree_size,
    )?;
    let row = tx.get(&leaf_key(record, index))?.ok_or(Error::NotFound {
        what: "log leaf row",
    })?;
    Ok((LogLeaf::from_bytes(leaf_bytes(&row)?)?, proof))
}

/// One audit page: the newest checkpoint and up to [`MAX_AUDIT_PAGE`] leaves from `from`.
/// With a [`crate::srs::Staged`] store, one run lists every leaf row it is missing.
pub(crate) fn page<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
    from: u64,
) -> Result<AuditPage, Error> {
    let head = head(tx, record)?.ok_or(Error::NotFound { what: "log" })?;
    let total = head.frontier.size();
    if from > total {
        return Err(Error::Log(LogProblem::WrongPosition));
    }
    let end = total.min(from.saturating_add(MAX_AUDIT_PAGE as u64));
    let mut leaves = Vec::with_capacity((end - from) as usize);
    let mut missing = false;
    for index in from..end {
        match tx.get(&leaf_key(record, index)) {
            Ok(Some(row)) => leaves.push(LogLeaf::from_bytes(leaf_bytes(&row)?)?),
            Ok(None) => {
                return Err(Error::NotFound {
                    what: "log leaf row",
                })
            }
            Err(Error::Store(StoreError::NotFetched)) => missing = true,
            Err(e) => return Err(e),
        }
    }
    if missing {
        return Err(Error::Store(StoreError::NotFetched));
    }
    Ok(AuditPage {
        checkpoint: head.checkpoint,
        from,
        leaves,
    })
}

/// The operator's audit of every log: each head's checkpoint is signed by `srs_key` (a log
/// last appended to before a key rotation is reported until its next append re-signs it),
/// and the leaf rows, re-hashed in order, make its root and every stored subtree row.
/// `O(n)` rows per log.
pub(crate) fn audit<S: Store + ?Sized>(
    store: &S,
    srs_key: &crate::sign::VerifyingKey,
    report: &mut crate::srs::AuditReport,
) -> Result<(), Error> {
    let bad = |what| Error::invalid(what);
    let mine = KeyId::of(srs_key);
    crate::srs::audit::each(
        store,
        Kind::LogHead,
        |row| {
            let head = LogHead::decode(&row.value)?;
            let c = head.checkpoint.checkpoint_unverified();
            if head_key(c.record) != row.key {
                return Err(bad("log head"));
            }
            // A log last signed before a key rotation is re-signed by its next append;
            // until then the audit cannot check it and says so.
            if c.key != mine {
                return Err(Error::Log(LogProblem::WrongSigner));
            }
            head.checkpoint.verify(srs_key)?;
            let mut tx = Tx::new(store);
            let mut frontier = Frontier::new();
            for index in 0..c.size {
                let row = tx.get(&leaf_key(c.record, index))?.ok_or(bad("log leaf"))?;
                let bytes = leaf_bytes(&row)?;
                if LogLeaf::from_bytes(bytes)?.record() != c.record {
                    return Err(bad("log leaf"));
                }
                let (_, completed) = frontier.push(LogLeaf::hash_bytes(bytes))?;
                for (level, at, hash) in completed {
                    let mut nodes = RowNodes {
                        tx: &mut tx,
                        record: c.record,
                    };
                    if nodes.node(level, at)? != hash {
                        return Err(bad("log node"));
                    }
                }
            }
            if frontier != head.frontier || frontier.root() != c.root {
                return Err(bad("log root"));
            }
            Ok(())
        },
        report,
    )
}
