"""django-pgtrickle with Django and pytest-django against the real server."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command
from django.db import connection

from django_pgtrickle.db import sql_name, stream_tables
from django_pgtrickle.models import ReadOnlyStreamTable
from pgtrickle_core import StreamTableNotFound, WrongState
from testproject.shop.models import Order, OrderTotals

from conftest import DOCS, HERE, README, doc_files

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("doc", ["docs", "readme"])
def test_the_docs_show_the_files_tested_here(doc: str) -> None:
    files = doc_files(DOCS / "django.md" if doc == "docs" else README)
    for name, text in files.items():
        assert (HERE / "testproject" / name).read_text() == text, name


def _orders() -> None:
    Order.objects.bulk_create([Order(customer="alice", amount=10), Order(customer="alice", amount=5),
                               Order(customer="bob", amount=7)])


def test_model_reads_the_stream_table_after_a_refresh() -> None:
    _orders()
    assert list(OrderTotals.objects.all()) == []  # not refreshed yet
    row = OrderTotals.objects.refresh()
    # FULL when the previous test's flush truncated orders, else DIFFERENTIAL
    assert (row["status"], row["rows_inserted"]) == ("COMPLETED", 2)
    assert {t.customer: t.total for t in OrderTotals.objects.all()} == {"alice": 15, "bob": 7}
    assert OrderTotals.objects.filter(total__gt=10).get().customer == "alice"
    assert OrderTotals.objects.is_stale() is False
    assert OrderTotals.objects.last_refresh_at() is not None
    info = OrderTotals.objects.info()
    assert (info["status"], info["schedule"]) == ("ACTIVE", "5m")  # 0002 altered it
    assert OrderTotals.objects.refresh_history(1)[0]["refresh_id"] == row["refresh_id"]


def test_writes_are_refused_before_the_database() -> None:
    _orders()
    OrderTotals.objects.refresh()
    total = OrderTotals.objects.get(customer="bob")
    with pytest.raises(ReadOnlyStreamTable, match='cannot save OrderTotals: it is stream table "order_totals"'):
        total.save()
    with pytest.raises(ReadOnlyStreamTable, match="cannot delete from"):
        total.delete()
    with pytest.raises(ReadOnlyStreamTable, match="cannot insert into"):
        OrderTotals.objects.create(customer="carol", total=1)
    with pytest.raises(ReadOnlyStreamTable):
        OrderTotals.objects.bulk_create([OrderTotals(customer="carol", total=1)])
    with pytest.raises(ReadOnlyStreamTable):
        OrderTotals.objects.filter(customer="bob").update(total=0)
    with pytest.raises(ReadOnlyStreamTable):
        OrderTotals.objects.all().delete()
    with pytest.raises(ReadOnlyStreamTable):
        OrderTotals.objects.get_or_create(customer="dave", defaults={"total": 0})
    assert issubclass(ReadOnlyStreamTable, WrongState)  # 55000, as the database's own refusal
    assert {t.customer: t.total for t in OrderTotals.objects.all()} == {"alice": 15, "bob": 7}


def test_migrate_zero_sqlmigrate_and_makemigrations() -> None:
    out = io.StringIO()
    call_command("sqlmigrate", "shop", "0001", stdout=out)
    sql = out.getvalue()
    assert "SELECT pgtrickle.create_stream_table(name => '\"order_totals\"'" in sql, sql
    out = io.StringIO()
    call_command("sqlmigrate", "shop", "0002", backwards=True, stdout=out)
    assert "alter_stream_table(name => '\"order_totals\"', schedule => '1m')" in out.getvalue()

    # makemigrations has nothing to add: the stream table's model is unmanaged
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

    call_command("migrate", "shop", "0001", verbosity=0)
    assert stream_tables().info('"order_totals"')["schedule"] == "1m"
    call_command("migrate", "shop", "zero", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass('order_totals'), to_regclass('orders'),"
                    " (SELECT count(*) FROM pg_extension WHERE extname = 'pg_trickle')")
        assert cur.fetchone() == (None, None, 0)
    call_command("migrate", "shop", verbosity=0)
    assert stream_tables().info("order_totals")["schedule"] == "5m"


def test_drop_and_alter_operations_reverse() -> None:
    from django_pgtrickle.operations import AlterStreamTable, DropStreamTable

    query = "SELECT customer, sum(amount) AS total FROM orders GROUP BY customer"
    drop = DropStreamTable("order_totals", query=query, schedule="7m")
    assert drop.reversible and not DropStreamTable("order_totals").reversible
    assert drop.describe() == "Drop stream table order_totals"
    with connection.schema_editor() as editor:
        drop.database_forwards("shop", editor, None, None)
    assert not stream_tables().exists("order_totals")
    with connection.schema_editor() as editor:
        drop.database_backwards("shop", editor, None, None)
    assert stream_tables().info("order_totals")["schedule"] == "7m"
    assert not AlterStreamTable("order_totals", schedule="1m").reversible
    alter = AlterStreamTable("order_totals", refresh_mode="FULL", previous_refresh_mode="DIFFERENTIAL")
    assert alter.reversible
    with connection.schema_editor() as editor:
        alter.database_forwards("shop", editor, None, None)
    assert OrderTotals.objects.info()["refresh_mode"] == "FULL"
    with connection.schema_editor() as editor:
        alter.database_backwards("shop", editor, None, None)
    assert OrderTotals.objects.info()["refresh_mode"] == "DIFFERENTIAL"
    stream_tables().alter("order_totals", schedule="5m")  # as migration 0002 left it


def test_names_follow_django_db_table_rules() -> None:
    assert sql_name("order_totals") == '"order_totals"'
    assert sql_name('Order "Totals"') == '"Order ""Totals"""'
    assert sql_name('"analytics"."order_totals"') == '"analytics"."order_totals"'
    with pytest.raises(StreamTableNotFound) as err:
        stream_tables().refresh(sql_name("orders"))
    assert err.value.sqlstate == "42P01"


def test_admin_lists_read_only_with_status_and_refresh_action(admin_client) -> None:  # type: ignore[no-untyped-def]
    _orders()
    OrderTotals.objects.refresh()
    Order.objects.create(customer="carol", amount=3)
    url = "/admin/shop/ordertotals/"
    page = admin_client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "Stream table public.order_totals: ACTIVE, DIFFERENTIAL, schedule 5m" in text
    assert "alice" in text and "carol" not in text
    assert "/admin/shop/ordertotals/add/" not in text
    assert admin_client.get(url + "add/").status_code == 403
    page = admin_client.post(
        url, {"action": "refresh_stream_table", "_selected_action": ["alice"]}, follow=True
    )
    text = page.content.decode()
    assert "Refreshed: DIFFERENTIAL, 1 rows inserted, 0 deleted" in text, text
    assert "carol" in text
    # the change form is read-only
    page = admin_client.get(url + "bob/change/")
    assert page.status_code == 200 and 'name="total"' not in page.content.decode()


def test_pgtrickle_status_command() -> None:
    out = io.StringIO()
    call_command("pgtrickle_status", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["schema", "name", "status", "mode", "schedule", "stale", "last",
                                "refresh", "errors"]
    assert lines[1].split()[:6] == ["public", "order_totals", "ACTIVE", "DIFFERENTIAL", "5m", "no"]
    out = io.StringIO()
    call_command("pgtrickle_status", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data == [{"pgt_schema": "public", "pgt_name": "order_totals", "status": "ACTIVE",
                     "refresh_mode": "DIFFERENTIAL", "effective_schedule": "5m", "stale": False,
                     "last_refresh_at": data[0]["last_refresh_at"], "consecutive_errors": 0}]


def test_health_check_json(client) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("health_check", reason="django-health-check 4.x needs Django 5.2")
    page = client.get("/health/?format=json")
    assert page.status_code == 200, page.content
    assert page.json()["PgTrickle(alias='default')"] == "OK"
    # A table due every second that the (disabled) scheduler never refreshes
    # is stale after twice its schedule.
    stream_tables().create("fast_totals", "SELECT customer, count(*) AS n FROM orders GROUP BY customer",
                           schedule="1s")
    deadline = time.monotonic() + 30
    while not stream_tables().is_stale("fast_totals"):
        assert time.monotonic() < deadline, "fast_totals never became stale"
        time.sleep(0.2)
    page = client.get("/health/?format=json")
    assert page.status_code == 500
    assert page.json()["PgTrickle(alias='default')"] == "Warning: 1 stale stream table(s)"
    stream_tables().drop("fast_totals")
