{#
  drop_all_stream_tables()

  run-operation: drop the stream tables of this project's stream_table
  models (and only those: stream tables made outside dbt stay).  A table that
  other stream tables read is dropped after them; when one of those readers
  is not a model of this project, or a view depends on one, the operation
  fails and names it, rather than dropping it by cascade (tables dropped
  before that stay dropped).

    dbt run-operation drop_all_stream_tables
#}
{% macro drop_all_stream_tables() %}
  {%- if execute -%}
    {%- set pgt_ids = [] -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type == 'model' and node.config.materialized == 'stream_table' -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- set info = dbt_pgtrickle.pgtrickle_get_stream_table_info(relation) -%}
        {%- if info is not none -%}
          {%- do pgt_ids.append(info['pgt_id']) -%}
        {%- endif -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set dropped = dbt_pgtrickle.pgtrickle_drop_stream_tables_by_id(pgt_ids, cascade=false) -%}
    {{ log("pg_trickle: dropped " ~ dropped ~ " dbt-managed stream table(s)", info=true) }}
  {%- endif -%}
{% endmacro %}


{#
  drop_all_stream_tables_force()

  run-operation: drop EVERY stream table of the database, including those
  not made by dbt (readers first; cascade for anything left).  For throwaway
  environments.

    dbt run-operation drop_all_stream_tables_force
#}
{% macro drop_all_stream_tables_force() %}
  {%- if execute -%}
    {%- set pgt_ids = run_query("select pgt_id from pgtrickle.pgt_stream_tables order by pgt_id").columns[0].values() | list -%}
    {%- set dropped = dbt_pgtrickle.pgtrickle_drop_stream_tables_by_id(pgt_ids, cascade=true) -%}
    {{ log("pg_trickle: force-dropped " ~ dropped ~ " stream table(s)", info=true) }}
  {%- endif -%}
{% endmacro %}


{#
  pgtrickle_drop_stream_tables_by_id(pgt_ids, cascade=false)

  Drops the stream tables with these catalog ids, readers before the tables
  they read, each in a transaction of its own.  With cascade=false a table still read by a stream
  table outside the set stops the operation with an error naming it.
  Returns: the number of tables dropped.
#}
{% macro pgtrickle_drop_stream_tables_by_id(pgt_ids, cascade=false) %}
  {%- set state = namespace(remaining=pgt_ids | list, dropped=0) -%}
  {#- Each pass drops the tables of the set that no remaining stream table
      reads; a chain of n tables needs n passes. -#}
  {%- for pass in range(pgt_ids | length) -%}
    {%- if state.remaining | length > 0 -%}
      {%- set leaves_sql -%}
        select s.pgt_id, format('%I.%I', s.pgt_schema, s.pgt_name) as qualified_name
        from pgtrickle.pgt_stream_tables s
        where s.pgt_id in ({{ state.remaining | join(', ') }})
          and not exists (
            select 1 from pgtrickle.pgt_dependencies d
            join pgtrickle.pgt_stream_tables r on r.pgt_id = d.pgt_id
            where d.source_relid = s.pgt_relid
              and r.pgt_id in ({{ state.remaining | join(', ') }}))
        order by s.pgt_id
      {%- endset -%}
      {%- set leaves = run_query(leaves_sql) -%}
      {%- for row in leaves.rows -%}
        {% do dbt_pgtrickle.pgtrickle_run_and_commit(dbt_pgtrickle.pgtrickle_drop_stream_table_sql(dbt_pgtrickle.pgtrickle_quote_text(row['qualified_name']), cascade)) %}
        {{ log("pg_trickle: dropped stream table " ~ row['qualified_name'], info=true) }}
        {%- set state.dropped = state.dropped + 1 -%}
      {%- endfor -%}
      {%- set left_sql -%}
        select pgt_id from pgtrickle.pgt_stream_tables
        where pgt_id in ({{ state.remaining | join(', ') }})
      {%- endset -%}
      {%- set state.remaining = run_query(left_sql).columns[0].values() | list -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(state.dropped) }}
{% endmacro %}
