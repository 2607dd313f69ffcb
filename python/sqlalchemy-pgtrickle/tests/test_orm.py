"""The ORM round trip, the read-only guard, names as SQL identifiers and
error mapping, against the real server, over psycopg 3 and psycopg2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, Text, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import pgtrickle_core
import sqlalchemy_pgtrickle as sp
from sqlalchemy_pgtrickle import ReadOnlyStreamTable, StreamTableMixin, stream_table

from conftest import DOCS, README, doc_blocks


@pytest.mark.parametrize("doc", ["docs", "readme"])
def test_docs_quickstart(engine: Engine, monkeypatch: pytest.MonkeyPatch, doc: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    path = DOCS / "sqlalchemy.md" if doc == "docs" else README
    for i, block in enumerate(doc_blocks(path, "quickstart")):
        script = tmp_path / ("quickstart%d.py" % i)
        script.write_text(block)
        subprocess.run([sys.executable, str(script)], check=True, cwd=tmp_path)


def _model(schema=None, name="order_totals", source="orders"):  # type: ignore[no-untyped-def]
    class Base(DeclarativeBase):
        pass

    class Order(Base):
        __tablename__ = source
        __table_args__ = {"schema": schema}
        id: Mapped[int] = mapped_column(primary_key=True)
        customer: Mapped[str]
        amount: Mapped[int]

    totals = stream_table(
        name,
        select(Order.customer, func.sum(Order.amount).label("total")).group_by(Order.customer),
        Base.metadata,
        schema=schema,
        schedule="1m",
        refresh_mode="DIFFERENTIAL",
    )

    class OrderTotal(StreamTableMixin, Base):
        __table__ = totals
        __mapper_args__ = {"primary_key": [totals.c.customer]}

    return Base, Order, OrderTotal


def test_round_trip_and_drop(engine: Engine) -> None:
    Base, Order, OrderTotal = _model()
    Base.metadata.create_all(engine)
    Base.metadata.create_all(engine)  # checkfirst: no error the second time
    with Session(engine) as s:
        s.add_all([Order(customer="a", amount=1), Order(customer="a", amount=2),
                   Order(customer="b", amount=5)])
        s.commit()
        assert s.scalars(select(OrderTotal)).all() == []
        row = OrderTotal.refresh(s)
        s.commit()
        assert row["action"] == "DIFFERENTIAL" and row["status"] == "COMPLETED"
        assert row["rows_inserted"] == 2
        got = {t.customer: t.total for t in s.scalars(select(OrderTotal))}
        assert got == {"a": 3, "b": 5}
        assert OrderTotal.is_stale(s) is False
        assert OrderTotal.info(s)["refresh_mode"] == "DIFFERENTIAL"
        assert OrderTotal.last_refresh_at(s) is not None
    Base.metadata.drop_all(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).scalar() == 0
        assert c.execute(text("SELECT to_regclass('orders')")).scalar() is None


def test_writes_refused_before_the_database(engine: Engine) -> None:
    Base, Order, OrderTotal = _model()
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Order(customer="a", amount=1))
        s.commit()
        OrderTotal.refresh(s)
        s.commit()

        s.add(OrderTotal(customer="x", total=1))
        with pytest.raises(ReadOnlyStreamTable, match="cannot insert into OrderTotal"):
            s.flush()
        s.rollback()

        t = s.scalars(select(OrderTotal)).one()
        t.total = 99
        with pytest.raises(ReadOnlyStreamTable, match="cannot update"):
            s.commit()
        s.rollback()

        s.delete(s.scalars(select(OrderTotal)).one())
        with pytest.raises(ReadOnlyStreamTable, match="cannot delete from"):
            s.flush()
        s.rollback()

        with pytest.raises(ReadOnlyStreamTable):
            s.execute(update(OrderTotal).values(total=0))
        with pytest.raises(ReadOnlyStreamTable):
            s.execute(insert(OrderTotal).values(customer="y", total=0))
        s.rollback()
        # an unchanged loaded object is no write
        s.scalars(select(OrderTotal)).one()
        s.flush()
        assert {t.customer: t.total for t in s.scalars(select(OrderTotal))} == {"a": 1}
        # the refusal is a WrongState (55000), as the database's own would be
        assert issubclass(ReadOnlyStreamTable, pgtrickle_core.WrongState)


def test_names_are_sql_identifiers(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(text('CREATE SCHEMA "My Schema"'))
    Base, Order, OrderTotal = _model(schema="My Schema", name="Order Totals", source="Orders.v2")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Order(customer="q", amount=4))
        s.commit()
        assert OrderTotal.refresh(s)["rows_inserted"] == 1
        s.commit()
        assert [t.total for t in s.scalars(select(OrderTotal))] == [4]
        assert sp.stream_table_name(OrderTotal) == '"My Schema"."Order Totals"'
        info = sp.info(s, '"My Schema"."Order Totals"')
        assert (info["pgt_schema"], info["pgt_name"]) == ("My Schema", "Order Totals")
    Base.metadata.drop_all(engine)


def test_text_query_needs_columns_and_errors_map_to_sqlstates(engine: Engine) -> None:
    class Base(DeclarativeBase):
        pass

    with pytest.raises(ValueError, match="needs its columns"):
        stream_table("t", text("SELECT 1 AS x"), Base.metadata)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE src (k int PRIMARY KEY, v int)"))
    stream_table("kv", text("SELECT k, v FROM src"), Base.metadata,
                 Column("k", Integer, primary_key=True), Column("v", Integer))
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        with pytest.raises(pgtrickle_core.StreamTableNotFound) as err:
            sp.refresh(s, "no_such_table")
        assert err.value.sqlstate == "42P01"
        s.rollback()
        with pytest.raises(pgtrickle_core.StreamTableExists) as exists:
            sp.api(s).create("kv", "SELECT k, v FROM src")
        assert exists.value.sqlstate == "42P07"
        s.rollback()
        with pytest.raises(pgtrickle_core.InvalidArgument) as bad:
            sp.api(s).alter("kv", schedule="soon")
        assert bad.value.sqlstate == "22023" and "schedule" in str(bad.value)
        s.rollback()
        with pytest.raises(pgtrickle_core.StreamTableNotFound):
            sp.info(s, "src")  # a plain table is no stream table
        assert sp.api(s).quick_health()["total_stream_tables"] == 1
        health = sp.api(s).cdc_health("kv")
        assert [h["source_table"] for h in health] == ["src"]
