#!/usr/bin/env bash
# pgbench against Alopex and PostgreSQL 15, side by side. Not part of CI.
#
# Builds the release `alopex` binary, starts it and a throwaway PostgreSQL 15
# cluster on loopback (both fsync every commit: Alopex's default `--sync
# true`, PostgreSQL's fsync=on and synchronous_commit=on), initializes the
# same pgbench scale on each with pgbench itself, and runs the builtin
# select-only and tpcb-like scripts on each with the same clients, threads
# and duration, alternating A/B when ROUNDS > 1. For every run it prints
# TPS and the p50/p99 transaction latency (from pgbench's per-transaction
# logs, --log), then the Alopex/PostgreSQL TPS ratio (above 1.0: Alopex is
# faster).
#
# Both servers see the same retry policy (--max-tries): Alopex transactions
# are optimistic and fail with 40001 on a write conflict, which pgbench
# retries; PostgreSQL's row locks make them wait instead.
#
# Usage: bench/pgbench.sh            (from the repository root)
# Settings (environment): SCALE=10 CLIENTS=8 JOBS=2 DURATION=20 ROUNDS=1
#   MODES="simple prepared" (pgbench -M, each in turn)
#   WORKLOADS="select-only tpcb-like kv-select kv-update kv-insert"
#   PG_BIN=/usr/lib/postgresql/15/bin KEEP=1 (keep the data directories)
#   ALOPEX_BIN=path (use this binary instead of building one)
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-8}
JOBS=${JOBS:-2}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-1}
MODES=${MODES:-${MODE:-"simple prepared"}}
WORKLOADS=${WORKLOADS:-"select-only tpcb-like kv-select kv-update kv-insert"}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ALOPEX_PORT=${ALOPEX_PORT:-16432}
PG_PORT=${PG_PORT:-16433}
PGBENCH=${PGBENCH:-$PG_BIN/pgbench}
PSQL=${PSQL:-$(command -v psql || echo "$PG_BIN/psql")}

[ -x "$PG_BIN/postgres" ] || { echo "PostgreSQL 15 not found in $PG_BIN (set PG_BIN)" >&2; exit 1; }
[ -x "$PGBENCH" ] || { echo "pgbench not found at $PGBENCH (set PGBENCH)" >&2; exit 1; }

if [ -n "${ALOPEX_BIN:-}" ]; then
    ALOPEX=$ALOPEX_BIN
else
    echo "== building the release binary"
    cargo build --release -q -p alopex-server --bin alopex
    ALOPEX=$PWD/target/release/alopex
fi
KV_DIR=$PWD/bench/pgbench

WORK=$(mktemp -d /tmp/alopex-pgbench.XXXXXX)
chmod 755 "$WORK"
ALOPEX_PID=""
# PostgreSQL's own directory (data, log, socket), owned by the user it runs as.
PGDIR="$WORK/postgres"
# PostgreSQL refuses to run as root: run it as `postgres` when we are root.
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); else AS_PG=(); fi

cleanup() {
    [ -n "$ALOPEX_PID" ] && kill -TERM "$ALOPEX_PID" 2>/dev/null && wait "$ALOPEX_PID" 2>/dev/null || true
    [ -f "$PGDIR/data/postmaster.pid" ] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

echo "== starting alopex on 127.0.0.1:$ALOPEX_PORT (data in $WORK/alopex)"
"$ALOPEX" serve --data-dir "$WORK/alopex" --pg-addr "127.0.0.1:$ALOPEX_PORT" \
    --http-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 --sync true 2>"$WORK/alopex.log" &
ALOPEX_PID=$!

echo "== starting PostgreSQL 15 on 127.0.0.1:$PG_PORT (data in $PGDIR/data)"
mkdir -p "$PGDIR"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGDIR"; fi
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDIR/data" -A trust -U alopex >"$WORK/initdb.log" 2>&1
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w start -o \
    "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PGDIR -c fsync=on -c synchronous_commit=on \
     -c full_page_writes=on -c max_connections=100" >/dev/null
"${AS_PG[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U alopex alopex

for _ in $(seq 100); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$ALOPEX_PORT" && break
    sleep 0.1
done

# run NAME PORT ARGS...: pgbench against one server.
bench() {
    local port=$1; shift
    "$PGBENCH" -h 127.0.0.1 -p "$port" -U alopex "$@" alopex
}

for target in alopex:$ALOPEX_PORT postgres:$PG_PORT; do
    name=${target%%:*}; port=${target##*:}
    echo "== pgbench -i -s $SCALE on $name"
    start=$(date +%s.%N)
    bench "$port" -i -q -s "$SCALE" >"$WORK/init-$name.log" 2>&1 || { cat "$WORK/init-$name.log"; exit 1; }
    printf '   %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
    if [[ " $WORKLOADS " == *" kv-"* ]]; then
        echo "== kv table (100k rows) on $name"
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U alopex -f "$KV_DIR/kv-setup.sql" alopex \
            >"$WORK/kv-$name.log" 2>&1 || { cat "$WORK/kv-$name.log"; exit 1; }
    fi
done

# p50 and p99 of the latencies (µs, 3rd field) in pgbench logs; failed
# transactions log "failed" there and are left out.
percentiles() {
    cat "$@" | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- -"; exit }
            p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
            printf "%.2f %.2f\n", p50 / 1000, p99 / 1000
        }'
}

declare -A TPS
printf '\n%-12s %-9s %-8s %5s %10s %10s %10s %8s\n' workload mode server round tps p50_ms p99_ms failed
for workload in $WORKLOADS; do
    case $workload in
        kv-*) script=(-n -f "$KV_DIR/$workload.sql") ;;
        *) script=(-b "$workload") ;;
    esac
    for mode in $MODES; do
        for round in $(seq "$ROUNDS"); do
            # Alternate which server goes first, so neither always runs on a
            # warmer (or more fragmented) machine.
            if [ $((round % 2)) -eq 1 ]; then order="alopex:$ALOPEX_PORT postgres:$PG_PORT"
            else order="postgres:$PG_PORT alopex:$ALOPEX_PORT"; fi
            for target in $order; do
                name=${target%%:*}; port=${target##*:}
                dir="$WORK/logs/$workload-$mode-$name-$round"
                mkdir -p "$dir"
                out=$(cd "$dir" && bench "$port" "${script[@]}" -M "$mode" -c "$CLIENTS" -j "$JOBS" \
                    -T "$DURATION" --max-tries 100 --log --log-prefix=tx 2>"$dir/stderr") || {
                    cat "$dir/stderr" >&2; echo "pgbench failed on $name" >&2; exit 1; }
                echo "$out" >"$dir/report"
                tps=$(echo "$out" | awk '/^tps = / { print $3; exit }')
                failed=$(echo "$out" | awk -F': ' '/^number of failed transactions/ { split($2, a, " "); print a[1] }')
                read -r p50 p99 < <(percentiles "$dir"/tx.*)
                printf '%-12s %-9s %-8s %5s %10.1f %10s %10s %8s\n' "$workload" "$mode" "$name" "$round" "$tps" "$p50" "$p99" "${failed:-0}"
                TPS[$workload-$mode-$name]=$(echo "${TPS[$workload-$mode-$name]:-0} + $tps" | bc -l)
            done
        done
    done
done

echo
echo "scale $SCALE, $CLIENTS clients, $JOBS threads, ${DURATION}s, $ROUNDS round(s)"
for workload in $WORKLOADS; do
    for mode in $MODES; do
        a=${TPS[$workload-$mode-alopex]}; p=${TPS[$workload-$mode-postgres]}
        printf 'ratio %-12s -M %-9s alopex/postgres = %.2f\n' "$workload" "$mode" "$(echo "$a / $p" | bc -l)"
    done
done
