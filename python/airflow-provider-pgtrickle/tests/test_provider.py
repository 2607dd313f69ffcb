"""Provider metadata, the hook against the real server, and the example
DAGs run with dag.test() (one pytest process per Airflow version)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import airflow
from airflow_provider_pgtrickle.get_provider_info import get_provider_info
from airflow_provider_pgtrickle.hooks import PgTrickleHook
from pgtrickle_core import InvalidArgument, StreamTableNotFound

from conftest import DOCS, README, doc_files, sql

AIRFLOW_3 = int(airflow.__version__.split(".")[0]) >= 3


def test_provider_info_is_valid_and_listed() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    out = subprocess.run([str(Path(sys.executable).parent / "airflow"), "providers", "list",
                          "--output", "json"], check=True, capture_output=True, text=True).stdout
    listed = {p["package_name"]: p for p in json.loads(out[out.index("["):])}
    assert listed["airflow-provider-pgtrickle"]["version"] == "0.2.0"
    from airflow.providers_manager import ProvidersManager

    hooks = ProvidersManager().hooks
    assert hooks["pgtrickle"].hook_class_name == "airflow_provider_pgtrickle.hooks.PgTrickleHook"


@pytest.mark.parametrize("doc", ["docs", "readme"])
def test_the_docs_show_the_example_dags(doc: str) -> None:
    folder = Path(__import__("airflow_provider_pgtrickle.example_dags").example_dags.__file__).parent
    files = doc_files(DOCS / "airflow.md" if doc == "docs" else README)
    assert files
    for name, text in files.items():
        assert (folder / name).read_text() == text, name


def test_hook(database: str) -> None:
    hook = PgTrickleHook(postgres_conn_id="pgtrickle_example")
    sql('CREATE SCHEMA "Sales Data"')
    sql('CREATE TABLE "Sales Data"."Orders" (id int PRIMARY KEY, customer text, amount int)')
    sql('INSERT INTO "Sales Data"."Orders" VALUES (1, \'a\', 2), (2, \'a\', 3)')
    name = '"Sales Data"."Order Totals"'
    hook.create_stream_table(name, 'SELECT customer, sum(amount) AS total FROM "Sales Data"."Orders" GROUP BY customer',
                             schedule="2m")
    assert hook.get_status(name) == "ACTIVE"
    sql('INSERT INTO "Sales Data"."Orders" VALUES (3, \'b\', 1)')
    row = hook.refresh_stream_table(name)
    assert (row["action"], row["status"], row["rows_inserted"]) == ("DIFFERENTIAL", "COMPLETED", 1)
    # committed: another session sees it
    assert sql('SELECT customer, total FROM "Sales Data"."Order Totals" ORDER BY 1') == [("a", 5), ("b", 1)]
    hook.pause_stream_table(name)
    assert hook.get_status(name) == "PAUSED"
    hook.resume_stream_table(name)
    hook.alter_stream_table(name, schedule="10m", refresh_mode="FULL")
    info = hook.get_stream_table_info(name)
    assert (info["schedule"], info["refresh_mode"], info["is_stale"] if "is_stale" in info else info["stale"]) == ("10m", "FULL", False)
    assert [h["source_table"] for h in hook.check_cdc_health(name)] == ["Orders"]
    assert hook.quick_health()["total_stream_tables"] == 1
    with pytest.raises(InvalidArgument) as bad:
        hook.alter_stream_table(name, status="SLEEPING")
    assert bad.value.sqlstate == "22023"
    hook.drop_stream_table(name)
    with pytest.raises(StreamTableNotFound):
        hook.get_status(name)
    hook.drop_stream_table(name, if_exists=True)


def _dagbag():  # type: ignore[no-untyped-def]
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2
    bag = DagBag()  # the dags folder: the wheel's example_dags
    assert bag.import_errors == {}
    return bag


def _states(dag_run) -> dict:  # type: ignore[no-untyped-def]
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}


def _xcom(dag_run, task_id: str):  # type: ignore[no-untyped-def]
    if AIRFLOW_3:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = session.execute(
                XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id,
                                   task_ids=task_id, key="return_value")
            ).first()
            return XComModel.deserialize_value(row[0] if isinstance(row, tuple) or hasattr(row, "_mapping") else row)
    from airflow.models.xcom import XCom

    return XCom.get_one(run_id=dag_run.run_id, dag_id=dag_run.dag_id, task_id=task_id, key="return_value")


def test_example_dags(database: str) -> None:
    bag = _dagbag()
    run = bag.get_dag("pgtrickle_refresh").test()
    assert _states(run) == {
        "load_orders": "success", "create_order_totals": "success",
        "refresh_order_totals": "success", "wait_for_order_totals_fresh": "success",
        "order_totals_cdc_healthy": "success",
    }
    result = _xcom(run, "refresh_order_totals")
    # created (initialised) after the load: the refresh finds no change
    assert result["status"] == "COMPLETED" and result["action"] in ("NO_DATA", "DIFFERENTIAL")
    assert set(result) >= {"action", "rows_inserted", "rows_deleted", "duration_ms"}
    assert sql("SELECT customer, total FROM order_totals ORDER BY 1") == [("alice", 15), ("bob", 7)]

    # a second run: the load adds rows, create is a no-op, the refresh applies them
    run = bag.get_dag("pgtrickle_refresh").test()
    assert set(_states(run).values()) == {"success"}
    result = _xcom(run, "refresh_order_totals")
    assert (result["action"], result["rows_inserted"], result["rows_deleted"]) == ("DIFFERENTIAL", 2, 2)
    assert sql("SELECT customer, total FROM order_totals ORDER BY 1") == [("alice", 30), ("bob", 14)]

    run = bag.get_dag("pgtrickle_lifecycle").test()
    assert _states(run) == {
        "pause": "success", "paused": "success", "fresh_while_paused": "skipped",
        "resume": "success", "active": "success", "drop": "success",
    }
    assert sql("SELECT count(*) FROM pgtrickle.pgt_stream_tables") == [(0,)]
