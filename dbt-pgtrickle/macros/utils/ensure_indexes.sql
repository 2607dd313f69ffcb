{#
  pgtrickle_ensure_indexes(relation)

  Creates the indexes of the model's `indexes` config that the storage table
  of a stream table does not have yet.

  Why not dbt's create_indexes alone: the table materialization rebuilds the
  table every run, so it creates every index every time; a stream table
  persists across runs, and dbt-postgres names indexes after a hash that
  includes the current time, so `create index if not exists` would add a
  duplicate on each run.  Here an index counts as present when one on the
  same columns (in order), with the same uniqueness and access method, exists.
  Indexes removed from the config are left alone (run with --full-refresh to
  rebuild the table with exactly the configured ones).

  Returns: the number of indexes created.
#}
{% macro pgtrickle_ensure_indexes(relation) %}
  {%- set wanted = config.get('indexes', default=[]) or [] -%}
  {%- if wanted | length == 0 -%}
    {{ return(0) }}
  {%- endif -%}
  {%- set existing_sql -%}
    select i.indisunique as is_unique, am.amname as method,
           string_agg(a.attname, ',' order by k.ord) as columns
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_am am on am.oid = ic.relam
    cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
    left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = to_regclass({{ dbt_pgtrickle.pgtrickle_relation_name(relation) }})
    group by i.indexrelid, i.indisunique, am.amname
  {%- endset -%}
  {%- set present = [] -%}
  {%- for row in run_query(existing_sql).rows -%}
    {%- do present.append((row['is_unique'], row['method'], row['columns'])) -%}
  {%- endfor -%}
  {%- set state = namespace(created=0) -%}
  {%- for index_dict in wanted -%}
    {%- set columns = [] -%}
    {%- for column in index_dict.get('columns', []) -%}
      {#- config columns may be written quoted; the catalog has bare names -#}
      {%- do columns.append(column | replace('"', '') | trim) -%}
    {%- endfor -%}
    {%- set key = (true if index_dict.get('unique') else false, (index_dict.get('type') or 'btree') | lower, columns | join(',')) -%}
    {%- if key not in present -%}
      {%- set create_sql = get_create_index_sql(relation, index_dict) -%}
      {%- if create_sql -%}
        {% call statement('pgtrickle_create_index') %}{{ create_sql }}{% endcall %}
        {%- do present.append(key) -%}
        {%- set state.created = state.created + 1 -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(state.created) }}
{% endmacro %}
