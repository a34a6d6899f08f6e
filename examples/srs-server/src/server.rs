//! The HTTP face of the SRS: routes, a pool of SRS handles, retries on store conflicts.
//!
//! **Why synchronous handles and not the library's `Staged` driver:** the `Store` trait is
//! synchronous, and so are rusqlite and the `postgres` client; a handle runs each operation
//! once, reading rows as it needs them (on which thread: below). The `Staged` API would
//! rerun the operation once per round of missing rows (a re-encryption reads 7 rows) to stay
//! non-blocking, which buys nothing on 2 cores where the pool is bounded by the number of
//! handles anyway. Each handle keeps its cache (prepared
//! re-encryption keys, verified heads) between requests, as a long-running instance should.
//!
//! **Where an operation runs.** On PostgreSQL, on the blocking pool: an operation waits on
//! about 14 round trips to the database, and the runtime's workers keep serving meanwhile.
//! On SQLite, on the runtime worker that decoded the request (the runtime has one worker per
//! core): there an operation is CPU work (a pairing, signatures) plus a few microsecond-long
//! statements on the one shared connection, and the hand-off to the blocking pool and back
//! cost two thread wake-ups and about 7 context switches per request, ≈ 0.25 ms of server
//! CPU per re-encryption (BENCHMARKS.md, "The reference server"). The group commit's
//! `COMMIT` and `fsync` (`durable.rs`) run after the operation, on the worker of whichever
//! waiting request leads the group. Blob transfers, which copy up to `--max-blob` bytes,
//! always go to the blocking pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use sesphr::phr::{AclVersion, EntryId, RecordId, SectionId, Timestamp};
use sesphr::sign::SigningKey;
use sesphr::srs::{SignedOperation, Srs, SrsConfig, StoreError, MAX_BATCH};
use sesphr::Error;
use sha2::Digest;

use crate::durable::GroupCommit;
use crate::errors::ApiError;
use crate::store::{DbStore, DbUrl, SCHEMA_VERSION};

/// How many times a conflicting operation is run again before the client gets 409.
pub const MAX_RETRIES: u32 = 8;
/// The largest signed operation accepted (the library's own bound, plus the envelope).
pub const MAX_OP_BYTES: usize = (8 << 20) + 4096;

/// The SRS's clock: the system clock, in seconds.
pub fn now() -> Timestamp {
    Timestamp::from(std::time::SystemTime::now())
}

/// SRS handles, lent to one request at a time: on PostgreSQL each over its own connection,
/// on SQLite all over one shared connection (see `store.rs` for why).
pub struct Pool {
    url: DbUrl,
    /// The SQLite connection new handles share (`None` on PostgreSQL).
    shared: Option<DbStore>,
    key: SigningKey,
    name: String,
    config: SrsConfig,
    idle: Mutex<Vec<Srs<DbStore>>>,
    permits: tokio::sync::Semaphore,
    /// Operations served (any outcome).
    pub ops: AtomicU64,
    /// Conflicts retried.
    pub conflicts: AtomicU64,
}

impl Pool {
    /// A pool of at most `size` handles (opened lazily); `first` is the connection used at
    /// startup, kept as the first handle. On SQLite with `synchronous=full` this arms the
    /// group commit (`durable.rs`): every answer then waits for [`durable`](Self::durable).
    pub fn new(
        url: DbUrl,
        key: SigningKey,
        name: &str,
        size: usize,
        first: DbStore,
    ) -> Result<Self, StoreError> {
        let config = SrsConfig::default();
        if let Some(s) = first.sqlite() {
            s.start_group_commit()?;
        }
        let shared = first.share();
        let h = Srs::new(first, key.clone(), name, config);
        Ok(Self {
            url,
            shared,
            key,
            name: name.to_string(),
            config,
            idle: Mutex::new(vec![h]),
            permits: tokio::sync::Semaphore::new(size.max(1)),
            ops: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
        })
    }

    /// The SRS id and verifying key (every handle has the same).
    fn identity(&self) -> (sesphr::srs::SrsId, sesphr::sign::VerifyingKey) {
        let vk = self.key.verifying_key();
        (sesphr::srs::SrsId::new(&vk, &self.name), vk)
    }

    /// Runs `f` on a handle: on the worker itself on SQLite, on the blocking pool on
    /// PostgreSQL (see the module's notes); then, with the group commit, waits until every
    /// commit its answer may rest on is on disk.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Srs<DbStore>, &Pool) -> Result<T, ApiError> + Send + 'static,
    {
        if self.shared.is_some() {
            let permit = self.admit().await?;
            let r = {
                let _executing = self.group_commit().map(GroupCommit::executing);
                self.with_handle(f)
            };
            // The handle is back in the pool: the next request needs no commit to start.
            drop(permit);
            self.durable().await?;
            return r;
        }
        self.run_blocking(f).await
    }

    /// Runs `f` on a handle, on the blocking pool (then waits as [`run`](Self::run) does).
    pub async fn run_blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Srs<DbStore>, &Pool) -> Result<T, ApiError> + Send + 'static,
    {
        let permit = self.admit().await?;
        let pool = self.clone();
        let r = tokio::task::spawn_blocking(move || pool.with_handle(f))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "a request task failed");
                Err(ApiError::Http(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".into(),
                ))
            });
        drop(permit);
        // Even a failed task's answer waits: it may have written before failing.
        self.durable().await?;
        r
    }

    /// A permit to run one operation on a handle. A poisoned store runs nothing more (a
    /// write would only open a group no one commits, holding SQLite's write lock until the
    /// restart).
    async fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        if self.group_commit().is_some_and(GroupCommit::is_failed) {
            return Err(StoreError::Unavailable.into());
        }
        self.permits
            .acquire()
            .await
            .map_err(|_| ApiError::from(StoreError::Unavailable))
    }

    /// Returns once everything written so far is committed and on disk (at once without
    /// the group commit). Every request waits here before answering, whatever its outcome:
    /// a refusal too may rest on another request's fresh write, and no answer may reveal a
    /// write a power cut could still undo. A request dropped while it waits (its client
    /// gone) hands the wait to a task of its own, so what it wrote is still committed.
    pub async fn durable(&self) -> Result<(), ApiError> {
        let Some(s) = self.shared.as_ref().and_then(DbStore::sqlite) else {
            return Ok(());
        };
        s.note_foreign_commits()?;
        if s.group_commit().is_none() {
            return Ok(());
        }
        let mut finish = FinishOnDrop(Some(s.clone()));
        let r = s.durable().await;
        finish.0 = None;
        r.map_err(ApiError::from)
    }

    /// The SQLite group commit (`None` on PostgreSQL or without `synchronous=full`).
    pub(crate) fn group_commit(&self) -> Option<&GroupCommit> {
        self.shared
            .as_ref()
            .and_then(DbStore::sqlite)
            .and_then(|s| s.group_commit())
    }

    /// The group commit's `fsync`s so far (`None` without one).
    pub fn wal_syncs(&self) -> Option<u64> {
        self.group_commit().map(GroupCommit::syncs)
    }

    /// Runs `f` on an idle handle (or a new one), here. A handle whose store became
    /// unavailable is dropped (on PostgreSQL its connection is reopened on next use; on
    /// SQLite the next handle shares the same connection again).
    fn with_handle<T>(
        &self,
        f: impl FnOnce(&mut Srs<DbStore>, &Pool) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut h = match idle {
            Some(h) => h,
            None => {
                let store = match self.shared.as_ref().and_then(DbStore::share) {
                    Some(s) => s,
                    None => DbStore::open(&self.url).map_err(|e| {
                        tracing::warn!(error = %e, "cannot open a connection");
                        ApiError::from(StoreError::Unavailable)
                    })?,
                };
                Srs::new(store, self.key.clone(), &self.name, self.config)
            }
        };
        let r = f(&mut h, self);
        let broken = matches!(r, Err(ApiError::Srs(Error::Store(StoreError::Unavailable))));
        if !broken {
            if let Ok(mut v) = self.idle.lock() {
                v.push(h);
            }
        }
        r
    }
}

/// Finishes a dropped durability wait in a task of its own (see [`Pool::durable`]).
struct FinishOnDrop(Option<Arc<crate::sqlite::Sqlite>>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    if let Err(e) = s.durable().await {
                        tracing::warn!(?e, "the commit of a dropped request failed");
                    }
                });
            }
        }
    }
}

/// Runs a signed operation, again on a store conflict (bounded, with a short backoff; on
/// SQLite the backoff holds a runtime worker, but there a conflict only arises between two
/// of the server's own handles writing one record at once: 0 to 5 in 11 000 re-encryptions
/// of the load runs).
pub fn execute(
    h: &mut Srs<DbStore>,
    pool: &Pool,
    op: &SignedOperation,
) -> Result<sesphr::srs::Response, Error> {
    use rand_core::RngCore;
    let mut rng = rand_core::OsRng;
    pool.ops.fetch_add(1, Ordering::Relaxed);
    let mut attempt = 0;
    loop {
        // A refusal resting on rows another instance changed meanwhile comes back as a
        // conflict (the library checks a refusal's reads before answering it).
        match h.execute(op, now(), &mut rng) {
            Err(Error::Store(StoreError::Conflict)) if attempt + 1 < MAX_RETRIES => {
                pool.conflicts.fetch_add(1, Ordering::Relaxed);
                attempt += 1;
                let jitter = u64::from(rng.next_u32() % 1000);
                std::thread::sleep(Duration::from_micros((500 << attempt) + jitter));
            }
            r => return r,
        }
    }
}

/// The routes, over `pool`, accepting blobs up to `max_blob` bytes.
pub fn router(pool: Arc<Pool>, max_blob: usize) -> Router {
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/stats", get(stats))
        .route(
            "/v1/bootstrap",
            post(bootstrap).layer(DefaultBodyLimit::max(MAX_OP_BYTES)),
        )
        .route(
            "/v1/op",
            post(operation).layer(DefaultBodyLimit::max(MAX_OP_BYTES)),
        )
        .route(
            "/v1/blobs/{hash}",
            put(put_blob)
                .get(get_blob)
                .layer(DefaultBodyLimit::max(max_blob)),
        )
        .route("/v1/records/{record}/acl", get(acl))
        .route("/v1/records/{record}/entries/{entry}/receipt", get(receipt))
        .route("/v1/records/{record}/checkpoint", get(checkpoint))
        .route("/v1/records/{record}/consistency", get(consistency))
        .route(
            "/v1/records/{record}/sections/{section}/entries",
            get(entries),
        )
        .with_state(pool)
}

type AppState = State<Arc<Pool>>;

fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

fn bad(kind: &'static str, text: impl Into<String>) -> ApiError {
    ApiError::Http(StatusCode::BAD_REQUEST, kind, text.into())
}

fn not_found(what: &str) -> ApiError {
    ApiError::Http(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("{what} not found"),
    )
}

fn id16(hex_text: &str, what: &'static str) -> Result<[u8; 16], ApiError> {
    let v = hex::decode(hex_text).map_err(|_| bad("invalid", format!("{what}: not hex")))?;
    v.try_into()
        .map_err(|_| bad("invalid", format!("{what}: not 16 bytes")))
}

async fn info(State(pool): AppState) -> Json<serde_json::Value> {
    let (id, vk) = pool.identity();
    Json(serde_json::json!({
        "srs_id": hex::encode(id.as_bytes()),
        "verifying_key": hex::encode(vk.to_bytes()),
        "name": pool.name,
        "schema_version": SCHEMA_VERSION,
        "max_batch": MAX_BATCH,
    }))
}

async fn stats(State(pool): AppState) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "ops": pool.ops.load(Ordering::Relaxed),
        "conflicts_retried": pool.conflicts.load(Ordering::Relaxed),
        "wal_syncs": pool.wal_syncs(),
        "poisoned": pool.group_commit().map(GroupCommit::is_failed),
    }))
}

async fn bootstrap(State(pool): AppState, body: Bytes) -> Result<StatusCode, ApiError> {
    let op = SignedOperation::from_bytes(&body)?;
    pool.run(move |h, _| {
        h.bootstrap(&op, now())?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Deserialize)]
struct ViewQuery {
    view: Option<String>,
}

fn wants_json(q: &ViewQuery, headers: &HeaderMap) -> bool {
    q.view.as_deref() == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
}

async fn operation(
    State(pool): AppState,
    Query(q): Query<ViewQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let op = SignedOperation::from_bytes(&body)?;
    let response = pool.run(move |h, pool| Ok(execute(h, pool, &op)?)).await?;
    Ok(if wants_json(&q, &headers) {
        Json(crate::json::response(&response)).into_response()
    } else {
        octets(response.to_bytes())
    })
}

fn blob_hash(hex_text: &str) -> Result<[u8; 32], ApiError> {
    let v = hex::decode(hex_text).map_err(|_| bad("invalid", "blob hash: not hex"))?;
    v.try_into()
        .map_err(|_| bad("invalid", "blob hash: not a SHA-256"))
}

async fn put_blob(
    State(pool): AppState,
    Path(hash): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let hash = blob_hash(&hash)?;
    let got: [u8; 32] = sha2::Sha256::digest(&body).into();
    if got != hash {
        return Err(bad(
            "hash-mismatch",
            "the body's SHA-256 is not the blob's name",
        ));
    }
    pool.run_blocking(move |h, _| {
        h.store().put_blob(&hash, &body)?;
        Ok(StatusCode::CREATED)
    })
    .await
}

async fn get_blob(State(pool): AppState, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let hash = blob_hash(&hash)?;
    let data = pool
        .run_blocking(move |h, _| Ok(h.store().get_blob(&hash)?))
        .await?;
    data.map(octets).ok_or_else(|| not_found("blob"))
}

#[derive(Deserialize)]
struct AclQuery {
    version: Option<u64>,
}

async fn acl(
    State(pool): AppState,
    Path(record): Path<String>,
    Query(q): Query<AclQuery>,
) -> Result<Response, ApiError> {
    let record = RecordId::new(id16(&record, "record id")?);
    let acl = pool
        .run(move |h, _| {
            Ok(match q.version {
                Some(v) => h.acl_version(record, AclVersion::new(v))?,
                None => h.acl(record)?,
            })
        })
        .await?;
    acl.map(|a| octets(a.to_bytes()))
        .ok_or_else(|| not_found("ACL"))
}

async fn receipt(
    State(pool): AppState,
    Path((record, entry)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let record = RecordId::new(id16(&record, "record id")?);
    let entry = EntryId::new(id16(&entry, "entry id")?);
    let r = pool.run(move |h, _| Ok(h.receipt(record, entry)?)).await?;
    r.map(|r| octets(r.to_bytes().to_vec()))
        .ok_or_else(|| not_found("receipt"))
}

/// The newest signed checkpoint of a record's disclosure log (for witnesses and auditors).
async fn checkpoint(
    State(pool): AppState,
    Path(record): Path<String>,
) -> Result<Response, ApiError> {
    let record = RecordId::new(id16(&record, "record id")?);
    let c = pool.run(move |h, _| Ok(h.checkpoint(record)?)).await?;
    c.map(|c| octets(c.to_bytes().to_vec()))
        .ok_or_else(|| not_found("disclosure log"))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// The consistency proof between two sizes of a record's log (what a witness holding a
/// checkpoint of size `from` needs to cosign one of size `to`).
async fn consistency(
    State(pool): AppState,
    Path(record): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Response, ApiError> {
    let record = RecordId::new(id16(&record, "record id")?);
    let proof = pool
        .run(move |h, _| Ok(h.consistency(record, q.from, q.to)?))
        .await?;
    Ok(octets(proof.to_bytes()))
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
    limit: Option<usize>,
}

async fn entries(
    State(pool): AppState,
    Path((record, section)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Vec<String>>, ApiError> {
    let record = RecordId::new(id16(&record, "record id")?);
    let section = SectionId::new(id16(&section, "section id")?);
    let after = match q.after {
        Some(a) => Some(EntryId::new(id16(&a, "after")?)),
        None => None,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let ids = pool
        .run(move |h, _| Ok(h.entries(record, section, after, limit)?))
        .await?;
    Ok(Json(
        ids.iter().map(|e| hex::encode(e.as_bytes())).collect(),
    ))
}
