//! A handle's bounded cache: prepared (Miller-loop-ready) re-encryption keys, keyed by their
//! id and checked against the key row's bytes on every use, and the key-set roots a handle
//! has verified, keyed by the record, its ACL version and the leaves row's version. Nothing
//! in it outlives a change: a changed row or ACL simply misses.

use alloc::collections::BTreeMap;

use crate::phr::{AclVersion, PrincipalId, ReKeyId, RecordId};
use crate::pre::ReKey;
use crate::srs::rows::{Head, Registration};
use crate::srs::store::RowVersion;

pub(crate) struct Cache {
    capacity: usize,
    keys: BTreeMap<ReKeyId, ([u8; ReKey::SIZE], ReKey)>,
    roots: BTreeMap<RecordId, (AclVersion, RowVersion)>,
    heads: BTreeMap<RecordId, (RowVersion, Head)>,
    principals: BTreeMap<PrincipalId, (RowVersion, Registration)>,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            keys: BTreeMap::new(),
            roots: BTreeMap::new(),
            heads: BTreeMap::new(),
            principals: BTreeMap::new(),
        }
    }

    /// The decoded registration of `id` if the cached one is at `version`.
    pub(crate) fn principal(&self, id: PrincipalId, version: RowVersion) -> Option<&Registration> {
        self.principals
            .get(&id)
            .filter(|(v, _)| *v == version)
            .map(|(_, r)| r)
    }

    pub(crate) fn put_principal(
        &mut self,
        id: PrincipalId,
        version: RowVersion,
        reg: Registration,
    ) {
        if self.capacity == 0 {
            return;
        }
        while self.principals.len() >= self.capacity {
            self.principals.pop_first();
        }
        self.principals.insert(id, (version, reg));
    }

    /// The decoded head of `record` if the cached one is at `version`.
    pub(crate) fn head(&self, record: RecordId, version: RowVersion) -> Option<&Head> {
        self.heads
            .get(&record)
            .filter(|(v, _)| *v == version)
            .map(|(_, h)| h)
    }

    pub(crate) fn put_head(&mut self, record: RecordId, version: RowVersion, head: Head) {
        if self.capacity == 0 {
            return;
        }
        while self.heads.len() >= self.capacity {
            self.heads.pop_first();
        }
        self.heads.insert(record, (version, head));
    }

    /// The prepared key for `id` if the cached one has exactly these bytes.
    pub(crate) fn key(&self, id: &ReKeyId, bytes: &[u8]) -> Option<&ReKey> {
        self.keys
            .get(id)
            .filter(|(b, _)| b[..] == *bytes)
            .map(|(_, k)| k)
    }

    pub(crate) fn put_key(&mut self, id: ReKeyId, bytes: [u8; ReKey::SIZE], key: ReKey) {
        if self.capacity == 0 {
            return;
        }
        while self.keys.len() >= self.capacity {
            self.keys.pop_first();
        }
        self.keys.insert(id, (bytes, key));
    }

    /// Whether this record's leaves row (at `leaves`) was verified against `acl`'s root.
    pub(crate) fn root_verified(
        &self,
        record: RecordId,
        acl: AclVersion,
        leaves: RowVersion,
    ) -> bool {
        self.roots.get(&record) == Some(&(acl, leaves))
    }

    pub(crate) fn put_root(&mut self, record: RecordId, acl: AclVersion, leaves: RowVersion) {
        if self.capacity == 0 {
            return;
        }
        while self.roots.len() >= self.capacity {
            self.roots.pop_first();
        }
        self.roots.insert(record, (acl, leaves));
    }
}
