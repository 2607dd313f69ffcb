"""Sensors: freshness, change-capture health, status.

They are ordinary sensors: ``poke_interval``, ``timeout``,
``mode='reschedule'`` and ``soft_fail`` work as for every sensor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable, Optional, Sequence

from airflow.providers.common.compat.sdk import AirflowException, BaseSensorOperator

from ..hooks import PgTrickleHook

__all__ = ["PgTrickleFreshnessSensor", "PgTrickleHealthSensor", "PgTrickleStatusSensor"]


class _PgTrickleSensor(BaseSensorOperator):
    template_fields: Sequence[str] = ("stream_table",)
    ui_color = "#d7ecf5"

    def __init__(self, *, stream_table: Optional[str] = None,
                 postgres_conn_id: str = PgTrickleHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream_table = stream_table
        self.postgres_conn_id = postgres_conn_id

    def get_hook(self) -> PgTrickleHook:
        return PgTrickleHook(postgres_conn_id=self.postgres_conn_id)


class PgTrickleFreshnessSensor(_PgTrickleSensor):
    """Waits until the stream table is fresh: ACTIVE, populated and not
    stale (pg_trickle's one definition: staleness at most twice the
    schedule), and, with ``max_staleness``, at most that old.  A PAUSED
    table is never fresh here (nothing refreshes it until it is resumed);
    a table in ERROR or SUSPENDED status fails the task at once."""

    def __init__(self, *, stream_table: str, max_staleness: Optional[timedelta] = None,
                 **kwargs: Any) -> None:
        super().__init__(stream_table=stream_table, **kwargs)
        self.max_staleness = max_staleness

    def poke(self, context: Any) -> bool:
        assert self.stream_table is not None
        info = self.get_hook().get_stream_table_info(self.stream_table)
        if info["status"] in ("ERROR", "SUSPENDED"):
            raise AirflowException(
                "stream table %s is in %s status: %s"
                % (self.stream_table, info["status"], info["last_error_message"])
            )
        fresh = info["status"] == "ACTIVE" and bool(info["is_populated"]) and not info["stale"]
        if fresh and self.max_staleness is not None:
            fresh = info["staleness"] is not None and info["staleness"] <= self.max_staleness
        self.log.info("%s: status %s, staleness %s, stale %s", self.stream_table,
                      info["status"], info["staleness"], info["stale"])
        return fresh


class PgTrickleHealthSensor(_PgTrickleSensor):
    """Waits until the change capture of every source is healthy
    (``pgtrickle.check_cdc_health()``; the sources of ``stream_table``
    only, when given)."""

    def poke(self, context: Any) -> bool:
        rows = self.get_hook().check_cdc_health(self.stream_table)
        bad = [r for r in rows if not r["healthy"]]
        for r in bad:
            self.log.info("unhealthy: %s.%s for %s.%s: %s", r["source_schema"], r["source_table"],
                          r["pgt_schema"], r["pgt_name"], r["issue"] or r["alert"])
        return not bad


class PgTrickleStatusSensor(_PgTrickleSensor):
    """Waits until the stream table's status is ``target_status`` (ACTIVE,
    PAUSED, ...); a status in ``failed_statuses`` (default ERROR) fails the
    task at once."""

    template_fields: Sequence[str] = ("stream_table", "target_status")

    def __init__(self, *, stream_table: str, target_status: str = "ACTIVE",
                 failed_statuses: Iterable[str] = ("ERROR",), **kwargs: Any) -> None:
        super().__init__(stream_table=stream_table, **kwargs)
        self.target_status = target_status
        self.failed_statuses = tuple(s.upper() for s in failed_statuses)

    def poke(self, context: Any) -> bool:
        assert self.stream_table is not None
        status = self.get_hook().get_status(self.stream_table)
        self.log.info("%s: status %s (waiting for %s)", self.stream_table, status,
                      self.target_status.upper())
        if status == self.target_status.upper():
            return True
        if status in self.failed_statuses:
            raise AirflowException("stream table %s is in %s status" % (self.stream_table, status))
        return False
