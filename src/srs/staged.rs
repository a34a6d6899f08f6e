//! Driving the SRS from an asynchronous database client without blocking (the shape of
//! quinn-proto and rustls's unbuffered API: the logic never waits, the caller does the I/O).
//!
//! An operation is run against a [`Staged`] store, which holds only the rows fetched so
//! far. A read of a row not fetched yet fails the run with [`StoreError::NotFetched`] and is
//! listed by [`Staged::missing`]; the driver fetches those rows (asynchronously), supplies
//! them and runs the operation again. When a run completes, its changeset is held by the
//! stage instead of being written: the driver commits it to the database and releases the
//! response only if that commit succeeded (on a conflict it clears the stage and starts
//! over). A handle verifies an operation's signature once, however many runs it takes.
//!
//! ```
//! # fn main() -> Result<(), sesphr::Error> {
//! use std::sync::Arc;
//! use sesphr::phr::{PrincipalId, PrincipalKeys, Role, Timestamp};
//! use sesphr::sign::SigningKey;
//! use sesphr::srs::{Client, MemoryStore, Operation, Response, Srs, SrsConfig, Staged, Store, StoreError};
//! use sesphr::Error;
//!
//! let mut rng = sesphr::rand_core::OsRng;
//! let now = Timestamp::new(1_700_000_000);
//! let key = SigningKey::random(&mut rng);
//! // The "database" (here in memory; in a real driver every call below is an `.await`).
//! let database = MemoryStore::new();
//! let stage = Arc::new(Staged::new());
//! let mut srs = Srs::new(stage.clone(), key, "demo", SrsConfig::default());
//!
//! let admin = PrincipalKeys::random(&mut rng);
//! let op = Client::new(&admin, PrincipalId::random(&mut rng), srs.id()).register(Role::Admin, now, &mut rng)?;
//! let response = loop {
//!     match srs.execute(&op, now, &mut rng) {
//!         Err(Error::Store(StoreError::NotFetched)) => {
//!             for key in stage.missing() {
//!                 stage.supply(key.clone(), database.get(&key).map_err(Error::Store)?);
//!             }
//!         }
//!         Ok(response) => {
//!             let changeset = stage.take_changeset().expect("a completed run");
//!             database.commit(&changeset).map_err(Error::Store)?; // only now release
//!             break response;
//!         }
//!         Err(e) => return Err(e),
//!     }
//! };
//! assert_eq!(response, Response::Done);
//! stage.clear();
//! assert_eq!(database.len(), 4); // principal, bundle index, replay row and its expiry index
//! # Ok(())
//! # }
//! ```

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::srs::store::{Changeset, Row, Store, StoreError};

/// The rows an operation has been given so far, and its changeset once it completes.
#[derive(Debug, Default)]
pub struct Staged {
    inner: RefCell<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: BTreeMap<Vec<u8>, Option<Row>>,
    missing: Vec<Vec<u8>>,
    changeset: Option<Changeset>,
}

impl Staged {
    /// An empty stage.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys the last run needed and did not find (fetch them, then [`Staged::supply`]).
    pub fn missing(&self) -> Vec<Vec<u8>> {
        core::mem::take(&mut self.inner.borrow_mut().missing)
    }

    /// Gives the stage the row under `key` as the database holds it (`None`: absent).
    pub fn supply(&self, key: Vec<u8>, row: Option<Row>) {
        self.inner.borrow_mut().rows.insert(key, row);
    }

    /// The changeset of the completed run, for the driver to commit.
    pub fn take_changeset(&self) -> Option<Changeset> {
        self.inner.borrow_mut().changeset.take()
    }

    /// Forgets everything (between operations, or after a conflict).
    pub fn clear(&self) {
        *self.inner.borrow_mut() = Inner::default();
    }
}

impl Store for Staged {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        if let Some(row) = inner.rows.get(key) {
            return Ok(row.clone());
        }
        if !inner.missing.iter().any(|k| k == key) {
            inner.missing.push(key.to_vec());
        }
        Err(StoreError::NotFetched)
    }

    /// Listings are not staged: run them against the database directly.
    fn scan(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<Vec<Row>, StoreError> {
        Err(StoreError::Unavailable)
    }

    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        self.inner.borrow_mut().changeset = Some(changeset.clone());
        Ok(())
    }
}
