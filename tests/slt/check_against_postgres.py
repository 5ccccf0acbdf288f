# Runs our .slt files against a real PostgreSQL to check their expectations
# (a development aid, not part of CI). Usage, with a server on /tmp/pg:5433:
#   python3 tests/slt/check_against_postgres.py tests/slt/alopex/*.slt
# Needs `pip install "psycopg[binary]"`. Known, intended differences: SHOW
# TABLES (ours), REFERENCES and WITH RECURSIVE (unsupported in Alopex yet).
import sys, re, psycopg
from decimal import Decimal
def fmt(v):
    if v is None: return "NULL"

    if isinstance(v, str) and v == "": return "(empty)"
    return str(v)
def records(path):
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        l = lines[i]
        if l.startswith("statement") or l.startswith("query"):
            head = l; i += 1; sql = []
            while i < len(lines) and lines[i].strip() != "" and lines[i] != "----":
                sql.append(lines[i]); i += 1
            exp = []
            if i < len(lines) and lines[i] == "----":
                i += 1
                while i < len(lines) and lines[i].strip() != "":
                    exp.append(lines[i]); i += 1
            yield head, "\n".join(sql), exp
        else:
            i += 1
for path in sys.argv[1:]:
    admin = psycopg.connect("host=/tmp/pg port=5433 user=postgres dbname=postgres", autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS sltcheck"); admin.execute("CREATE DATABASE sltcheck")
    conn = psycopg.connect("host=/tmp/pg port=5433 user=postgres dbname=sltcheck", autocommit=True)
    # text results exactly as PG prints them
    for t in ["numeric","float8","float4","date","timestamp","timestamptz","interval","jsonb","json","bytea","bool","int2","int4","int8","text","varchar"]:
        conn.adapters.register_loader(t, psycopg.types.string.TextLoader)
    bad = 0
    for head, sql, exp in records(path):
        parts = head.split()
        try:
            cur = conn.cursor(binary=False)
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
            err = None
        except Exception as e:
            err = str(e).split("\n")[0] + " (SQLSTATE %s)" % getattr(e, "sqlstate", "?")
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR and "BEGIN" not in sql: pass
        if parts[0] == "statement":
            if parts[1] == "ok" and err:
                bad += 1; print(f"{path}: expected ok, got error: {sql!r}: {err}")
            if parts[1] == "error":
                if not err: bad += 1; print(f"{path}: expected error, got ok: {sql!r}")
                else:
                    pat = " ".join(parts[2:])
                    if pat and not re.search(pat, err):
                        bad += 1; print(f"{path}: error text differs: {sql!r}: {err!r} vs /{pat}/")
            continue
        if err:
            bad += 1; print(f"{path}: query error: {sql!r}: {err}"); continue
        if exp and "<slt:ignore>" in exp[0]: continue
        got = [" ".join(fmt(v) for v in r) for r in rows]
        if len(parts) > 2 and parts[2] == "rowsort": got.sort(); exp = sorted(exp)
        if [" ".join(x.split()) for x in got] != [" ".join(x.split()) for x in exp]:
            bad += 1; print(f"{path}: {sql!r}\n   pg:  {got}\n   exp: {exp}")
    print(path, "mismatches:", bad)
    conn.close(); admin.close()
