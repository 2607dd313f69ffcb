"""Shared core of the pg_trickle Python integrations: the SQL API calls
(:class:`StreamTables`), stream table names as SQL names
(:func:`qualified_name`) and SQLSTATE exceptions (:mod:`.errors`)."""

from .api import Executor, Row, StreamTables, call_sql, dbapi_executor
from .errors import (
    EXCEPTIONS,
    DependencyCycle,
    DependentObjectsExist,
    InvalidArgument,
    InvalidName,
    InvalidQuery,
    NotSupported,
    PermissionDenied,
    PgTrickleError,
    ReadOnlyStreamTable,
    StreamTableExists,
    StreamTableNotFound,
    UndefinedTable,
    WrongState,
    sqlstate_of,
    translate,
)
from .names import qualified_name, quote_ident

__version__ = "0.2.0"

__all__ = [
    "EXCEPTIONS",
    "DependencyCycle",
    "DependentObjectsExist",
    "Executor",
    "InvalidArgument",
    "InvalidName",
    "InvalidQuery",
    "NotSupported",
    "PermissionDenied",
    "PgTrickleError",
    "ReadOnlyStreamTable",
    "Row",
    "StreamTableExists",
    "StreamTableNotFound",
    "StreamTables",
    "UndefinedTable",
    "WrongState",
    "call_sql",
    "dbapi_executor",
    "qualified_name",
    "quote_ident",
    "sqlstate_of",
    "translate",
]
