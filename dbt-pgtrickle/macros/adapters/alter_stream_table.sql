{#
  pgtrickle_alter_stream_table_sql(name_sql, schedule=none, refresh_mode=none, status=none, query=none, calculated=false)

  SQL text of one pgtrickle.alter_stream_table call.  Every argument left at
  none is passed as NULL, which the API reads as "unchanged", so one call
  changes exactly what differs.  A changed query is applied in place: one
  transaction, the storage table keeps its OID when the output columns are
  compatible, readers see the old contents until the new ones commit.

  Args:
    name_sql (str): the name as an SQL constant
    schedule (str|none): new schedule, none = unchanged
    refresh_mode, status, query (str|none): new values, none = unchanged
    calculated (bool): switch to a CALCULATED schedule (NULL would mean
      "unchanged" here, so the API takes the word 'calculated')
#}
{% macro pgtrickle_alter_stream_table_sql(name_sql, schedule=none, refresh_mode=none, status=none, query=none, calculated=false) %}
  {%- set sql -%}
select pgtrickle.alter_stream_table(
    name => {{ name_sql }},
    schedule => {{ dbt_pgtrickle.pgtrickle_quote_text('calculated' if calculated else schedule) }},
    refresh_mode => {{ dbt_pgtrickle.pgtrickle_quote_text(refresh_mode) }},
    status => {{ dbt_pgtrickle.pgtrickle_quote_text(status) }},
    query => {{ dbt_pgtrickle.pgtrickle_quote_text(query) }})
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}


{#
  pgtrickle_alter_stream_table(name, schedule=none, refresh_mode=none, status=none, query=none)

  Alters a stream table outside a model (e.g. from a run-operation) and
  commits.  none = unchanged; schedule 'calculated' sets CALCULATED.
  `name` is an SQL name or the name of a model (pgtrickle_resolve_name).
#}
{% macro pgtrickle_alter_stream_table(name, schedule=none, refresh_mode=none, status=none, query=none) %}
  {% do dbt_pgtrickle.pgtrickle_run_and_commit(dbt_pgtrickle.pgtrickle_alter_stream_table_sql(dbt_pgtrickle.pgtrickle_resolve_name(name), schedule, refresh_mode, status, query)) %}
  {{ log("pg_trickle: altered stream table " ~ name, info=true) }}
{% endmacro %}
