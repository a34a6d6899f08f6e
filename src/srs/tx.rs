//! One operation's view of the store: reads go through to the store once and are remembered
//! with their versions (absent rows as [`RowVersion::ABSENT`]); writes are buffered and seen
//! by later reads of the same operation; [`Tx::finish`] yields the changeset to commit.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::srs::store::{Changeset, Row, RowVersion, Store, StoreError, Write};
use crate::Error;

pub(crate) struct Tx<'s, S: Store + ?Sized> {
    store: &'s S,
    reads: BTreeMap<Vec<u8>, (RowVersion, Option<Vec<u8>>)>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

pub(crate) fn store_error(e: StoreError) -> Error {
    Error::Store(e)
}

impl<'s, S: Store + ?Sized> Tx<'s, S> {
    pub(crate) fn new(store: &'s S) -> Self {
        Self {
            store,
            reads: BTreeMap::new(),
            writes: BTreeMap::new(),
        }
    }

    /// The current value under `key` (this operation's own writes first).
    pub(crate) fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        Ok(self.read(key)?.1)
    }

    /// The version of the row under `key` as the store holds it (recorded in the read set).
    pub(crate) fn version(&mut self, key: &[u8]) -> Result<RowVersion, Error> {
        Ok(self.read(key)?.0)
    }

    fn read(&mut self, key: &[u8]) -> Result<(RowVersion, Option<Vec<u8>>), Error> {
        if let Some(seen) = self.reads.get(key) {
            return Ok(seen.clone());
        }
        let seen = match self.store.get(key).map_err(store_error)? {
            Some(Row { version, value, .. }) => (version, Some(value)),
            None => (RowVersion::ABSENT, None),
        };
        self.reads.insert(key.to_vec(), seen.clone());
        Ok(seen)
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// The number of distinct rows read and written so far (rows touched).
    pub(crate) fn touched(&self) -> usize {
        self.reads.len()
            + self
                .writes
                .keys()
                .filter(|k| !self.reads.contains_key(*k))
                .count()
    }

    /// A changeset of this operation's reads and no writes: committing it only checks that
    /// every row it read is unchanged.
    pub(crate) fn validation(&self) -> Changeset {
        Changeset {
            reads: self
                .reads
                .iter()
                .map(|(k, (v, _))| (k.clone(), *v))
                .collect(),
            writes: Vec::new(),
        }
    }

    pub(crate) fn finish(self) -> Changeset {
        Changeset {
            reads: self.reads.into_iter().map(|(k, (v, _))| (k, v)).collect(),
            writes: self
                .writes
                .into_iter()
                .map(|(k, w)| match w {
                    Some(v) => Write::Put(k, v),
                    None => Write::Delete(k),
                })
                .collect(),
        }
    }
}
