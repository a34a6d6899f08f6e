//! Records: the newest owner-signed ACL (the head), every earlier version, the re-encryption
//! key rows and the key-set leaves that check them (SPEC §4, §7, §8).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::merkle::{self, Hash};
use crate::phr::keyset::{key_ids, key_leaf, AclHash};
use crate::phr::{succession, Acl, AclProblem, AclUpdate, AclVersion, ReKeyId, RecordId};
use crate::phr::{Fingerprint, Role, SignedAcl};
use crate::srs::handle::{refuse, Context};
use crate::srs::rows::{self, Head, Kind};
use crate::srs::store::Store;
use crate::srs::tx::Tx;
use crate::srs::Refusal;
use crate::Error;

pub(crate) fn head<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
) -> Result<Option<Head>, Error> {
    tx.get(&rows::head(record))?
        .map(|v| Head::decode(&v))
        .transpose()
}

pub(crate) fn acl_version<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
    version: AclVersion,
) -> Result<Option<SignedAcl>, Error> {
    tx.get(&rows::acl_version(record, version))?
        .map(|v| rows::decode_acl_version(&v))
        .transpose()
}

/// The stored leaves of a record's key set, in key-id order (none for a new record).
pub(crate) fn leaves<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    record: RecordId,
) -> Result<Vec<(ReKeyId, Hash)>, Error> {
    tx.get(&rows::leaves(record))?
        .map_or(Ok(Vec::new()), |v| rows::decode_leaves(&v))
}

fn readers(acl: Option<&Acl>) -> BTreeSet<Fingerprint> {
    acl.map_or_else(BTreeSet::new, |a| {
        a.sections()
            .flat_map(|(_, p)| p.readers().map(|(fp, _)| *fp))
            .collect()
    })
}

/// Checks an owner's update against the record's head and writes it: the new head and ACL
/// version, the key rows added and deleted, the new leaves, the reader index. Work and rows
/// are bounded by the update and the record's ACL, never by the deployment.
pub(crate) fn apply<S: Store>(
    ctx: &mut Context<'_, '_, S>,
    update: &AclUpdate,
) -> Result<(), Error> {
    if ctx.actor.role != Role::Patient {
        return refuse(Refusal::NotOwner);
    }
    let signed = update.acl();
    let acl = signed.acl_unverified();
    let record = acl.record();
    let current = ctx.head_opt(record)?;
    if let Some(h) = &current {
        if h.owner != ctx.op.principal {
            return refuse(Refusal::NotOwner);
        }
        let seen = h.acl.acl_unverified().version();
        if acl.version() == seen {
            return Err(Error::acl_rejected(acl, AclProblem::AlreadySeen));
        }
        if acl.version() < seen {
            return Err(Error::acl_rejected(acl, AclProblem::Stale { seen }));
        }
    }
    if *acl.owner() != ctx.actor.bundle {
        return Err(Error::acl_rejected(acl, AclProblem::WrongOwner));
    }
    signed.verify(ctx.actor.bundle.signing_key())?;
    if acl.not_after() < ctx.now {
        return Err(Error::acl_rejected(
            acl,
            AclProblem::Expired {
                not_after: acl.not_after(),
                now: ctx.now,
            },
        ));
    }
    let previous = current.as_ref().map_or(AclHash::GENESIS, |h| h.acl.hash());
    if acl.previous() != previous {
        return Err(Error::acl_rejected(acl, AclProblem::BrokenChain));
    }
    check_limits(ctx, acl, update)?;
    let old_acl = current.as_ref().map(|h| h.acl.acl_unverified());
    succession::check(old_acl, acl)?;

    // Key ids: exactly the difference the new ACL implies, each list in order.
    let wanted = key_ids(acl, ctx.limits.keys_per_record)?;
    let stored = leaves(ctx.tx, record)?;
    let in_order = |ids: &mut dyn Iterator<Item = ReKeyId>| {
        let mut last: Option<ReKeyId> = None;
        for id in ids {
            if last.is_some_and(|l| l >= id) {
                return false;
            }
            last = Some(id);
        }
        true
    };
    if !in_order(&mut update.keys_to_add().iter().map(|g| g.id))
        || !in_order(&mut update.keys_to_delete().iter().copied())
    {
        return refuse(Refusal::KeyMaterialMismatch);
    }
    let stored_ids: BTreeSet<ReKeyId> = stored.iter().map(|(id, _)| *id).collect();
    let wanted_set: BTreeSet<ReKeyId> = wanted.iter().copied().collect();
    let exact = update
        .keys_to_add()
        .iter()
        .map(|g| g.id)
        .eq(wanted.iter().copied().filter(|id| !stored_ids.contains(id)))
        && update.keys_to_delete().iter().copied().eq(stored_ids
            .iter()
            .copied()
            .filter(|id| !wanted_set.contains(id)));
    if !exact {
        return refuse(Refusal::KeyMaterialMismatch);
    }
    // Every added key is the one the owner committed to, at its place.
    for g in update.keys_to_add() {
        let at = wanted.binary_search(&g.id).ok().map(|i| i as u64);
        if at != Some(g.proof.index()) || !acl.key_set().contains(&g.id, &g.rekey, &g.proof) {
            return refuse(Refusal::KeyNotCommitted);
        }
    }
    // The new leaves: the kept ones and the added ones, in order; they must make the root.
    let mut added = update.keys_to_add().iter().peekable();
    let mut kept = stored
        .iter()
        .filter(|(id, _)| wanted_set.contains(id))
        .peekable();
    let mut new_leaves = Vec::with_capacity(wanted.len());
    for id in &wanted {
        if let Some(g) = added.next_if(|g| g.id == *id) {
            new_leaves.push((*id, key_leaf(id, &g.rekey)));
        } else if let Some((_, h)) = kept.next_if(|(k, _)| k == id) {
            new_leaves.push((*id, *h));
        } else {
            return refuse(Refusal::KeyMaterialMismatch);
        }
    }
    let root = merkle::root(&new_leaves.iter().map(|(_, h)| *h).collect::<Vec<_>>());
    if root != *acl.key_set().root() {
        return refuse(Refusal::KeyNotCommitted);
    }

    // Writes.
    for id in update.keys_to_delete() {
        ctx.tx.delete(rows::rekey(id));
    }
    for g in update.keys_to_add() {
        ctx.tx.put(rows::rekey(&g.id), rows::encode_rekey(&g.rekey));
    }
    ctx.tx
        .put(rows::leaves(record), rows::encode_leaves(&new_leaves));
    let (before, after) = (readers(old_acl), readers(Some(acl)));
    for fp in after.difference(&before) {
        ctx.tx.put(
            rows::reader_grant(fp, record),
            rows::empty(Kind::ReaderGrant),
        );
    }
    for fp in before.difference(&after) {
        ctx.tx.delete(rows::reader_grant(fp, record));
    }
    let new_head = Head {
        owner: ctx.op.principal,
        version: current.as_ref().map_or(1, |h| h.version.saturating_add(1)),
        acl: signed.clone(),
    };
    ctx.tx.put(rows::head(record), new_head.encode());
    ctx.tx.put(
        rows::acl_version(record, acl.version()),
        rows::encode_acl_version(signed),
    );
    let hash = signed.hash();
    ctx.emit(
        record,
        hash,
        crate::log::Event::AclApplied {
            version: acl.version(),
            acl: hash,
        },
    )?;
    Ok(())
}

fn check_limits<S: Store>(
    ctx: &Context<'_, '_, S>,
    acl: &Acl,
    update: &AclUpdate,
) -> Result<(), Error> {
    let l = ctx.limits;
    let exceeded = |what, limit: usize| {
        Err(Error::LimitExceeded {
            what,
            limit: limit as u64,
        })
    };
    let changes = update
        .keys_to_add()
        .len()
        .saturating_add(update.keys_to_delete().len());
    if changes > l.key_changes_per_update {
        return exceeded("key changes per update", l.key_changes_per_update);
    }
    if acl.sections().count() > l.sections_per_record {
        return exceeded("sections per record", l.sections_per_record);
    }
    for (_, p) in acl.sections() {
        if p.readers().count() > l.readers_per_section {
            return exceeded("readers per section", l.readers_per_section);
        }
        if p.writers().count() > l.writers_per_section {
            return exceeded("writers per section", l.writers_per_section);
        }
    }
    Ok(())
}
