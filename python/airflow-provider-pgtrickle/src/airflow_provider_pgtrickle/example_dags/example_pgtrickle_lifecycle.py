"""Pause a stream table for maintenance and resume it: the freshness check
in between (in reschedule mode: no worker slot taken while it waits) gives up
after a few seconds without failing the run (soft_fail)."""

from datetime import datetime

try:
    from airflow.sdk import DAG  # Airflow 3
except ImportError:
    from airflow import DAG  # Airflow 2

from airflow_provider_pgtrickle.operators import PgTrickleAlterOperator, PgTrickleDropOperator
from airflow_provider_pgtrickle.sensors import PgTrickleFreshnessSensor, PgTrickleStatusSensor

CONN_ID = "pgtrickle_example"

with DAG(
    "pgtrickle_lifecycle",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    params={"stream_table": "order_totals"},
    tags=["pg_trickle"],
):
    pause = PgTrickleAlterOperator(
        task_id="pause",
        postgres_conn_id=CONN_ID,
        stream_table="{{ params.stream_table }}",
        status="PAUSED",
    )
    paused = PgTrickleStatusSensor(
        task_id="paused",
        postgres_conn_id=CONN_ID,
        stream_table="{{ params.stream_table }}",
        target_status="PAUSED",
        poke_interval=1,
        timeout=30,
    )
    # A paused table is never fresh: this sensor times out and is skipped.
    fresh_while_paused = PgTrickleFreshnessSensor(
        task_id="fresh_while_paused",
        postgres_conn_id=CONN_ID,
        stream_table="{{ params.stream_table }}",
        poke_interval=1,
        timeout=5,
        mode="reschedule",
        soft_fail=True,
    )
    resume = PgTrickleAlterOperator(
        task_id="resume",
        postgres_conn_id=CONN_ID,
        stream_table="{{ params.stream_table }}",
        status="ACTIVE",
        schedule="10m",
        trigger_rule="all_done",
    )
    active = PgTrickleStatusSensor(
        task_id="active",
        postgres_conn_id=CONN_ID,
        stream_table="{{ params.stream_table }}",
        poke_interval=1,
        timeout=30,
    )
    drop = PgTrickleDropOperator(
        task_id="drop",
        postgres_conn_id=CONN_ID,
        stream_table="{{ params.stream_table }}",
        if_exists=True,
    )

    pause >> paused >> fresh_while_paused >> resume >> active >> drop
