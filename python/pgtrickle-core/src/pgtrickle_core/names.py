"""Names of stream tables as the SQL API takes them.

Every pg_trickle function takes the stream table's name as one ``text``
argument that it parses as a SQL name: ``order_totals``,
``analytics.order_totals`` or ``"My Schema"."Order Totals"``.  The
integrations never build SQL text out of names: they pass this string as a
bind parameter.  Frameworks that know a table as separate parts (a schema
and a table name, each taken literally) turn them into that string with
:func:`qualified_name`, which quotes each part, so that dots, quotes, spaces
and upper case survive.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["quote_ident", "qualified_name"]


def quote_ident(part: str) -> str:
    """Quote one name part as a SQL identifier, always (like ``format('%I')``
    would for any name that needs it; quoting a plain lower-case name too is
    harmless and keeps the rule simple)."""
    if not isinstance(part, str) or part == "":
        raise ValueError("a name part must be a non-empty string")
    if "\x00" in part:
        raise ValueError("a name part cannot contain a NUL character")
    return '"' + part.replace('"', '""') + '"'


def qualified_name(name: str, schema: Optional[str] = None) -> str:
    """The SQL-name text for the table *name* (taken literally) in *schema*
    (taken literally; ``None``: the first schema of ``search_path``, as for
    an unqualified name in SQL)."""
    if schema is None:
        return quote_ident(name)
    return quote_ident(schema) + "." + quote_ident(name)
