"""Migration operations for stream tables.

``CreateStreamTable``, ``AlterStreamTable`` and ``DropStreamTable`` call
pg_trickle's functions through the schema editor, so ``sqlmigrate`` shows
the SQL, and each is reversible (``AlterStreamTable`` and
``DropStreamTable`` with the previous definition they are given).

They leave Django's model state alone: the model over a stream table is an
unmanaged model with its own ``CreateModel`` (``options={'managed': False}``,
what ``makemigrations`` writes for it), so ``makemigrations`` has nothing to
add after them.  ``name`` is the model's ``db_table`` (see
:func:`django_pgtrickle.db.sql_name` for quoting).
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from django.db.migrations.operations.base import Operation

from pgtrickle_core import call_sql

from .db import sql_name

__all__ = ["AlterStreamTable", "CreateStreamTable", "DropStreamTable"]


def _run(schema_editor: Any, function: str, args: List[Tuple[str, Any]]) -> None:
    sql, params = call_sql(function, args)
    schema_editor.execute(sql, params)


class _StreamTableOperation(Operation):
    reduces_to_sql = True
    reversible = True
    atomic = True

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # no model state: see the module's documentation

    def _allowed(self, schema_editor: Any, app_label: str) -> bool:
        return bool(schema_editor.connection.vendor == "postgresql")


class CreateStreamTable(_StreamTableOperation):
    """``pgtrickle.create_stream_table(name, query, schedule, refresh_mode,
    initialize, cdc_mode)``; the reverse drops it."""

    def __init__(
        self,
        name: str,
        query: str,
        schedule: Optional[str] = None,
        refresh_mode: Optional[str] = None,
        initialize: Optional[bool] = None,
        cdc_mode: Optional[str] = None,
    ) -> None:
        self.name = name
        self.query = query
        self.schedule = schedule
        self.refresh_mode = refresh_mode
        self.initialize = initialize
        self.cdc_mode = cdc_mode

    def deconstruct(self) -> Tuple[str, list, dict]:
        kwargs = {"name": self.name, "query": self.query}
        for key in ("schedule", "refresh_mode", "initialize", "cdc_mode"):
            if getattr(self, key) is not None:
                kwargs[key] = getattr(self, key)
        return (self.__class__.__qualname__, [], kwargs)

    def _create(self, schema_editor: Any) -> None:
        _run(
            schema_editor,
            "create_stream_table",
            [
                ("name", sql_name(self.name)),
                ("query", self.query),
                ("schedule", self.schedule),
                ("refresh_mode", self.refresh_mode),
                ("initialize", self.initialize),
                ("cdc_mode", self.cdc_mode),
            ],
        )

    def _drop(self, schema_editor: Any) -> None:
        _run(schema_editor, "drop_stream_table", [("name", sql_name(self.name))])

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self._allowed(schema_editor, app_label):
            self._create(schema_editor)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self._allowed(schema_editor, app_label):
            self._drop(schema_editor)

    def describe(self) -> str:
        return "Create stream table %s" % self.name

    @property
    def migration_name_fragment(self) -> str:
        return "create_stream_table_%s" % self.name.strip('"').lower().replace(" ", "_")


class DropStreamTable(CreateStreamTable):
    """``pgtrickle.drop_stream_table(name, cascade)``; reversible when the
    definition (``query`` and the rest) is given: the reverse creates it."""

    def __init__(
        self,
        name: str,
        query: Optional[str] = None,
        schedule: Optional[str] = None,
        refresh_mode: Optional[str] = None,
        initialize: Optional[bool] = None,
        cdc_mode: Optional[str] = None,
        cascade: bool = False,
    ) -> None:
        super().__init__(name, query or "", schedule, refresh_mode, initialize, cdc_mode)
        self.cascade = cascade

    @property  # type: ignore[misc]
    def reversible(self) -> bool:  # type: ignore[override]
        return bool(self.query)

    def deconstruct(self) -> Tuple[str, list, dict]:
        name, args, kwargs = super().deconstruct()
        if not self.query:
            del kwargs["query"]
        if self.cascade:
            kwargs["cascade"] = True
        return (name, args, kwargs)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self._allowed(schema_editor, app_label):
            _run(
                schema_editor,
                "drop_stream_table",
                [("name", sql_name(self.name)), ("cascade", self.cascade or None)],
            )

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self._allowed(schema_editor, app_label):
            self._create(schema_editor)

    def describe(self) -> str:
        return "Drop stream table %s" % self.name

    @property
    def migration_name_fragment(self) -> str:
        return "drop_stream_table_%s" % self.name.strip('"').lower().replace(" ", "_")


class AlterStreamTable(_StreamTableOperation):
    """``pgtrickle.alter_stream_table(name, schedule, refresh_mode, status,
    query)``: None leaves a property as it is.  The reverse sets the
    ``previous_*`` values back; a property changed without its previous
    value makes the operation irreversible."""

    PROPERTIES = ("query", "schedule", "refresh_mode", "status")

    def __init__(
        self,
        name: str,
        query: Optional[str] = None,
        schedule: Optional[str] = None,
        refresh_mode: Optional[str] = None,
        status: Optional[str] = None,
        previous_query: Optional[str] = None,
        previous_schedule: Optional[str] = None,
        previous_refresh_mode: Optional[str] = None,
        previous_status: Optional[str] = None,
    ) -> None:
        self.name = name
        self.query = query
        self.schedule = schedule
        self.refresh_mode = refresh_mode
        self.status = status
        self.previous_query = previous_query
        self.previous_schedule = previous_schedule
        self.previous_refresh_mode = previous_refresh_mode
        self.previous_status = previous_status

    @property  # type: ignore[misc]
    def reversible(self) -> bool:  # type: ignore[override]
        return all(
            getattr(self, p) is None or getattr(self, "previous_" + p) is not None
            for p in self.PROPERTIES
        )

    def deconstruct(self) -> Tuple[str, list, dict]:
        kwargs: dict = {"name": self.name}
        for p in self.PROPERTIES:
            for key in (p, "previous_" + p):
                if getattr(self, key) is not None:
                    kwargs[key] = getattr(self, key)
        return (self.__class__.__qualname__, [], kwargs)

    def _alter(self, schema_editor: Any, prefix: str) -> None:
        values = [(p, getattr(self, prefix + p) if getattr(self, p) is not None else None) for p in self.PROPERTIES]
        if all(v is None for _, v in values):
            return
        # the order of alter_stream_table's arguments does not matter: named
        _run(schema_editor, "alter_stream_table", [("name", sql_name(self.name))] + values)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self._allowed(schema_editor, app_label):
            self._alter(schema_editor, "")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self._allowed(schema_editor, app_label):
            self._alter(schema_editor, "previous_")

    def describe(self) -> str:
        changed = [p for p in self.PROPERTIES if getattr(self, p) is not None]
        return "Alter stream table %s (%s)" % (self.name, ", ".join(changed) or "nothing")

    @property
    def migration_name_fragment(self) -> str:
        return "alter_stream_table_%s" % self.name.strip('"').lower().replace(" ", "_")
