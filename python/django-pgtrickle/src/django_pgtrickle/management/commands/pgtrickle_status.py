"""``manage.py pgtrickle_status [--json] [--database ALIAS]``: the stream
tables of a database (``pgtrickle.stream_tables_info``) as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from pgtrickle_core import PgTrickleError

from ...db import stream_tables

COLUMNS = [
    ("pgt_schema", "schema"),
    ("pgt_name", "name"),
    ("status", "status"),
    ("refresh_mode", "mode"),
    ("effective_schedule", "schedule"),
    ("stale", "stale"),
    ("last_refresh_at", "last refresh"),
    ("consecutive_errors", "errors"),
]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


class Command(BaseCommand):
    help = "Show the pg_trickle stream tables of a database and their status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = stream_tables(options["database"]).list()
        except PgTrickleError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(
                [{key: row[key] for key, _ in COLUMNS} for row in rows],
                default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
                indent=2,
            ))
            return
        table = [[title for _, title in COLUMNS]] + [
            [_text(row[key]) for key, _ in COLUMNS] for row in rows
        ]
        widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
        for r in table:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if not rows:
            self.stdout.write("(no stream tables)")
