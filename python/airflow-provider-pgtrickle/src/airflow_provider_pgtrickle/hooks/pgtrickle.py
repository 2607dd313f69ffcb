"""``PgTrickleHook``: the Postgres provider's hook with pg_trickle's SQL API.

Connection handling is the Postgres provider's (``postgres_conn_id``, a
connection of type ``pgtrickle`` or ``postgres``; psycopg 3 or psycopg2,
whichever that provider uses).  Every call opens a connection, runs in
autocommit mode (a refresh is committed when the call returns) and closes it.
The SQL itself lives in :mod:`pgtrickle_core`, shared with the other
pg_trickle integrations; errors pg_trickle reports come out as its
SQLSTATE exceptions (``StreamTableNotFound``, ``InvalidArgument``, ...).
``name`` is the stream table's name as pg_trickle's functions take it: SQL
name syntax, optionally schema-qualified (``'analytics."Order Totals"'``).
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from airflow.providers.postgres.hooks.postgres import PostgresHook

from pgtrickle_core import Row, StreamTables, dbapi_executor

__all__ = ["PgTrickleHook"]


class PgTrickleHook(PostgresHook):
    conn_name_attr = "postgres_conn_id"
    default_conn_name = "postgres_default"
    conn_type = "pgtrickle"
    hook_name = "pg_trickle"

    @classmethod
    def get_ui_field_behaviour(cls) -> Dict[str, Any]:
        return {
            "hidden_fields": [],
            "relabeling": {"schema": "Database"},
        }

    # --- the API -------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any]) -> List[Row]:
        with closing(self.get_conn()) as conn:
            self.set_autocommit(conn, True)
            return dbapi_executor(conn.cursor)(sql, params)

    @property
    def stream_tables(self) -> StreamTables:
        """Every call of pg_trickle's SQL API (:class:`pgtrickle_core.StreamTables`)."""
        return StreamTables(self._execute)

    def create_stream_table(self, name: str, query: str, **kwargs: Any) -> None:
        """``schedule``, ``refresh_mode``, ``initialize``, ``cdc_mode``,
        ``if_not_exists``, ``or_replace`` as keywords."""
        self.stream_tables.create(name, query, **kwargs)

    def alter_stream_table(self, name: str, **kwargs: Any) -> None:
        """``schedule``, ``refresh_mode``, ``status``, ``query``; None: unchanged."""
        self.stream_tables.alter(name, **kwargs)

    def drop_stream_table(self, name: str, cascade: bool = False, if_exists: bool = False) -> None:
        self.stream_tables.drop(name, cascade=cascade, if_exists=if_exists)

    def refresh_stream_table(self, name: str) -> Row:
        """Refresh (committed on return); the refresh's history row."""
        return self.stream_tables.refresh(name)

    def pause_stream_table(self, name: str) -> None:
        self.stream_tables.pause(name)

    def resume_stream_table(self, name: str) -> None:
        self.stream_tables.resume(name)

    def get_stream_table_info(self, name: str) -> Row:
        """The ``pgtrickle.stream_tables_info`` row."""
        return self.stream_tables.info(name)

    def is_stale(self, name: str) -> bool:
        return self.stream_tables.is_stale(name)

    def get_status(self, name: str) -> str:
        return self.stream_tables.status(name)

    def get_last_refresh_at(self, name: str) -> Optional[datetime]:
        return self.stream_tables.last_refresh_at(name)

    def get_refresh_history(self, name: str, max_rows: int = 20) -> List[Row]:
        return self.stream_tables.history(name, max_rows)

    def check_cdc_health(self, name: Optional[str] = None) -> List[Row]:
        return self.stream_tables.cdc_health(name)

    def quick_health(self) -> Row:
        return self.stream_tables.quick_health()
