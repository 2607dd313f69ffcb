"""Relations of the pgtrickle adapter: dbt-postgres's, plus ``stream_table``."""

from dataclasses import dataclass
from typing import Optional, Type

from dbt.adapters.postgres.relation import PostgresRelation
from dbt_common.dataclass_schema import StrEnum
from dbt.adapters.utils import classproperty


class PgTrickleRelationType(StrEnum):
    """dbt's relation types (every member of dbt-adapters' ``RelationType``
    up to 1.24) plus ``stream_table``.  An enum cannot be extended, so the
    members are repeated; members a given dbt does not know are harmless."""

    Table = "table"
    View = "view"
    CTE = "cte"
    MaterializedView = "materialized_view"
    Ephemeral = "ephemeral"
    External = "external"
    PointerTable = "pointer_table"
    Function = "function"
    StreamTable = "stream_table"


@dataclass(frozen=True, eq=False, repr=False)
class PgTrickleRelation(PostgresRelation):
    """A PostgreSQL relation whose type may be ``stream_table``.

    ``renameable_relations`` and ``replaceable_relations`` stay dbt-postgres's
    (table, view): a stream table is never renamed or swapped by dbt.  A
    rename would carry pg_trickle's catalog along to dbt's backup name, which
    dbt then drops; dbt's materializations drop a relation that cannot be
    renamed instead, and the adapter drops a stream table through
    ``pgtrickle.drop_stream_table`` (see impl.py and README.md)."""

    type: Optional[PgTrickleRelationType] = None  # type: ignore[assignment]

    @classproperty
    def get_relation_type(cls) -> Type[PgTrickleRelationType]:  # type: ignore[override]
        return PgTrickleRelationType

    @classproperty
    def StreamTable(cls) -> str:
        return str(PgTrickleRelationType.StreamTable)

    @property
    def is_stream_table(self) -> bool:
        return self.type == PgTrickleRelationType.StreamTable
