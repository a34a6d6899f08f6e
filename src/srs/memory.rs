//! A thread-safe in-memory [`Store`]: one ordered map behind a lock, shareable by several SRS
//! handles (`Arc<MemoryStore>` or `&MemoryStore`). For tests, examples and small deployments;
//! [`MemoryStore::rows`] and [`MemoryStore::from_rows`] export and import every row (backups).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use std::sync::RwLock;

use crate::srs::store::{Changeset, Row, RowVersion, Store, StoreError, Write};

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: BTreeMap<Vec<u8>, (RowVersion, Vec<u8>)>,
    /// The number of the last commit: every commit stamps its rows with a larger one.
    clock: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every row, in key order (a consistent snapshot).
    pub fn rows(&self) -> Result<Vec<Row>, StoreError> {
        let inner = self.inner.read().map_err(|_| StoreError::Unavailable)?;
        Ok(inner
            .rows
            .iter()
            .map(|(k, (v, value))| Row {
                key: k.clone(),
                version: *v,
                value: value.clone(),
            })
            .collect())
    }

    /// A store holding exactly `rows` (as exported by [`MemoryStore::rows`]).
    pub fn from_rows(rows: Vec<Row>) -> Self {
        let clock = rows.iter().map(|r| r.version.0).max().unwrap_or(0);
        let rows = rows
            .into_iter()
            .map(|r| (r.key, (r.version, r.value)))
            .collect();
        Self {
            inner: RwLock::new(Inner { rows, clock }),
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |i| i.rows.len())
    }

    /// Whether the store holds no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes a row directly, bypassing every check (tests that play an attacker with write
    /// access to the database).
    pub fn put_raw(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StoreError> {
        let mut inner = self.inner.write().map_err(|_| StoreError::Unavailable)?;
        inner.clock += 1;
        let v = RowVersion(inner.clock);
        inner.rows.insert(key, (v, value));
        Ok(())
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        let inner = self.inner.read().map_err(|_| StoreError::Unavailable)?;
        Ok(inner.rows.get(key).map(|(v, value)| Row {
            key: key.to_vec(),
            version: *v,
            value: value.clone(),
        }))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        use core::ops::Bound;
        let inner = self.inner.read().map_err(|_| StoreError::Unavailable)?;
        let lower = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        Ok(inner
            .rows
            .range((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, (v, value))| Row {
                key: k.clone(),
                version: *v,
                value: value.clone(),
            })
            .collect())
    }

    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        let mut inner = self.inner.write().map_err(|_| StoreError::Unavailable)?;
        for (key, seen) in &changeset.reads {
            let now = inner.rows.get(key).map_or(RowVersion::ABSENT, |(v, _)| *v);
            if now != *seen {
                return Err(StoreError::Conflict);
            }
        }
        if changeset.writes.is_empty() {
            return Ok(());
        }
        inner.clock += 1;
        let v = RowVersion(inner.clock);
        for w in &changeset.writes {
            match w {
                Write::Put(k, value) => {
                    inner.rows.insert(k.clone(), (v, value.clone()));
                }
                Write::Delete(k) => {
                    inner.rows.remove(k);
                }
            }
        }
        Ok(())
    }
}
