"""Connection handling and names, once for the whole package.

* :func:`stream_tables` gives the pg_trickle API (:class:`pgtrickle_core.StreamTables`)
  on a Django database connection (``using``), in its current transaction
  (Django's autocommit, or the enclosing ``atomic()``).
* :func:`sql_name` turns a ``db_table`` into the name text pg_trickle takes,
  with Django's own rule: a ``db_table`` is one identifier taken literally
  (``"Order Totals"`` keeps its space and capitals), except one already in
  double quotes, which Django and therefore this package pass as written
  (the usual way to put a model in another schema:
  ``db_table = '"analytics"."order_totals"'``).
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from pgtrickle_core import StreamTables, dbapi_executor, qualified_name

__all__ = ["sql_name", "stream_tables"]


def sql_name(db_table: str) -> str:
    if len(db_table) > 1 and db_table.startswith('"') and db_table.endswith('"'):
        return db_table
    return qualified_name(db_table)


def stream_tables(using: str = DEFAULT_DB_ALIAS) -> StreamTables:
    connection: Any = connections[using]
    return StreamTables(dbapi_executor(connection.cursor))
