//! A handle's bounded cache: prepared (Miller-loop-ready) re-encryption keys, keyed by their
//! id and checked against the key row's bytes on every use; the key-set roots a handle has
//! verified, keyed by the record, its ACL version and the leaves row's version; and decoded,
//! checked heads and registrations, keyed by their row's version. Nothing in it outlives a
//! change: a changed row or ACL simply misses.

use alloc::collections::BTreeMap;

use crate::phr::{AclVersion, PrincipalId, ReKeyId, RecordId};
use crate::pre::ReKey;
use crate::srs::rows::{Head, Registration};
use crate::srs::store::RowVersion;

/// At most `capacity` values, each stored with the tag it is valid for (a row version, a
/// row's bytes): a lookup with another tag misses.
struct Bounded<K, T, V> {
    capacity: usize,
    map: BTreeMap<K, (T, V)>,
}

impl<K: Ord, T: PartialEq, V> Bounded<K, T, V> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: BTreeMap::new(),
        }
    }

    fn get(&self, k: &K, tag: &T) -> Option<&V> {
        self.map.get(k).filter(|(t, _)| t == tag).map(|(_, v)| v)
    }

    fn put(&mut self, k: K, tag: T, v: V) {
        if self.capacity == 0 {
            return;
        }
        while self.map.len() >= self.capacity {
            self.map.pop_first();
        }
        self.map.insert(k, (tag, v));
    }
}

pub(crate) struct Cache {
    keys: Bounded<ReKeyId, [u8; ReKey::SIZE], ReKey>,
    roots: Bounded<RecordId, (AclVersion, RowVersion), ()>,
    heads: Bounded<RecordId, RowVersion, Head>,
    principals: Bounded<PrincipalId, RowVersion, Registration>,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            keys: Bounded::new(capacity),
            roots: Bounded::new(capacity),
            heads: Bounded::new(capacity),
            principals: Bounded::new(capacity),
        }
    }

    /// The decoded registration of `id` if the cached one is at `version`.
    pub(crate) fn principal(&self, id: PrincipalId, version: RowVersion) -> Option<&Registration> {
        self.principals.get(&id, &version)
    }

    pub(crate) fn put_principal(
        &mut self,
        id: PrincipalId,
        version: RowVersion,
        reg: Registration,
    ) {
        self.principals.put(id, version, reg);
    }

    /// The decoded head of `record` if the cached one is at `version`.
    pub(crate) fn head(&self, record: RecordId, version: RowVersion) -> Option<&Head> {
        self.heads.get(&record, &version)
    }

    pub(crate) fn put_head(&mut self, record: RecordId, version: RowVersion, head: Head) {
        self.heads.put(record, version, head);
    }

    /// The prepared key for `id` if the cached one has exactly these bytes.
    pub(crate) fn key(&self, id: &ReKeyId, bytes: &[u8]) -> Option<&ReKey> {
        let bytes: [u8; ReKey::SIZE] = bytes.try_into().ok()?;
        self.keys.get(id, &bytes)
    }

    pub(crate) fn put_key(&mut self, id: ReKeyId, bytes: [u8; ReKey::SIZE], key: ReKey) {
        self.keys.put(id, bytes, key);
    }

    /// Whether this record's leaves row (at `leaves`) was verified against `acl`'s root.
    pub(crate) fn root_verified(
        &self,
        record: RecordId,
        acl: AclVersion,
        leaves: RowVersion,
    ) -> bool {
        self.roots.get(&record, &(acl, leaves)).is_some()
    }

    pub(crate) fn put_root(&mut self, record: RecordId, acl: AclVersion, leaves: RowVersion) {
        self.roots.put(record, (acl, leaves), ());
    }
}
