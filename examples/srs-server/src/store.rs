//! The SRS's [`Store`] over SQL: one keyed table `rows(key, version, value)`, a `blobs` table
//! for the content-addressed cloud store, and a `schema_version` table with migrations. One
//! implementation for SQLite (rusqlite) and PostgreSQL (postgres), differing only in dialect
//! and in how a commit is isolated:
//!
//! - **SQLite** (`sqlite.rs`): `BEGIN IMMEDIATE` takes the database's single write lock, so
//!   the read set is re-checked and the writes applied with no other writer in between; in
//!   the server, several operations' changesets share one transaction and one `fsync` (the
//!   group commit, `durable.rs`).
//! - **PostgreSQL**: a `SERIALIZABLE` transaction re-reads the read set and writes; the
//!   database aborts one of two transactions whose reads and writes overlap (SQLSTATE 40001),
//!   and a concurrent first insert of one key fails on the primary key (23505): both are
//!   [`StoreError::Conflict`], so two server processes on one database never lose an update.
//!
//! Row versions are unique commit numbers (a counter row in SQLite, a sequence in PostgreSQL):
//! a deleted and re-created row never shows an old version again.
//!
//! **Connections.** On PostgreSQL every handle owns one connection; the server keeps a pool
//! of handles (see `server.rs`). On SQLite every handle of a process shares **one**
//! connection ([`DbStore::share`]; `sqlite.rs` says why).

use std::sync::{Arc, Mutex};

use sesphr::srs::{Changeset, Row, RowVersion, Store, StoreError, Write};

use crate::sqlite::Sqlite;

/// The newest schema this build writes; older databases are migrated on open.
pub const SCHEMA_VERSION: i64 = 2;

/// Where the rows live, as given by `--db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite:PATH`.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…` (a libpq-style URL).
    Postgres(String),
}

impl std::str::FromStr for DbUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("sqlite: needs a path".into());
            }
            Ok(DbUrl::Sqlite(path.to_string()))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(s.to_string()))
        } else {
            Err(format!(
                "unknown database {s:?}: use sqlite:PATH or postgres://…"
            ))
        }
    }
}

/// Why opening or migrating a database failed (startup only; requests see [`StoreError`]).
#[derive(Debug)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenError {}

pub(crate) fn open_err(e: impl std::fmt::Display) -> OpenError {
    OpenError(e.to_string())
}

/// A connection to the database, implementing the SRS's [`Store`].
pub enum DbStore {
    /// SQLite: one connection, shared by the handles that [`DbStore::share`] it.
    Sqlite(Arc<Sqlite>),
    /// PostgreSQL (the synchronous client needs `&mut`, hence the uncontended lock; boxed:
    /// the client is large).
    Postgres(Box<Mutex<postgres::Client>>),
}

impl std::fmt::Debug for DbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbStore::Sqlite(_) => "DbStore::Sqlite",
            DbStore::Postgres(_) => "DbStore::Postgres",
        })
    }
}

/// Logs the cause of a database failure and returns what the SRS sees.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    tracing::warn!(error = %e, "store unavailable");
    StoreError::Unavailable
}

const PG_MIGRATIONS: &[&str] = &[
    // 1: the rows, the commit sequence, the blobs.
    "CREATE TABLE rows (key BYTEA PRIMARY KEY, version BIGINT NOT NULL, value BYTEA NOT NULL);
     CREATE SEQUENCE commit_seq;
     CREATE TABLE blobs (hash BYTEA PRIMARY KEY, data BYTEA NOT NULL);",
    // 2: nothing (a change of the SQLite table's layout only).
    "SELECT 1;",
];

impl DbStore {
    /// Opens one connection and brings the schema up to [`SCHEMA_VERSION`].
    pub fn open(url: &DbUrl) -> Result<Self, OpenError> {
        match url {
            DbUrl::Sqlite(spec) => Ok(DbStore::Sqlite(Arc::new(Sqlite::open(spec)?))),
            DbUrl::Postgres(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(open_err)?;
                migrate_pg(&mut c)?;
                Ok(DbStore::Postgres(Box::new(Mutex::new(c))))
            }
        }
    }

    /// Another store over the same SQLite connection (`None` on PostgreSQL, where every
    /// handle opens its own connection): the server's handles share one SQLite connection.
    pub fn share(&self) -> Option<DbStore> {
        match self {
            DbStore::Sqlite(c) => Some(DbStore::Sqlite(c.clone())),
            DbStore::Postgres(_) => None,
        }
    }

    /// The SQLite connection (`None` on PostgreSQL).
    pub fn sqlite(&self) -> Option<&Arc<Sqlite>> {
        match self {
            DbStore::Sqlite(c) => Some(c),
            DbStore::Postgres(_) => None,
        }
    }

    /// Stores a blob under its SHA-256 (idempotent).
    pub fn put_blob(&self, hash: &[u8; 32], data: &[u8]) -> Result<(), StoreError> {
        match self {
            DbStore::Sqlite(c) => c.put_blob(hash, data),
            DbStore::Postgres(c) => {
                let mut c = c.lock().map_err(unavailable)?;
                c.execute(
                    "INSERT INTO blobs (hash, data) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
                    &[&&hash[..], &data],
                )
                .map(drop)
                .map_err(unavailable)
            }
        }
    }

    /// The blob stored under `hash`, if any.
    pub fn get_blob(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            DbStore::Sqlite(c) => c.get_blob(hash),
            DbStore::Postgres(c) => {
                let mut c = c.lock().map_err(unavailable)?;
                c.query_opt("SELECT data FROM blobs WHERE hash = $1", &[&&hash[..]])
                    .map(|r| r.map(|r| r.get(0)))
                    .map_err(unavailable)
            }
        }
    }
}

impl DbStore {
    /// The current versions of `keys` (absent: 0), read in one snapshot.
    pub fn versions(&self, keys: &[&[u8]]) -> Result<Vec<RowVersion>, StoreError> {
        match self {
            DbStore::Sqlite(c) => c.versions(keys),
            DbStore::Postgres(c) => {
                let mut c = c.lock().map_err(unavailable)?;
                let mut tx = c
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .map_err(pg_error)?;
                let found = tx
                    .query(
                        "SELECT key, version FROM rows WHERE key = ANY($1)",
                        &[&keys],
                    )
                    .map_err(pg_error)?;
                tx.commit().map_err(pg_error)?;
                let now: std::collections::BTreeMap<Vec<u8>, i64> = found
                    .iter()
                    .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, i64>(1)))
                    .collect();
                Ok(keys
                    .iter()
                    .map(|k| now.get(*k).map_or(RowVersion::ABSENT, |v| version_of(*v)))
                    .collect())
            }
        }
    }
}

fn migrate_pg(c: &mut postgres::Client) -> Result<(), OpenError> {
    let mut tx = c.transaction().map_err(open_err)?;
    // Two servers starting at once: the first migrates, the second waits here.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7177001);
         CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);",
    )
    .map_err(open_err)?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .map_err(open_err)?
        .get(0);
    for (v, m) in pending_migrations(current, PG_MIGRATIONS)? {
        tx.batch_execute(m).map_err(open_err)?;
        tx.execute("INSERT INTO schema_version VALUES ($1)", &[&v])
            .map_err(open_err)?;
    }
    tx.commit().map_err(open_err)
}

/// The migrations (numbered from 1) a database at schema `current` still needs; a schema
/// newer than this server's is refused. Both databases' migrations go through here.
pub(crate) fn pending_migrations<'a>(
    current: i64,
    migrations: &'a [&'a str],
) -> Result<impl Iterator<Item = (i64, &'a str)> + 'a, OpenError> {
    if current > SCHEMA_VERSION {
        return Err(OpenError(format!(
            "database schema {current} is newer than this server ({SCHEMA_VERSION})"
        )));
    }
    Ok((1..)
        .zip(migrations.iter().copied())
        .filter(move |(v, _)| *v > current))
}

/// The exclusive upper bound of the keys starting with `prefix` (`None`: no bound).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

pub(crate) fn version_of(v: i64) -> RowVersion {
    RowVersion(u64::try_from(v).unwrap_or(0))
}

fn pg_error(e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    match e.code() {
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::UNIQUE_VIOLATION
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            StoreError::Conflict
        }
        _ => unavailable(e),
    }
}

impl Store for DbStore {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        let row = |version: i64, value: Vec<u8>| Row {
            key: key.to_vec(),
            version: version_of(version),
            value,
        };
        match self {
            DbStore::Sqlite(c) => c.get(key),
            DbStore::Postgres(c) => {
                let mut c = c.lock().map_err(unavailable)?;
                let r = c
                    .query_opt("SELECT version, value FROM rows WHERE key = $1", &[&key])
                    .map_err(pg_error)?;
                Ok(r.map(|r| row(r.get(0), r.get(1))))
            }
        }
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        // Keys > `after` (if it is within the prefix's range), >= prefix, < prefix_end.
        let lower: &[u8] = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let strict = matches!(after, Some(a) if a >= prefix);
        let end = prefix_end(prefix);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let op = if strict { ">" } else { ">=" };
        match self {
            DbStore::Sqlite(c) => c.scan(lower, strict, end, limit),
            DbStore::Postgres(c) => {
                let sql = format!(
                    "SELECT key, version, value FROM rows WHERE key {op} $1 AND ($2::BYTEA IS NULL OR key < $2) ORDER BY key LIMIT $3"
                );
                let mut c = c.lock().map_err(unavailable)?;
                let rows = c.query(&sql, &[&lower, &end, &limit]).map_err(pg_error)?;
                Ok(rows
                    .iter()
                    .map(|r| Row {
                        key: r.get(0),
                        version: version_of(r.get(1)),
                        value: r.get(2),
                    })
                    .collect())
            }
        }
    }

    fn commit(&self, changeset: &Changeset) -> Result<(), StoreError> {
        match self {
            DbStore::Sqlite(c) => c.commit(changeset),
            DbStore::Postgres(c) => {
                let mut c = c.lock().map_err(unavailable)?;
                commit_pg(&mut c, changeset)
            }
        }
    }
}

fn commit_pg(c: &mut postgres::Client, cs: &Changeset) -> Result<(), StoreError> {
    let mut tx = c
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::Serializable)
        .start()
        .map_err(pg_error)?;
    if !cs.reads().is_empty() {
        let keys: Vec<&[u8]> = cs.reads().iter().map(|(k, _)| k.as_slice()).collect();
        let found = tx
            .query(
                "SELECT key, version FROM rows WHERE key = ANY($1)",
                &[&keys],
            )
            .map_err(pg_error)?;
        let mut current: std::collections::BTreeMap<Vec<u8>, i64> = found
            .iter()
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, i64>(1)))
            .collect();
        for (key, seen) in cs.reads() {
            let now = current.remove(key).map_or(RowVersion::ABSENT, version_of);
            if now != *seen {
                return Err(StoreError::Conflict);
            }
        }
    }
    if !cs.is_read_only() {
        let v: i64 = tx
            .query_one("SELECT nextval('commit_seq')", &[])
            .map_err(pg_error)?
            .get(0);
        let mut puts_k: Vec<&[u8]> = Vec::new();
        let mut puts_v: Vec<&[u8]> = Vec::new();
        let mut dels: Vec<&[u8]> = Vec::new();
        for w in cs.writes() {
            match w {
                Write::Put(k, value) => {
                    puts_k.push(k);
                    puts_v.push(value);
                }
                Write::Delete(k) => dels.push(k),
            }
        }
        if !dels.is_empty() {
            tx.execute("DELETE FROM rows WHERE key = ANY($1)", &[&dels])
                .map_err(pg_error)?;
        }
        if !puts_k.is_empty() {
            tx.execute(
                "INSERT INTO rows (key, version, value)
                 SELECT k, $1, v FROM UNNEST($2::BYTEA[], $3::BYTEA[]) AS t(k, v)
                 ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, value = EXCLUDED.value",
                &[&v, &puts_k, &puts_v],
            )
            .map_err(pg_error)?;
        }
    }
    tx.commit().map_err(pg_error)
}

#[cfg(test)]
#[path = "store_tests.rs"]
pub(crate) mod tests;
