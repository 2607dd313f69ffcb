{#
  pgtrickle_drop_stream_table_sql(name_sql, cascade=false)

  SQL text of a pgtrickle.drop_stream_table call.  Without cascade the
  extension refuses (SQLSTATE 2BP01) when other stream tables read this one.
#}
{% macro pgtrickle_drop_stream_table_sql(name_sql, cascade=false) %}
  {{ return("select pgtrickle.drop_stream_table(name => " ~ name_sql ~ ", cascade => " ~ ('true' if cascade else 'false') ~ ")") }}
{% endmacro %}


{#
  pgtrickle_drop_stream_table(name, cascade=false)

  Drops a stream table and commits.  `name` is an SQL name or the name of a
  model (pgtrickle_resolve_name).
#}
{% macro pgtrickle_drop_stream_table(name, cascade=false) %}
  {% do dbt_pgtrickle.pgtrickle_run_and_commit(dbt_pgtrickle.pgtrickle_drop_stream_table_sql(dbt_pgtrickle.pgtrickle_resolve_name(name), cascade)) %}
  {{ log("pg_trickle: dropped stream table " ~ name, info=true) }}
{% endmacro %}
