#!/usr/bin/env bash
# pgbench against a 3-node Alopex cluster and a single Alopex node, side by
# side. Not part of CI.
#
# Starts one plain node (`alopex serve`) and a three-node cluster (mutual
# TLS certificates made with `alopex cert`, replication factor 3, ranges
# split at SPLIT so the pgbench tables spread over many ranges), all on
# loopback with the same durability (--sync true). Then:
#
# 1. point select (builtin select-only) and update (builtin simple-update)
#    with CLIENTS clients: on the single node through its one port, on the
#    cluster spread over the three nodes' ports (one pgbench per node, TPS
#    summed). Prints TPS and p50/p99 latency per run and the cluster/single
#    TPS ratio;
# 2. cross-range transaction latency: a transfer between two random
#    accounts (two UPDATEs in one transaction; with SPLIT small the two rows
#    almost always sit in different ranges), p50 and p99 from pgbench's
#    per-transaction log, on the cluster and on the single node;
# 3. a node kill: select-only through nodes 1 and 2 with a per-second
#    progress report while node 3 is SIGKILLed KILL_AT seconds in; prints
#    the TPS before, the lowest second after, and the seconds until TPS is
#    back to 90 % of before.
#
# The three cluster nodes and their clients share this machine's cores, so
# the cluster does three times the replication work on the same hardware:
# the ratio measures the cost of replication and distribution, not
# scale-out.
#
# Usage: bench/pgbench-cluster.sh     (from the repository root)
# Settings (environment): SCALE=10 CLIENTS=6 DURATION=20 SPLIT=4MiB KILL_AT=10
#   MODE=prepared ALOPEX_BIN=path PGBENCH=path KEEP=1
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-6}
DURATION=${DURATION:-20}
SPLIT=${SPLIT:-4MiB}
KILL_AT=${KILL_AT:-10}
MODE=${MODE:-prepared}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGBENCH=${PGBENCH:-$(command -v pgbench || echo "$PG_BIN/pgbench")}
[ -x "$PGBENCH" ] || { echo "pgbench not found (set PGBENCH)" >&2; exit 1; }

if [ -n "${ALOPEX_BIN:-}" ]; then
    ALOPEX=$ALOPEX_BIN
else
    echo "== building the release binary"
    cargo build --release -q -p alopex-server --bin alopex
    ALOPEX=$PWD/target/release/alopex
fi

WORK=$(mktemp -d /tmp/alopex-pgbench-cluster.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SINGLE_PG=$(free_port)
echo "== single node on 127.0.0.1:$SINGLE_PG"
"$ALOPEX" serve --data-dir "$WORK/single" --pg-addr "127.0.0.1:$SINGLE_PG" \
    --http-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 --sync true 2>"$WORK/single.log" &
PIDS+=($!)

echo "== three-node cluster (split at $SPLIT)"
"$ALOPEX" cert create-ca --out "$WORK/ca" >/dev/null
declare -a PG HTTP QUIC NODE_PID
for i in 1 2 3; do
    "$ALOPEX" cert create-node --ca "$WORK/ca" --node-id "$i" --host 127.0.0.1 --out "$WORK/cert$i" >/dev/null
    PG[$i]=$(free_port); HTTP[$i]=$(free_port); QUIC[$i]=$(free_port)
done
start_node() {
    local i=$1 join=()
    [ "$i" -ne 1 ] && join=(--join "127.0.0.1:${QUIC[1]}")
    "$ALOPEX" serve --data-dir "$WORK/node$i" --pg-addr "127.0.0.1:${PG[$i]}" \
        --http-addr "127.0.0.1:${HTTP[$i]}" --grpc-addr 127.0.0.1:0 --sync true \
        --listen-addr "127.0.0.1:${QUIC[$i]}" --cluster-cert-dir "$WORK/cert$i" "${join[@]}" \
        --replication-factor 3 --split-threshold "$SPLIT" 2>"$WORK/node$i.log" &
    NODE_PID[$i]=$!
    PIDS+=($!)
}
start_node 1
sleep 2
start_node 2
start_node 3

ready() { pg_isready -q -h 127.0.0.1 -p "$1" 2>/dev/null || "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1"; }
for port in "$SINGLE_PG" "${PG[1]}" "${PG[2]}" "${PG[3]}"; do
    for _ in $(seq 300); do ready "$port" && break; sleep 0.1; done
done
# Every range with three voters and a leader.
for _ in $(seq 600); do
    if curl -s "127.0.0.1:${HTTP[1]}/v1/cluster/ranges" | python3 -c '
import json, sys
r = json.load(sys.stdin)["ranges"]
sys.exit(0 if r and all(len(x["voters"]) == 3 and x["leader"] for x in r) else 1)' 2>/dev/null; then break; fi
    sleep 0.2
done

bench() { local port=$1; shift; "$PGBENCH" -h 127.0.0.1 -p "$port" -U alopex "$@" alopex; }

for target in single:$SINGLE_PG cluster:${PG[1]}; do
    name=${target%%:*}; port=${target##*:}
    echo "== pgbench -i -s $SCALE on $name"
    start=$(date +%s.%N)
    bench "$port" -i -q -s "$SCALE" >"$WORK/init-$name.log" 2>&1 || { cat "$WORK/init-$name.log"; exit 1; }
    printf '   %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
done
ranges=$(curl -s "127.0.0.1:${HTTP[1]}/v1/cluster/ranges" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["ranges"]))')
echo "   the cluster holds $ranges ranges"

percentiles() {
    cat "$@" | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- -"; exit }
            p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
            printf "%.2f %.2f\n", p50 / 1000, p99 / 1000
        }'
}

cat >"$WORK/transfer.sql" <<'EOF'
\set a random(1, 100000 * :scale)
\set b random(1, 100000 * :scale)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid = :a;
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :b;
END;
EOF

# run NAME WORKLOAD SCRIPT...: one pgbench per port of NAME, concurrently;
# prints the summed TPS and the pooled p50/p99.
declare -A TPS
run() {
    local name=$1 workload=$2; shift 2
    local ports
    if [ "$name" = single ]; then ports=("$SINGLE_PG"); else ports=("${PG[1]}" "${PG[2]}" "${PG[3]}"); fi
    local per=$(( (CLIENTS + ${#ports[@]} - 1) / ${#ports[@]} ))
    local dir="$WORK/logs/$workload-$name"
    mkdir -p "$dir"
    local k=0 pids=()
    for port in "${ports[@]}"; do
        k=$((k + 1))
        (cd "$dir" && bench "$port" "$@" -M "$MODE" -c "$per" -j 1 -T "$DURATION" --max-tries 100 \
            --log --log-prefix="tx$k" >"$dir/report$k" 2>"$dir/stderr$k") &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || { cat "$dir"/stderr*; echo "pgbench failed on $name" >&2; exit 1; }; done
    local tps failed
    tps=$(cat "$dir"/report* | awk '/^tps = / { s += $3 } END { print s }')
    failed=$(cat "$dir"/report* | awk -F': ' '/^number of failed transactions/ { split($2, a, " "); s += a[1] } END { print s + 0 }')
    read -r p50 p99 < <(percentiles "$dir"/tx*)
    printf '%-12s %-8s %10.1f %10s %10s %8s\n' "$workload" "$name" "$tps" "$p50" "$p99" "$failed"
    TPS[$workload-$name]=$tps
}

printf '\n%-12s %-8s %10s %10s %10s %8s\n' workload target tps p50_ms p99_ms failed
for workload in select-only simple-update; do
    for name in single cluster; do run "$name" "$workload" -b "$workload"; done
done
for name in single cluster; do run "$name" transfer -f "$WORK/transfer.sql"; done
echo
for workload in select-only simple-update transfer; do
    printf 'ratio %-14s cluster/single = %.2f\n' "$workload" \
        "$(echo "${TPS[$workload-cluster]} / ${TPS[$workload-single]}" | bc -l)"
done

echo
echo "== node kill: select-only through nodes 1 and 2, node 3 killed at ${KILL_AT}s"
dir="$WORK/logs/kill"
mkdir -p "$dir"
total=$((KILL_AT + DURATION))
for k in 1 2; do
    bench "${PG[$k]}" -b select-only -M "$MODE" -c $(( (CLIENTS + 1) / 2 )) -j 1 -T "$total" --max-tries 100 \
        --progress 1 >"$dir/report$k" 2>"$dir/progress$k" &
    pids[$k]=$!
done
sleep "$KILL_AT"
kill -KILL "${NODE_PID[3]}"
echo "   node 3 killed"
wait "${pids[1]}" "${pids[2]}" || true
# progress lines: "progress: 5.0 s, 1234.5 tps, ..." per client process;
# sum per second over both.
cat "$dir"/progress1 "$dir"/progress2 | awk '/^progress:/ { t = int($2 + 0.5); s[t] += $4 } END { for (t in s) print t, s[t] }' \
    | sort -n >"$dir/tps"
awk -v kill="$KILL_AT" '
    { tps[$1] = $2; if ($1 > last) last = $1 }
    END {
        n = 0; sum = 0
        for (t = 2; t <= kill; t++) if (t in tps) { sum += tps[t]; n++ }
        before = n ? sum / n : 0
        low = -1; back = -1
        for (t = kill + 1; t <= last; t++) {
            if (!(t in tps)) continue
            if (low < 0 || tps[t] < low) low = tps[t]
            if (back < 0 && t > kill + 1 && tps[t] >= 0.9 * before) back = t - kill
        }
        printf "   tps before %.0f, lowest second after the kill %.0f (%.0f%%), back to 90%% after %s s\n",
            before, low, before ? 100 * low / before : 0, back < 0 ? "(never)" : back
    }' "$dir/tps"
echo "   per second: $(awk '{ printf "%s:%.0f ", $1, $2 }' "$dir/tps")"
echo
echo "scale $SCALE, $CLIENTS clients, ${DURATION}s per run, -M $MODE, split at $SPLIT"
