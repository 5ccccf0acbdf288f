"""psycopg 3 COPY FROM STDIN against a running `alopex serve` (port in argv[1]).

Drives the server's bulk COPY path the way applications load data with
psycopg: `cursor.copy()` with `write_row`, many batches' worth of rows,
typed values and NULLs, a column list with defaults, and errors: a bad row
late in the stream fails the whole COPY with its SQLSTATE and input line,
and nothing of it is committed, in autocommit and inside a transaction.
Exits non-zero with a message on the first mismatch.
"""
import datetime
import decimal
import sys

import psycopg
from psycopg import errors

port = int(sys.argv[1])
conninfo = f"host=127.0.0.1 port={port} user=alopex dbname=alopex"

with psycopg.connect(conninfo, autocommit=True) as conn:
    conn.execute(
        "CREATE TABLE loads (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
        "day date, score double precision, flag boolean DEFAULT true, note text DEFAULT 'n/a')"
    )
    rows = [
        (i, f"row {i}", decimal.Decimal(i) / 100, datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 365),
         i / 8 if i % 10 else None)
        for i in range(1, 30001)
    ]
    with conn.cursor() as cur:
        with cur.copy("COPY loads (id, name, price, day, score) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cur.execute("SELECT count(*), sum(price), count(score), bool_and(flag), min(note) FROM loads")
        got = cur.fetchone()
        assert got == (30000, sum(r[2] for r in rows), 27000, True, "n/a"), got
        cur.execute("SELECT name, day, score FROM loads WHERE id = 12345")
        assert cur.fetchone() == ("row 12345", datetime.date(2024, 1, 1) + datetime.timedelta(days=12345 % 365),
                                  12345 / 8), "typed values round-trip"

        # A duplicate key deep in the stream: nothing of this COPY stays.
        try:
            with cur.copy("COPY loads (id, name) FROM STDIN") as copy:
                for i in range(30001, 50001):
                    copy.write_row((7 if i == 45000 else i, "late"))
            raise AssertionError("a duplicate key must fail the COPY")
        except errors.UniqueViolation as e:
            assert "line 15000" in str(e), str(e)
        cur.execute("SELECT count(*) FROM loads")
        assert cur.fetchone() == (30000,), "the failed COPY committed nothing"

        # Bad text for a numeric column.
        try:
            with cur.copy("COPY loads (id, name, price) FROM STDIN") as copy:
                copy.write(b"60001\tok\t1.5\n60002\tbad\tabc\n")
            raise AssertionError("bad numeric text must fail the COPY")
        except errors.InvalidTextRepresentation as e:
            assert "line 2" in str(e), str(e)

# Inside a transaction: the COPY commits with it, or a failure aborts it.
with psycopg.connect(conninfo) as conn:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO loads (id, name) VALUES (%s, %s)", (70000, "before"))
        with cur.copy("COPY loads (id, name) FROM STDIN") as copy:
            for i in range(70001, 75001):
                copy.write_row((i, "in txn"))
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM loads WHERE id >= 70000")
        assert cur.fetchone() == (5001,)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO loads (id, name) VALUES (%s, %s)", (80000, "lost"))
        try:
            with cur.copy("COPY loads (id, name) FROM STDIN") as copy:
                for i in range(80001, 90001):
                    copy.write_row((i, None if i == 89999 else "x"))
            raise AssertionError("a NULL name must fail the COPY")
        except errors.NotNullViolation as e:
            assert "line 9999" in str(e), str(e)
        try:
            cur.execute("SELECT 1")
            raise AssertionError("the transaction must be aborted")
        except errors.InFailedSqlTransaction:
            pass
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM loads WHERE id >= 80000")
        assert cur.fetchone() == (0,), "the rolled-back transaction left nothing"

print("copy ok")
