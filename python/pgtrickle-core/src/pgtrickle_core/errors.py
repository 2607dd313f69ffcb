"""Exceptions for the errors pg_trickle reports, chosen by SQLSTATE.

pg_trickle reports every error a user can cause with a SQLSTATE (the SQL
contract, section 7).  :func:`translate` turns a driver exception
(psycopg 3, psycopg2, or a framework's wrapper of either) into the matching
subclass of :class:`PgTrickleError`, keeping the server's message, detail
and hint and chaining the original exception.  Errors with other SQLSTATEs
are left to the framework (``translate`` returns ``None``).
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Type

__all__ = [
    "PgTrickleError",
    "UndefinedTable",
    "StreamTableNotFound",
    "StreamTableExists",
    "InvalidArgument",
    "InvalidName",
    "NotSupported",
    "InvalidQuery",
    "PermissionDenied",
    "DependentObjectsExist",
    "DependencyCycle",
    "WrongState",
    "ReadOnlyStreamTable",
    "sqlstate_of",
    "translate",
    "EXCEPTIONS",
]


class PgTrickleError(Exception):
    """An error reported by pg_trickle (or by this client on its behalf)."""

    sqlstate: Optional[str] = None

    def __init__(
        self,
        message: str,
        *,
        sqlstate: Optional[str] = None,
        detail: Optional[str] = None,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.detail:
            text += "\nDETAIL:  " + self.detail
        if self.hint:
            text += "\nHINT:  " + self.hint
        return text


class UndefinedTable(PgTrickleError):
    """42P01: a table does not exist: the stream table named (then the
    subclass :class:`StreamTableNotFound`), or a table its query reads."""

    sqlstate = "42P01"


class StreamTableNotFound(UndefinedTable):
    """42P01 for the stream table itself: no stream table of that name."""


class StreamTableExists(PgTrickleError):
    """42P07: the name is used already."""

    sqlstate = "42P07"


class InvalidArgument(PgTrickleError):
    """22023: a bad schedule, refresh mode, status or CDC mode."""

    sqlstate = "22023"


class InvalidName(PgTrickleError):
    """42602: the name is not a valid, possibly qualified, SQL name."""

    sqlstate = "42602"


class NotSupported(PgTrickleError):
    """0A000: a construct the requested refresh mode cannot maintain."""

    sqlstate = "0A000"


class InvalidQuery(PgTrickleError):
    """42601: the defining query is not a single SELECT or does not parse."""

    sqlstate = "42601"


class PermissionDenied(PgTrickleError):
    """42501: not the owner, or missing privileges."""

    sqlstate = "42501"


class DependentObjectsExist(PgTrickleError):
    """2BP01: other stream tables read this one (drop with cascade)."""

    sqlstate = "2BP01"


class DependencyCycle(PgTrickleError):
    """42P17: stream tables would read each other in a cycle."""

    sqlstate = "42P17"


class WrongState(PgTrickleError):
    """55000: a write to a stream table, or a refresh in ERROR status."""

    sqlstate = "55000"


class ReadOnlyStreamTable(WrongState, TypeError):
    """A write to a stream table refused by the integration itself, before
    it reaches the database (which would refuse it with 55000 too)."""


#: SQLSTATE -> exception class, section 7 of the SQL contract.
EXCEPTIONS: Dict[str, Type[PgTrickleError]] = {
    cls.sqlstate: cls  # type: ignore[misc]
    for cls in (
        UndefinedTable,
        StreamTableExists,
        InvalidArgument,
        InvalidName,
        NotSupported,
        InvalidQuery,
        PermissionDenied,
        DependentObjectsExist,
        DependencyCycle,
        WrongState,
    )
}


_STREAM_TABLE_MISSING = re.compile(r"^(stream table .* does not exist|.* is not a stream table)$")


def _driver_error(exc: BaseException) -> Optional[BaseException]:
    """The psycopg/psycopg2 exception inside *exc* (itself, SQLAlchemy's
    ``.orig``, or the ``__cause__`` chain Django's wrapper sets)."""
    seen = 0
    cur: Optional[BaseException] = exc
    while cur is not None and seen < 10:
        if getattr(cur, "sqlstate", None) or getattr(cur, "pgcode", None):
            return cur
        orig = getattr(cur, "orig", None)
        cur = orig if isinstance(orig, BaseException) else cur.__cause__
        seen += 1
    return None


def sqlstate_of(exc: BaseException) -> Optional[str]:
    """The SQLSTATE of a driver error, or None."""
    err = _driver_error(exc)
    if err is None:
        return None
    return getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)


def translate(exc: BaseException) -> Optional[PgTrickleError]:
    """The :class:`PgTrickleError` for a driver error, or None when its
    SQLSTATE is not one of pg_trickle's (section 7)."""
    err = _driver_error(exc)
    if err is None:
        return None
    state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
    cls = EXCEPTIONS.get(state or "")
    if cls is None:
        return None
    diag = getattr(err, "diag", None)
    message = getattr(diag, "message_primary", None) or str(err).strip().split("\n")[0]
    if message.startswith("ERROR:"):
        message = message[len("ERROR:"):].strip()
    # pg_trickle's own messages are not translated, PostgreSQL's "relation
    # ... does not exist" never starts like this.
    if cls is UndefinedTable and _STREAM_TABLE_MISSING.match(message):
        cls = StreamTableNotFound
    result = cls(
        message,
        sqlstate=state,
        detail=getattr(diag, "message_detail", None),
        hint=getattr(diag, "message_hint", None),
    )
    result.__cause__ = exc
    return result
