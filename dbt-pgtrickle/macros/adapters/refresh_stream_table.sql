{#
  pgtrickle_refresh_stream_table_sql(name_sql)

  SQL text of a pgtrickle.refresh_stream_table call: a synchronous refresh
  in the caller's transaction (upstream stream tables are not refreshed).
#}
{% macro pgtrickle_refresh_stream_table_sql(name_sql) %}
  {{ return("select pgtrickle.refresh_stream_table(name => " ~ name_sql ~ ")") }}
{% endmacro %}


{#
  pgtrickle_refresh_stream_table(name)

  Refreshes a stream table now and commits.  `name` is an SQL name or the
  name of a model (pgtrickle_resolve_name).
#}
{% macro pgtrickle_refresh_stream_table(name) %}
  {% do dbt_pgtrickle.pgtrickle_run_and_commit(dbt_pgtrickle.pgtrickle_refresh_stream_table_sql(dbt_pgtrickle.pgtrickle_resolve_name(name))) %}
  {{ log("pg_trickle: refreshed stream table " ~ name, info=true) }}
{% endmacro %}
