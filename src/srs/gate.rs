//! The two gates (SPEC §4, §8). The write gate accepts a new entry only from a writer the
//! newest ACL lets write the section, sealed to the section's current key, naming an ACL
//! version that already listed the writer, with a valid signature; it stores the header and
//! key block and signs a receipt. The re-encryption gate re-encrypts only accepted entries,
//! with the key block it stored, for an active reader the newest unexpired ACL lets read
//! that section and epoch, with a key row that checks against the owner's key-set
//! commitment.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::log::{DisclosedItem, Event};
use crate::merkle;
use crate::phr::keyset::key_leaf_bytes;
use crate::phr::{BodyHeader, EntryId, KeyBlock, ReKeyId, RecordId};
use crate::pre::ReKey;
use crate::sign::{Purpose, Signature};
use crate::srs::handle::{refuse, Context};
use crate::srs::receipt::Statement;
use crate::srs::rows::{self, EntryRow, Kind};
use crate::srs::store::Store;
use crate::srs::tx::Tx;
use crate::srs::{records, Receipt, Reencrypted, Refusal, Response, SrsId};
use crate::Error;

pub(crate) fn submit<S: Store, R: RngCore + CryptoRng + ?Sized>(
    mut ctx: Context<'_, '_, S>,
    header: &BodyHeader,
    key_block: &KeyBlock,
    body_hash: &[u8; 32],
    signature: &Signature,
    rng: &mut R,
) -> Result<Response, Error> {
    let fp = ctx.actor.bundle.fingerprint();
    if header.writer() != fp {
        return refuse(Refusal::NoWriteRight);
    }
    let record = header.record();
    let head = ctx.head(record)?;
    let acl = head.acl.acl_unverified();
    if acl.not_after() < ctx.now {
        return refuse(Refusal::AclExpired);
    }
    let section = header.section();
    let policy = acl.section_or_refused(section, None)?;
    let no_write = Error::refused_in(Refusal::NoWriteRight, section, None, Some(fp));
    if acl.writer(&section, &fp).is_none() {
        return Err(no_write);
    }
    if !key_block.belongs_to(header) {
        return refuse(Refusal::HeaderMismatch);
    }
    if !is_current(key_block, policy) {
        return refuse(Refusal::KeyBlockNotCurrent);
    }
    let named = header.acl_version();
    if named > acl.version() {
        return refuse(Refusal::FutureAclVersion);
    }
    if named != acl.version() {
        let old = records::acl_version(ctx.tx, record, named)?.ok_or(no_write.clone())?;
        ctx.check_owner_signed(&head, &old)?;
        if old.acl_unverified().writer(&section, &fp).is_none() {
            return Err(no_write);
        }
    }
    ctx.actor.bundle.signing_key().verify(
        Purpose::Entry,
        &[&header.hash(), body_hash],
        signature,
    )?;
    let key = rows::entry(record, header.entry());
    if ctx.tx.get(&key)?.is_some() {
        return Err(Error::AlreadyExists { what: "entry" });
    }
    let time = rows::stamp(ctx.tx, record, ctx.now)?;
    let receipt = Statement {
        srs: ctx.id,
        record,
        entry: header.entry(),
        header_hash: header.hash(),
        body_hash: *body_hash,
        acl_version: acl.version(),
        time,
    }
    .sign(ctx.key, rng)?;
    let row = EntryRow {
        header: *header,
        body_hash: *body_hash,
        signature: signature.to_bytes(),
        accepted: time,
        acl_version: acl.version(),
        receipt: receipt.signature.to_bytes(),
        key_block: *key_block,
    };
    ctx.tx.put(key, row.encode());
    ctx.tx.put(
        rows::section_entry(record, section, header.entry()),
        rows::empty(Kind::SectionEntry),
    );
    ctx.emit(
        record,
        head.acl.hash(),
        Event::EntryAccepted {
            entry: header.entry(),
            section,
            writer: fp,
        },
    )?;
    Ok(Response::Accepted(alloc::boxed::Box::new(receipt)))
}

/// Whether `key_block` is sealed to the section's current epoch and key.
fn is_current(key_block: &KeyBlock, policy: &crate::phr::SectionPolicy) -> bool {
    key_block.epoch() == policy.epoch() && key_block.section_key() == policy.key()
}

pub(crate) fn receipt<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    srs: SrsId,
    record: RecordId,
    entry: EntryId,
) -> Result<Option<Receipt>, Error> {
    let Some(v) = tx.get(&rows::entry(record, entry))? else {
        return Ok(None);
    };
    let row = EntryRow::decode(&v, false)?;
    Ok(Some(Receipt {
        statement: Statement {
            srs,
            record,
            entry,
            header_hash: row.header.hash(),
            body_hash: row.body_hash,
            acl_version: row.acl_version,
            time: row.accepted,
        },
        signature: Signature::from_bytes_trusted(&row.receipt)?,
    }))
}

pub(crate) fn reencrypt<S: Store>(
    mut ctx: Context<'_, '_, S>,
    record: RecordId,
    entries: &[EntryId],
) -> Result<Response, Error> {
    crate::srs::operation::check_batch(entries)?;
    let head = ctx.head(record)?;
    let acl = head.acl.acl_unverified();
    if acl.not_after() < ctx.now {
        return refuse(Refusal::AclExpired);
    }
    // The leaves row must make the owner-signed root (verified once per ACL and row version).
    let leaves_version = ctx.tx.version(&rows::leaves(record))?;
    let leaves = records::leaves(ctx.tx, record)?;
    if !ctx
        .cache
        .root_verified(record, acl.version(), leaves_version)
    {
        let hashes: Vec<merkle::Hash> = leaves.iter().map(|(_, h)| *h).collect();
        if merkle::root(&hashes) != *acl.key_set().root()
            || leaves.len() as u64 != acl.key_set().size()
        {
            return refuse(Refusal::KeyNotCommitted);
        }
        ctx.cache.put_root(record, acl.version(), leaves_version);
    }
    let fp = ctx.actor.bundle.fingerprint();
    // First every check and read, in order; then the pairings, as one batch (across cores
    // with the `rayon` feature).
    let mut checked = Vec::with_capacity(entries.len());
    for entry in entries {
        checked.push(one(&mut ctx, acl, *entry, &fp, &leaves)?);
    }
    let done = crate::par::map(checked, |item| {
        item.map(|p| {
            let recapsule = p.rk.reencrypt(p.key_block.capsule());
            let served = Reencrypted {
                entry: p.entry,
                key_block: p.key_block,
                recapsule,
            };
            (served, p.section)
        })
    });
    let mut items = Vec::with_capacity(done.len());
    let mut served = Vec::new();
    for item in done {
        items.push(item.map(|(r, section)| {
            served.push(DisclosedItem {
                entry: r.entry,
                section,
                epoch: r.key_block.epoch(),
            });
            r
        }));
    }
    if !served.is_empty() {
        let disclosed = Event::Disclosed {
            operation: ctx.op_hash,
            reader: fp,
            items: served,
        };
        ctx.emit(record, head.acl.hash(), disclosed)?;
    }
    Ok(Response::Reencrypted {
        items,
        receipt: None,
    })
}

/// An item of a batch that passed every check, waiting for its pairing.
struct Checked {
    entry: EntryId,
    section: crate::phr::SectionId,
    key_block: KeyBlock,
    rk: ReKey,
}

/// One item of a batch: store errors fail the whole operation, refusals only the item.
fn one<S: Store>(
    ctx: &mut Context<'_, '_, S>,
    acl: &crate::phr::Acl,
    entry: EntryId,
    fp: &crate::phr::Fingerprint,
    leaves: &[(ReKeyId, merkle::Hash)],
) -> Result<Result<Checked, Refusal>, Error> {
    let record = acl.record();
    let Some(row) = ctx.tx.get(&rows::entry(record, entry))? else {
        return Ok(Err(Refusal::UnknownEntry));
    };
    let row = EntryRow::decode(&row, false)?;
    let section = row.header.section();
    let epoch = row.key_block.epoch();
    let Some(policy) = acl.section(&section) else {
        return Ok(Err(Refusal::UnknownSection));
    };
    if !policy.can_read(fp, epoch) {
        return Ok(Err(Refusal::NoReadRight));
    }
    let id = ReKeyId {
        record,
        section,
        epoch,
        reader: *fp,
    };
    let Some(value) = ctx.tx.get(&rows::rekey(&id))? else {
        return Ok(Err(Refusal::NoKeyStored));
    };
    let Ok(bytes) = rows::rekey_bytes(&value) else {
        return Ok(Err(Refusal::KeyNotCommitted));
    };
    // The key row must be the leaf the owner committed to (the leaves were checked against
    // the owner-signed root above).
    let committed = leaves
        .binary_search_by(|(k, _)| k.cmp(&id))
        .ok()
        .and_then(|at| leaves.get(at))
        .map(|(_, h)| *h);
    if committed != Some(key_leaf_bytes(&id, bytes)) {
        return Ok(Err(Refusal::KeyNotCommitted));
    }
    let rk = match ctx.cache.key(&id, bytes) {
        Some(rk) => rk.clone(),
        None => {
            let Ok(rk) = ReKey::from_bytes_trusted(bytes) else {
                return Ok(Err(Refusal::KeyNotCommitted));
            };
            let mut fixed = [0u8; ReKey::SIZE];
            fixed.copy_from_slice(bytes);
            ctx.cache.put_key(id, fixed, rk.clone());
            rk
        }
    };
    Ok(Ok(Checked {
        entry,
        section,
        key_block: row.key_block,
        rk,
    }))
}

pub(crate) fn rewrap<S: Store>(
    mut ctx: Context<'_, '_, S>,
    record: RecordId,
    entry: EntryId,
    key_block: &KeyBlock,
) -> Result<Response, Error> {
    let head = ctx.owned_head(record)?;
    if head.acl.acl_unverified().not_after() < ctx.now {
        return refuse(Refusal::AclExpired);
    }
    let key = rows::entry(record, entry);
    let mut row = EntryRow::decode(
        &ctx.tx.get(&key)?.ok_or(Error::NotFound { what: "entry" })?,
        false,
    )?;
    let acl = head.acl.acl_unverified();
    let policy = acl.section_or_refused(row.header.section(), None)?;
    if !key_block.belongs_to(&row.header) {
        return refuse(Refusal::HeaderMismatch);
    }
    if !key_block.is_rewrapped() || !is_current(key_block, policy) {
        return refuse(Refusal::KeyBlockNotCurrent);
    }
    // Validate at the door: the owner's re-wrap signature, so readers are never served a
    // key block they must refuse.
    key_block.check_rewrap(ctx.actor.bundle.signing_key())?;
    row.key_block = *key_block;
    ctx.tx.put(key, row.encode());
    rows::stamp(ctx.tx, record, ctx.now)?;
    Ok(Response::Done)
}
