//! The SRS state's canonical encoding. Decoding re-checks what the live SRS guarantees:
//! canonical order, every ACL signed by its record's registered owner, every record's stored
//! keys exactly the key set its ACL commits to, every request tied to a known principal.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::encoding::{self, insert_in_order, Reader, Tag};
use crate::phr::keyset::{key_ids, KeySetCommitment};
use crate::phr::principal::{push_bundle, read_bundle};
use crate::phr::srs::Registration;
use crate::phr::{
    AccessRequest, Limits, LoginChallenge, PrincipalId, ReKeyId, RecordId, RequestId, Role,
    SignedAcl, Srs,
};
use crate::pre::ReKey;
use crate::Error;

const WHAT: &str = "SRS state";

impl Srs {
    /// The canonical encoding of the whole state, for the caller to persist.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::SrsState);
        encoding::put_count(&mut out, WHAT, self.registry.len())?;
        for (id, reg) in &self.registry {
            out.extend_from_slice(id.as_bytes());
            out.push(reg.role.to_byte());
            out.push(u8::from(reg.active));
            push_bundle(&mut out, &reg.bundle);
        }
        encoding::put_count(&mut out, WHAT, self.records.len())?;
        for (record, (owner, acl)) in &self.records {
            out.extend_from_slice(record.as_bytes());
            out.extend_from_slice(owner.as_bytes());
            encoding::put_lp32(&mut out, WHAT, &acl.to_bytes())?;
        }
        encoding::put_count(&mut out, WHAT, self.rekeys.len())?;
        for (id, rk) in &self.rekeys {
            id.encode(&mut out);
            out.extend_from_slice(&rk.to_bytes());
        }
        encoding::put_count(&mut out, WHAT, self.requests.len())?;
        for req in self.requests.values() {
            req.encode(&mut out)?;
        }
        out.extend_from_slice(&self.next_request.to_be_bytes());
        encoding::put_count(&mut out, WHAT, self.challenges.len())?;
        for (id, c) in &self.challenges {
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&c.0);
        }
        Ok(out)
    }

    /// Decodes and re-validates a state produced by [`Srs::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bad = || Error::InvalidEncoding { what: WHAT };
        let mut r = Reader::envelope(bytes, Tag::SrsState, WHAT)?;
        let mut registry = BTreeMap::new();
        for _ in 0..r.count(16 + 2 + 148)? {
            let id = PrincipalId::new(r.array()?);
            let role = Role::from_byte(r.u8()?)?;
            let active = r.bool()?;
            let bundle = read_bundle(&mut r)?;
            insert_in_order(
                &mut registry,
                id,
                Registration {
                    role,
                    bundle,
                    active,
                },
                WHAT,
            )?;
        }
        let mut records = BTreeMap::new();
        for _ in 0..r.count(16 + 16 + 4)? {
            let record = RecordId::new(r.array()?);
            let owner = PrincipalId::new(r.array()?);
            let acl = SignedAcl::from_bytes(r.lp32()?)?;
            let reg: &Registration = registry.get(&owner).ok_or_else(bad)?;
            if reg.role != Role::Patient || acl.acl.record != record || acl.acl.owner != reg.bundle
            {
                return Err(bad());
            }
            acl.verify(reg.bundle.signing_key())?;
            insert_in_order(&mut records, record, (owner, acl), WHAT)?;
        }
        let mut rekeys = BTreeMap::new();
        for _ in 0..r.count(68 + ReKey::SIZE)? {
            let id = ReKeyId::decode(&mut r)?;
            let rk = ReKey::from_bytes(r.take(ReKey::SIZE)?)?;
            if !records.contains_key(&id.record) {
                return Err(bad());
            }
            insert_in_order(&mut rekeys, id, rk, WHAT)?;
        }
        for (record, (_, acl)) in &records {
            let ids = key_ids(&acl.acl, Limits::OWNER_MAX_KEYS)?;
            let stored: Vec<(ReKeyId, &ReKey)> = rekeys
                .range(ReKeyId::min(*record)..)
                .take_while(|(id, _)| id.record == *record)
                .map(|(id, rk)| (*id, rk))
                .collect();
            let (commitment, _) = KeySetCommitment::build(&stored);
            if !stored.iter().map(|(id, _)| id).eq(ids.iter()) || commitment != acl.acl.keys {
                return Err(bad());
            }
        }
        let mut requests = BTreeMap::new();
        for _ in 0..r.count(2 + 8 + 32 + 6 + 12)? {
            let req = AccessRequest::decode(&mut r)?;
            if !registry.contains_key(&req.requester) {
                return Err(bad());
            }
            insert_in_order(&mut requests, req.id, req, WHAT)?;
        }
        let next_request = r.u64()?;
        if requests
            .last_key_value()
            .is_some_and(|(id, _): (&RequestId, _)| id.0 >= next_request)
        {
            return Err(bad());
        }
        let mut challenges = BTreeMap::new();
        for _ in 0..r.count(48)? {
            let id = PrincipalId::new(r.array()?);
            if !registry.contains_key(&id) {
                return Err(bad());
            }
            insert_in_order(&mut challenges, id, LoginChallenge(r.array()?), WHAT)?;
        }
        r.finish()?;
        Ok(Self {
            registry,
            records,
            rekeys,
            requests,
            next_request,
            challenges,
            limits: Limits::default(),
        })
    }
}
