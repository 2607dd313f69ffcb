"""dbt adapter for PostgreSQL with the pg_trickle extension (profile ``type: pgtrickle``)."""

from dbt.adapters.base import AdapterPlugin

from dbt.adapters.pgtrickle.connections import (
    PgTrickleConnectionManager,
    PgTrickleCredentials,
)
from dbt.adapters.pgtrickle.impl import PgTrickleAdapter
from dbt.adapters.pgtrickle.relation import PgTrickleRelation, PgTrickleRelationType
from dbt.include import pgtrickle

__all__ = [
    "Plugin",
    "PgTrickleAdapter",
    "PgTrickleConnectionManager",
    "PgTrickleCredentials",
    "PgTrickleRelation",
    "PgTrickleRelationType",
]

Plugin = AdapterPlugin(
    adapter=PgTrickleAdapter,  # type: ignore[arg-type]
    credentials=PgTrickleCredentials,
    include_path=pgtrickle.PACKAGE_PATH,
    dependencies=["postgres"],
    # not the default "dbt_pgtrickle": that is the macro package's name
    project_name="dbt_pgtrickle_adapter",
)
