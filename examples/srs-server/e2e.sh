#!/usr/bin/env bash
# End-to-end run of the reference SRS server (issue 14), run by .ci/run:
#  1. SQLite: start the server on a temporary database, run the client's first half, stop
#     the server (SIGTERM), start it again on the same database, run the second half; then a
#     stream of writes cut by SIGKILL, a restart, and the check that every acknowledged write
#     is present and whole; then the server's audit of every row.
#  2. PostgreSQL (installed with apt-get if missing; its own cluster in a temporary directory
#     on 127.0.0.1): two server processes on one database, driven alternately, conflicting
#     operations sent to both at once, both restarted, the second half, a SIGKILL of one
#     instance mid-stream, the audit.
# Everything it starts is stopped on exit. `SRS_E2E_SKIP_PG=1` runs only the SQLite part.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== srs-server e2e: build"
cargo build --quiet -p srs-server --bins
bin="${CARGO_TARGET_DIR:-target}/debug"
server="$bin/srs-server"
client="$bin/srs-client"

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
pg_stop=""
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_stop" ]; then eval "$pg_stop" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "e2e FAILED: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

# start NAME DB: starts a server, sets $addr and $pid (the bound address is its first line).
start() {
  local name=$1 db=$2 out="$tmp/$1.out"
  : > "$out"
  "$server" --db "$db" --key "$tmp/srs.key" --name e2e --max-blob 1048576 > "$out" 2>> "$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    [ -s "$out" ] && break
    kill -0 "$pid" 2>/dev/null || fail "server $name did not start"
    sleep 0.1
  done
  addr=$(head -1 "$out")
  [ -n "$addr" ] || fail "server $name printed no address"
}

# stop PID: SIGTERM, and the server must exit cleanly.
stop() {
  kill -TERM "$1"
  wait "$1" || fail "server $1 did not stop cleanly on SIGTERM"
}

# crash SERVERS...: a stream of writes through the servers; SIGKILL of $victim once 5 writes
# are acknowledged.
crash() {
  local acked="$tmp/acked-$victim.txt"
  rm -f "$acked" "${acked%.txt}.pending"
  "$client" "$@" --state "$state" crash-writes --acked "$acked" --count 400 > "$tmp/crash-client.out" &
  local cpid=$!
  for _ in $(seq 300); do
    [ -f "$acked" ] && [ "$(wc -l < "$acked")" -ge 5 ] && break
    sleep 0.05
  done
  kill -KILL "$victim"
  wait "$victim" 2>/dev/null || true
  wait "$cpid" || fail "the writing client failed"
  local n
  n=$(wc -l < "$acked")
  [ "$n" -ge 5 ] && [ "$n" -lt 400 ] || fail "SIGKILL did not land mid-stream ($n acknowledged)"
  echo "SIGKILL after $n acknowledged writes"
}

echo "== srs-server e2e: SQLite"
db="sqlite:$tmp/srs.sqlite"
state="$tmp/state-sqlite"
start sqlite "$db"
echo "server on $addr"
"$client" --server "$addr" --state "$state" first-half
stop "$pid"
echo "server stopped (SIGTERM), restarting on the same database"
start sqlite "$db"
"$client" --server "$addr" --state "$state" second-half
victim=$pid
crash --server "$addr"
start sqlite "$db"
"$client" --server "$addr" --state "$state" crash-check --acked "$tmp/acked-$victim.txt"
stop "$pid"
"$server" --db "$db" --key "$tmp/srs.key" --name e2e --audit || fail "audit"

if [ "${SRS_E2E_SKIP_PG:-0}" = 1 ]; then
  echo "== srs-server e2e: PostgreSQL skipped (SRS_E2E_SKIP_PG=1)"
  exit 0
fi

echo "== srs-server e2e: PostgreSQL"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ]; then
  echo "installing PostgreSQL (Debian's package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_pg=(runuser -u postgres --)
fi
mkdir -p "$tmp/pg"
if [ "$(id -u)" = 0 ]; then chown postgres "$tmp/pg"; fi
port=$((20000 + RANDOM % 20000))
for _ in 1 2 3 4 5; do  # a port nothing listens on
  (: < "/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  port=$((20000 + RANDOM % 20000))
done
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/pg/data" -U srs --auth=trust >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/pg" start >/dev/null
pg_stop="${as_pg[*]} $pgbin/pg_ctl -D $tmp/pg/data -m fast stop"
"${as_pg[@]}" "$pgbin/psql" -q -h 127.0.0.1 -p "$port" -U srs -d postgres -c "CREATE DATABASE srs" \
  || fail "createdb"
db="postgres://srs@127.0.0.1:$port/srs"
state="$tmp/state-pg"
rm -f "$tmp/srs.key"
start pg-a "$db"; a=$addr; pa=$pid
start pg-b "$db"; b=$addr; pb=$pid
echo "two servers on one PostgreSQL database: $a and $b"
"$client" --server "$a" --server "$b" --state "$state" first-half
"$client" --server "$a" --server "$b" --state "$state" race
stop "$pa"; stop "$pb"
echo "both stopped (SIGTERM), restarting"
start pg-a "$db"; a=$addr; pa=$pid
start pg-b "$db"; b=$addr; pb=$pid
"$client" --server "$b" --server "$a" --state "$state" second-half
victim=$pa
crash --server "$a" --server "$b"
start pg-a "$db"; a=$addr; pa=$pid
"$client" --server "$a" --server "$b" --state "$state" crash-check --acked "$tmp/acked-$victim.txt"
# The database goes away: 503 with the crate's error; it comes back: the servers reconnect.
eval "$pg_stop" >/dev/null
"$client" --server "$a" --state "$state" probe --expect 503
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/pg" start >/dev/null
"$client" --server "$a" --state "$state" probe --expect 200 --tries 10
stop "$pa"; stop "$pb"
"$server" --db "$db" --key "$tmp/srs.key" --name e2e --audit || fail "audit"
echo "== srs-server e2e: ok"
