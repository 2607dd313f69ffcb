{#
  pgtrickle_check_cdc_health(fail_on_warning=false)

  run-operation: report the change capture of every stream table source
  (pgtrickle.check_cdc_health()) and fail (non-zero exit) when a source has a
  critical problem: missing or disabled capture triggers, a missing change
  buffer, a dropped source.  Warnings (a growing buffer, no frontier yet)
  are logged, and fail too with fail_on_warning=true.

    dbt run-operation pgtrickle_check_cdc_health
    dbt run-operation pgtrickle_check_cdc_health --args '{fail_on_warning: true}'
#}
{% macro pgtrickle_check_cdc_health(fail_on_warning=false) %}
  {%- if execute -%}
    {%- set results = run_query("select pgt_schema, pgt_name, source_schema, source_table, cdc_mode, buffer_rows, healthy, issue, alert from pgtrickle.check_cdc_health()") -%}
    {%- set problems = [] -%}
    {%- for row in results.rows -%}
      {%- set pair = row['pgt_schema'] ~ '.' ~ row['pgt_name'] ~ ' <- ' ~ row['source_schema'] ~ '.' ~ row['source_table'] -%}
      {%- if row['healthy'] -%}
        {{ log("CDC OK: " ~ pair ~ " [" ~ row['cdc_mode'] ~ "] pending rows: " ~ row['buffer_rows'], info=true) }}
      {%- else -%}
        {{ log("CDC " ~ (row['alert'] | upper) ~ ": " ~ pair ~ ": " ~ row['issue'], info=true) }}
        {%- if row['alert'] == 'critical' or fail_on_warning -%}
          {%- do problems.append(pair ~ ": " ~ row['issue']) -%}
        {%- endif -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if problems | length > 0 -%}
      {{ exceptions.raise_compiler_error("pg_trickle: CDC health check failed:\n  " ~ problems | join("\n  ")) }}
    {%- endif -%}
    {{ log("pg_trickle: CDC health check passed (" ~ results.rows | length ~ " source(s))", info=true) }}
  {%- endif -%}
{% endmacro %}
