{#
  pgtrickle_refresh(model_name, schema=none)

  run-operation: refresh one stream table now (synchronously, committed when
  the operation ends).  Upstream stream tables are not refreshed.

    dbt run-operation pgtrickle_refresh --args '{model_name: order_totals}'
    dbt run-operation pgtrickle_refresh --args '{model_name: order_totals, schema: analytics}'
    dbt run-operation pgtrickle_refresh --args '{model_name: "\"My Schema\".\"Order Totals\""}'

  Args:
    model_name (str): a model of this project (its configured schema and
      alias are used), or an SQL name (quoted as SQL identifiers where
      needed; unqualified names follow search_path)
    schema (str|none): take model_name as a bare table name in this schema
#}
{% macro pgtrickle_refresh(model_name, schema=none) %}
  {%- if execute -%}
    {%- set name_sql = dbt_pgtrickle.pgtrickle_resolve_name(model_name, schema) -%}
    {% do dbt_pgtrickle.pgtrickle_run_and_commit(dbt_pgtrickle.pgtrickle_refresh_stream_table_sql(name_sql)) %}
    {{ log("pg_trickle: refreshed " ~ name_sql, info=true) }}
  {%- endif -%}
{% endmacro %}
