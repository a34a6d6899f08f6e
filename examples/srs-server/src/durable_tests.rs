//! Tests of the group commit on SQLite: what is visible to another connection before and
//! after the group's commit, one `fsync` per group, rollback of one changeset only, poison.
use super::*;
use crate::store::tests::Capture;
use crate::store::{DbStore, DbUrl};
use sesphr::phr::{PrincipalId, PrincipalKeys, Role, Timestamp};
use sesphr::srs::{Client, Srs, Store};

fn temp_db(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("srs-durable-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir.join("t.db").display().to_string()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The SQLite side of a store.
fn sqlite(s: &DbStore) -> &crate::sqlite::Sqlite {
    s.sqlite().expect("a sqlite: URL opens SQLite")
}

#[test]
fn modes_parse_and_pick_sqlites_setting() {
    assert_eq!(Durability::parse("full"), Some(Durability::Full));
    assert_eq!(Durability::parse("FULL"), Some(Durability::Full));
    assert_eq!(
        Durability::parse("full-per-commit"),
        Some(Durability::FullPerCommit)
    );
    assert_eq!(Durability::parse("normal"), Some(Durability::Normal));
    assert_eq!(Durability::parse("off"), None);
    assert_eq!(Durability::default(), Durability::Full);
    let path = temp_db("modes");
    let url = |q: &str| DbUrl::Sqlite(format!("{path}{q}"));
    assert!(DbStore::open(&url("?synchronous=off")).is_err());
    let pragma = |s: &DbStore| -> i64 {
        let c = sqlite(s).lock().expect("lock");
        c.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma")
    };
    // SQLite's numbers: NORMAL = 1, FULL = 2. Any program opening the store gets FULL for
    // `full`; only the server's arming swaps in NORMAL and the group commit.
    for (q, before, armed, after) in [
        ("", 2, true, 1),
        ("?synchronous=full", 2, true, 1),
        ("?synchronous=full-per-commit", 2, false, 2),
        ("?synchronous=normal", 1, false, 1),
    ] {
        let s = DbStore::open(&url(q)).expect("open");
        assert_eq!(pragma(&s), before, "{q}");
        assert!(sqlite(&s).group_commit().is_none());
        assert_eq!(sqlite(&s).start_group_commit(), Ok(armed), "{q}");
        assert_eq!(sqlite(&s).group_commit().is_some(), armed, "{q}");
        assert_eq!(pragma(&s), after, "{q}");
    }
}

/// A registration (principal and bundle rows, replay rows: a changeset with writes).
fn register(srs: &mut Srs<&DbStore>, i: u8, rng: &mut rand_core::OsRng) {
    let now = Timestamp::new(1_700_000_000);
    let keys = PrincipalKeys::random(rng);
    let op = Client::new(&keys, PrincipalId::new([i; 16]), srs.id())
        .register(Role::Doctor, now, rng)
        .expect("sign");
    srs.execute(&op, now, rng).expect("register");
}

/// A store with the group commit armed, and a second connection on the same file opened
/// before it, as another process would have (opening migrates, under the write lock an
/// open group holds).
fn armed(name: &str) -> (DbStore, DbStore) {
    let url = DbUrl::Sqlite(temp_db(name));
    let s = DbStore::open(&url).expect("open");
    let other = DbStore::open(&url).expect("second connection");
    assert_eq!(sqlite(&s).start_group_commit(), Ok(true));
    (s, other)
}

/// Bootstraps `srs` with an admin (a changeset with writes).
fn bootstrap(srs: &mut Srs<&DbStore>, rng: &mut rand_core::OsRng) {
    let now = Timestamp::new(1_700_000_000);
    let admin = PrincipalKeys::random(rng);
    let reg = Client::new(&admin, PrincipalId::new([1; 16]), srs.id())
        .register(Role::Admin, now, rng)
        .expect("sign");
    srs.bootstrap(&reg, now).expect("bootstrap");
}

/// The group's changesets are invisible to another connection until the leader commits
/// them, all at once, with one `fsync`; a wait with nothing new runs none.
#[test]
fn a_group_commits_once_and_only_then_shows() {
    let mut rng = rand_core::OsRng;
    let (s, other) = armed("group");
    let g = sqlite(&s).group_commit().expect("armed");
    let key = sesphr::sign::SigningKey::random(&mut rng);
    let mut srs = Srs::new(&s, key, "t", Default::default());
    bootstrap(&mut srs, &mut rng);
    for i in 2..6 {
        register(&mut srs, i, &mut rng);
    }
    assert!(g.written() >= 5);
    let mine = s.scan(&[], None, 1000).expect("scan");
    assert!(
        !mine.is_empty(),
        "the group's own connection sees its writes"
    );
    assert!(
        other.scan(&[], None, 1000).expect("scan").is_empty(),
        "nothing is committed before the group's leader commits"
    );
    block_on(async {
        let waits: Vec<_> = (0..8).map(|_| sqlite(&s).durable()).collect();
        for w in waits {
            w.await.expect("durable");
        }
    });
    assert_eq!(g.syncs(), 1, "one commit and fsync for the whole group");
    assert_eq!(other.scan(&[], None, 1000).expect("scan"), mine);
    block_on(sqlite(&s).durable()).expect("durable");
    assert_eq!(g.syncs(), 1, "nothing new written: no commit, no fsync");
    register(&mut srs, 9, &mut rng);
    block_on(sqlite(&s).durable()).expect("durable");
    assert_eq!(g.syncs(), 2);
}

/// A changeset that conflicts inside a group rolls back to its savepoint only: the group's
/// earlier changesets stay and are committed by the leader; a conflicting changeset that
/// began the group leaves no transaction open.
#[test]
fn a_conflict_inside_a_group_undoes_only_its_changeset() {
    let mut rng = rand_core::OsRng;
    let (s, other) = armed("conflict");
    let key = sesphr::sign::SigningKey::random(&mut rng);
    let mut srs = Srs::new(&s, key.clone(), "t", Default::default());
    bootstrap(&mut srs, &mut rng);
    let now = Timestamp::new(1_700_000_000);
    block_on(sqlite(&s).durable()).expect("durable");
    assert!(sqlite(&s).lock().expect("lock").is_autocommit());

    // A registration captured, then committed twice: the second read rows the first wrote.
    let capture = Capture(&s, Default::default());
    let mut srs2 = Srs::new(&capture, key, "t", Default::default());
    let doctor = PrincipalKeys::random(&mut rng);
    let op = Client::new(&doctor, PrincipalId::new([2; 16]), srs.id())
        .register(Role::Doctor, now, &mut rng)
        .expect("sign");
    srs2.execute(&op, now, &mut rng).expect("register");
    let cs = capture.1.borrow_mut().take().expect("a changeset");

    let committed_before = other.scan(&[], None, 1000).expect("scan");
    s.commit(&cs).expect("joins a new group");
    register(&mut srs, 3, &mut rng);
    let in_group = s.scan(&[], None, 1000).expect("scan");
    assert_eq!(s.commit(&cs), Err(StoreError::Conflict));
    assert_eq!(
        s.scan(&[], None, 1000).expect("scan"),
        in_group,
        "only the savepoint went"
    );
    assert!(
        !sqlite(&s).lock().expect("lock").is_autocommit(),
        "the group is still open"
    );
    assert_eq!(other.scan(&[], None, 1000).expect("scan"), committed_before);
    block_on(sqlite(&s).durable()).expect("durable");
    assert_eq!(other.scan(&[], None, 1000).expect("scan"), in_group);

    // Now the conflicting changeset is the first of a group: it rolls the whole, empty
    // transaction back, so no write lock stays held.
    assert!(sqlite(&s).lock().expect("lock").is_autocommit());
    assert_eq!(s.commit(&cs), Err(StoreError::Conflict));
    assert!(sqlite(&s).lock().expect("lock").is_autocommit());
}

/// Concurrent writers on a multi-threaded runtime: every wait returns, and the commits
/// never outnumber the changesets.
#[test]
fn concurrent_writes_share_commits() {
    let url = DbUrl::Sqlite(temp_db("concurrent"));
    let store = std::sync::Arc::new(DbStore::open(&url).expect("open"));
    assert_eq!(sqlite(&store).start_group_commit(), Ok(true));
    block_on(async {
        let tasks: Vec<_> = (0..64u8)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    s.put_blob(&[i; 32], &[i; 100]).expect("put");
                    sqlite(&s).durable().await
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("durable");
        }
    });
    let g = sqlite(&store).group_commit().expect("armed");
    assert_eq!(g.written(), 64);
    assert!((1..=64).contains(&g.syncs()), "{} fsyncs", g.syncs());
    assert!(store.get_blob(&[63; 32]).expect("get").is_some());
}

/// A failed commit fails the waiting answer and every later one, even one asking for
/// nothing new; a WAL that is not there cannot be armed.
#[test]
fn a_failed_commit_poisons_every_later_answer() {
    assert!(GroupCommit::open(Path::new("/nonexistent-srs-dir/t.db-wal")).is_err());
    let path = temp_db("commit-fails");
    let _store = DbStore::open(&DbUrl::Sqlite(path.clone())).expect("open: creates the WAL");
    let g = GroupCommit::open(Path::new(&format!("{path}-wal"))).expect("the WAL");
    let ok = || Ok(());
    assert_eq!(block_on(g.durable(0, ok)), Ok(()), "nothing to sync yet");
    g.wrote();
    let fails = || Err(StoreError::Unavailable);
    assert!(!g.is_failed());
    assert_eq!(block_on(g.durable(1, fails)), Err(StoreError::Unavailable));
    assert!(g.is_failed());
    assert_eq!(block_on(g.durable(0, ok)), Err(StoreError::Unavailable));
    assert_eq!(g.syncs(), 0);
}

/// SQLite rolls a whole transaction back on some errors (here a full database while a blob
/// joins the group): the group's counted changesets are then gone, and no one may be told
/// they are on disk. Either the group survived and is committed, or the store is poisoned.
#[test]
fn a_group_sqlite_rolled_back_is_never_acknowledged() {
    let mut rng = rand_core::OsRng;
    let (s, other) = armed("rolled-back");
    let key = sesphr::sign::SigningKey::random(&mut rng);
    let mut srs = Srs::new(&s, key, "t", Default::default());
    bootstrap(&mut srs, &mut rng);
    register(&mut srs, 2, &mut rng);
    let counted = s.scan(&[], None, 1000).expect("scan");
    {
        let c = sqlite(&s).lock().expect("lock");
        let pages: i64 = c
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .expect("pages");
        c.query_row(
            &format!("PRAGMA max_page_count = {}", pages + 2),
            [],
            |_| Ok(()),
        )
        .expect("cap");
    }
    assert_eq!(
        s.put_blob(&[7; 32], &vec![7; 1 << 20]),
        Err(StoreError::Unavailable),
        "the database is full"
    );
    let g = sqlite(&s).group_commit().expect("armed");
    match block_on(sqlite(&s).durable()) {
        Ok(()) => assert_eq!(other.scan(&[], None, 1000).expect("scan"), counted),
        Err(e) => {
            assert_eq!(e, StoreError::Unavailable);
            assert!(g.is_failed(), "a lost group poisons the store");
            assert!(other.scan(&[], None, 1000).expect("scan").is_empty());
            // Nothing more runs on a poisoned store.
            assert_eq!(
                sesphr::srs::Store::commit(&s, &sesphr::srs::Changeset::default()),
                Ok(()),
                "a pure read still reads"
            );
        }
    }
}

/// What another connection (another process on the file) committed may not be on disk
/// yet: an answer resting on it waits for a WAL fsync of its own.
#[test]
fn another_connections_commits_wait_for_an_fsync() {
    let path = temp_db("foreign");
    let s = DbStore::open(&DbUrl::Sqlite(path.clone())).expect("open");
    let other = DbStore::open(&DbUrl::Sqlite(format!("{path}?synchronous=normal"))).expect("other");
    assert_eq!(sqlite(&s).start_group_commit(), Ok(true));
    let g = sqlite(&s).group_commit().expect("armed");
    sqlite(&s).note_foreign_commits().expect("look");
    block_on(sqlite(&s).durable()).expect("durable");
    let before = g.syncs();
    sqlite(&s).note_foreign_commits().expect("look");
    assert!(g.settled(g.written()), "nothing new from anyone");
    other.put_blob(&[1; 32], b"theirs").expect("put");
    sqlite(&s).note_foreign_commits().expect("look");
    assert!(!g.settled(g.written()), "their commit is counted");
    block_on(sqlite(&s).durable()).expect("durable");
    assert_eq!(g.syncs(), before + 1);
}

/// A request dropped while it waits for its group (its client gone) still gets its write
/// committed: the wait is handed to a task of its own. Without that, the write would sit in
/// the open transaction, holding the write lock, until some later request's commit.
#[test]
fn a_dropped_request_still_commits_its_write() {
    use crate::server::{execute, Pool};
    let mut rng = rand_core::OsRng;
    let path = temp_db("dropped");
    let url = DbUrl::Sqlite(path);
    let s = DbStore::open(&url).expect("open");
    let other = DbStore::open(&url).expect("second connection");
    let key = sesphr::sign::SigningKey::random(&mut rng);
    let pool = std::sync::Arc::new(Pool::new(url, key.clone(), "t", 4, s).expect("pool"));
    let srs_id = sesphr::srs::SrsId::new(&key.verifying_key(), "t");
    let now = crate::server::now(); // the server checks its window against its own clock
    let admin = PrincipalKeys::random(&mut rng);
    let boot = Client::new(&admin, PrincipalId::new([1; 16]), srs_id)
        .register(Role::Admin, now, &mut rng)
        .expect("sign");
    let doctor = PrincipalKeys::random(&mut rng);
    let reg = Client::new(&doctor, PrincipalId::new([2; 16]), srs_id)
        .register(Role::Doctor, now, &mut rng)
        .expect("sign");
    let g = pool_group(&pool);
    block_on(async {
        pool.run(move |h, _| Ok(h.bootstrap(&boot, now)?))
            .await
            .expect("bootstrap");
        let committed = other.scan(&[], None, 1000).expect("scan").len();
        // Another operation "executing": the wait delays, so it is pending when dropped.
        let busy = g.executing();
        let wait = pool.run(move |h, p| Ok(execute(h, p, &reg)?));
        let dropped = tokio::time::timeout(std::time::Duration::ZERO, wait).await;
        assert!(
            dropped.is_err(),
            "the wait was pending when the request was dropped: {dropped:?}"
        );
        drop(busy);
        for _ in 0..200 {
            if other.scan(&[], None, 1000).expect("scan").len() > committed {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the dropped request's write was never committed");
    });
}

/// The pool's group commit (armed by `Pool::new` on `synchronous=full`).
fn pool_group(pool: &crate::server::Pool) -> &GroupCommit {
    pool.group_commit().expect("armed by the pool")
}
