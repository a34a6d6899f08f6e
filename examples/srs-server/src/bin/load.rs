//! Load generator for the reference server (not run in CI; see BENCHMARKS.md "The reference
//! server").
//!
//! ```sh
//! srs-load seed --db sqlite:/tmp/load.sqlite --key /tmp/load.key --state /tmp/load --records 10000
//! srs-server --db sqlite:/tmp/load.sqlite --key /tmp/load.key --name load   # prints ADDR
//! srs-load run --server ADDR --pid PID --state /tmp/load --requests 3000 --concurrency 4
//! ```
//!
//! `seed` writes straight into the database through the library (no HTTP: faster), one SRS
//! handle over the server's own `Store`: an admin, a patient owning `--records` records (a
//! `medical` section each, written by a hospital, read by a doctor), and one accepted entry
//! in each of the first `--with-entries` records. `run` signs `--requests` one-entry
//! re-encryption requests beforehand (signing is the client's cost), warms the server up,
//! then sends them from `--concurrency` threads on 127.0.0.1, bounded by `--max-seconds`;
//! it reports requests per second, p50/p99 latency, and the server processes' CPU time
//! (utime + stime from /proc/PID/stat) per served request.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sesphr::phr::{Change, EntryId, History, RecordId, Role, SectionName, Timestamp};
use sesphr::srs::{Operation, Response, SignedOperation, Srs, SrsConfig};
use srs_server::parties::{load_json, save_json, Party, Patient};
use srs_server::remote::Remote;
use srs_server::server::now;
use srs_server::store::{DbStore, DbUrl};

#[derive(Parser)]
#[command(about = "Seeds a database and measures re-encryption load on a running server")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fills a database through the library, in process.
    Seed {
        #[arg(long)]
        db: DbUrl,
        /// The server's key file (created if missing).
        #[arg(long)]
        key: PathBuf,
        #[arg(long, default_value = "load")]
        name: String,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        records: usize,
        /// How many of the records get an accepted entry (the ones the load reads).
        #[arg(long, default_value_t = 100)]
        with_entries: usize,
    },
    /// The same requests in this process (no HTTP), for the in-process figure.
    Inproc {
        #[arg(long)]
        db: DbUrl,
        #[arg(long)]
        key: PathBuf,
        #[arg(long, default_value = "load")]
        name: String,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 3000)]
        requests: usize,
        /// Copy the rows into a `MemoryStore` first (as the criterion bench runs).
        #[arg(long)]
        memory: bool,
        /// Warm-up requests before the measured ones (default: 40 per target record).
        #[arg(long)]
        warmup: Option<usize>,
    },
    /// Sends signed re-encryption requests and measures.
    Run {
        #[arg(long = "server", required = true)]
        servers: Vec<String>,
        /// The server processes' pids (their CPU time is read from /proc).
        #[arg(long = "pid")]
        pids: Vec<u32>,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 3000)]
        requests: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 120)]
        max_seconds: u64,
        /// Also report the CPU time of every `postgres` process (the database's share).
        #[arg(long)]
        count_postgres: bool,
        /// Warm-up requests before the measured ones (default: 40 per target record).
        #[arg(long)]
        warmup: Option<usize>,
    },
}

#[derive(Serialize, Deserialize)]
struct LoadState {
    records: usize,
    /// (record, entry) pairs the doctor may read, hex.
    targets: Vec<(String, String)>,
}

fn main() -> ExitCode {
    let r = match Args::parse().cmd {
        Cmd::Seed {
            db,
            key,
            name,
            state,
            records,
            with_entries,
        } => seed(&db, &key, &name, &state, records, with_entries),
        Cmd::Inproc {
            db,
            key,
            name,
            state,
            requests,
            memory,
            warmup,
        } => inproc(&db, &key, &name, &state, (requests, warmup), memory),
        Cmd::Run {
            servers,
            pids,
            state,
            requests,
            concurrency,
            max_seconds,
            count_postgres,
            warmup,
        } => run(
            &servers,
            &pids,
            &state,
            (requests, warmup, concurrency, max_seconds),
            count_postgres,
        ),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn exec(srs: &mut Srs<DbStore>, op: &SignedOperation) -> Result<Response, String> {
    srs.execute(op, now(), &mut OsRng)
        .map_err(|e| e.to_string())
}

fn seed(
    db: &DbUrl,
    key: &std::path::Path,
    name: &str,
    dir: &std::path::Path,
    records: usize,
    with_entries: usize,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let key = srs_server::keyfile::load_or_create(key)?;
    let store = DbStore::open(db).map_err(|e| e.to_string())?;
    if let DbStore::Sqlite(c) = &store {
        // Seeding only: a crash here means seeding again.
        c.lock()
            .map_err(|e| e.to_string())?
            .execute_batch("PRAGMA synchronous=OFF")
            .map_err(|e| e.to_string())?;
    }
    let mut srs = Srs::new(store, key, name, SrsConfig::default());
    let mut rng = OsRng;
    let admin = Party::create(dir, "admin", &mut rng)?;
    let patient = Patient::create(dir, "patient", &mut rng)?;
    let hospital = Party::create(dir, "hospital", &mut rng)?;
    let doctor = Party::create(dir, "doctor", &mut rng)?;
    let srs_id = srs.id();
    let sign = |id, keys: &sesphr::phr::PrincipalKeys, op| {
        SignedOperation::sign(keys, srs_id, id, op, now(), &mut OsRng).map_err(|e| e.to_string())
    };
    let reg = sign(
        admin.id,
        &admin.keys,
        Operation::Register {
            role: Role::Admin,
            bundle: admin.keys.bundle(),
        },
    )?;
    srs.bootstrap(&reg, now()).map_err(|e| e.to_string())?;
    let owner = &patient.owner;
    for (id, keys, role) in [
        (patient.id, owner.keys(), Role::Patient),
        (hospital.id, &hospital.keys, Role::Hospital),
        (doctor.id, &doctor.keys, Role::Doctor),
    ] {
        exec(
            &mut srs,
            &sign(
                id,
                keys,
                Operation::Register {
                    role,
                    bundle: keys.bundle(),
                },
            )?,
        )?;
        exec(
            &mut srs,
            &sign(admin.id, &admin.keys, Operation::Activate { target: id })?,
        )?;
    }
    let section = owner.section_id(&SectionName::new("medical").map_err(|e| e.to_string())?);
    let until = Timestamp::new(now().get() + 365 * 86_400);
    let changes = [
        Change::AddSection { section },
        Change::GrantWrite {
            section,
            writer: hospital.keys.bundle(),
        },
        Change::GrantRead {
            section,
            reader: doctor.keys.bundle(),
            history: History::All,
        },
    ];
    let started = Instant::now();
    let mut targets = Vec::new();
    for i in 0..records {
        let record = owner
            .record_id(&format!("record {i}"))
            .map_err(|e| e.to_string())?;
        let update = owner
            .create_record(record, until, &changes, &mut rng)
            .map_err(|e| e.to_string())?;
        exec(
            &mut srs,
            &sign(
                patient.id,
                owner.keys(),
                Operation::ApplyUpdate(update.clone()),
            )?,
        )?;
        if i < with_entries {
            let acl = update
                .acl()
                .verify(&owner.verifying_key())
                .map_err(|e| e.to_string())?;
            let e = hospital
                .keys
                .seal_entry(
                    &acl,
                    section,
                    format!("entry of record {i}").as_bytes(),
                    now(),
                    &mut rng,
                )
                .map_err(|e| e.to_string())?;
            let bytes = e.to_bytes().map_err(|e| e.to_string())?;
            let hash: [u8; 32] =
                sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), &bytes))
                    .into();
            srs.store()
                .put_blob(&hash, &bytes)
                .map_err(|e| e.to_string())?;
            exec(
                &mut srs,
                &sign(hospital.id, &hospital.keys, e.submission())?,
            )?;
            targets.push((
                hex::encode(record.as_bytes()),
                hex::encode(e.header().entry().as_bytes()),
            ));
        }
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "{} records in {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    save_json(dir, "load", &LoadState { records, targets })?;
    println!(
        "seeded {records} records ({with_entries} with an entry) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    cpu_split(pid).map(|(u, s)| u + s)
}

/// (utime, stime) of a process, in seconds.
fn cpu_split(pid: u32) -> Result<(f64, f64), String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("pid {pid}: {e}"))?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("bad /proc stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime 15.
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or("bad /proc stat")
    };
    let tck = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    Ok((ticks(14)? as f64 / tck, ticks(15)? as f64 / tck))
}

/// The pids of every process named `postgres`.
fn postgres_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .collect()
}

/// The load state, `requests` signed one-entry re-encryptions (plus a warm-up of the
/// returned length first: `warmup`, or 40 per target record), as bytes.
fn prepare(
    dir: &std::path::Path,
    srs: sesphr::srs::SrsId,
    (requests, warmup): (usize, Option<usize>),
) -> Result<(LoadState, Vec<Vec<u8>>, usize), String> {
    let doctor = Party::load(dir, "doctor")?;
    let state: LoadState = load_json(dir, "load")?;
    let parse = |s: &str| -> Result<[u8; 16], String> {
        hex::decode(s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "bad id".to_string())
    };
    let targets: Vec<(RecordId, EntryId)> = state
        .targets
        .iter()
        .map(|(r, e)| Ok((RecordId::new(parse(r)?), EntryId::new(parse(e)?))))
        .collect::<Result<_, String>>()?;
    let Some(&first) = targets.first() else {
        return Err("no targets: seed with --with-entries".into());
    };
    // Every handle of the server (4 by default) sees every target record before the
    // measured run, as the bench's warm handle has: about 10 requests per (handle, record).
    let warmup = warmup.unwrap_or((targets.len() * 40).max(200));
    let mut rng = OsRng;
    let mut ops = Vec::with_capacity(requests + warmup);
    for _ in 0..requests + warmup {
        let i = rng.next_u32() as usize % targets.len();
        let (record, entry) = targets.get(i).copied().unwrap_or(first);
        let op = Operation::Reencrypt {
            record,
            entries: vec![entry],
        };
        let signed = SignedOperation::sign(&doctor.keys, srs, doctor.id, op, now(), &mut rng)
            .map_err(|e| e.to_string())?;
        ops.push(signed.to_bytes());
    }
    Ok((state, ops, warmup))
}

/// The same requests run in this process, over the seeded rows (copied into the library's
/// `MemoryStore`, as the criterion bench does, or straight over the SQLite database), timed
/// by this process's own CPU time: the in-process figure on the same machine, same data.
fn inproc(
    db: &DbUrl,
    key: &std::path::Path,
    name: &str,
    dir: &std::path::Path,
    requests: (usize, Option<usize>),
    memory: bool,
) -> Result<(), String> {
    let key = srs_server::keyfile::load_or_create(key)?;
    let store = DbStore::open(db).map_err(|e| e.to_string())?;
    let srs_id = sesphr::srs::SrsId::new(&key.verifying_key(), name);
    let (_, ops, warmup) = prepare(dir, srs_id, requests)?;
    let mut rows = Vec::new();
    if memory {
        use sesphr::srs::Store;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = store
                .scan(&[], after.as_deref(), 4096)
                .map_err(|e| e.to_string())?;
            let done = page.len() < 4096;
            after = page.last().map(|r| r.key.clone());
            rows.extend(page);
            if done {
                break;
            }
        }
    }
    let n_rows = rows.len();
    let mem = sesphr::srs::MemoryStore::from_rows(rows);
    let run_all = |srs: &mut dyn FnMut(&SignedOperation) -> Result<Response, sesphr::Error>,
                   batch: &[Vec<u8>]|
     -> Result<(), String> {
        for op in batch {
            let op = SignedOperation::from_bytes(op).map_err(|e| e.to_string())?;
            match srs(&op).map_err(|e| e.to_string())? {
                Response::Reencrypted { items: v, .. } if v.iter().all(Result::is_ok) => {}
                other => return Err(format!("answered {other:?}")),
            }
        }
        Ok(())
    };
    let (warm, measured) = ops.split_at(warmup);
    let me = std::process::id();
    let (cpu, wall) = if memory {
        let mut srs = Srs::new(&mem, key, name, SrsConfig::default());
        let mut f = |op: &SignedOperation| srs.execute(op, now(), &mut OsRng);
        run_all(&mut f, warm)?;
        let (c0, t0) = (cpu_seconds(me)?, Instant::now());
        run_all(&mut f, measured)?;
        (cpu_seconds(me)? - c0, t0.elapsed().as_secs_f64())
    } else {
        let mut srs = Srs::new(store, key, name, SrsConfig::default());
        let mut f = |op: &SignedOperation| srs.execute(op, now(), &mut OsRng);
        run_all(&mut f, warm)?;
        let (c0, t0) = (cpu_seconds(me)?, Instant::now());
        run_all(&mut f, measured)?;
        (cpu_seconds(me)? - c0, t0.elapsed().as_secs_f64())
    };
    let n = measured.len() as f64;
    println!(
        "in process over {}: {:.3} ms CPU, {:.3} ms wall per SignedOperation::from_bytes + Srs::execute (1 entry), {} runs",
        if memory { format!("MemoryStore ({n_rows} rows)") } else { "the SQLite database".into() },
        cpu * 1e3 / n,
        wall * 1e3 / n,
        measured.len()
    );
    Ok(())
}

fn run(
    servers: &[String],
    pids: &[u32],
    dir: &std::path::Path,
    (requests, warmup, concurrency, max_seconds): (usize, Option<usize>, usize, u64),
    count_postgres: bool,
) -> Result<(), String> {
    let remote = Remote::new(servers);
    let info = remote.info(0).map_err(|e| e.to_string())?;
    let (state, ops, warmup) = prepare(dir, info.id, (requests, warmup))?;
    let targets = &state.targets;
    let (warm, measured) = ops.split_at(warmup);
    let send = |batch: &[Vec<u8>], deadline: Instant| -> Result<(Vec<Duration>, f64), String> {
        let next = AtomicUsize::new(0);
        let lat = Mutex::new(Vec::with_capacity(batch.len()));
        let errors = Mutex::new(Vec::new());
        let t0 = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..concurrency {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(op) = batch.get(i) else { break };
                    if Instant::now() > deadline {
                        break;
                    }
                    let t = Instant::now();
                    let r = remote.op_bytes(remote.next(), op, "");
                    let d = t.elapsed();
                    match r {
                        // Decode every 100th answer fully (points checked): client CPU is
                        // the server's competitor on 2 cores.
                        Ok(body) if !i.is_multiple_of(100) || matches!(Response::from_bytes(&body), Ok(Response::Reencrypted { items: ref v, .. }) if v.iter().all(Result::is_ok)) => {
                            if let Ok(mut l) = lat.lock() {
                                l.push(d);
                            }
                        }
                        other => {
                            if let Ok(mut e) = errors.lock() {
                                e.push(format!("{:?}", other.map(|b| b.len())));
                            }
                        }
                    }
                });
            }
        });
        let wall = t0.elapsed().as_secs_f64();
        let errors = errors.into_inner().unwrap_or_default();
        if let Some(e) = errors.first() {
            return Err(format!("{} failed requests, first: {e}", errors.len()));
        }
        Ok((lat.into_inner().unwrap_or_default(), wall))
    };
    let deadline = Instant::now() + Duration::from_secs(max_seconds);
    send(warm, deadline)?;
    let sys = |pids: &[u32]| {
        pids.iter()
            .map(|p| cpu_split(*p).map(|(_, s)| s))
            .sum::<Result<f64, String>>()
    };
    let sys0 = sys(pids)?;
    let cpu0: f64 = pids
        .iter()
        .map(|p| cpu_seconds(*p))
        .sum::<Result<f64, _>>()?;
    let pg = if count_postgres {
        postgres_pids()
    } else {
        Vec::new()
    };
    let pg_cpu = |pg: &[u32]| pg.iter().filter_map(|p| cpu_seconds(*p).ok()).sum::<f64>();
    let pg0 = pg_cpu(&pg);
    let (mut lat, wall) = send(measured, deadline)?;
    let cpu1: f64 = pids
        .iter()
        .map(|p| cpu_seconds(*p))
        .sum::<Result<f64, _>>()?;
    let sys1 = sys(pids)?;
    let pg1 = pg_cpu(&pg);
    lat.sort();
    let n = lat.len();
    if n == 0 {
        return Err("no request served".into());
    }
    let pct = |p: f64| lat[((n as f64 * p) as usize).min(n - 1)].as_secs_f64() * 1e3;
    println!(
        "{n} re-encryptions ({} records in the database, {} read), {concurrency} client threads, {} server(s)",
        state.records,
        targets.len(),
        servers.len()
    );
    println!("throughput: {:.1} req/s over {wall:.1} s", n as f64 / wall);
    println!("latency: p50 {:.2} ms, p99 {:.2} ms", pct(0.50), pct(0.99));
    if !pids.is_empty() {
        println!(
            "server CPU: {:.2} s in total, {:.3} ms per served re-encryption (utime+stime of {} process(es); stime {:.3} ms)",
            cpu1 - cpu0,
            (cpu1 - cpu0) * 1e3 / n as f64,
            pids.len(),
            (sys1 - sys0) * 1e3 / n as f64
        );
    }
    if count_postgres {
        println!(
            "PostgreSQL CPU: {:.3} ms per served re-encryption ({} postgres processes)",
            (pg1 - pg0) * 1e3 / n as f64,
            pg.len()
        );
    }
    Ok(())
}
