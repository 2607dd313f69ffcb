"""The pgtrickle adapter: dbt-postgres plus what pg_trickle's stream tables need."""

from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional, Set, Tuple

from dbt.adapters.base.relation import BaseRelation
from dbt.adapters.capability import (
    Capability,
    CapabilityDict,
    CapabilitySupport,
    Support,
)
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.postgres.impl import PostgresAdapter
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.pgtrickle.connections import PgTrickleConnectionManager
from dbt.adapters.pgtrickle.relation import PgTrickleRelation, PgTrickleRelationType

if TYPE_CHECKING:
    import agate

logger = AdapterLogger("pgtrickle")

# Columns the extension adds to a stream table for its own bookkeeping
# (SPEC section 2): never part of a model's output.
HIDDEN_COLUMN_PREFIX = "__pgt_"

STREAM_TABLES_IN_SCHEMA_MACRO = "pgtrickle__stream_tables_in_schema"


def is_hidden_column(name: Optional[str]) -> bool:
    return name is not None and name.startswith(HIDDEN_COLUMN_PREFIX)


class PgTrickleAdapter(PostgresAdapter):
    ConnectionManager = PgTrickleConnectionManager
    Relation = PgTrickleRelation  # type: ignore[assignment]

    _capabilities: CapabilityDict = CapabilityDict(
        {
            **PostgresAdapter._capabilities,
            # `dbt source freshness` without loaded_at_field: the
            # data_timestamp of a stream table (get_relation_last_modified)
            Capability.TableLastModifiedMetadata: CapabilitySupport(support=Support.Full),
            Capability.TableLastModifiedMetadataBatch: CapabilitySupport(support=Support.Full),
        }
    )

    # --- relation types -------------------------------------------------

    def list_relations_without_caching(self, schema_relation: BaseRelation) -> List[BaseRelation]:
        """dbt-postgres's listing, with each stream table typed ``stream_table``
        instead of ``table`` (the catalog decides, one query per schema)."""
        relations = super().list_relations_without_caching(schema_relation)
        if not relations:
            return relations
        result = self.execute_macro(
            STREAM_TABLES_IN_SCHEMA_MACRO, kwargs={"schema_relation": schema_relation}
        )
        stream_tables: Set[Tuple[str, str]] = {(row[0], row[1]) for row in result}
        listed: List[BaseRelation] = []
        for relation in relations:
            if (relation.schema, relation.identifier) in stream_tables:
                relation = relation.incorporate(type=PgTrickleRelationType.StreamTable)
            listed.append(relation)
        return listed

    def rename_relation(self, from_relation: BaseRelation, to_relation: BaseRelation) -> None:
        """A stream table is never renamed.  dbt's table and view
        materializations rename the relation they replace to a backup name
        (inside their transaction) and drop the backup once committed; for a
        stream table that would move pg_trickle's catalog row to the backup
        name and keep refreshing it in between.  The stream table is dropped
        in its place instead, with pgtrickle.drop_stream_table, in the same
        transaction (the later drop of the backup name then finds nothing)."""
        if isinstance(from_relation, PgTrickleRelation) and from_relation.is_stream_table:
            logger.info(
                f"pg_trickle: {from_relation} is a stream table; it is dropped "
                f"(pgtrickle.drop_stream_table), not renamed to {to_relation}"
            )
            self.drop_relation(from_relation)
            return
        super().rename_relation(from_relation, to_relation)

    # --- catalog --------------------------------------------------------

    @classmethod
    def _catalog_filter_table(
        cls, table: "agate.Table", used_schemas: FrozenSet[Tuple[str, str]]
    ) -> "agate.Table":
        """dbt's filtering, and the stream tables' hidden columns left out of
        `dbt docs generate`'s catalog."""
        table = super()._catalog_filter_table(table, used_schemas)
        if "column_name" not in table.column_names:
            return table
        return table.where(lambda row: not is_hidden_column(row["column_name"]))

    # --- freshness ------------------------------------------------------

    def calculate_freshness_from_metadata(
        self,
        source: BaseRelation,
        macro_resolver: Optional[Any] = None,
    ) -> Tuple[Optional[Any], Dict[str, Any]]:
        """The data_timestamp of the stream table behind a source (the time
        its contents were last known equal to its query).  A source that is
        no stream table has no such time: say so, and what to configure."""
        adapter_responses, responses = self.calculate_freshness_from_metadata_batch(
            sources=[source], macro_resolver=macro_resolver
        )
        if source not in responses:
            raise DbtRuntimeError(
                f"cannot compute the freshness of {source}: it is not a pg_trickle stream "
                "table, and only stream tables record when their contents were last "
                "refreshed. Set loaded_at_field (or loaded_at_query) for this source."
            )
        adapter_response = adapter_responses[0] if adapter_responses else None
        return adapter_response, responses[source]  # type: ignore[return-value]
