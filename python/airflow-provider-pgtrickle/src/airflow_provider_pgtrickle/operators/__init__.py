"""Operators: create, alter, drop and refresh stream tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional, Sequence

from airflow.providers.common.compat.sdk import BaseOperator

from ..hooks import PgTrickleHook

__all__ = [
    "PgTrickleAlterOperator",
    "PgTrickleCreateOperator",
    "PgTrickleDropOperator",
    "PgTrickleRefreshOperator",
]


def _jsonable(row: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


class _PgTrickleOperator(BaseOperator):
    template_fields: Sequence[str] = ("stream_table",)
    ui_color = "#d7ecf5"

    def __init__(self, *, stream_table: str, postgres_conn_id: str = PgTrickleHook.default_conn_name,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream_table = stream_table
        self.postgres_conn_id = postgres_conn_id

    def get_hook(self) -> PgTrickleHook:
        return PgTrickleHook(postgres_conn_id=self.postgres_conn_id)


class PgTrickleCreateOperator(_PgTrickleOperator):
    """``pgtrickle.create_stream_table`` (``if_not_exists``: the
    ``_if_not_exists`` variant; ``or_replace``: ``create_or_replace_stream_table``,
    which brings an existing table to the definition: re-runnable tasks
    want one of them)."""

    template_fields: Sequence[str] = ("stream_table", "query", "schedule")
    template_fields_renderers = {"query": "sql"}

    def __init__(self, *, query: str, schedule: Optional[str] = None,
                 refresh_mode: Optional[str] = None, initialize: Optional[bool] = None,
                 cdc_mode: Optional[str] = None, if_not_exists: bool = False,
                 or_replace: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.schedule = schedule
        self.refresh_mode = refresh_mode
        self.initialize = initialize
        self.cdc_mode = cdc_mode
        self.if_not_exists = if_not_exists
        self.or_replace = or_replace

    def execute(self, context: Any) -> None:
        self.get_hook().create_stream_table(
            self.stream_table, self.query, schedule=self.schedule,
            refresh_mode=self.refresh_mode, initialize=self.initialize,
            cdc_mode=self.cdc_mode, if_not_exists=self.if_not_exists,
            or_replace=self.or_replace,
        )


class PgTrickleAlterOperator(_PgTrickleOperator):
    """``pgtrickle.alter_stream_table``: schedule, refresh_mode, status
    ('ACTIVE' or 'PAUSED'), query; None leaves a property unchanged."""

    template_fields: Sequence[str] = ("stream_table", "query", "schedule", "status")

    def __init__(self, *, schedule: Optional[str] = None, refresh_mode: Optional[str] = None,
                 status: Optional[str] = None, query: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule = schedule
        self.refresh_mode = refresh_mode
        self.status = status
        self.query = query

    def execute(self, context: Any) -> None:
        self.get_hook().alter_stream_table(
            self.stream_table, schedule=self.schedule, refresh_mode=self.refresh_mode,
            status=self.status, query=self.query,
        )


class PgTrickleDropOperator(_PgTrickleOperator):
    """``pgtrickle.drop_stream_table`` (``if_exists``: no error when missing)."""

    def __init__(self, *, cascade: bool = False, if_exists: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cascade = cascade
        self.if_exists = if_exists

    def execute(self, context: Any) -> None:
        self.get_hook().drop_stream_table(self.stream_table, cascade=self.cascade,
                                          if_exists=self.if_exists)


class PgTrickleRefreshOperator(_PgTrickleOperator):
    """``pgtrickle.refresh_stream_table``; returns (XCom) the refresh's row of
    ``get_refresh_history``: refresh_id, action, status, rows_inserted,
    rows_deleted, duration_ms, times as ISO 8601 text."""

    def execute(self, context: Any) -> Dict[str, Any]:
        row = _jsonable(self.get_hook().refresh_stream_table(self.stream_table))
        self.log.info("refreshed %s: %s, %s rows inserted, %s deleted in %.1f ms",
                      self.stream_table, row.get("action"), row.get("rows_inserted"),
                      row.get("rows_deleted"), row.get("duration_ms") or 0.0)
        return row
