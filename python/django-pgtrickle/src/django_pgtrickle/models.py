"""Models over stream tables.

``StreamTableModel`` is abstract and unmanaged (Django creates no table for
it; the migration operations of :mod:`django_pgtrickle.operations` do).
Every write through the ORM (``save``, ``delete``, ``objects.create``,
``update``, ``bulk_create``, ...) raises :class:`ReadOnlyStreamTable`
before it reaches the database, which would refuse it too (SQLSTATE 55000).

Declare only the columns you read: Django selects only declared fields, so
the internal ``__pgt_*`` columns stay out of queries (Django forbids ``__``
in field names anyway).  Django needs a primary key; use the query's
``GROUP BY`` key or another unique column of the stream table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, NoReturn, Optional

from django.db import models
from django.db.models.signals import class_prepared

from pgtrickle_core import ReadOnlyStreamTable, Row, StreamTables

from .db import sql_name, stream_tables

__all__ = ["ReadOnlyStreamTable", "StreamTableManager", "StreamTableModel", "StreamTableQuerySet"]


def _refuse(model: Any, what: str) -> NoReturn:
    raise ReadOnlyStreamTable(
        "cannot %s %s: it is stream table %s, which is read-only"
        % (what, model.__name__, sql_name(model._meta.db_table)),
        hint="pg_trickle maintains its contents from the defining query; "
        "change the source tables and refresh.",
    )


class StreamTableQuerySet(models.QuerySet):
    """A read-only QuerySet with the stream table's pg_trickle calls."""

    # --- pg_trickle -----------------------------------------------------

    def _api(self) -> StreamTables:
        return stream_tables(self.db)

    @property
    def stream_table_name(self) -> str:
        return sql_name(self.model._meta.db_table)

    def refresh(self) -> Row:
        """Refresh now (in the current transaction); returns the refresh's
        history row: action, status, rows_inserted, rows_deleted, duration_ms."""
        return self._api().refresh(self.stream_table_name)

    def info(self) -> Dict[str, Any]:
        """The ``pgtrickle.stream_tables_info`` row."""
        return self._api().info(self.stream_table_name)

    def is_stale(self) -> bool:
        return self._api().is_stale(self.stream_table_name)

    def last_refresh_at(self) -> Optional[datetime]:
        return self._api().last_refresh_at(self.stream_table_name)

    def status(self) -> str:
        return self._api().status(self.stream_table_name)

    def refresh_history(self, max_rows: int = 20) -> List[Row]:
        return self._api().history(self.stream_table_name, max_rows)

    # --- writes refused -------------------------------------------------------

    def create(self, **kwargs: Any) -> NoReturn:
        _refuse(self.model, "insert into")

    def get_or_create(self, defaults: Any = None, **kwargs: Any) -> NoReturn:
        _refuse(self.model, "insert into")

    def update_or_create(self, defaults: Any = None, create_defaults: Any = None,
                         **kwargs: Any) -> NoReturn:
        _refuse(self.model, "update")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(self.model, "insert into")

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(self.model, "update")

    def update(self, **kwargs: Any) -> NoReturn:
        _refuse(self.model, "update")

    def delete(self) -> NoReturn:
        _refuse(self.model, "delete from")

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class StreamTableManager(models.Manager.from_queryset(StreamTableQuerySet)):  # type: ignore[misc]
    """``objects`` of a :class:`StreamTableModel`: ``refresh()``, ``info()``,
    ``is_stale()``, ``last_refresh_at()``, ``status()``,
    ``refresh_history()`` besides the (read-only) queryset methods."""


class StreamTableModel(models.Model):
    """Base class of models over stream tables (abstract, ``managed = False``)."""

    objects = StreamTableManager()

    class Meta:
        abstract = True
        managed = False

    def save(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(type(self), "save")

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(type(self), "delete from")


def _never_managed(sender: type, **kwargs: Any) -> None:
    # A subclass with its own ``class Meta`` (not inheriting
    # StreamTableModel.Meta) would be managed again: Django would create a
    # plain table over the stream table's name.
    if issubclass(sender, StreamTableModel) and not sender._meta.abstract:
        sender._meta.managed = False


class_prepared.connect(_never_managed)
