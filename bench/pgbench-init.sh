#!/usr/bin/env bash
# `pgbench -i` (bulk load) timings: Alopex and PostgreSQL 15, side by side.
# Not part of CI.
#
# For each scale in SCALES and each round, starts a fresh `alopex serve`
# (every commit fsynced, `--sync true`, as bench/pgbench.sh) and a fresh
# PostgreSQL 15 cluster (fsync=on, synchronous_commit=on) on loopback, runs
# the unmodified `pgbench -i -s SCALE` against each (DROP/CREATE, client-side
# COPY of scale x 100,000 pgbench_accounts rows, VACUUM ANALYZE, ADD PRIMARY
# KEY) and prints pgbench's own phase breakdown. Servers alternate which goes
# first each round. Extra binaries in OTHER_BINS (space-separated) are timed
# too, e.g. an older build for a before/after comparison.
#
# Usage: bench/pgbench-init.sh          (from the repository root)
# Settings: SCALES="1 10" ROUNDS=2 ALOPEX_BIN=path OTHER_BINS="path …"
#   PG_BIN=/usr/lib/postgresql/15/bin PERF=1 (perf record -g the alopex
#   process of the first run into $WORK/perf.data; KEEP=1 keeps $WORK)
set -euo pipefail
cd "$(dirname "$0")/.."

SCALES=${SCALES:-"1 10"}
ROUNDS=${ROUNDS:-2}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${PORT:-16532}
PGBENCH=${PGBENCH:-$PG_BIN/pgbench}
[ -x "$PG_BIN/postgres" ] || { echo "PostgreSQL 15 not found in $PG_BIN (set PG_BIN)" >&2; exit 1; }
if [ -z "${ALOPEX_BIN:-}" ]; then
    echo "== building the release binary"
    cargo build --release -q -p alopex-server --bin alopex
    ALOPEX_BIN=$PWD/target/release/alopex
fi

WORK=$(mktemp -d /tmp/alopex-pgbench-init.XXXXXX)
chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); else AS_PG=(); fi
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ -f "$WORK/pg/data/postmaster.pid" ] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

PERF_DONE=""
# alopex BIN SCALE: one fresh server, one pgbench -i.
alopex() {
    local bin=$1 scale=$2
    rm -rf "$WORK/alopex"
    "$bin" serve --data-dir "$WORK/alopex" --pg-addr "127.0.0.1:$PORT" --http-addr 127.0.0.1:0 \
        --grpc-addr 127.0.0.1:0 --sync true 2>"$WORK/alopex.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.1; done
    local perf_pid=""
    if [ -n "${PERF:-}" ] && [ -z "$PERF_DONE" ]; then
        perf record -F 499 -g -p "$SERVER_PID" -o "$WORK/perf.data" 2>/dev/null &
        perf_pid=$!
        PERF_DONE=1
        sleep 0.5
    fi
    "$PGBENCH" -h 127.0.0.1 -p "$PORT" -U alopex -i -s "$scale" alopex 2>&1 | grep "done in" || echo "pgbench -i failed"
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
    SERVER_PID=""
}

# postgres SCALE: one fresh cluster, one pgbench -i.
postgres() {
    local scale=$1
    rm -rf "$WORK/pg"
    mkdir -p "$WORK/pg"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK/pg"; fi
    "${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U alopex >"$WORK/initdb.log" 2>&1
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start -o \
        "-p $PORT -c listen_addresses=127.0.0.1 -k $WORK/pg -c fsync=on -c synchronous_commit=on" >/dev/null
    "${AS_PG[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U alopex alopex
    "$PGBENCH" -h 127.0.0.1 -p "$PORT" -U alopex -i -s "$scale" alopex 2>&1 | grep "done in" || echo "pgbench -i failed"
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null
}

for scale in $SCALES; do
    for round in $(seq "$ROUNDS"); do
        targets=("alopex:$ALOPEX_BIN")
        for other in ${OTHER_BINS:-}; do targets+=("alopex:$other"); done
        targets+=("postgres:")
        if [ $((round % 2)) -eq 0 ]; then
            # Reverse the order on even rounds.
            for ((i = 0, j = ${#targets[@]} - 1; i < j; i++, j--)); do
                t=${targets[i]}; targets[i]=${targets[j]}; targets[j]=$t
            done
        fi
        for target in "${targets[@]}"; do
            kind=${target%%:*}; bin=${target#*:}
            if [ "$kind" = postgres ]; then
                printf 'scale %-3s round %s  %-28s ' "$scale" "$round" "postgres"
                postgres "$scale"
            else
                printf 'scale %-3s round %s  %-28s ' "$scale" "$round" "$(basename "$(dirname "$bin")")/$(basename "$bin")"
                alopex "$bin" "$scale"
            fi
        done
    done
done
if [ -n "${PERF:-}" ]; then echo "perf data: $WORK/perf.data (KEEP=1 to keep it)"; fi
