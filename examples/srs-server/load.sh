#!/usr/bin/env bash
# Load run for the reference SRS server (NOT run by CI; BENCHMARKS.md "The reference server").
#   bash examples/srs-server/load.sh [sqlite|postgres|all]      (default: all)
# Builds in release, seeds a database of RECORDS (default 10 000) records through the library
# (srs-load seed), starts the server(s) on 127.0.0.1, sends REQUESTS (default 3 000) signed
# one-entry re-encryptions from each of CONCURRENCY (default "4 16") client threads, and prints
# req/s, p50/p99 and the server processes' CPU time per served re-encryption (SQLite with
# synchronous=full, the default group commit, full-per-commit and normal), then the same
# requests in process for the
# in-process CPU time per operation. PostgreSQL: its own
# cluster in a temporary directory (as in e2e.sh), one server, then two on the same database.
# Seeded databases are kept in $LOAD_DIR (default /tmp/srs-load) and reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
records=${RECORDS:-10000}
requests=${REQUESTS:-3000}
concurrency=${CONCURRENCY:-4 16}
dir=${LOAD_DIR:-/tmp/srs-load}
mkdir -p "$dir"
chmod 755 "$dir"

cargo build --quiet --release -p srs-server --bins
bin="${CARGO_TARGET_DIR:-target}/release"

pids=()
pg_stop=""
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_stop" ]; then eval "$pg_stop" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

start() { # DB KEY -> $addr $pid
  local out
  out=$(mktemp)
  "$bin/srs-server" --db "$1" --key "$2" --name load > "$out" 2>> "$dir/server.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  addr=$(head -1 "$out")
}

if [ "$what" = sqlite ] || [ "$what" = all ]; then
  if [ ! -f "$dir/sqlite/load.json" ]; then
    rm -rf "$dir/sqlite" "$dir/sqlite.db"*
    "$bin/srs-load" seed --db "sqlite:$dir/sqlite.db" --key "$dir/sqlite.key" \
      --state "$dir/sqlite" --records "$records"
  fi
  for c in $concurrency; do
    for sync in full full-per-commit normal; do
      start "sqlite:$dir/sqlite.db?synchronous=$sync" "$dir/sqlite.key"
      echo "== SQLite (synchronous=$sync), one server ($addr, pid $pid), $c client threads"
      "$bin/srs-load" run --server "$addr" --pid "$pid" --state "$dir/sqlite" \
        --requests "$requests" --concurrency "$c" --max-seconds 600
      echo "stats: $(curl -s "http://$addr/v1/stats")"
      kill -TERM "$pid"; wait "$pid"
    done
  done
  echo "== the same requests in process (no HTTP): MemoryStore, then SQLite (synchronous=normal)"
  "$bin/srs-load" inproc --db "sqlite:$dir/sqlite.db" --key "$dir/sqlite.key" \
    --state "$dir/sqlite" --requests "$requests" --memory
  "$bin/srs-load" inproc --db "sqlite:$dir/sqlite.db?synchronous=normal" --key "$dir/sqlite.key" \
    --state "$dir/sqlite" --requests "$requests"
fi

if [ "$what" = postgres ] || [ "$what" = all ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
  port=$((20000 + RANDOM % 20000))
  if [ ! -d "$dir/pg/data" ]; then
    mkdir -p "$dir/pg"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir/pg"; fi
    "${as_pg[@]}" "$pgbin/initdb" -D "$dir/pg/data" -U srs --auth=trust >/dev/null
  fi
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/pg" start >/dev/null
  pg_stop="${as_pg[*]} $pgbin/pg_ctl -D $dir/pg/data -m fast stop"
  db="postgres://srs@127.0.0.1:$port/srs"
  if [ ! -f "$dir/postgres/load.json" ]; then
    "${as_pg[@]}" "$pgbin/psql" -q -h 127.0.0.1 -p "$port" -U srs -d postgres \
      -c "DROP DATABASE IF EXISTS srs" -c "CREATE DATABASE srs"
    rm -rf "$dir/postgres" "$dir/postgres.key"
    "$bin/srs-load" seed --db "$db" --key "$dir/postgres.key" --state "$dir/postgres" \
      --records "$records"
  fi
  start "$db" "$dir/postgres.key"; a=$addr; pa=$pid
  echo "== PostgreSQL, one server ($a, pid $pa)"
  "$bin/srs-load" run --server "$a" --pid "$pa" --state "$dir/postgres" --count-postgres \
    --requests "$requests" --concurrency "${concurrency%% *}" --max-seconds 600
  start "$db" "$dir/postgres.key"; b=$addr; pb=$pid
  echo "== PostgreSQL, two servers on one database ($a, $b)"
  "$bin/srs-load" run --server "$a" --server "$b" --pid "$pa" --pid "$pb" \
    --state "$dir/postgres" --count-postgres --requests "$requests" --concurrency "${concurrency%% *}" --max-seconds 600
fi
