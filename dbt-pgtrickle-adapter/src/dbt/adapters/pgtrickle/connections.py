"""Connections of the pgtrickle adapter: dbt-postgres's, with the extension
checked when a connection opens."""

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from dbt.adapters.contracts.connection import Connection
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.exceptions import FailedToConnectError
from dbt.adapters.postgres.connections import (
    PostgresConnectionManager,
    PostgresCredentials,
)

logger = AdapterLogger("pgtrickle")

# The oldest pg_trickle whose SQL interface the adapter relies on.  0.2.0 is
# also the first version whose library refuses an older catalog, so with
# anything older nothing works.
MIN_EXTENSION_VERSION: Tuple[int, ...] = (0, 2, 0)
# Versions with another major number may change the SQL contract (SPEC: add,
# never rename, within a major): accepted with a warning.
TESTED_MAJOR = 0

EXTENSION_QUERY = "select extversion from pg_catalog.pg_extension where extname = 'pg_trickle'"


def parse_version(text: str) -> Tuple[int, ...]:
    """'0.2.0' -> (0, 2, 0); a pre-release or build suffix of a part is ignored."""
    parts = []
    for part in text.split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def format_version(version: Tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


def extension_problem(database: str, extversion: Optional[str]) -> Optional[str]:
    """Why the adapter cannot work with the extension as installed, or None."""
    if extversion is None:
        return (
            f'pg_trickle is not installed in database "{database}": the pgtrickle adapter '
            "needs the extension. Run CREATE EXTENSION pg_trickle in that database (as a "
            "superuser, on a server with shared_preload_libraries = 'pg_trickle'), or use "
            "type: postgres with the dbt_pgtrickle macro package."
        )
    if parse_version(extversion) < MIN_EXTENSION_VERSION:
        return (
            f'pg_trickle {extversion} in database "{database}" is too old for the pgtrickle '
            f"adapter, which needs {format_version(MIN_EXTENSION_VERSION)} or later. Run "
            "ALTER EXTENSION pg_trickle UPDATE in that database."
        )
    return None


@dataclass
class PgTrickleCredentials(PostgresCredentials):
    @property
    def type(self) -> str:
        return "pgtrickle"


class PgTrickleConnectionManager(PostgresConnectionManager):
    TYPE = "pgtrickle"

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        if connection.state == "open":
            return connection
        connection = super().open(connection)
        if connection.state != "open":
            return connection
        handle: Any = connection.handle
        credentials = cls.get_credentials(connection.credentials)
        try:
            cursor = handle.cursor()
            cursor.execute(EXTENSION_QUERY)
            row = cursor.fetchone()
            # keep what the connection set up (set role) and end the
            # transaction the query opened without autocommit
            handle.commit()
        except Exception as exc:
            handle.close()
            connection.state = "fail"
            raise FailedToConnectError(f"could not check the pg_trickle extension: {exc}") from exc
        extversion = row[0] if row else None
        problem = extension_problem(credentials.database, extversion)
        if problem is not None:
            handle.close()
            connection.state = "fail"
            connection.handle = None
            raise FailedToConnectError(problem)
        if parse_version(extversion or "")[0] != TESTED_MAJOR:
            logger.warning(
                f"pg_trickle {extversion} is newer than the versions this adapter was tested "
                f"with ({TESTED_MAJOR}.x)"
            )
        return connection
