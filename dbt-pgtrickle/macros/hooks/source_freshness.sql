{#
  pgtrickle_check_freshness(model_name=none, warn_seconds=none, error_seconds=none)

  run-operation: check that stream tables are fresh, and fail (non-zero
  exit) when one is not.  Freshness is the one of the pg_trickle contract,
  read from pgtrickle.pg_stat_stream_tables: staleness = now() -
  data_timestamp, and a table is stale when it is ACTIVE and its staleness
  exceeds twice its effective schedule.  PAUSED tables are reported, never
  failed.  Optional thresholds tighten the check:

    dbt run-operation pgtrickle_check_freshness
    dbt run-operation pgtrickle_check_freshness --args '{model_name: order_totals, warn_seconds: 300, error_seconds: 900}'

  Args:
    model_name (str|none): one stream table (a model of this project or an
      SQL name), or all stream tables of the database
    warn_seconds (int|none): log a warning above this staleness
    error_seconds (int|none): fail above this staleness too (ACTIVE tables)
#}
{% macro pgtrickle_check_freshness(model_name=none, warn_seconds=none, error_seconds=none) %}
  {%- if execute -%}
    {%- set query -%}
      select format('%I.%I', pgt_schema, pgt_name) as name, status, stale,
             extract(epoch from staleness)::bigint as staleness_seconds,
             effective_schedule, consecutive_errors, last_error_message
      from pgtrickle.pg_stat_stream_tables
      {% if model_name is not none -%}
      where pgt_id = (select pgt_id from pgtrickle.pgt_stream_tables
                      where pgt_relid = to_regclass({{ dbt_pgtrickle.pgtrickle_resolve_name(model_name) }}))
      {%- endif %}
      order by pgt_schema, pgt_name
    {%- endset -%}
    {%- set results = run_query(query) -%}
    {%- if model_name is not none and results.rows | length == 0 -%}
      {{ exceptions.raise_compiler_error("pg_trickle: no stream table " ~ model_name) }}
    {%- endif -%}
    {%- set errors = [] -%}
    {%- for row in results.rows -%}
      {%- set age = row['staleness_seconds'] -%}
      {%- set age_text = ('never refreshed' if age is none else age ~ 's old') ~ ', effective schedule ' ~ row['effective_schedule'] -%}
      {%- if row['status'] != 'ACTIVE' -%}
        {{ log("SKIP: " ~ row['name'] ~ " is " ~ row['status'] ~ " (" ~ age_text ~ ")", info=true) }}
      {%- elif row['stale'] -%}
        {{ log("ERROR: " ~ row['name'] ~ " is stale (" ~ age_text ~ ")", info=true) }}
        {%- do errors.append(row['name']) -%}
      {%- elif error_seconds is not none and age is not none and age > error_seconds -%}
        {{ log("ERROR: " ~ row['name'] ~ " is older than " ~ error_seconds ~ "s (" ~ age_text ~ ")", info=true) }}
        {%- do errors.append(row['name']) -%}
      {%- elif warn_seconds is not none and age is not none and age > warn_seconds -%}
        {{ log("WARN: " ~ row['name'] ~ " is older than " ~ warn_seconds ~ "s (" ~ age_text ~ ")", info=true) }}
      {%- else -%}
        {{ log("OK: " ~ row['name'] ~ " is fresh (" ~ age_text ~ ")", info=true) }}
      {%- endif -%}
      {%- if row['consecutive_errors'] > 0 -%}
        {{ log("WARN: " ~ row['name'] ~ ": " ~ row['consecutive_errors'] ~ " consecutive refresh error(s): " ~ row['last_error_message'], info=true) }}
      {%- endif -%}
    {%- endfor -%}
    {%- if errors | length > 0 -%}
      {{ exceptions.raise_compiler_error("pg_trickle: freshness check failed for " ~ errors | length ~ " stream table(s): " ~ errors | join(", ")) }}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}


{#
  pgtrickle_loaded_at_query(relation)

  For native `dbt source freshness` (dbt-core 1.10 and later, source config
  `loaded_at_query`): the SQL that returns the data_timestamp of the stream
  table behind a source, i.e. the time its contents were last known equal
  to its query.  In a sources file:

    loaded_at_query: "{{ dbt_pgtrickle.pgtrickle_loaded_at_query(this) }}"
#}
{% macro pgtrickle_loaded_at_query(relation) %}
  {{ return("select data_timestamp from pgtrickle.pgt_stream_tables where pgt_schema = "
            ~ dbt_pgtrickle.pgtrickle_quote_text(relation.schema) ~ " and pgt_name = "
            ~ dbt_pgtrickle.pgtrickle_quote_text(relation.identifier)) }}
{% endmacro %}
