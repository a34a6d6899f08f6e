//! The SRS's storage interface (SPEC §8): rows of bytes under ordered keys, read one at a time
//! or by prefix, and written one operation at a time as an atomic, optimistically checked
//! changeset.
//!
//! Modelled on rustls's `StoresServerSessions` (bytes in, bytes out, `&self`, `Send + Sync`)
//! and openmls's `StorageProvider` (the crate owns the row encodings, the store owns
//! durability), plus what neither has: every row carries a [`RowVersion`], every operation's
//! changeset lists the versions of the rows it read — `RowVersion::ABSENT` for rows it found
//! missing — and [`Store::commit`] applies the writes only if every one of those rows is
//! unchanged, otherwise it fails with [`StoreError::Conflict`] and changes nothing. Two SRS
//! handles over one store therefore never lose an update: one commits, the other retries.
//!
//! A SQL database implements it with one table `(key BLOB PRIMARY KEY, version INTEGER, value
//! BLOB)`, `SELECT … WHERE key >= ? AND key < ? ORDER BY key LIMIT ?` for scans, and one
//! transaction per commit that re-reads the read set (`SELECT version … FOR UPDATE`, or a
//! serializable transaction) before writing. A key-value store with compare-and-set does the
//! same. Versions only grow: a store assigns each commit a number larger than every earlier
//! one and stamps the rows it writes with it, so a deleted and re-created row never shows an
//! old version again.

use alloc::vec::Vec;
use core::fmt;

/// A row's version: `0` for a row that does not exist, otherwise the number of the commit
/// that last wrote it (strictly increasing across the store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct RowVersion(pub u64);

impl RowVersion {
    /// The version of a row that does not exist.
    pub const ABSENT: Self = Self(0);
}

/// A stored row: its key, version and value.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Row {
    /// The key (a kind byte, then the fields that name the row).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    pub key: Vec<u8>,
    /// The version (never [`RowVersion::ABSENT`] for a stored row).
    pub version: RowVersion,
    /// The value (a versioned canonical encoding).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
    pub value: Vec<u8>,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row")
            .field("kind", &self.key.first())
            .field("key_len", &self.key.len())
            .field("version", &self.version.0)
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// One write of a changeset: put a value, or delete the row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Write {
    /// Creates or replaces the row.
    Put(
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))] Vec<u8>,
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))] Vec<u8>,
    ),
    /// Deletes the row (a no-op if it is absent).
    Delete(#[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))] Vec<u8>),
}

impl Write {
    /// The row key written.
    pub fn key(&self) -> &[u8] {
        match self {
            Write::Put(k, _) | Write::Delete(k) => k,
        }
    }
}

/// What one operation read and what it writes, committed atomically by [`Store::commit`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Changeset {
    #[cfg_attr(feature = "serde", serde(with = "read_list"))]
    pub(crate) reads: Vec<(Vec<u8>, RowVersion)>,
    pub(crate) writes: Vec<Write>,
}

/// serde for a changeset's reads: `[{"key": hex, "version": n}, …]`.
#[cfg(feature = "serde")]
mod read_list {
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::RowVersion;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Read {
        #[serde(with = "crate::serde_bytes::hex")]
        key: Vec<u8>,
        version: RowVersion,
    }

    pub fn serialize<S: Serializer>(v: &[(Vec<u8>, RowVersion)], s: S) -> Result<S::Ok, S::Error> {
        let reads: Vec<Read> = v
            .iter()
            .map(|(key, version)| Read {
                key: key.clone(),
                version: *version,
            })
            .collect();
        reads.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(Vec<u8>, RowVersion)>, D::Error> {
        Ok(Vec::<Read>::deserialize(d)?
            .into_iter()
            .map(|r| (r.key, r.version))
            .collect())
    }
}

impl Changeset {
    /// Every row the operation read, with the version it saw ([`RowVersion::ABSENT`] for a
    /// row it found missing), in key order, each once.
    pub fn reads(&self) -> &[(Vec<u8>, RowVersion)] {
        &self.reads
    }

    /// The writes, in key order, each key once.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Whether the operation writes nothing (a pure read).
    pub fn is_read_only(&self) -> bool {
        self.writes.is_empty()
    }
}

/// Why a store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreError {
    /// A row the operation read changed before its commit: nothing was written; retry the
    /// operation (it re-reads the rows).
    Conflict,
    /// The store could not serve the request (I/O, connection, corruption); nothing was
    /// written. The application logs the cause; the SRS only passes this on.
    Unavailable,
    /// A [`crate::srs::Staged`] store does not hold a row the operation needs yet: fetch the
    /// rows it lists as missing and run the operation again.
    NotFetched,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Conflict => "a row changed concurrently; retry the operation",
            StoreError::Unavailable => "the store is unavailable",
            StoreError::NotFetched => "a row the operation needs has not been fetched yet",
        })
    }
}

/// Where the SRS keeps its rows. Implementations must be safe to share between SRS handles
/// (and threads): every method takes `&self`.
pub trait Store {
    /// The row under `key`, or `None`.
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError>;

    /// Up to `limit` rows whose keys start with `prefix` and are greater than `after` (if
    /// given), in key order: one page of a listing.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError>;

    /// Applies `changeset` atomically if every row it read still has the version it saw;
    /// otherwise changes nothing and returns [`StoreError::Conflict`].
    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError>;
}

impl<S: Store + ?Sized> Store for &S {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        (**self).get(key)
    }
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        (**self).scan(prefix, after, limit)
    }
    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        (**self).commit(changeset)
    }
}

impl<S: Store + ?Sized> Store for alloc::sync::Arc<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        (**self).get(key)
    }
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        (**self).scan(prefix, after, limit)
    }
    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        (**self).commit(changeset)
    }
}
