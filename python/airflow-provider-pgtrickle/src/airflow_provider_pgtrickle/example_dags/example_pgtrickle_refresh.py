"""Load orders, make sure the stream table exists, refresh it right after the
load, then wait until it is fresh and its change capture is healthy."""

from datetime import datetime

try:
    from airflow.sdk import DAG  # Airflow 3
except ImportError:
    from airflow import DAG  # Airflow 2

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

from airflow_provider_pgtrickle.operators import PgTrickleCreateOperator, PgTrickleRefreshOperator
from airflow_provider_pgtrickle.sensors import PgTrickleFreshnessSensor, PgTrickleHealthSensor

CONN_ID = "pgtrickle_example"

with DAG(
    "pgtrickle_refresh",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    tags=["pg_trickle"],
):
    load_orders = SQLExecuteQueryOperator(
        task_id="load_orders",
        conn_id=CONN_ID,
        sql=[
            "CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, customer text, amount int)",
            "INSERT INTO orders (customer, amount) VALUES ('alice', 10), ('alice', 5), ('bob', 7)",
        ],
    )
    create = PgTrickleCreateOperator(
        task_id="create_order_totals",
        postgres_conn_id=CONN_ID,
        stream_table="order_totals",
        query="SELECT customer, sum(amount) AS total FROM orders GROUP BY customer",
        schedule="5m",
        if_not_exists=True,
    )
    refresh = PgTrickleRefreshOperator(
        task_id="refresh_order_totals",
        postgres_conn_id=CONN_ID,
        stream_table="order_totals",
    )  # XCom: {"action": "DIFFERENTIAL", "rows_inserted": ..., "duration_ms": ...}
    wait_fresh = PgTrickleFreshnessSensor(
        task_id="wait_for_order_totals_fresh",
        postgres_conn_id=CONN_ID,
        stream_table="order_totals",
        poke_interval=30,
        timeout=600,
        mode="reschedule",
    )
    cdc_healthy = PgTrickleHealthSensor(
        task_id="order_totals_cdc_healthy",
        postgres_conn_id=CONN_ID,
        stream_table="order_totals",
        poke_interval=30,
        timeout=600,
    )

    load_orders >> create >> refresh >> [wait_fresh, cdc_healthy]
