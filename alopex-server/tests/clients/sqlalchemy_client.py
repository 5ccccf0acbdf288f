"""SQLAlchemy 2 (with psycopg 3) against a running `alopex serve` (port in argv[1]).

SQLAlchemy's PostgreSQL dialect probes the server when it connects (version,
`current_schema()`, `standard_conforming_strings`, a `to_regtype` lookup
inside a savepoint) and reflects tables through `pg_catalog`, so this drives
the catalog views and functions the way an application does: `create_all`
(which first asks whether each table exists), ORM inserts and queries, Core
statements, a transaction that rolls back, a nested one (a savepoint), and
the inspector's table listing. Exits non-zero with a message on the first mismatch.
"""
import decimal
import sys

from sqlalchemy import Numeric, String, create_engine, func, insert, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

port = int(sys.argv[1])
# psycopg prepares repeated statements on the server and sends DEALLOCATE ALL
# after a rolled-back savepoint: a low threshold exercises both.
engine = create_engine(f"postgresql+psycopg://alopex@127.0.0.1:{port}/alopex", connect_args={"prepare_threshold": 1})


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "sa_items"
    # No SERIAL yet: ids are given by the application.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(8, 2), nullable=True)


class Note(Base):
    __tablename__ = "sa_notes"
    # An autoincrement integer key: SQLAlchemy creates it as SERIAL and
    # inserts without an id, reading the generated one back (RETURNING).
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(100))


Base.metadata.create_all(engine)
# A second create_all finds the table through pg_catalog and does nothing.
Base.metadata.create_all(engine)

with Session(engine) as s:
    s.add_all([Item(id=1, name="apple", price=decimal.Decimal("1.50")), Item(id=2, name="pear")])
    s.commit()
    items = s.scalars(select(Item).where(Item.id > 0).order_by(Item.id)).all()
    assert [(i.id, i.name, i.price) for i in items] == [(1, "apple", decimal.Decimal("1.50")), (2, "pear", None)]

    # A nested transaction is a savepoint: its failure leaves the outer one.
    with s.begin_nested():
        s.add(Item(id=3, name="fig"))
    try:
        with s.begin_nested():
            s.add(Item(id=4, name="apple"))  # duplicate name
            s.flush()
        raise SystemExit("expected an IntegrityError")
    except Exception as e:  # noqa: BLE001 - sqlalchemy.exc.IntegrityError
        assert "IntegrityError" in type(e).__name__, e
    s.commit()
    assert s.scalar(select(func.count()).select_from(Item)) == 3

# SERIAL ids: generated, unique, and not reused after a rollback.
with Session(engine) as s:
    first, second = Note(body="one"), Note(body="two")
    s.add_all([first, second])
    s.commit()
    assert first.id is not None and second.id is not None and first.id != second.id, (first.id, second.id)
    s.add(Note(body="rolled back"))
    s.flush()
    s.rollback()
    third = Note(body="three")
    s.add(third)
    s.commit()
    assert third.id > max(first.id, second.id) + 1, (first.id, second.id, third.id)
    assert s.scalar(select(func.count()).select_from(Note)) == 3
with engine.connect() as conn:
    seq = conn.execute(text("SELECT pg_get_serial_sequence('sa_notes', 'id')")).scalar()
    assert seq == "public.sa_notes_id_seq", seq

# Core: insert many, select, a transaction that rolls back.
with engine.begin() as conn:
    conn.execute(insert(Item.__table__), [{"id": i, "name": f"n{i}", "price": i} for i in range(10, 20)])
with engine.connect() as conn:
    total = conn.execute(select(func.sum(Item.__table__.c.price)).where(Item.__table__.c.id >= 10)).scalar()
    assert total == decimal.Decimal(sum(range(10, 20))), total
    conn.commit()
    trans = conn.begin()
    conn.execute(text("DELETE FROM sa_items"))
    trans.rollback()
    assert conn.execute(text("SELECT count(*) FROM sa_items")).scalar() == 13

# Reflection through pg_catalog.
insp = inspect(engine)
assert "sa_items" in insp.get_table_names(), insp.get_table_names()
assert insp.has_table("sa_items") and not insp.has_table("nope")
# The inspector's column, primary key and index queries aggregate with
# array_agg(… ORDER BY …) and unnest pg_index.indkey next to
# generate_subscripts in a select list.
cols = {c["name"]: c for c in insp.get_columns("sa_items")}
assert list(cols) == ["id", "name", "price"], cols
assert str(cols["name"]["type"]) == "VARCHAR(50)" and str(cols["price"]["type"]) == "NUMERIC(8, 2)", cols
assert cols["id"]["nullable"] is False and cols["price"]["nullable"] is True, cols
pk = insp.get_pk_constraint("sa_items")
assert pk["constrained_columns"] == ["id"] and pk["name"] == "sa_items_pkey", pk
conn_text = "CREATE INDEX sa_items_price_name ON sa_items (price, name)"
with engine.begin() as conn:
    conn.execute(text(conn_text))
indexes = {i["name"]: i for i in insp.get_indexes("sa_items")}
assert indexes["sa_items_price_name"]["column_names"] == ["price", "name"], indexes
assert indexes["sa_items_price_name"]["unique"] is False, indexes
uniques = insp.get_unique_constraints("sa_items")
assert [u["column_names"] for u in uniques] == [["name"]], uniques
print("sqlalchemy ok")
