"""Stream tables in SQLAlchemy: the metadata helper, the read-only mixin and
the session helpers.

A stream table is created by ``pgtrickle.create_stream_table`` and not by
``CREATE TABLE``, so :func:`stream_table` returns a :class:`~sqlalchemy.Table`
that belongs to a metadata of its own (``create_all`` never issues
``CREATE TABLE`` for it) and hooks ``after_create``/``before_drop`` of the
application's metadata to create and drop the stream table with it, as
materialized-view helpers do.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

from sqlalchemy import Column, MetaData, Table, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, ORMExecuteState
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Selectable

from pgtrickle_core import ReadOnlyStreamTable, Row, StreamTables, qualified_name

__all__ = [
    "StreamTableMixin",
    "StreamTableSpec",
    "api",
    "info",
    "is_stale",
    "last_refresh_at",
    "query_text",
    "refresh",
    "stream_table",
    "stream_table_name",
]

#: Key of ``MetaData.info`` under which :func:`stream_table` lists the stream
#: tables of a metadata (read by the Alembic autogenerate comparator).
INFO_KEY = "pgtrickle_stream_tables"


def _executor(conn: Connection):  # type: ignore[no-untyped-def]
    def execute(sql: str, params: Sequence[Any]) -> List[Row]:
        result = conn.exec_driver_sql(sql, tuple(params))
        if not result.returns_rows:
            return []
        return [dict(r._mapping) for r in result]

    return execute


def api(bind: Union[Session, Connection]) -> StreamTables:
    """The pg_trickle API on a session's (current transaction's) connection
    or on a Connection."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    return StreamTables(_executor(conn))


def query_text(query: Union[str, TextClause, Selectable]) -> str:
    """The defining query as SQL text: a string as is, ``text()`` as its
    text, a Core selectable compiled for PostgreSQL with its parameters
    inlined (a stream table's query cannot have parameters)."""
    if isinstance(query, str):
        return query
    if isinstance(query, TextClause):
        return query.text
    return str(
        query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )


class StreamTableSpec:
    """What :func:`stream_table` recorded about one stream table."""

    def __init__(
        self,
        table: Table,
        query: str,
        schedule: Optional[str],
        refresh_mode: Optional[str],
        cdc_mode: Optional[str],
    ) -> None:
        self.table = table
        self.query = query
        self.schedule = schedule
        self.refresh_mode = refresh_mode
        self.cdc_mode = cdc_mode

    @property
    def sql_name(self) -> str:
        return qualified_name(self.table.name, self.table.schema)


def stream_table(
    name: str,
    query: Union[str, TextClause, Selectable],
    metadata: MetaData,
    *columns: Column[Any],
    schedule: Optional[str] = None,
    refresh_mode: Optional[str] = None,
    cdc_mode: Optional[str] = None,
    schema: Optional[str] = None,
) -> Table:
    """Declare stream table *name* (in *schema*; both taken literally, as
    ``Table`` takes them) defined by *query*, created after and dropped
    before the other tables of *metadata*.

    The returned Table (for queries and for ``__table__`` of a mapped class)
    has the given *columns*, or, for a Core selectable without *columns*,
    the selectable's columns.  A text query needs *columns*.  ``schedule``,
    ``refresh_mode`` and ``cdc_mode`` as ``pgtrickle.create_stream_table``
    takes them (None: the function's default)."""
    sql = query_text(query)
    if not columns:
        if isinstance(query, (str, TextClause)):
            raise ValueError(
                "stream_table(%r): a text query needs its columns (pass Column objects)" % name
            )
        columns = tuple(
            Column(c.key, c.type) for c in query.selected_columns  # type: ignore[attr-defined]
        )
    own = MetaData()
    table = Table(name, own, *columns, schema=schema)
    table.info["pgtrickle"] = True
    spec = StreamTableSpec(table, sql, schedule, refresh_mode, cdc_mode)
    table.info["pgtrickle_spec"] = spec
    metadata.info.setdefault(INFO_KEY, []).append(spec)

    @event.listens_for(metadata, "after_create")
    def _create(target: MetaData, connection: Connection, **kw: Any) -> None:
        api(connection).create(
            spec.sql_name,
            spec.query,
            schedule=spec.schedule,
            refresh_mode=spec.refresh_mode,
            cdc_mode=spec.cdc_mode,
            if_not_exists=bool(kw.get("checkfirst", True)),
        )

    @event.listens_for(metadata, "before_drop")
    def _drop(target: MetaData, connection: Connection, **kw: Any) -> None:
        api(connection).drop(spec.sql_name, if_exists=bool(kw.get("checkfirst", True)))

    return table


def stream_table_name(target: Union[str, Table, type, Any]) -> str:
    """The SQL-name text of *target*: a string (already SQL name syntax),
    a Table, or a mapped class or instance."""
    if isinstance(target, str):
        return target
    if isinstance(target, Table):
        return qualified_name(target.name, target.schema)
    table = getattr(target, "__table__", None)
    if isinstance(table, Table):
        return qualified_name(table.name, table.schema)
    raise TypeError("not a stream table: %r" % (target,))


def refresh(session: Union[Session, Connection], target: Any) -> Row:
    """Refresh now, in the session's transaction (commit to publish it);
    returns the refresh's history row (action, status, rows_inserted,
    rows_deleted, duration_ms, ...)."""
    return api(session).refresh(stream_table_name(target))


def is_stale(session: Union[Session, Connection], target: Any) -> bool:
    return api(session).is_stale(stream_table_name(target))


def info(session: Union[Session, Connection], target: Any) -> Dict[str, Any]:
    """The ``pgtrickle.stream_tables_info`` row of *target*."""
    return api(session).info(stream_table_name(target))


def last_refresh_at(session: Union[Session, Connection], target: Any) -> Any:
    return api(session).last_refresh_at(stream_table_name(target))


class StreamTableMixin:
    """Mixin for a mapped class over a stream table (usually
    ``__table__ = stream_table(...)``).  Such objects are read-only: a flush
    with new, changed or deleted instances, and ORM bulk INSERT/UPDATE/
    DELETE statements on the class, raise :class:`ReadOnlyStreamTable`
    before anything reaches the database."""

    __pgtrickle_stream_table__ = True

    @classmethod
    def refresh(cls, session: Union[Session, Connection]) -> Row:
        return refresh(session, cls)

    @classmethod
    def is_stale(cls, session: Union[Session, Connection]) -> bool:
        return is_stale(session, cls)

    @classmethod
    def info(cls, session: Union[Session, Connection]) -> Dict[str, Any]:
        return info(session, cls)

    @classmethod
    def last_refresh_at(cls, session: Union[Session, Connection]) -> Any:
        return last_refresh_at(session, cls)


def _refuse(obj_or_cls: Any, what: str) -> ReadOnlyStreamTable:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return ReadOnlyStreamTable(
        "cannot %s %s: it maps stream table %s, which is read-only"
        % (what, cls.__name__, stream_table_name(cls)),
        hint="pg_trickle maintains its contents from the defining query; "
        "change the source tables and refresh.",
    )


@event.listens_for(Session, "before_flush")
def _guard_flush(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.new:
        if isinstance(obj, StreamTableMixin):
            raise _refuse(obj, "insert into")
    for obj in session.deleted:
        if isinstance(obj, StreamTableMixin):
            raise _refuse(obj, "delete from")
    for obj in session.dirty:
        if isinstance(obj, StreamTableMixin) and session.is_modified(obj):
            raise _refuse(obj, "update")


@event.listens_for(Session, "do_orm_execute")
def _guard_bulk(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, StreamTableMixin):
        what = "insert into" if state.is_insert else "update" if state.is_update else "delete from"
        raise _refuse(mapper.class_, what)
