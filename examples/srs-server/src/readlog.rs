//! A [`DbStore`] that remembers the version of every row an operation read, so that a
//! refusal can be checked against one consistent snapshot before it is returned.
//!
//! Why: `Srs::execute` reads rows one by one. When it *commits*, the store checks every read
//! version, so a success is always consistent. When it *refuses*, nothing is checked: a
//! refusal can rest on rows read on either side of another instance's commit. Seen in the
//! e2e race: the same submission sent to two instances at once; one commits; the other had
//! read the replay row before that commit (absent) and the entry row after it (present) and
//! answered "entry already exists" instead of the stored response. The server therefore
//! re-reads the logged versions in one snapshot after a refusal; if any changed, the refusal
//! is treated as a conflict and the operation runs again. (The library could do this itself:
//! see the report of issue 14.)

use std::cell::RefCell;

use sesphr::srs::{Changeset, Row, RowVersion, Store, StoreError};

use crate::store::DbStore;

/// The database, and the rows read since the last [`ReadLogged::clear`].
#[derive(Debug)]
pub struct ReadLogged {
    db: DbStore,
    log: RefCell<Vec<(Vec<u8>, RowVersion)>>,
}

impl ReadLogged {
    /// Wraps one connection.
    pub fn new(db: DbStore) -> Self {
        Self {
            db,
            log: RefCell::new(Vec::new()),
        }
    }

    /// The connection (blobs).
    pub fn db(&self) -> &DbStore {
        &self.db
    }

    /// Forgets the log (before an operation).
    pub fn clear(&self) {
        self.log.borrow_mut().clear();
    }

    /// Whether every row read since the last clear still has the version it was read at,
    /// all checked in one snapshot.
    pub fn reads_still_current(&self) -> Result<bool, StoreError> {
        let log = self.log.borrow();
        let keys: Vec<&[u8]> = log.iter().map(|(k, _)| k.as_slice()).collect();
        let now = self.db.versions(&keys)?;
        Ok(now.iter().zip(log.iter()).all(|(n, (_, seen))| n == seen))
    }
}

impl Store for ReadLogged {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        let row = self.db.get(key)?;
        let version = row.as_ref().map_or(RowVersion::ABSENT, |r| r.version);
        let mut log = self.log.borrow_mut();
        // Bounded by the operation's own reads (the library bounds those).
        if !log.iter().any(|(k, _)| k == key) {
            log.push((key.to_vec(), version));
        }
        Ok(row)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        self.db.scan(prefix, after, limit)
    }

    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        self.db.commit(changeset)
    }
}
