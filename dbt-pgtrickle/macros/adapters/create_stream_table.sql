{#
  pgtrickle_create_stream_table_sql(name_sql, query, schedule, refresh_mode, initialize, cdc_mode=none)

  SQL text of a pgtrickle.create_stream_table call.  The materialization runs
  it as its `main` statement; pgtrickle_create_stream_table runs it directly.

  Args:
    name_sql (str): the name as an SQL constant (pgtrickle_relation_name or
      pgtrickle_resolve_name)
    query (str): the defining query, passed through byte for byte
    schedule (str|none): '5m', a cron expression, ...; none or 'calculated'
      for a CALCULATED schedule
    refresh_mode (str): 'DIFFERENTIAL', 'FULL' or 'AUTO'
    initialize (bool): populate at once (true) or on the first refresh
    cdc_mode (str|none): none = the server's pg_trickle.cdc_mode
#}
{% macro pgtrickle_create_stream_table_sql(name_sql, query, schedule, refresh_mode, initialize, cdc_mode=none) %}
  {%- set sql -%}
select pgtrickle.create_stream_table(
    name => {{ name_sql }},
    query => {{ dbt_pgtrickle.pgtrickle_quote_text(query) }},
    schedule => {{ dbt_pgtrickle.pgtrickle_quote_text(dbt_pgtrickle.pgtrickle_schedule_value(schedule)) }},
    refresh_mode => {{ dbt_pgtrickle.pgtrickle_quote_text(refresh_mode) }},
    initialize => {{ 'true' if initialize else 'false' }},
    cdc_mode => {{ dbt_pgtrickle.pgtrickle_quote_text(cdc_mode) }})
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}


{#
  pgtrickle_create_stream_table(name, query, schedule='1m', refresh_mode='DIFFERENTIAL', initialize=true, cdc_mode=none)

  Creates a stream table outside a model (e.g. from a run-operation) and
  commits.  `name` is an SQL name or the name of a model (pgtrickle_resolve_name).
#}
{% macro pgtrickle_create_stream_table(name, query, schedule='1m', refresh_mode='DIFFERENTIAL', initialize=true, cdc_mode=none) %}
  {% do dbt_pgtrickle.pgtrickle_run_and_commit(dbt_pgtrickle.pgtrickle_create_stream_table_sql(dbt_pgtrickle.pgtrickle_resolve_name(name), query, schedule, refresh_mode, initialize, cdc_mode)) %}
  {{ log("pg_trickle: created stream table " ~ name, info=true) }}
{% endmacro %}


{#
  pgtrickle_schedule_value(schedule)

  What the API takes for a schedule config: none and 'calculated' (any case)
  mean CALCULATED, which create_stream_table takes as NULL; anything else is
  passed on trimmed (the catalog stores schedules trimmed, so comparing
  against it needs the same form).
#}
{% macro pgtrickle_schedule_value(schedule) %}
  {%- if schedule is none or (schedule | string | trim | lower) == 'calculated' -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(schedule | string | trim) }}
{% endmacro %}
