"""The pg_trickle SQL API, called through any DB-API style executor.

:class:`StreamTables` holds the SQL text of every call the integrations
make, once.  It runs it through an *executor*, a callable
``execute(sql, params) -> rows`` that the integration supplies on top of its
own connection handling (Django's ``connection.cursor()``, a SQLAlchemy
``Connection``, an Airflow ``PostgresHook``); the SQL uses ``%s``
placeholders, which psycopg 3, psycopg2 and Django's cursors all take.
Names are always bind parameters (see :mod:`pgtrickle_core.names`), never
part of the SQL text.

Nothing here commits: a call runs in the executor's transaction, as
``refresh_stream_table`` itself does (the SQL contract, section 3).  Errors
with a pg_trickle SQLSTATE come out as :mod:`pgtrickle_core.errors`
exceptions.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, cast

from .errors import StreamTableNotFound, translate

__all__ = ["Executor", "Row", "StreamTables", "call_sql", "dbapi_executor"]

Row = Dict[str, Any]
#: ``execute(sql, params)``: run *sql* with positional ``%s`` *params*,
#: return the result rows as dicts (an empty list for a statement without
#: a result).
Executor = Callable[[str, Sequence[Any]], List[Row]]

F = TypeVar("F", bound=Callable[..., Any])


def dbapi_executor(cursor_factory: Callable[[], Any]) -> Executor:
    """An executor over a DB-API connection: *cursor_factory* returns a new
    cursor (``connection.cursor``), closed after each statement."""

    def execute(sql: str, params: Sequence[Any]) -> List[Row]:
        cur = cursor_factory()
        try:
            cur.execute(sql, tuple(params))
            if cur.description is None:
                return []
            names = [d[0] for d in cur.description]
            # rows may already be mappings (psycopg's dict_row, DictCursor)
            return [
                dict(row) if isinstance(row, Mapping) else dict(zip(names, row))
                for row in cur.fetchall()
            ]
        finally:
            cur.close()

    return execute


def _translated(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # driver or framework error
            mapped = translate(exc)
            if mapped is None:
                raise
            raise mapped from exc

    return cast(F, wrapper)


def call_sql(function: str, args: Sequence[Tuple[str, Any]]) -> Tuple[str, List[Any]]:
    """``SELECT pgtrickle.function(a => %s, ...)`` for the (argument name,
    value) pairs whose value is not None, and the parameter list (for tools
    that show the SQL, such as Django's ``sqlmigrate``)."""
    given = [(n, v) for n, v in args if v is not None]
    sql = "SELECT pgtrickle.%s(%s)" % (
        function,
        ", ".join("%s => %%s" % n for n, _ in given),
    )
    return sql, [v for _, v in given]


class StreamTables:
    """The pg_trickle functions and views, for one executor.

    ``name`` is always the stream table's name as the SQL API takes it: SQL
    name syntax, optionally schema-qualified, quoted where needed
    (``'"My Schema"."Order Totals"'``; :func:`pgtrickle_core.qualified_name`
    builds it from literal parts)."""

    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def _run(self, sql: str, params: Sequence[Any] = ()) -> List[Row]:
        return self._execute(sql, params)

    # --- functions ----------------------------------------------------------

    @_translated
    def create(
        self,
        name: str,
        query: str,
        *,
        schedule: Optional[str] = None,
        refresh_mode: Optional[str] = None,
        initialize: Optional[bool] = None,
        cdc_mode: Optional[str] = None,
        if_not_exists: bool = False,
        or_replace: bool = False,
    ) -> None:
        """``create_stream_table`` (or ``_if_not_exists``, or
        ``create_or_replace_stream_table``); arguments left None take the
        function's default (``schedule``: '1m'; 'calculated' for CALCULATED)."""
        if if_not_exists and or_replace:
            raise ValueError("if_not_exists and or_replace exclude each other")
        function = (
            "create_or_replace_stream_table"
            if or_replace
            else "create_stream_table_if_not_exists"
            if if_not_exists
            else "create_stream_table"
        )
        sql, params = call_sql(
            function,
            [
                ("name", name),
                ("query", query),
                ("schedule", schedule),
                ("refresh_mode", refresh_mode),
                ("initialize", initialize),
                ("cdc_mode", cdc_mode),
            ],
        )
        self._run(sql, params)

    @_translated
    def alter(
        self,
        name: str,
        *,
        schedule: Optional[str] = None,
        refresh_mode: Optional[str] = None,
        status: Optional[str] = None,
        query: Optional[str] = None,
    ) -> None:
        """``alter_stream_table``: None leaves a property unchanged."""
        sql, params = call_sql(
            "alter_stream_table",
            [
                ("name", name),
                ("schedule", schedule),
                ("refresh_mode", refresh_mode),
                ("status", status),
                ("query", query),
            ],
        )
        self._run(sql, params)

    @_translated
    def drop(self, name: str, *, cascade: bool = False, if_exists: bool = False) -> None:
        """``drop_stream_table``; with *if_exists*, a missing table is no error."""
        try:
            self._run(
                "SELECT pgtrickle.drop_stream_table(name => %s, cascade => %s)",
                [name, cascade],
            )
        except Exception as exc:
            mapped = translate(exc)
            if if_exists and isinstance(mapped, StreamTableNotFound):
                return
            raise

    @_translated
    def refresh(self, name: str) -> Row:
        """``refresh_stream_table``, then the newest row of
        ``get_refresh_history`` (this refresh's: action, status,
        rows_inserted, rows_deleted, duration_ms, ...)."""
        self._run("SELECT pgtrickle.refresh_stream_table(%s)", [name])
        rows = self.history(name, 1)
        return rows[0] if rows else {}

    @_translated
    def pause(self, name: str) -> None:
        self._run("SELECT pgtrickle.pause_stream_table(%s)", [name])

    @_translated
    def resume(self, name: str) -> None:
        self._run("SELECT pgtrickle.resume_stream_table(%s)", [name])

    @_translated
    def history(self, name: str, max_rows: int = 20) -> List[Row]:
        """``get_refresh_history``, newest first."""
        return self._run(
            "SELECT * FROM pgtrickle.get_refresh_history(%s, %s)", [name, max_rows]
        )

    @_translated
    def cdc_health(self, name: Optional[str] = None) -> List[Row]:
        """``check_cdc_health()``, all rows or those of stream table *name*."""
        if name is None:
            return self._run("SELECT * FROM pgtrickle.check_cdc_health()")
        self.info(name)  # not found -> StreamTableNotFound
        return self._run(
            "SELECT h.* FROM pgtrickle.check_cdc_health() h"
            " JOIN pgtrickle.pgt_stream_tables s"
            " ON s.pgt_schema = h.pgt_schema AND s.pgt_name = h.pgt_name"
            " WHERE s.pgt_relid = to_regclass(%s)",
            [name],
        )

    # --- views --------------------------------------------------------------

    @_translated
    def list(self) -> List[Row]:
        """Every row of ``stream_tables_info``, by schema and name."""
        return self._run(
            "SELECT * FROM pgtrickle.stream_tables_info ORDER BY pgt_schema, pgt_name"
        )

    @_translated
    def info(self, name: str) -> Row:
        """The ``stream_tables_info`` row of *name* (every catalog column
        plus ``staleness``, ``stale``, ``effective_schedule``); raises
        :class:`StreamTableNotFound` when there is none."""
        rows = self._run(
            "SELECT * FROM pgtrickle.stream_tables_info WHERE pgt_relid = to_regclass(%s)",
            [name],
        )
        if not rows:
            raise StreamTableNotFound('stream table "%s" does not exist' % name)
        return rows[0]

    def exists(self, name: str) -> bool:
        try:
            self.info(name)
        except StreamTableNotFound:
            return False
        return True

    def is_stale(self, name: str) -> bool:
        return bool(self.info(name)["stale"])

    def last_refresh_at(self, name: str) -> Optional[datetime]:
        return cast(Optional[datetime], self.info(name)["last_refresh_at"])

    def status(self, name: str) -> str:
        return cast(str, self.info(name)["status"])

    @_translated
    def quick_health(self) -> Row:
        """The one row of ``quick_health``."""
        return self._run("SELECT * FROM pgtrickle.quick_health")[0]
