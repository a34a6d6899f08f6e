//! The SRS server: `srs-server --db sqlite:PATH|postgres://… [--listen ADDR] --key FILE`.
//! Prints the bound address on stdout as its first line; stops gracefully on SIGTERM/SIGINT.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use srs_server::server::{now, router, Pool};
use srs_server::store::{DbStore, DbUrl};

/// The reference SRS server for sesphr.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The database: `sqlite:PATH` (created if missing) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long)]
    db: DbUrl,
    /// The address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// The SRS signing key file (created if missing). Every instance sharing a database
    /// must use the same key and name.
    #[arg(long)]
    key: PathBuf,
    /// The deployment name (bound into the SRS id with the key).
    #[arg(long, default_value = "srs")]
    name: String,
    /// SRS handles (database connections) serving requests at once.
    #[arg(long, default_value_t = 4)]
    handles: usize,
    /// The largest blob accepted, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    max_blob: usize,
    /// Audit every row of the database (signatures, commitments, indexes), print the
    /// report and exit (non-zero if any row fails).
    #[arg(long)]
    audit: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let key = srs_server::keyfile::load_or_create(&args.key)?;
    // Opening migrates the schema, before any request (and outside the async runtime: the
    // synchronous PostgreSQL client runs its own).
    let first = DbStore::open(&args.db).map_err(|e| format!("database: {e}"))?;
    if args.audit {
        let srs = sesphr::srs::Srs::new(first, key, &args.name, Default::default());
        let report = srs.audit().map_err(|e| format!("audit: {e}"))?;
        println!(
            "audited {} rows, {} problems",
            report.rows,
            report.problems.len()
        );
        for (k, e) in &report.problems {
            println!("  row {}: {e}", hex::encode(k));
        }
        return Ok(if report.is_clean() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let pool = Arc::new(
        Pool::new(args.db.clone(), key, &args.name, args.handles, first)
            .map_err(|e| format!("database: {e}"))?,
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(serve(args, pool))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: Args, pool: Arc<Pool>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The first line on stdout, for scripts.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{addr}").and_then(|()| out.flush());
    tracing::info!(%addr, db = ?args.db, "listening");

    // Forget replay rows whose operations are outside the window now (any instance may do
    // it; two doing it at once conflict harmlessly).
    let expiring = pool.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match expiring
                .run(|h, _| Ok(h.expire_replays(now(), 1000)?))
                .await
            {
                Ok(n) if n > 0 => tracing::info!(n, "expired replay rows"),
                Ok(_) => {}
                Err(e) => tracing::debug!(?e, "replay expiry skipped"),
            }
        }
    });

    axum::serve(listener, router(pool.clone(), args.max_blob))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("serve: {e}"))?;
    // What requests dropped by their clients wrote, committed (none of it was acknowledged).
    pool.durable()
        .await
        .map_err(|e| format!("final commit: {e:?}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM: finishing requests in flight"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: finishing requests in flight"),
    }
}
