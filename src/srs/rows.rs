//! The SRS's rows (SPEC §8): keys (a kind byte, then the fixed-size fields that name the
//! row, so listings are prefix scans) and values (a kind byte, a version byte, then the
//! canonical fields). Values are validated when they enter the SRS and decoded cheaply when
//! read back: no subgroup check, no signature verification ([`crate::srs::Srs::audit`]
//! repeats those for a whole store).
//!
//! | kind | key after the kind byte | value |
//! |---|---|---|
//! | `0x00` meta | `"srs"` | SRS id (32) |
//! | `0x01` principal | principal id (16) | role ‖ active ‖ key bundle |
//! | `0x02` bundle | fingerprint (32) | principal id (16) |
//! | `0x03` record head | record (16) | owner (16) ‖ policy version (u64) ‖ signed ACL |
//! | `0x04` ACL version | record ‖ version (u64) | signed ACL |
//! | `0x05` key | record ‖ section ‖ epoch (u32) ‖ reader fingerprint | re-encryption key (98) |
//! | `0x06` key leaves | record (16) | count (u32) ‖ (key id (68) ‖ leaf hash (32))* |
//! | `0x07` entry | record ‖ entry (16) | header ‖ body hash (32) ‖ writer signature ‖ time (u64) ‖ key block |
//! | `0x08` section entry | record ‖ section ‖ entry | (empty) |
//! | `0x09` request | request id (16) | access request |
//! | `0x0a` owner request | owner (16) ‖ request id (16) | (empty) |
//! | `0x0b` reader grant | reader fingerprint (32) ‖ record (16) | (empty) |
//! | `0x0c` replay | principal (16) ‖ nonce (16) | expiry (u64) ‖ operation hash (32) ‖ response |
//! | `0x0d` replay expiry | expiry (u64) ‖ principal ‖ nonce | (empty) |
//! | `0x0e` record clock | record (16) | last stamped time (u64) |
//! | `0x0f` log head | record (16) | newest signed checkpoint ‖ frontier |
//! | `0x10` log leaf | record ‖ index (u64) | log leaf (salted event) |
//! | `0x11` log node | record ‖ level (u8) ‖ index (u64) | complete subtree hash (32) |

use alloc::vec::Vec;

use crate::encoding::Reader;
use crate::phr::{
    AclVersion, EntryId, Fingerprint, KeyBundle, PrincipalId, ReKeyId, RecordId, RequestId, Role,
    SectionId, SignedAcl, Timestamp,
};
use crate::sign::Signature;
use crate::Error;

/// Row kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    Meta = 0x00,
    Principal = 0x01,
    Bundle = 0x02,
    Head = 0x03,
    AclVersion = 0x04,
    Key = 0x05,
    Leaves = 0x06,
    Entry = 0x07,
    SectionEntry = 0x08,
    Request = 0x09,
    OwnerRequest = 0x0a,
    ReaderGrant = 0x0b,
    Replay = 0x0c,
    ReplayExpiry = 0x0d,
    Clock = 0x0e,
    LogHead = 0x0f,
    LogLeaf = 0x10,
    LogNode = 0x11,
}

/// The format version of every row value.
const ROW_VERSION: u8 = 1;

pub(crate) fn key(kind: Kind, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(kind as u8);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

pub(crate) fn meta() -> Vec<u8> {
    key(Kind::Meta, &[b"srs"])
}
pub(crate) fn principal(id: PrincipalId) -> Vec<u8> {
    key(Kind::Principal, &[id.as_bytes()])
}
pub(crate) fn bundle(fp: &Fingerprint) -> Vec<u8> {
    key(Kind::Bundle, &[fp.as_bytes()])
}
pub(crate) fn head(record: RecordId) -> Vec<u8> {
    key(Kind::Head, &[record.as_bytes()])
}
pub(crate) fn acl_version(record: RecordId, version: AclVersion) -> Vec<u8> {
    key(
        Kind::AclVersion,
        &[record.as_bytes(), &version.0.to_be_bytes()],
    )
}
pub(crate) fn rekey(id: &ReKeyId) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + ReKeyId::SIZE);
    k.push(Kind::Key as u8);
    id.encode(&mut k);
    k
}
pub(crate) fn clock(record: RecordId) -> Vec<u8> {
    key(Kind::Clock, &[record.as_bytes()])
}
pub(crate) fn leaves(record: RecordId) -> Vec<u8> {
    key(Kind::Leaves, &[record.as_bytes()])
}
pub(crate) fn entry(record: RecordId, entry: EntryId) -> Vec<u8> {
    key(Kind::Entry, &[record.as_bytes(), entry.as_bytes()])
}
pub(crate) fn section_entries(record: RecordId, section: SectionId) -> Vec<u8> {
    key(Kind::SectionEntry, &[record.as_bytes(), section.as_bytes()])
}
pub(crate) fn section_entry(record: RecordId, section: SectionId, entry: EntryId) -> Vec<u8> {
    key(
        Kind::SectionEntry,
        &[record.as_bytes(), section.as_bytes(), entry.as_bytes()],
    )
}
pub(crate) fn request(id: RequestId) -> Vec<u8> {
    key(Kind::Request, &[id.as_bytes()])
}
pub(crate) fn owner_requests(owner: PrincipalId) -> Vec<u8> {
    key(Kind::OwnerRequest, &[owner.as_bytes()])
}
pub(crate) fn owner_request(owner: PrincipalId, id: RequestId) -> Vec<u8> {
    key(Kind::OwnerRequest, &[owner.as_bytes(), id.as_bytes()])
}
pub(crate) fn reader_grants(reader: &Fingerprint) -> Vec<u8> {
    key(Kind::ReaderGrant, &[reader.as_bytes()])
}
pub(crate) fn reader_grant(reader: &Fingerprint, record: RecordId) -> Vec<u8> {
    key(Kind::ReaderGrant, &[reader.as_bytes(), record.as_bytes()])
}
pub(crate) fn replay(principal: PrincipalId, nonce: &[u8; 16]) -> Vec<u8> {
    key(Kind::Replay, &[principal.as_bytes(), nonce])
}
pub(crate) fn replay_expiries() -> Vec<u8> {
    key(Kind::ReplayExpiry, &[])
}
pub(crate) fn replay_expiry(at: Timestamp, principal: PrincipalId, nonce: &[u8; 16]) -> Vec<u8> {
    key(
        Kind::ReplayExpiry,
        &[&at.0.to_be_bytes(), principal.as_bytes(), nonce],
    )
}

/// The fixed-size fields after the kind byte of a key, for listings.
pub(crate) fn key_tail(key: &[u8], prefix_len: usize) -> Option<&[u8]> {
    key.get(prefix_len..)
}

pub(crate) fn value(kind: Kind, capacity: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + capacity);
    v.push(kind as u8);
    v.push(ROW_VERSION);
    v
}

pub(crate) fn reader<'a>(
    bytes: &'a [u8],
    kind: Kind,
    what: &'static str,
) -> Result<Reader<'a>, Error> {
    let mut r = Reader::raw(bytes, what).trusting();
    let k = r.u8()?;
    if k != kind as u8 {
        return Err(Error::UnknownTag { what, tag: k });
    }
    let v = r.u8()?;
    if v != ROW_VERSION {
        return Err(Error::UnknownVersion { what, version: v });
    }
    Ok(r)
}

/// A registered principal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Registration {
    /// Its role.
    pub role: Role,
    /// Its public keys (a claim: verify the fingerprint out of band).
    pub bundle: KeyBundle,
    /// Whether an administrator has activated it.
    pub active: bool,
}

impl Registration {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = value(Kind::Principal, 2 + KeyBundle::SIZE);
        v.push(self.role.to_byte());
        v.push(u8::from(self.active));
        v.extend_from_slice(&self.bundle.to_bytes());
        v
    }

    /// Decodes a row the SRS wrote; `checked` repeats the key checks (audit).
    pub(crate) fn decode(bytes: &[u8], checked: bool) -> Result<Self, Error> {
        let mut r = reader(bytes, Kind::Principal, "principal row")?;
        let role = Role::from_byte(r.u8()?)?;
        let active = r.bool()?;
        let raw = r.take(KeyBundle::SIZE)?;
        r.finish()?;
        let bundle = if checked {
            KeyBundle::from_bytes(raw)?
        } else {
            KeyBundle::from_bytes_trusted(raw)?
        };
        Ok(Self {
            role,
            bundle,
            active,
        })
    }
}

pub(crate) fn encode_id(kind: Kind, id: &[u8; 16]) -> Vec<u8> {
    let mut v = value(kind, 16);
    v.extend_from_slice(id);
    v
}

pub(crate) fn decode_id(bytes: &[u8], kind: Kind) -> Result<[u8; 16], Error> {
    let mut r = reader(bytes, kind, "id row")?;
    let id = r.array()?;
    r.finish()?;
    Ok(id)
}

/// A record's head: its owner, its newest signed ACL, and a version every change to the
/// record's policy bumps. Only ACL updates write it, so a writer submitting entries never
/// makes the owner's updates (or readers' requests) conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) owner: PrincipalId,
    pub(crate) version: u64,
    pub(crate) acl: SignedAcl,
}

impl Head {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let acl = self.acl.to_bytes();
        let mut v = value(Kind::Head, 16 + 16 + acl.len());
        v.extend_from_slice(self.owner.as_bytes());
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&acl);
        v
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = reader(bytes, Kind::Head, "record head row")?;
        let owner = PrincipalId::new(r.array()?);
        let version = r.u64()?;
        let acl = SignedAcl::from_bytes_trusted(r.rest())?;
        Ok(Self {
            owner,
            version,
            acl,
        })
    }
}

/// The record's clock: the last time the SRS stamped on an entry of the record (receipts,
/// re-wraps), so stamps never go backwards across instances whose clocks differ. Returns the
/// stamp for `now` (`max(now, last)`) after writing it.
pub(crate) fn stamp<S: crate::srs::Store + ?Sized>(
    tx: &mut crate::srs::tx::Tx<'_, S>,
    record: RecordId,
    now: Timestamp,
) -> Result<Timestamp, Error> {
    let key = clock(record);
    let last = match tx.get(&key)? {
        Some(v) => {
            let mut r = reader(&v, Kind::Clock, "record clock row")?;
            let t = Timestamp(r.u64()?);
            r.finish()?;
            t
        }
        None => Timestamp(0),
    };
    let at = last.max(now);
    let mut v = value(Kind::Clock, 8);
    v.extend_from_slice(&at.0.to_be_bytes());
    tx.put(key, v);
    Ok(at)
}

/// An earlier (or the newest) ACL version of a record.
pub(crate) fn encode_acl_version(acl: &SignedAcl) -> Vec<u8> {
    let bytes = acl.to_bytes();
    let mut v = value(Kind::AclVersion, bytes.len());
    v.extend_from_slice(&bytes);
    v
}

pub(crate) fn decode_acl_version(bytes: &[u8]) -> Result<SignedAcl, Error> {
    let mut r = reader(bytes, Kind::AclVersion, "ACL version row")?;
    SignedAcl::from_bytes_trusted(r.rest())
}

/// The leaves of a record's key set: (key id, leaf hash) in key-id order.
pub(crate) fn encode_leaves(leaves: &[(ReKeyId, [u8; 32])]) -> Vec<u8> {
    let mut v = value(Kind::Leaves, 4 + leaves.len() * (ReKeyId::SIZE + 32));
    v.extend_from_slice(&(leaves.len() as u32).to_be_bytes());
    for (id, h) in leaves {
        id.encode(&mut v);
        v.extend_from_slice(h);
    }
    v
}

pub(crate) fn decode_leaves(bytes: &[u8]) -> Result<Vec<(ReKeyId, [u8; 32])>, Error> {
    let mut r = reader(bytes, Kind::Leaves, "key leaves row")?;
    let n = r.count(ReKeyId::SIZE + 32)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push((ReKeyId::decode(&mut r)?, r.array()?));
    }
    r.finish()?;
    Ok(out)
}

pub(crate) fn encode_rekey(rk: &crate::pre::ReKey) -> Vec<u8> {
    let mut v = value(Kind::Key, crate::pre::ReKey::SIZE);
    v.extend_from_slice(&rk.to_bytes());
    v
}

pub(crate) fn rekey_bytes(bytes: &[u8]) -> Result<&[u8], Error> {
    let mut r = reader(bytes, Kind::Key, "key row")?;
    let raw = r.take(crate::pre::ReKey::SIZE)?;
    r.finish()?;
    Ok(raw)
}

/// An entry the SRS accepted through its write gate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryRow {
    pub(crate) header: crate::phr::BodyHeader,
    pub(crate) body_hash: [u8; 32],
    /// The writer's signature, encoded (decoded only by the audit: a re-encryption reads
    /// the row and need not decompress points it does not use).
    pub(crate) signature: [u8; Signature::SIZE],
    pub(crate) accepted: Timestamp,
    /// The newest ACL version when it was accepted.
    pub(crate) acl_version: AclVersion,
    /// The SRS's receipt signature, encoded.
    pub(crate) receipt: [u8; Signature::SIZE],
    pub(crate) key_block: crate::phr::KeyBlock,
}

impl EntryRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let kb = self.key_block.to_bytes();
        let mut v = value(Kind::Entry, 256 + kb.len());
        v.extend_from_slice(&self.header.to_bytes());
        v.extend_from_slice(&self.body_hash);
        v.extend_from_slice(&self.signature);
        v.extend_from_slice(&self.accepted.0.to_be_bytes());
        v.extend_from_slice(&self.acl_version.0.to_be_bytes());
        v.extend_from_slice(&self.receipt);
        v.extend_from_slice(&kb);
        v
    }

    pub(crate) fn decode(bytes: &[u8], checked: bool) -> Result<Self, Error> {
        use crate::phr::{BodyHeader, KeyBlock};
        let mut r = reader(bytes, Kind::Entry, "entry row")?;
        let header = BodyHeader::from_bytes(r.take(BodyHeader::SIZE)?)?;
        let body_hash = r.array()?;
        let signature = r.array()?;
        let accepted = Timestamp(r.u64()?);
        let acl_version = AclVersion(r.u64()?);
        let receipt = r.array()?;
        if checked {
            Signature::from_bytes(&signature)?;
            Signature::from_bytes(&receipt)?;
        }
        let kb = r.rest();
        let key_block = if checked {
            KeyBlock::from_bytes(kb)?
        } else {
            KeyBlock::from_bytes_trusted(kb)?
        };
        Ok(Self {
            header,
            body_hash,
            signature,
            accepted,
            acl_version,
            receipt,
            key_block,
        })
    }
}

pub(crate) fn encode_request(req: &crate::phr::AccessRequest) -> Result<Vec<u8>, Error> {
    let mut v = value(Kind::Request, 128);
    req.encode(&mut v)?;
    Ok(v)
}

pub(crate) fn decode_request(bytes: &[u8]) -> Result<crate::phr::AccessRequest, Error> {
    let mut r = reader(bytes, Kind::Request, "request row")?;
    let req = crate::phr::AccessRequest::decode(&mut r)?;
    r.finish()?;
    Ok(req)
}

pub(crate) fn empty(kind: Kind) -> Vec<u8> {
    value(kind, 0)
}

/// A committed operation: when its nonce may be forgotten, what it was, what it returned.
pub(crate) struct ReplayRow {
    pub(crate) expiry: Timestamp,
    pub(crate) op_hash: [u8; 32],
    pub(crate) response: Vec<u8>,
}

impl ReplayRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = value(Kind::Replay, 40 + self.response.len());
        v.extend_from_slice(&self.expiry.0.to_be_bytes());
        v.extend_from_slice(&self.op_hash);
        v.extend_from_slice(&self.response);
        v
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = reader(bytes, Kind::Replay, "replay row")?;
        Ok(Self {
            expiry: Timestamp(r.u64()?),
            op_hash: r.array()?,
            response: r.rest().to_vec(),
        })
    }
}
