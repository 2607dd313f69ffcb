{#
  pgtrickle_get_stream_table_info(relation)

  Reads the catalog row of a stream table (pgtrickle.pgt_stream_tables).

  Args:
    relation: a dbt relation (matched on its schema and identifier, exactly
      as stored, no case folding) or a string (an SQL name resolved by
      PostgreSQL with to_regclass, so quoting rules apply and nothing is split
      on '.').
  Returns: a row with pgt_id, pgt_relid, pgt_schema, pgt_name, original_query,
    schedule, refresh_mode, requested_refresh_mode, status, is_populated,
    cdc_mode; or none when no such stream table exists (also at parse time).
#}
{% macro pgtrickle_get_stream_table_info(relation) %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set lookup_sql -%}
    select pgt_id, pgt_relid::bigint as pgt_relid, pgt_schema, pgt_name,
           original_query, schedule, refresh_mode, requested_refresh_mode,
           status, is_populated, cdc_mode
    from pgtrickle.pgt_stream_tables
    {% if relation is string -%}
    where pgt_relid = to_regclass({{ dbt_pgtrickle.pgtrickle_quote_text(relation) }})
    {%- else -%}
    where pgt_schema = {{ dbt_pgtrickle.pgtrickle_quote_text(relation.schema) }}
      and pgt_name = {{ dbt_pgtrickle.pgtrickle_quote_text(relation.identifier) }}
    {%- endif %}
  {%- endset -%}
  {%- set result = run_query(lookup_sql) -%}
  {%- if result and result.rows | length > 0 -%}
    {{ return(result.rows[0]) }}
  {%- endif -%}
  {{ return(none) }}
{% endmacro %}


{#
  pgtrickle_stream_table_exists(relation)

  True when `relation` (a dbt relation or an SQL name, see
  pgtrickle_get_stream_table_info) is a stream table.  The catalog is the
  authority, not dbt's relation cache: a stream table is a plain table to dbt.
#}
{% macro pgtrickle_stream_table_exists(relation) %}
  {{ return(dbt_pgtrickle.pgtrickle_get_stream_table_info(relation) is not none) }}
{% endmacro %}
