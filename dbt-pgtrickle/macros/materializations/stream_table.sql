{#
  materialized='stream_table'

  Keeps a pg_trickle stream table equal to the model's compiled SQL.  Each
  run makes exactly one of these changes, in the `main` statement, so it is
  what target/run/ shows and what run_results.json reports:

    CREATE STREAM TABLE   no stream table of that name yet (an existing
                          table or view of that name is dropped first, in the
                          same transaction unless the profile uses autocommit)
    REINITIALIZE STREAM TABLE  --full-refresh (see should_full_refresh,
                          which honours `full_refresh: false`): the query is
                          handed to alter_stream_table even if unchanged,
                          which recomputes the contents from scratch in place
    ALTER STREAM TABLE    the query, schedule, refresh mode or status differ
                          from the catalog: one alter_stream_table call, in
                          place (no drop; the table keeps its OID when the
                          output columns stay compatible)
    STREAM TABLE UNCHANGED nothing differs: the main statement only reads the
                          catalog

  The query is compared with original_query, the text exactly as last given
  to the extension, not with defining_query (PostgreSQL's deparsed form,
  which never equals what dbt compiles).

  on_configuration_change ('apply', the default | 'continue' | 'fail'), as
  for dbt's materialized views: what a run does when the stream table
  differs from the model (query, schedule, refresh mode, status): apply it
  as above, leave it as it is with a warning (STREAM TABLE UNCHANGED), or
  fail the model.  --full-refresh applies whatever the setting.

  Config keys: schedule ('1m'; 'calculated' for CALCULATED), refresh_mode
  ('DIFFERENTIAL' | 'FULL' | 'AUTO'), initialize (true), status (none |
  'ACTIVE' | 'PAUSED'), cdc_mode (none), plus dbt's schema, alias, grants,
  indexes, persist_docs, pre_hook/post_hook and full_refresh.
#}
{% materialization stream_table, adapter='postgres' %}

  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}

  {%- set schedule = dbt_pgtrickle.pgtrickle_schedule_value(config.get('schedule', '1m')) -%}
  {%- set refresh_mode = (config.get('refresh_mode') or 'DIFFERENTIAL') | upper -%}
  {%- set initialize = config.get('initialize', true) -%}
  {%- set cdc_mode = config.get('cdc_mode') -%}
  {%- set status = config.get('status') -%}
  {%- if status is not none -%}
    {%- set status = status | upper -%}
    {%- if status not in ('ACTIVE', 'PAUSED') -%}
      {{ exceptions.raise_compiler_error("pg_trickle: model " ~ model.name ~ ": status must be 'ACTIVE' or 'PAUSED', not '" ~ status ~ "'") }}
    {%- endif -%}
  {%- endif -%}
  {%- set full_refresh_mode = should_full_refresh() -%}
  {%- set on_change = (config.get('on_configuration_change') or 'apply') | lower -%}
  {%- if on_change not in ('apply', 'continue', 'fail') -%}
    {{ exceptions.raise_compiler_error("pg_trickle: model " ~ model.name ~ ": on_configuration_change must be 'apply', 'continue' or 'fail', not '" ~ on_change ~ "'") }}
  {%- endif -%}
  {%- set grant_config = config.get('grants') -%}
  {%- set name_sql = dbt_pgtrickle.pgtrickle_relation_name(target_relation) -%}

  {#- A model contract is checked as for tables: the query's column names
      and types must be the declared ones, before anything is created or
      altered.  Constraints are not applied: a stream table is written only
      by refreshes, so a NOT NULL or CHECK would fail a refresh (and put the
      table in ERROR) instead of a write; use data tests (not_null, unique)
      and the indexes config. -#}
  {%- set contract_config = config.get('contract') -%}
  {%- if contract_config and contract_config.enforced -%}
    {{ get_assert_columns_equivalent(sql) }}
    {%- set declared = [] -%}
    {%- for column in model.get('columns', {}).values() if column.get('constraints') -%}
      {%- do declared.append(column['name']) -%}
    {%- endfor -%}
    {%- if model.get('constraints') or declared -%}
      {{ exceptions.warn("pg_trickle: model " ~ model.name ~ ": constraints are not applied to stream tables (a refresh would fail on them); use data tests such as not_null and unique, and the indexes config") }}
    {%- endif -%}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {#- The catalog decides whether a stream table exists: to dbt's cache it is
      just a table. -#}
  {%- set current = dbt_pgtrickle.pgtrickle_get_stream_table_info(target_relation) -%}
  {%- set statements = [] -%}
  {%- set changed = [] -%}

  {%- if current is none -%}
    {%- set action = 'CREATE' -%}
    {%- if existing_relation is not none -%}
      {{ log("pg_trickle: " ~ target_relation ~ " is a " ~ existing_relation.type ~ ", replacing it with a stream table", info=true) }}
      {%- do adapter.drop_relation(existing_relation) -%}
    {%- endif -%}
    {%- do statements.append(dbt_pgtrickle.pgtrickle_create_stream_table_sql(name_sql, sql, schedule, refresh_mode, initialize, cdc_mode)) -%}
    {%- if status == 'PAUSED' -%}
      {%- do statements.append(dbt_pgtrickle.pgtrickle_alter_stream_table_sql(name_sql, status='PAUSED')) -%}
    {%- endif -%}

  {%- else -%}
    {%- set new_query = none -%}
    {%- set new_schedule = none -%}
    {%- set new_mode = none -%}
    {%- set new_status = none -%}
    {#- A full refresh hands the query over even when it is unchanged: the
        extension then rebuilds the contents from scratch, in place (one
        transaction, same table, stream tables that read it keep working),
        where drop + create would be refused while other stream tables read
        it. -#}
    {%- if current['original_query'] != sql or full_refresh_mode -%}
      {%- set new_query = sql -%}
      {%- do changed.append('query') -%}
    {%- endif -%}
    {%- if current['schedule'] != schedule -%}
      {%- set new_schedule = schedule -%}
      {%- do changed.append('schedule') -%}
    {%- endif -%}
    {#- requested, not effective: AUTO may be in effect as FULL -#}
    {%- if current['requested_refresh_mode'] != refresh_mode -%}
      {%- set new_mode = refresh_mode -%}
      {%- do changed.append('refresh_mode') -%}
    {%- endif -%}
    {#- ACTIVE also resumes a table in ERROR or SUSPENDED: the config says it
        should be running.  No status config leaves the status alone. -#}
    {%- if status == 'PAUSED' and current['status'] != 'PAUSED' -%}
      {%- set new_status = status -%}
    {%- elif status == 'ACTIVE' and current['status'] in ('PAUSED', 'ERROR', 'SUSPENDED') -%}
      {%- set new_status = status -%}
    {%- endif -%}
    {%- if new_status is not none -%}
      {%- do changed.append('status') -%}
    {%- endif -%}
    {%- if cdc_mode is not none and (cdc_mode | lower) != (current['cdc_mode'] | lower) -%}
      {{ log("pg_trickle: " ~ target_relation ~ ": cdc_mode '" ~ cdc_mode ~ "' differs from '" ~ current['cdc_mode'] ~ "'; it is set at creation only: drop the stream table (run-operation pgtrickle_drop_stream_table) and run again to apply it", info=true) }}
    {%- endif -%}

    {#- on_configuration_change, as for dbt's materialized views: 'continue'
        leaves a differing stream table as it is (with a warning), 'fail'
        fails the model; --full-refresh applies whatever the setting. -#}
    {%- if changed | length > 0 and not full_refresh_mode and on_change != 'apply' -%}
      {%- set differs = "pg_trickle: " ~ target_relation ~ " differs from model " ~ model.name ~ " (" ~ changed | join(', ') ~ ")" -%}
      {%- if on_change == 'fail' -%}
        {{ exceptions.raise_compiler_error(differs ~ " and on_configuration_change is 'fail': set it to 'apply', or run with --full-refresh") }}
      {%- endif -%}
      {{ exceptions.warn(differs ~ "; on_configuration_change is 'continue', so it is left as it is") }}
      {%- set changed = [] -%}
    {%- endif -%}

    {%- if changed | length > 0 -%}
      {%- set action = 'REINITIALIZE' if full_refresh_mode else 'ALTER' -%}
      {%- do statements.append(dbt_pgtrickle.pgtrickle_alter_stream_table_sql(name_sql,
            schedule=new_schedule, refresh_mode=new_mode, status=new_status,
            query=new_query, calculated=('schedule' in changed and schedule is none))) -%}
    {%- else -%}
      {%- set action = 'UNCHANGED' -%}
      {%- set check_sql -%}
-- pg_trickle: stream table {{ target_relation }} is up to date with the model; nothing to change
select pgt_id, status from pgtrickle.pgt_stream_tables where pgt_id = {{ current['pgt_id'] }}
      {%- endset -%}
      {%- do statements.append(check_sql) -%}
    {%- endif -%}
  {%- endif -%}

  {% call statement('main') -%}
    {{ statements | join(";\n") }}
  {%- endcall %}

  {#- The response of the last statement ("SELECT 1") says nothing; report
      what was done instead. -#}
  {%- set messages = {
        'CREATE': 'CREATE STREAM TABLE',
        'REINITIALIZE': 'REINITIALIZE STREAM TABLE',
        'ALTER': 'ALTER STREAM TABLE (' ~ changed | join(', ') ~ ')',
        'UNCHANGED': 'STREAM TABLE UNCHANGED'} -%}
  {%- do store_raw_result(name='main', message=messages[action], code=action, rows_affected=none) -%}
  {{ log("pg_trickle: " ~ target_relation ~ ": " ~ messages[action], info=true) }}

  {%- set created = action == 'CREATE' -%}
  {%- do dbt_pgtrickle.pgtrickle_ensure_indexes(target_relation) -%}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  {#- A table that stayed may carry grants that were removed from the config. -#}
  {%- do apply_grants(target_relation, grant_config, should_revoke=(not created)) -%}
  {%- do persist_docs(target_relation, model) -%}

  {{ adapter.commit() }}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}
