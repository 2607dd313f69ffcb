{#
  Generic test stream_table_healthy: one failing row per problem of the
  stream table behind the model:
    * it is not a stream table at all;
    * status ERROR or SUSPENDED;
    * stale (the contract's definition: ACTIVE and older than twice its
      effective schedule);
    * not populated yet;
    * more than max_consecutive_errors refresh errors in a row.
  A PAUSED table is healthy unless another point applies.

    models:
      - name: order_totals
        data_tests:     # `tests:` before dbt 1.8
          - dbt_pgtrickle.stream_table_healthy
#}
{% test stream_table_healthy(model, max_consecutive_errors=0) %}
with st as (
    select status, stale, is_populated, consecutive_errors, last_error_message,
           staleness, effective_schedule
    from pgtrickle.pg_stat_stream_tables
    where pgt_schema = {{ dbt_pgtrickle.pgtrickle_quote_text(model.schema) }}
      and pgt_name = {{ dbt_pgtrickle.pgtrickle_quote_text(model.identifier) }}
)
select 'not a stream table' as problem
where not exists (select 1 from st)
union all
select 'status ' || status from st where status in ('ERROR', 'SUSPENDED')
union all
select 'stale: ' || coalesce(staleness::text, 'never refreshed') || ' old, effective schedule ' || effective_schedule
from st where stale
union all
select 'not populated' from st where not is_populated
union all
select consecutive_errors || ' consecutive refresh error(s): ' || coalesce(last_error_message, '')
from st where consecutive_errors > {{ max_consecutive_errors }}
{% endtest %}
