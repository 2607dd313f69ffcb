"""pg_trickle stream tables for SQLAlchemy 2 (and Alembic, in
:mod:`sqlalchemy_pgtrickle.alembic`)."""

from pgtrickle_core import (
    PgTrickleError,
    ReadOnlyStreamTable,
    StreamTableNotFound,
    qualified_name,
)

from .core import (
    StreamTableMixin,
    StreamTableSpec,
    api,
    info,
    is_stale,
    last_refresh_at,
    query_text,
    refresh,
    stream_table,
    stream_table_name,
)

__version__ = "0.2.0"

__all__ = [
    "PgTrickleError",
    "ReadOnlyStreamTable",
    "StreamTableMixin",
    "StreamTableNotFound",
    "StreamTableSpec",
    "api",
    "info",
    "is_stale",
    "last_refresh_at",
    "qualified_name",
    "query_text",
    "refresh",
    "stream_table",
    "stream_table_name",
]
