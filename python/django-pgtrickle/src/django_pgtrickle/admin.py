"""A read-only admin for models over stream tables.

``admin.site.register(OrderTotals, StreamTableAdmin)`` lists the rows with
no add, change or delete; the top of the list shows the stream table's
status (status, refresh mode, schedule, last refresh, stale), and the
"Refresh stream table now" action refreshes it (the whole table, whatever
rows are selected).
"""

from __future__ import annotations

from typing import Any, Optional

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from pgtrickle_core import PgTrickleError

__all__ = ["StreamTableAdmin"]


def _status_line(info: dict) -> str:
    last = info["last_refresh_at"]
    return "Stream table %s.%s: %s, %s, schedule %s, last refresh %s, %s." % (
        info["pgt_schema"],
        info["pgt_name"],
        info["status"],
        info["refresh_mode"],
        info["effective_schedule"],
        last.isoformat(sep=" ", timespec="seconds") if last else "never",
        "stale" if info["stale"] else "fresh",
    )


class StreamTableAdmin(admin.ModelAdmin):
    actions = ["refresh_stream_table"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Refresh stream table now", permissions=["view"])
    def refresh_stream_table(self, request: HttpRequest, queryset: Any) -> None:
        try:
            row = self.model.objects.using(queryset.db).refresh()
        except PgTrickleError as exc:
            self.message_user(request, "Refresh failed: %s" % exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            "Refreshed: %s, %s rows inserted, %s deleted, %.0f ms."
            % (row.get("action"), row.get("rows_inserted"), row.get("rows_deleted"),
               row.get("duration_ms") or 0.0),
            messages.SUCCESS,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Optional[dict] = None) -> HttpResponse:
        if request.method == "GET":
            try:
                info = self.model.objects.info()
            except PgTrickleError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(
                    request,
                    _status_line(info),
                    messages.WARNING if info["stale"] or info["status"] != "ACTIVE" else messages.INFO,
                )
        return super().changelist_view(request, extra_context)
