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
STREAM_TABLE_STATS_MACRO = "pgtrickle__stream_table_stats"

# Catalog stats of a stream table in `dbt docs generate`: (stat id, column
# of pgtrickle__stream_table_stats, label, description).
STREAM_TABLE_STATS: List[Tuple[str, str, str, str]] = [
    ("pgtrickle_status", "status", "Stream table status",
     "ACTIVE, PAUSED, SUSPENDED, ERROR or INITIALIZING (pg_trickle)"),
    ("pgtrickle_refresh_mode", "refresh_mode", "Refresh mode",
     "The refresh mode in effect (FULL or DIFFERENTIAL)"),
    ("pgtrickle_requested_refresh_mode", "requested_refresh_mode", "Requested refresh mode",
     "The refresh mode the model asked for (FULL, DIFFERENTIAL or AUTO)"),
    ("pgtrickle_schedule", "schedule", "Schedule", "The schedule the model asked for"),
    ("pgtrickle_effective_schedule", "effective_schedule", "Effective schedule",
     "The schedule in effect (for calculated, that of the most frequent reader)"),
    ("pgtrickle_data_timestamp", "data_timestamp", "Data timestamp",
     "When the contents were last known equal to the query"),
    ("pgtrickle_staleness", "staleness", "Staleness",
     "Time since the data timestamp, when the catalog was generated"),
    ("pgtrickle_stale", "stale", "Stale",
     "Whether the staleness exceeds twice the effective schedule (ACTIVE tables)"),
    ("pgtrickle_sources", "sources", "Sources", "The tables and stream tables the query reads"),
]
STREAM_TABLE_TYPE = "STREAM TABLE"


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

    def _get_one_catalog(
        self,
        information_schema: Any,
        schemas: Set[str],
        used_schemas: FrozenSet[Tuple[str, str]],
    ) -> "agate.Table":
        table = super()._get_one_catalog(information_schema, schemas, used_schemas)
        return self._with_stream_table_stats(table)

    def _get_one_catalog_by_relations(
        self,
        information_schema: Any,
        relations: List[BaseRelation],
        used_schemas: FrozenSet[Tuple[str, str]],
    ) -> "agate.Table":
        table = super()._get_one_catalog_by_relations(information_schema, relations, used_schemas)
        return self._with_stream_table_stats(table)

    def _with_stream_table_stats(self, table: "agate.Table") -> "agate.Table":
        """The catalog rows of stream tables with table type STREAM TABLE and
        pg_trickle's view of them as dbt stats (shown in the docs site); the
        other rows get the same stat columns, not included."""
        from dbt_common.clients.agate_helper import table_from_rows

        if len(table.rows) == 0 or "table_schema" not in table.column_names:
            return table
        schemas = sorted({str(row["table_schema"]) for row in table})
        result = self.execute_macro(STREAM_TABLE_STATS_MACRO, kwargs={"schemas": schemas})
        info: Dict[Tuple[str, str], Any] = {(row[0], row[1]): row for row in result}
        if not info:
            return table
        names = list(table.column_names)
        stat_columns: List[str] = []
        for stat_id, _, _, _ in STREAM_TABLE_STATS:
            stat_columns += [f"stats:{stat_id}:{part}" for part in ("label", "value", "description")]
        include_columns = [f"stats:{stat_id}:include" for stat_id, _, _, _ in STREAM_TABLE_STATS]
        type_index = names.index("table_type") if "table_type" in names else None
        rows = []
        for row in table:
            values = list(row.values())
            st = info.get((row["table_schema"], row["table_name"]))
            if st is not None and type_index is not None:
                values[type_index] = STREAM_TABLE_TYPE
            stats: List[Any] = []
            for _, column, label, description in STREAM_TABLE_STATS:
                value = st[column] if st is not None else None
                stats += [label, None if value is None else str(value), description]
            values += stats + [st is not None] * len(include_columns)
            rows.append(values)
        text_only = [c for c in names if c.startswith("table_") or c.endswith("_comment")]
        return table_from_rows(rows, names + stat_columns + include_columns,
                               text_only_columns=text_only + stat_columns)

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
