"""A django-health-check (4.x) check of pg_trickle.

Add ``"django_pgtrickle.health.PgTrickle"`` (or ``(PgTrickle, {"alias":
"other"})``) to the ``checks`` of a ``HealthCheckView``.  It reads
``pgtrickle.quick_health`` and ``pgtrickle.check_cdc_health()``:

* status CRITICAL (a stream table in ERROR or SUSPENDED status) or a source
  whose change capture is not healthy: ``ServiceUnavailable``;
* status WARNING (stale stream tables, or the scheduler not running):
  ``ServiceWarning`` (django-health-check answers 500 for both);
* OK or EMPTY: healthy.  Paused stream tables are not a problem: pausing is
  deliberate.

django-health-check 4.x needs Django 5.2 or later (``pip install
django-pgtrickle[health]``).
"""

from __future__ import annotations

import dataclasses

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from pgtrickle_core import PgTrickleError

from .db import stream_tables

__all__ = ["PgTrickle"]


@dataclasses.dataclass
class PgTrickle(HealthCheck):
    alias: str = DEFAULT_DB_ALIAS

    def run(self) -> None:
        api = stream_tables(self.alias)
        try:
            # closed afterwards when opened here (checks run in worker threads)
            with connections[self.alias].temporary_connection():
                health = api.quick_health()
                unhealthy = [h for h in api.cdc_health() if not h["healthy"]]
        except PgTrickleError as exc:
            raise ServiceUnavailable("pg_trickle: %s" % exc.message) from exc
        except DatabaseError as exc:
            raise ServiceUnavailable("pg_trickle: %s" % exc) from exc
        if unhealthy:
            first = unhealthy[0]
            raise ServiceUnavailable(
                "change capture of %s.%s for %s.%s: %s"
                % (first["source_schema"], first["source_table"],
                   first["pgt_schema"], first["pgt_name"], first["issue"] or first["alert"])
            )
        if health["status"] == "CRITICAL":
            raise ServiceUnavailable(
                "%d stream table(s) in ERROR or SUSPENDED status" % health["error_tables"]
            )
        if health["status"] == "WARNING":
            reasons = []
            if health["stale_tables"]:
                reasons.append("%d stale stream table(s)" % health["stale_tables"])
            if not health["scheduler_running"]:
                reasons.append("the pg_trickle scheduler is not running")
            raise ServiceWarning(", ".join(reasons))
