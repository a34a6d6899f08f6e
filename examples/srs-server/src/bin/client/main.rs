//! The story client: every party of the deployment, talking to running SRS servers over HTTP
//! as separate processes would, keeping its parties' keys in a state directory between runs.
//! Every step is asserted; any mismatch exits non-zero.
//!
//! ```sh
//! srs-client --server 127.0.0.1:8080 --state DIR first-half    # setup, record, writes, reads
//! srs-client --server 127.0.0.1:8080 --state DIR second-half   # after a restart: revocation
//! srs-client --server A --server B --state DIR race            # two instances, one database
//! srs-client --server A --state DIR crash-writes --acked FILE  # a stream of writes
//! srs-client --server A --state DIR crash-check --acked FILE   # after a SIGKILL and restart
//! ```

mod crash;
mod disclosures;
mod race;
mod story;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rand_core::OsRng;
use sesphr::phr::{PrincipalId, PrincipalKeys, Timestamp};
use sesphr::srs::{Operation, Response, SignedOperation};
use srs_server::remote::{Failure, Info, Remote};

#[derive(Parser)]
#[command(about = "Drives the SRS story against running servers")]
struct Args {
    /// A server (`HOST:PORT` or URL); give it twice or more to alternate between instances.
    #[arg(long = "server", required = true)]
    servers: Vec<String>,
    /// Where the parties' keys and the story's ids are kept between runs.
    #[arg(long)]
    state: PathBuf,
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand)]
enum Step {
    /// Admin bootstraps and activates, patient creates a record and grants, hospital uploads
    /// entries, doctor downloads them and has them re-encrypted in one batch.
    FirstHalf,
    /// Everything is still there; patient revokes; doctor is refused; admin deactivates.
    SecondHalf,
    /// Conflicting operations sent to two servers at once (needs two `--server`).
    Race,
    /// A stream of acknowledged writes, until the server goes away (or `--count`).
    CrashWrites {
        /// Appends each acknowledged entry id here (synced before the next write).
        #[arg(long)]
        acked: PathBuf,
        /// At most this many writes.
        #[arg(long, default_value_t = 400)]
        count: usize,
    },
    /// The admin's login answers HTTP `expect` within `tries` attempts (a second apart):
    /// 503 while the database is down, 200 once it is back.
    Probe {
        #[arg(long)]
        expect: u16,
        #[arg(long, default_value_t = 1)]
        tries: u32,
    },
    /// Every acknowledged write is present and whole.
    CrashCheck {
        /// The file `crash-writes` appended to.
        #[arg(long)]
        acked: PathBuf,
    },
}

/// What every step works with.
pub struct Ctx {
    /// Where the state is kept.
    pub dir: PathBuf,
    /// The servers.
    pub remote: Remote,
    /// The SRS's id and key.
    pub info: Info,
}

/// A step's failure: what mismatched.
pub type Outcome<T = ()> = Result<T, String>;

/// Fails with `what` unless `cond`.
pub fn ensure(cond: bool, what: impl Into<String>) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(format!("assertion failed: {}", what.into()))
    }
}

/// The client's clock.
pub fn now() -> Timestamp {
    srs_server::server::now()
}

/// Turns a transport or server failure into a step failure.
pub fn f(what: &str) -> impl Fn(Failure) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Ctx {
    /// Signs `op` as `id` with `keys`, now.
    pub fn sign(
        &self,
        id: PrincipalId,
        keys: &PrincipalKeys,
        op: Operation,
    ) -> Outcome<SignedOperation> {
        SignedOperation::sign(keys, self.info.id, id, op, now(), &mut OsRng)
            .map_err(|e| format!("sign: {e}"))
    }

    /// Signs and runs `op` on the next server.
    pub fn run(
        &self,
        id: PrincipalId,
        keys: &PrincipalKeys,
        op: Operation,
    ) -> Result<Response, Failure> {
        let signed = self.sign(id, keys, op).map_err(|text| Failure {
            status: 0,
            kind: "client".into(),
            text,
        })?;
        self.remote.op(self.remote.next(), &signed)
    }

    /// Runs `op` and expects `Response::Done`.
    pub fn done(
        &self,
        what: &str,
        id: PrincipalId,
        keys: &PrincipalKeys,
        op: Operation,
    ) -> Outcome {
        let r = self.run(id, keys, op).map_err(f(what))?;
        ensure(r == Response::Done, format!("{what}: answered {r:?}"))
    }

    /// Runs `op` and expects a refusal with HTTP `status`.
    pub fn refused(
        &self,
        what: &str,
        status: u16,
        id: PrincipalId,
        keys: &PrincipalKeys,
        op: Operation,
    ) -> Outcome<Failure> {
        match self.run(id, keys, op) {
            Ok(r) => Err(format!("{what}: expected HTTP {status}, got {r:?}")),
            Err(e) if e.status == status => Ok(e),
            Err(e) => Err(format!("{what}: expected HTTP {status}, got {e}")),
        }
    }
}

fn probe(ctx: &Ctx, expect: u16, tries: u32) -> Outcome {
    let admin = srs_server::parties::Party::load(&ctx.dir, "admin")?;
    let mut last = String::new();
    for i in 0..tries.max(1) {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        match ctx.run(admin.id, &admin.keys, Operation::Login) {
            Ok(r) if expect == 200 => {
                println!("probe: HTTP 200 ({r:?})");
                return Ok(());
            }
            Ok(r) => last = format!("{r:?}"),
            Err(e) if e.status == expect => {
                println!("probe: {e}");
                return Ok(());
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("probe: expected HTTP {expect}, last answer {last}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let remote = Remote::new(&args.servers);
    if let Err(e) = std::fs::create_dir_all(&args.state) {
        eprintln!("state dir: {e}");
        return ExitCode::FAILURE;
    }
    let result = (|| {
        let info = remote.info(0).map_err(f("info"))?;
        for s in 1..remote.len() {
            let other = remote.info(s).map_err(f("info"))?;
            ensure(other.id == info.id, "every server is the same SRS")?;
        }
        let ctx = Ctx {
            dir: args.state.clone(),
            remote,
            info,
        };
        match args.step {
            Step::FirstHalf => story::first_half(&ctx),
            Step::SecondHalf => story::second_half(&ctx),
            Step::Race => race::race(&ctx),
            Step::CrashWrites { acked, count } => crash::writes(&ctx, &acked, count),
            Step::CrashCheck { acked } => crash::check(&ctx, &acked),
            Step::Probe { expect, tries } => probe(&ctx, expect, tries),
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
