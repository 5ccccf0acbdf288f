"""psycopg 3 against a running `alopex serve` (port in argv[1]).

Exercises what applications do with psycopg: parameters of many types,
executemany, transactions (context manager, rollback on error), server-side
errors with their SQLSTATE, COPY in both directions, and fetching results.
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
        "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price numeric(8,2), "
        "added date, seen timestamp, score double precision, tags jsonb, flag boolean)"
    )
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO items VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (1, "apple", decimal.Decimal("1.50"), datetime.date(2024, 3, 1),
             datetime.datetime(2024, 3, 1, 12, 30), 0.25, psycopg.types.json.Jsonb({"a": [1, 2]}), True),
        )
        cur.executemany(
            "INSERT INTO items (id, name, price) VALUES (%s, %s, %s)",
            [(i, f"item {i}", decimal.Decimal(i) / 4) for i in range(2, 102)],
        )
        cur.execute("SELECT count(*), sum(price) FROM items")
        count, total = cur.fetchone()
        assert count == 101, count
        assert total == decimal.Decimal("1.50") + sum(decimal.Decimal(i) / 4 for i in range(2, 102)), total

        cur.execute("SELECT id, name, price, added, seen, score, tags, flag FROM items WHERE id = %s", (1,))
        row = cur.fetchone()
        assert row == (1, "apple", decimal.Decimal("1.50"), datetime.date(2024, 3, 1),
                       datetime.datetime(2024, 3, 1, 12, 30), 0.25, {"a": [1, 2]}, True), row

        cur.execute("SELECT name FROM items WHERE id > %s ORDER BY id LIMIT 3", (50,))
        assert [r[0] for r in cur.fetchall()] == ["item 51", "item 52", "item 53"]

        # Errors arrive as psycopg's SQLSTATE-specific exceptions.
        try:
            cur.execute("INSERT INTO items (id, name) VALUES (1, 'dup')")
            raise SystemExit("expected a unique violation")
        except errors.UniqueViolation as e:
            assert e.sqlstate == "23505", e.sqlstate
        try:
            cur.execute("SELECT * FROM nowhere")
            raise SystemExit("expected an undefined table")
        except errors.UndefinedTable:
            pass

        # COPY in and out.
        with cur.copy("COPY items (id, name) FROM STDIN") as copy:
            for i in range(200, 300):
                copy.write_row((i, f"copied {i}"))
        cur.execute("SELECT count(*) FROM items WHERE name LIKE 'copied%%'")
        assert cur.fetchone()[0] == 100
        out = []
        with cur.copy("COPY (SELECT id, name FROM items WHERE id < 3 ORDER BY id) TO STDOUT") as copy:
            for r in copy.rows():
                out.append(r)
        assert out == [("1", "apple"), ("2", "item 2")], out

# Vectors travel as text.
with psycopg.connect(conninfo, autocommit=True) as conn:
    conn.execute("CREATE TABLE docs (id integer PRIMARY KEY, embedding vector(3))")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO docs VALUES (%s, %s)", [(1, "[1,0,0]"), (2, "[0,1,0]"), (3, "[0.9,0.1,0]")])
        cur.execute("SELECT id, embedding, embedding <-> %s AS d FROM docs ORDER BY embedding <-> %s LIMIT 2",
                    ("[1,0,0]", "[1,0,0]"))
        rows = cur.fetchall()
        assert [r[0] for r in rows] == [1, 3], rows
        assert rows[0][1] == "[1,0,0]", rows
        try:
            cur.execute("INSERT INTO docs VALUES (9, %s)", ("[1,2]",))
            raise SystemExit("expected a dimension error")
        except errors.DataException as e:
            assert "expected 3 dimensions, not 2" in str(e), e

# Transactions: committed on success, rolled back on an exception.
with psycopg.connect(conninfo) as conn:
    with conn.transaction():
        conn.execute("UPDATE items SET name = 'changed' WHERE id = 2")
    try:
        with conn.transaction():
            conn.execute("DELETE FROM items")
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    n = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    assert n == 201, n
    assert conn.execute("SELECT name FROM items WHERE id = 2").fetchone()[0] == "changed"
    # A failed statement aborts the transaction until rollback.
    try:
        conn.execute("SELECT 1/0")
    except errors.DivisionByZero:
        pass
    try:
        conn.execute("SELECT 1")
        raise SystemExit("expected InFailedSqlTransaction")
    except errors.InFailedSqlTransaction:
        conn.rollback()
    assert conn.execute("SELECT 1").fetchone()[0] == 1

# Nested conn.transaction() blocks are savepoints: an inner block that fails
# rolls back to its savepoint and the outer transaction carries on.
with psycopg.connect(conninfo, autocommit=True) as conn:
    conn.execute("CREATE TABLE nest (id integer PRIMARY KEY, note text)")
    with conn.transaction():
        conn.execute("INSERT INTO nest VALUES (1, 'outer')")
        with conn.transaction():
            conn.execute("INSERT INTO nest VALUES (2, 'inner kept')")
        try:
            with conn.transaction():
                conn.execute("INSERT INTO nest VALUES (3, 'inner undone')")
                conn.execute("INSERT INTO nest VALUES (1, 'duplicate')")
        except errors.UniqueViolation:
            pass
        try:
            with conn.transaction():
                with conn.transaction():
                    conn.execute("UPDATE nest SET note = 'deep' WHERE id = 1")
                raise RuntimeError("undo both levels")
        except RuntimeError:
            pass
        conn.execute("INSERT INTO nest VALUES (4, 'after')")
    rows = conn.execute("SELECT id, note FROM nest ORDER BY id").fetchall()
    assert rows == [(1, "outer"), (2, "inner kept"), (4, "after")], rows
    # Savepoints need a transaction block (25P01 in autocommit).
    try:
        conn.execute("SAVEPOINT s")
        raise SystemExit("expected NoActiveSqlTransaction")
    except errors.NoActiveSqlTransaction:
        pass

print("psycopg ok")
