//! Group commit on SQLite: the changesets of concurrent operations share one transaction and
//! one `fsync` of the write-ahead log, and no answer leaves before its commit is on disk.
//!
//! SQLite's `synchronous=FULL` in WAL mode is `synchronous=NORMAL` plus an `fsync` of the WAL
//! at the end of every commit (<https://sqlite.org/pragma.html#pragma_synchronous>): NORMAL
//! already writes the commit's frames to the WAL before `COMMIT` returns, and already syncs
//! the WAL before each checkpoint and its header when the WAL is reused. FULL's per-commit
//! `fsync` runs inside `COMMIT`, under the database's one write lock and the server's one
//! connection, so concurrent requests each pay a whole commit and `fsync` in turn.
//!
//! [`GroupCommit`] keeps the same promise — an answer the server sent rests only on commits
//! that are on disk — with NORMAL underneath and the commit moved out of the operation:
//!
//! 1. an operation's changeset joins the open transaction (a savepoint, `sqlite.rs`) and
//!    counts itself in [`GroupCommit::wrote`] *before* it releases the connection, so any
//!    request that could have read its rows reads a count that includes it;
//! 2. before answering, a request waits in [`GroupCommit::durable`] for the count it read
//!    when its work ended (whatever the outcome: a refusal too may rest on a fresh write);
//! 3. the first waiter finding no commit under way becomes the leader: it commits the open
//!    transaction and runs one `fdatasync` on the WAL file (which flushes every frame written
//!    so far, through any descriptor), then marks every changeset counted before it started
//!    as durable; the others wait for it. While the `fsync` runs, the connection keeps
//!    serving, and the changesets made meanwhile form the next group.
//! 4. **The commit delay** (PostgreSQL's `commit_delay` with `commit_siblings = 1`): an
//!    `fsync` here takes far less time than an operation, so groups rarely formed on their
//!    own (42 359 `fsync`s for 43 000 operations in a load run). A would-be leader that
//!    sees another operation executing first waits, asynchronously (its runtime worker serves
//!    other requests meanwhile) and at most [`COMMIT_DELAY`] in all, for the executing ones
//!    to commit or end. Under light load nothing is executing and nothing waits.
//!
//! A failed `COMMIT` or `fsync` poisons the store: after a failed `fsync`, Linux may report
//! later ones clean although the lost pages never reached the disk, so no later answer could
//! be trusted (PostgreSQL stops for the same reason). Every request then gets `503` until the
//! server restarts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sesphr::srs::StoreError;

/// What an acknowledged write survives, as chosen by `sqlite:PATH?synchronous=…`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `full` (the default): a power cut. In the server, the [`GroupCommit`] (SQLite
    /// `synchronous=NORMAL` underneath, one `COMMIT` and `fsync` per group, before the
    /// answers); in any other program opening the store, SQLite's own `synchronous=FULL`.
    #[default]
    Full,
    /// `full-per-commit`: a power cut, with SQLite's own `synchronous=FULL` (an `fsync` inside
    /// every `COMMIT`). Kept to compare against.
    FullPerCommit,
    /// `normal`: a killed process, not a power cut (SQLite `synchronous=NORMAL`, no `fsync`
    /// before answering).
    Normal,
}

impl Durability {
    /// Parses the `synchronous=` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Some(Self::Full),
            "full-per-commit" => Some(Self::FullPerCommit),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }

    /// SQLite's own `synchronous` setting for this mode, until the server arms the group
    /// commit (which sets NORMAL).
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Full | Self::FullPerCommit => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// The longest a would-be leader delays the commit for executing operations (step 4 of the
/// module's notes): about two operations' time (each about 1 ms of CPU).
pub const COMMIT_DELAY: Duration = Duration::from_millis(2);

/// The group commit of one SQLite database (see the module's notes).
#[derive(Debug)]
pub struct GroupCommit {
    /// The WAL's name (for logs) and the file itself, opened once: a descriptor held from
    /// the start is told of every write-back error on the file since it was opened (a
    /// fresh one per `fsync` would miss those reported to SQLite's own checkpoint syncs).
    wal: PathBuf,
    wal_file: std::fs::File,
    /// Commits that wrote something, counted before their connection is released.
    written: AtomicU64,
    /// Operations executing now (between [`executing`](Self::executing) and its guard's drop).
    executing: AtomicUsize,
    /// Signalled by every counted commit and every operation's end (for the commit delay).
    progress: tokio::sync::Notify,
    state: Mutex<SyncState>,
    done: tokio::sync::Notify,
    /// `fsync`s run (for `/v1/stats`: commits per `fsync` is the group size).
    syncs: AtomicU64,
}

/// What a waiter does after looking at the state.
enum Next {
    /// Another waiter leads the group's commit.
    Wait,
    /// The commit delay.
    Delay,
    /// Lead: `COMMIT` and `fsync`.
    Sync,
}

/// A leader between its claim and its result: dropped only by a panic (the normal path
/// forgets it), it poisons the store and releases the claim, so no waiter hangs.
struct Leading<'a>(&'a GroupCommit);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        s.in_flight = false;
        drop(s);
        self.0.poison("the group's leader panicked");
    }
}

/// An executing operation (see [`GroupCommit::executing`]).
#[derive(Debug)]
pub struct Executing<'a>(&'a GroupCommit);

impl Drop for Executing<'_> {
    fn drop(&mut self) {
        self.0.executing.fetch_sub(1, Ordering::AcqRel);
        self.0.progress.notify_waiters();
    }
}

#[derive(Debug, Default)]
struct SyncState {
    /// Every commit counted up to here is on disk.
    synced: u64,
    /// A leader's `COMMIT` and `fsync` are under way.
    in_flight: bool,
    /// A `COMMIT` or `fsync` failed: nothing is acknowledged any more.
    failed: bool,
}

impl GroupCommit {
    /// The group commit over the WAL file `wal` (which must exist: SQLite creates it when
    /// the database enters WAL mode). Syncs its directory once, so the file's entry is on
    /// disk too.
    pub fn open(wal: &Path) -> std::io::Result<Self> {
        let wal_file = std::fs::File::open(wal)?;
        let dir = match wal.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()?;
        Ok(Self {
            wal: wal.to_path_buf(),
            wal_file,
            written: AtomicU64::new(0),
            executing: AtomicUsize::new(0),
            progress: tokio::sync::Notify::new(),
            state: Mutex::new(SyncState::default()),
            done: tokio::sync::Notify::new(),
            syncs: AtomicU64::new(0),
        })
    }

    /// Stops every acknowledgement from now on (a lost or unsyncable group; `why` is logged).
    pub fn poison(&self, why: &str) {
        tracing::error!(
            why,
            "the group commit failed: no write is acknowledged until a restart"
        );
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.failed = true;
        drop(s);
        self.done.notify_waiters();
    }

    /// Whether the store is poisoned (every request gets 503 without running).
    pub fn is_failed(&self) -> bool {
        self.state.lock().map_or(true, |s| s.failed)
    }

    /// Counts a commit that wrote rows. Call it before the connection is released.
    pub fn wrote(&self) {
        self.written.fetch_add(1, Ordering::AcqRel);
        self.progress.notify_waiters();
    }

    /// Marks an operation as executing until the guard is dropped (the commit delay waits
    /// only while one is).
    pub fn executing(&self) -> Executing<'_> {
        self.executing.fetch_add(1, Ordering::AcqRel);
        Executing(self)
    }

    /// The commits counted so far: what an answer prepared now may rest on.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Whether every changeset counted up to `upto` is already on disk (so an answer needs
    /// no wait; a poisoned store is never settled).
    pub fn settled(&self, upto: u64) -> bool {
        self.state
            .lock()
            .is_ok_and(|s| !s.failed && s.synced >= upto)
    }

    /// The `fsync`s run so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Returns once every commit up to `upto` (a value of [`written`](Self::written)) is
    /// on disk, running `end` (which commits the open group transaction) and the `fsync`
    /// itself if none is under way. Cancel-safe: both run without an `.await` between
    /// claiming the `fsync` and publishing its result.
    pub async fn durable(
        &self,
        upto: u64,
        end: impl Fn() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Nothing to wait for (the common case of a read): no waiter registration.
        if self.settled(upto) {
            return Ok(());
        }
        // The commit delay's end, once it has begun.
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            // Registered before the state is read: a result published after the read wakes us.
            notified.as_mut().enable();
            let progress = self.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            let next = {
                let mut s = self.state.lock().map_err(|_| StoreError::Unavailable)?;
                if s.failed {
                    return Err(StoreError::Unavailable);
                }
                if s.synced >= upto {
                    return Ok(());
                }
                if s.in_flight {
                    Next::Wait
                } else if self.executing.load(Ordering::Acquire) > 0
                    && deadline.is_none_or(|d| tokio::time::Instant::now() < d)
                {
                    // Claims nothing yet: a cancelled wait leaves no claim behind.
                    Next::Delay
                } else {
                    s.in_flight = true;
                    Next::Sync
                }
            };
            match next {
                Next::Wait => {
                    notified.await;
                    continue;
                }
                Next::Delay => {
                    // The commit delay: wait for the other operations, then look again.
                    let until =
                        *deadline.get_or_insert_with(|| tokio::time::Instant::now() + COMMIT_DELAY);
                    tokio::select! {
                        () = &mut progress => {}
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(until) => {}
                    }
                    continue;
                }
                Next::Sync => {}
            }
            // Every changeset counted by now is in the open transaction or an earlier,
            // committed one: this COMMIT and `fsync` cover them all, not only ours. A panic
            // in between would leave the claim set forever: the guard poisons instead.
            let lead = Leading(self);
            let covers = self.written();
            let result = end().and_then(|()| {
                self.sync().map_err(|e| {
                    tracing::error!(error = %e, wal = %self.wal.display(), "fsync of the WAL failed");
                    StoreError::Unavailable
                })
            });
            std::mem::forget(lead);
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.in_flight = false;
            match result {
                Ok(()) => {
                    s.synced = s.synced.max(covers);
                    drop(s);
                    self.done.notify_waiters();
                }
                Err(_) => {
                    drop(s);
                    self.poison("COMMIT or fsync failed");
                }
            }
        }
    }

    /// `fdatasync` of the WAL. Run on the caller's thread: on SQLite the server's operations
    /// run on the runtime's workers (`server.rs`), and this is one blocking call per group,
    /// with no lock held.
    fn sync(&self) -> std::io::Result<()> {
        self.wal_file.sync_data()?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
#[path = "durable_tests.rs"]
mod tests;
