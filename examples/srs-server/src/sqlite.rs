//! The SQLite side of the store: one connection per process, WAL, the schema's migrations,
//! and — once the server arms it — the **group transaction** that `durable.rs` ends.
//!
//! **One connection.** Every handle of a process shares one connection
//! ([`crate::store::DbStore::share`]), each statement (and each commit) under its lock:
//! SQLite runs one statement at a time on a database anyway, and in WAL mode a connection
//! throws its whole page cache away whenever it starts a read and finds that *another*
//! connection has committed. With one connection per handle, every served request committed,
//! so every read of every other handle began on an emptied cache and fetched its pages again
//! from the operating system (about 90 `pread`s per re-encryption); a single connection keeps
//! its cache warm. Another process on the same file (the audit, a second server) is still
//! safe: commits re-check their read set under the database's write lock.
//!
//! **Commits.** Without the group commit (`synchronous=normal`, `full-per-commit`, or any
//! program but the server), a changeset is one transaction: `BEGIN IMMEDIATE` (the database's
//! one write lock), the read set re-checked, the writes, `COMMIT`. With it
//! ([`Sqlite::start_group_commit`], `synchronous=full`), a changeset is a `SAVEPOINT` inside
//! one transaction left open across operations: the first changeset begins it, every later
//! one joins it, and the `fsync` leader of [`GroupCommit::durable`] commits it (`COMMIT`, then
//! the WAL's `fsync`). So the operations of a group share not only the `fsync` but the commit
//! itself: the pages they all touch (the rows table's last leaf, the commit counter, the
//! replay-expiry index's end) go to the WAL once per group instead of once per operation, and
//! `BEGIN`/`COMMIT` run once. A changeset that fails rolls back to its savepoint (the whole
//! transaction if it began it), leaving the others'. Reads between see the group's writes —
//! which is safe because no answer leaves the server before its group is committed and on
//! disk (`server.rs` waits for [`Sqlite::durable`] after every operation, whatever its outcome).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use rusqlite::OptionalExtension;
use sesphr::srs::{Changeset, Row, RowVersion, StoreError, Write};

use crate::durable::{Durability, GroupCommit};
use crate::store::{open_err, pending_migrations, unavailable, version_of, OpenError};

/// How much of the database file SQLite reads through a memory map, in bytes. The page
/// cache keeps SQLite's default (2 MiB; a larger one costs more than it saves: SQLite scans
/// its whole hash table at the end of every commit), far less than a deployment's database
/// (32 MB at 10 000 records), so reads miss it; through the map a miss is a memory access
/// instead of a `pread` into a fresh buffer (about 34 per re-encryption, counted with strace).
/// Writes still go through the WAL and its `fsync` (the map is read-only): durability is
/// unchanged.
const MMAP_BYTES: u64 = 1 << 30;

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the rows, the commit counter, the blobs.
    "CREATE TABLE rows (key BLOB PRIMARY KEY, version INTEGER NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
     CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 0), last INTEGER NOT NULL);
     INSERT INTO clock VALUES (0, 0);
     CREATE TABLE blobs (hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;",
    // 2: the rows in a rowid table, found through the primary key's index. A WITHOUT ROWID
    // table keeps whole rows (record heads: ~800 bytes) in its interior pages too: about 6
    // children per interior page, a tree 6 levels deep at 100 000 rows, and more pages
    // rewritten per commit. The index holds only the keys (up to 69 bytes): a few levels.
    "CREATE TABLE rows_v2 (key BLOB NOT NULL PRIMARY KEY, version INTEGER NOT NULL, value BLOB NOT NULL);
     INSERT INTO rows_v2 (key, version, value) SELECT key, version, value FROM rows ORDER BY key;
     DROP TABLE rows;
     ALTER TABLE rows_v2 RENAME TO rows;",
];

/// The one SQLite connection of a process, and its group commit once armed.
#[derive(Debug)]
pub struct Sqlite {
    conn: Mutex<Conn>,
    durability: Durability,
    group: OnceLock<GroupCommit>,
}

/// The connection and what the group commit tracks about it (under the same lock).
#[derive(Debug)]
pub struct Conn {
    c: rusqlite::Connection,
    /// Counted changesets sit in the open group transaction. If SQLite ever ends that
    /// transaction by itself (it rolls the whole transaction back on an I/O error, a full
    /// disk or no memory, whatever statement hit it), they are gone: see [`Sqlite::lock`].
    group_open: bool,
    /// The last `PRAGMA data_version` seen: it changes when *another* connection commits.
    data_version: i64,
}

impl std::ops::Deref for Conn {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        &self.c
    }
}

/// Runs one of the fixed statements without parameters or rows (`BEGIN`, `COMMIT`, …)
/// from the statement cache: `execute_batch` would parse it again on every call.
fn run_cached(c: &rusqlite::Connection, sql: &str) -> Result<(), StoreError> {
    c.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(drop)
        .map_err(unavailable)
}

impl Sqlite {
    /// Opens `PATH` or `PATH?synchronous=full|full-per-commit|normal` and brings the schema
    /// up to [`SCHEMA_VERSION`](crate::store::SCHEMA_VERSION).
    pub(crate) fn open(spec: &str) -> Result<Self, OpenError> {
        let (path, durability) = match spec.rsplit_once("?synchronous=") {
            Some((p, s)) => match Durability::parse(s) {
                Some(d) => (p, d),
                None => {
                    return Err(OpenError(
                        "sqlite: synchronous is full, full-per-commit or normal".into(),
                    ))
                }
            },
            None => (spec, Durability::default()),
        };
        let mut c = rusqlite::Connection::open(path).map_err(open_err)?;
        c.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // WAL: readers never block the writer. `full` (the default) and `full-per-commit`
        // start with SQLite's own FULL, an fsync inside every COMMIT (what any program
        // opening the store gets); the server then arms the group commit for `full`
        // (`start_group_commit`). `normal`: an acknowledged write survives a killed server
        // process (the WAL is written before the answer), not a power cut.
        // temp_store=MEMORY: the savepoints' sub-journals (the pages a changeset changes
        // inside a group) stay in memory instead of spilling to a temporary file.
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(OpenError(format!(
                "sqlite: the database refused WAL mode ({mode})"
            )));
        }
        c.execute_batch(&format!(
            "PRAGMA synchronous={}; PRAGMA mmap_size={MMAP_BYTES}; PRAGMA temp_store=MEMORY;",
            durability.pragma()
        ))
        .map_err(open_err)?;
        // Every statement the store runs stays prepared (about 15 of them).
        c.set_prepared_statement_cache_capacity(32);
        migrate(&mut c)?;
        Ok(Self {
            conn: Mutex::new(Conn {
                c,
                group_open: false,
                data_version: 0,
            }),
            durability,
            group: OnceLock::new(),
        })
    }

    /// The connection, locked for one statement or one transaction. With the group commit,
    /// this is where a group transaction that SQLite rolled back by itself is noticed: its
    /// counted changesets are lost, so the store is poisoned (no waiter of that group, nor
    /// anyone after, is told its write is on disk).
    pub fn lock(&self) -> Result<MutexGuard<'_, Conn>, StoreError> {
        let mut c = self.conn.lock().map_err(unavailable)?;
        if c.group_open && c.c.is_autocommit() {
            c.group_open = false;
            self.poison("SQLite rolled the group transaction back");
            return Err(StoreError::Unavailable);
        }
        Ok(c)
    }

    /// Stops every acknowledgement (see `durable.rs`).
    fn poison(&self, why: &str) {
        if let Some(g) = self.group.get() {
            g.poison(why);
        }
    }

    /// Arms the group commit if the database was opened with `synchronous=full` (returns
    /// whether it did). From then on a commit returns before it is on disk, and **nothing
    /// read from this store may leave the program before [`durable`](Self::durable)
    /// returns**: the server waits for it after every operation.
    pub fn start_group_commit(&self) -> Result<bool, StoreError> {
        if self.durability != Durability::Full {
            return Ok(false);
        }
        if self.group.get().is_none() {
            let c = self.lock()?;
            // The WAL SQLite really uses: its own resolved name (a symlink or a `file:` URI
            // in `--db` would make the text's `PATH-wal` another file), opened once.
            let wal = match c.path() {
                Some(p) if !p.is_empty() => PathBuf::from(format!("{p}-wal")),
                _ => {
                    return Err(unavailable(
                        "sqlite: the group commit needs a database file",
                    ))
                }
            };
            let g = GroupCommit::open(&wal)
                .map_err(|e| unavailable(format!("{}: {e}", wal.display())))?;
            // NORMAL underneath: the WAL is written at COMMIT, and `durable` syncs it.
            run_cached(&c, "PRAGMA synchronous=NORMAL")?;
            let _ = self.group.set(g);
        }
        Ok(true)
    }

    /// Counts what other connections (another process on the file) committed since this
    /// one last looked: an answer about to leave may rest on it, and with the group commit
    /// that process may not have synced it yet, so the answer waits for a WAL `fsync` too
    /// (the WAL is one file: ours syncs its frames as well).
    pub fn note_foreign_commits(&self) -> Result<(), StoreError> {
        let Some(g) = self.group.get() else {
            return Ok(());
        };
        let mut c = self.lock()?;
        let v: i64 = c
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(unavailable)?;
        if std::mem::replace(&mut c.data_version, v) != v {
            g.wrote();
        }
        Ok(())
    }

    /// The armed group commit, if any.
    pub fn group_commit(&self) -> Option<&GroupCommit> {
        self.group.get()
    }

    /// Returns once everything written so far is committed and on disk (at once if the group
    /// commit is not armed).
    pub async fn durable(&self) -> Result<(), StoreError> {
        match self.group.get() {
            Some(g) => g.durable(g.written(), || self.end_group()).await,
            None => Ok(()),
        }
    }

    /// Commits the open group transaction, if there is one. On failure the transaction is
    /// rolled back and the leader poisons the store.
    fn end_group(&self) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        if c.is_autocommit() {
            return Ok(());
        }
        c.group_open = false;
        run_cached(&c, "COMMIT").inspect_err(|_| {
            if !c.is_autocommit() {
                let _ = run_cached(&c, "ROLLBACK");
            }
        })
    }

    /// Counts a changeset that wrote rows, with the connection still locked (`durable.rs`);
    /// inside an open transaction, marks the group open.
    fn wrote(&self, c: &mut Conn) {
        if let Some(g) = self.group.get() {
            c.group_open |= !c.is_autocommit();
            g.wrote();
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        self.lock()?
            .prepare_cached("SELECT version, value FROM rows WHERE key = ?1")
            .and_then(|mut s| {
                s.query_row([key], |r| {
                    Ok(Row {
                        key: key.to_vec(),
                        version: version_of(r.get(0)?),
                        value: r.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(unavailable)
    }

    /// Up to `limit` rows with keys `>= lower` (`> lower` if `strict`) and `< end`.
    pub(crate) fn scan(
        &self,
        lower: &[u8],
        strict: bool,
        end: Option<Vec<u8>>,
        limit: i64,
    ) -> Result<Vec<Row>, StoreError> {
        let op = if strict { ">" } else { ">=" };
        let sql = format!(
            "SELECT key, version, value FROM rows WHERE key {op} ?1 AND (?2 IS NULL OR key < ?2) ORDER BY key LIMIT ?3"
        );
        let c = self.lock()?;
        let mut s = c.prepare_cached(&sql).map_err(unavailable)?;
        let rows = s
            .query_map(rusqlite::params![lower, end, limit], |r| {
                Ok(Row {
                    key: r.get(0)?,
                    version: version_of(r.get(1)?),
                    value: r.get(2)?,
                })
            })
            .map_err(unavailable)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
    }

    pub(crate) fn commit(&self, cs: &Changeset) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        if cs.is_read_only() {
            // A pure read: check the versions in one snapshot.
            return snapshot(&c, || check(&c, cs));
        }
        let Some(g) = self.group.get() else {
            run_cached(&c, "BEGIN IMMEDIATE")?;
            return apply(&c, cs)
                .and_then(|()| run_cached(&c, "COMMIT"))
                .inspect_err(|_| {
                    // Nothing of the changeset stays (a failed COMMIT leaves the
                    // transaction open).
                    if !c.is_autocommit() {
                        let _ = run_cached(&c, "ROLLBACK");
                    }
                });
        };
        if g.is_failed() {
            return Err(StoreError::Unavailable);
        }
        let began = c.is_autocommit();
        if began {
            run_cached(&c, "BEGIN IMMEDIATE")?;
        }
        let joined = run_cached(&c, "SAVEPOINT op")
            .and_then(|()| apply(&c, cs).and_then(|()| run_cached(&c, "RELEASE op")));
        let Err(e) = joined else {
            self.wrote(&mut c);
            return Ok(());
        };
        // Only this changeset goes: the whole transaction if it began it (so no empty
        // transaction keeps the write lock), else back to its savepoint. If that undo fails,
        // or SQLite already rolled the whole group back, the group cannot be trusted.
        let undone = if began {
            run_cached(&c, "ROLLBACK").map(|()| c.is_autocommit())
        } else if c.is_autocommit() {
            Ok(!c.group_open)
        } else {
            run_cached(&c, "ROLLBACK TO op")
                .and_then(|()| run_cached(&c, "RELEASE op"))
                .map(|()| true)
        };
        if undone != Ok(true) {
            if !c.is_autocommit() {
                let _ = run_cached(&c, "ROLLBACK");
            }
            c.group_open = false;
            self.poison("a failed changeset could not be undone alone");
            return Err(StoreError::Unavailable);
        }
        Err(e)
    }

    /// Stores a blob under its SHA-256 (idempotent).
    pub(crate) fn put_blob(&self, hash: &[u8; 32], data: &[u8]) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        let added = c
            .prepare_cached("INSERT OR IGNORE INTO blobs (hash, data) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(rusqlite::params![&hash[..], data]))
            .map_err(unavailable)?;
        if added > 0 {
            self.wrote(&mut c);
        }
        Ok(())
    }

    /// The blob stored under `hash`, if any.
    pub(crate) fn get_blob(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.lock()?
            .prepare_cached("SELECT data FROM blobs WHERE hash = ?1")
            .and_then(|mut s| s.query_row([&hash[..]], |r| r.get(0)).optional())
            .map_err(unavailable)
    }

    /// The current versions of `keys` (absent: 0), read in one snapshot.
    pub(crate) fn versions(&self, keys: &[&[u8]]) -> Result<Vec<RowVersion>, StoreError> {
        let c = self.lock()?;
        snapshot(&c, || {
            let mut s = c
                .prepare_cached("SELECT version FROM rows WHERE key = ?1")
                .map_err(unavailable)?;
            keys.iter()
                .map(|k| {
                    let v: Option<i64> = s
                        .query_row([k], |r| r.get(0))
                        .optional()
                        .map_err(unavailable)?;
                    Ok(v.map_or(RowVersion::ABSENT, version_of))
                })
                .collect()
        })
    }
}

/// Runs `f` in one snapshot: a read transaction ended whatever `f` returns, or the open
/// group transaction (already one snapshot, which no other writer can change).
fn snapshot<T>(
    c: &rusqlite::Connection,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !c.is_autocommit() {
        return f();
    }
    run_cached(c, "BEGIN")?;
    let r = f();
    // Nothing was written: COMMIT only ends the snapshot.
    let end = run_cached(c, "COMMIT");
    if end.is_err() && !c.is_autocommit() {
        let _ = run_cached(c, "ROLLBACK");
    }
    let r = r?;
    end.map(|()| r)
}

/// Checks the read set and applies the writes, inside a write transaction.
fn apply(c: &rusqlite::Connection, cs: &Changeset) -> Result<(), StoreError> {
    check(c, cs)?;
    let v: i64 = c
        .prepare_cached("UPDATE clock SET last = last + 1 WHERE id = 0 RETURNING last")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .map_err(unavailable)?
        .ok_or(StoreError::Unavailable)?;
    let mut put = c
        .prepare_cached(
            "INSERT INTO rows (key, version, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value",
        )
        .map_err(unavailable)?;
    let mut del = c
        .prepare_cached("DELETE FROM rows WHERE key = ?1")
        .map_err(unavailable)?;
    for w in cs.writes() {
        match w {
            Write::Put(k, value) => put.execute(rusqlite::params![k, v, value]),
            Write::Delete(k) => del.execute([k]),
        }
        .map_err(unavailable)?;
    }
    Ok(())
}

fn check(c: &rusqlite::Connection, cs: &Changeset) -> Result<(), StoreError> {
    let mut s = c
        .prepare_cached("SELECT version FROM rows WHERE key = ?1")
        .map_err(unavailable)?;
    for (key, seen) in cs.reads() {
        let now: Option<i64> = s
            .query_row([key], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        if now.map_or(RowVersion::ABSENT, version_of) != *seen {
            return Err(StoreError::Conflict);
        }
    }
    Ok(())
}

fn migrate(c: &mut rusqlite::Connection) -> Result<(), OpenError> {
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(open_err)?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        [],
    )
    .map_err(open_err)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(open_err)?;
    for (v, m) in pending_migrations(current, MIGRATIONS)? {
        tx.execute_batch(m).map_err(open_err)?;
        tx.execute("INSERT INTO schema_version VALUES (?1)", [v])
            .map_err(open_err)?;
    }
    tx.commit().map_err(open_err)
}
