//! Tests of the SQL store (SQLite here; e2e.sh runs the same paths on PostgreSQL).
use super::*;

#[test]
fn prefix_end_bounds_the_prefix() {
    assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
    assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
    assert_eq!(prefix_end(&[0xff, 0xff]), None);
    assert_eq!(prefix_end(&[]), None);
}

#[test]
fn db_urls_parse() {
    assert_eq!(
        "sqlite:/tmp/x.db".parse::<DbUrl>(),
        Ok(DbUrl::Sqlite("/tmp/x.db".into()))
    );
    assert!("postgres://u@127.0.0.1/db".parse::<DbUrl>().is_ok());
    assert!("mysql://x".parse::<DbUrl>().is_err());
    assert!("sqlite:".parse::<DbUrl>().is_err());
}

/// Commits nothing: keeps the changeset an operation would have committed (the group
/// commit's tests use it too).
pub(crate) struct Capture<'a>(
    pub(crate) &'a DbStore,
    pub(crate) std::cell::RefCell<Option<Changeset>>,
);

impl Store for Capture<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        self.0.get(key)
    }
    fn scan(&self, p: &[u8], a: Option<&[u8]>, l: usize) -> Result<Vec<Row>, StoreError> {
        self.0.scan(p, a, l)
    }
    fn commit(&self, c: &Changeset) -> Result<(), StoreError> {
        *self.1.borrow_mut() = Some(c.clone());
        Ok(())
    }
}

/// Versions, absent = 0, a stale changeset is a conflict that changes nothing, scans
/// page by prefix: what the library's `MemoryStore` does, on SQLite.
#[test]
fn sqlite_store_checks_versions_and_scans_by_prefix() {
    use sesphr::phr::{PrincipalId, PrincipalKeys, Role, Timestamp};
    use sesphr::srs::{Client, Operation, Srs};
    let mut rng = rand_core::OsRng;
    let dir = std::env::temp_dir().join(format!("srs-store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("t.db");
    let _ = std::fs::remove_file(&path);
    let url = DbUrl::Sqlite(path.to_string_lossy().into_owned());
    let s = DbStore::open(&url).expect("open");
    let other = DbStore::open(&url).expect("second connection");
    let key = sesphr::sign::SigningKey::random(&mut rng);
    let mut srs = Srs::new(&s, key.clone(), "t", Default::default());
    let now = Timestamp::new(1_700_000_000);
    let admin = PrincipalKeys::random(&mut rng);
    let admin_id = PrincipalId::new([7; 16]);
    let reg = Client::new(&admin, admin_id, srs.id())
        .register(Role::Admin, now, &mut rng)
        .expect("sign");
    srs.bootstrap(&reg, now).expect("bootstrap");
    assert!(srs.bootstrap(&reg, now).is_err(), "a second bootstrap");
    let doctor = PrincipalKeys::random(&mut rng);
    let doctor_id = PrincipalId::new([8; 16]);
    let reg = Client::new(&doctor, doctor_id, srs.id())
        .register(Role::Doctor, now, &mut rng)
        .expect("sign");
    srs.execute(&reg, now, &mut rng).expect("register");

    // The other connection sees every row, each with a version; pages follow `after`.
    let all = other.scan(&[], None, 100).expect("scan");
    assert!(all.len() >= 6);
    assert!(all.iter().all(|r| r.version != RowVersion::ABSENT));
    let page = other.scan(&[], None, 2).expect("page");
    assert_eq!(page.len(), 2);
    let rest = other.scan(&[], Some(&page[1].key), 100).expect("next");
    assert_eq!(rest.len(), all.len() - 2);
    let kind = [all[0].key[0]];
    let same_kind = other.scan(&kind, None, 100).expect("prefix");
    assert!(same_kind.iter().all(|r| r.key[0] == kind[0]));
    assert_eq!(
        same_kind.len(),
        all.iter().filter(|r| r.key[0] == kind[0]).count()
    );

    // An activation's changeset, captured; committed once it applies, twice it conflicts
    // (the rows it read changed: the principal row and its replay row, absent before).
    let capture = Capture(&other, Default::default());
    let mut srs2 = Srs::new(&capture, key, "t", Default::default());
    let activate = Client::new(&admin, admin_id, srs.id())
        .sign(Operation::Activate { target: doctor_id }, now, &mut rng)
        .expect("sign");
    srs2.execute(&activate, now, &mut rng).expect("activate");
    let cs = capture.1.borrow_mut().take().expect("a changeset");
    assert!(cs.reads().iter().any(|(_, v)| *v == RowVersion::ABSENT));
    other.commit(&cs).expect("first commit");
    let before = other.scan(&[], None, 1000).expect("scan");
    assert_eq!(other.commit(&cs), Err(StoreError::Conflict));
    assert_eq!(other.scan(&[], None, 1000).expect("scan"), before);
    // A handle sharing the connection: the failed commit left no transaction open (the next
    // transaction on the shared connection begins cleanly), a read-only commit is a snapshot
    // check, and each sees what the other committed.
    let shared = other.share().expect("SQLite shares its connection");
    assert_eq!(shared.commit(&cs), Err(StoreError::Conflict));
    if let DbStore::Sqlite(c) = &other {
        assert!(c.lock().expect("lock").is_autocommit());
    }
    assert_eq!(shared.commit(&Changeset::default()), Ok(()));
    assert_eq!(shared.scan(&[], None, 1000).expect("scan"), before);
    shared.put_blob(&[3; 32], b"shared").expect("put");
    assert_eq!(
        other.get_blob(&[3; 32]).expect("get"),
        Some(b"shared".to_vec())
    );
    // Every version written by one commit is larger than every earlier one.
    let newest = before.iter().map(|r| r.version).max().expect("rows");
    assert!(all.iter().all(|r| r.version < newest));

    // Blobs: content-addressed, idempotent.
    let h = [9u8; 32];
    assert_eq!(s.get_blob(&h).expect("get"), None);
    s.put_blob(&h, b"body").expect("put");
    s.put_blob(&h, b"body").expect("put again");
    assert_eq!(other.get_blob(&h).expect("get"), Some(b"body".to_vec()));
    drop((s, other));
    // Reopening migrates nothing and keeps everything.
    let again = DbStore::open(&url).expect("reopen");
    assert_eq!(again.scan(&[], None, 1000).expect("scan"), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database of schema 1 (rows in a WITHOUT ROWID table) is migrated on open: every row
/// keeps its key, version and value, and the schema is 2 (a rowid table).
#[test]
fn sqlite_schema_1_is_migrated() {
    let dir = std::env::temp_dir().join(format!("srs-migrate-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("v1.db");
    let _ = std::fs::remove_file(&path);
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(crate::sqlite::MIGRATIONS[0])
            .expect("schema 1");
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1);
             INSERT INTO rows VALUES (x'0102', 7, x'aa'), (x'01', 3, x'bbcc');
             UPDATE clock SET last = 7;",
        )
        .expect("rows");
    }
    let url = DbUrl::Sqlite(path.to_string_lossy().into_owned());
    let s = DbStore::open(&url).expect("migrate");
    let rows = s.scan(&[], None, 10).expect("scan");
    let got: Vec<(Vec<u8>, u64, Vec<u8>)> = rows
        .into_iter()
        .map(|r| (r.key, r.version.0, r.value))
        .collect();
    assert_eq!(
        got,
        vec![(vec![1], 3, vec![0xbb, 0xcc]), (vec![1, 2], 7, vec![0xaa])]
    );
    assert_eq!(
        s.versions(&[&[1, 2], &[9]]).expect("versions"),
        vec![RowVersion(7), RowVersion::ABSENT]
    );
    if let DbStore::Sqlite(c) = &s {
        let c = c.lock().expect("lock");
        let v: i64 = c
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        let sql: String = c
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'rows'",
                [],
                |r| r.get(0),
            )
            .expect("table");
        assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
    }
    drop(s);
    // Opening again migrates nothing.
    let again = DbStore::open(&url).expect("reopen");
    assert_eq!(again.scan(&[], None, 10).expect("scan").len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Migrations run from the database's schema on, numbered from 1; a database whose schema
/// is newer than this server's is refused.
#[test]
fn pending_migrations_start_after_the_current_schema() {
    let all = ["one", "two"];
    let from = |current| -> Vec<(i64, &str)> {
        pending_migrations(current, &all)
            .expect("not newer")
            .collect()
    };
    assert_eq!(from(0), vec![(1, "one"), (2, "two")]);
    assert_eq!(from(1), vec![(2, "two")]);
    assert_eq!(from(SCHEMA_VERSION), vec![]);
    assert!(pending_migrations(SCHEMA_VERSION + 1, &all).is_err());
}
