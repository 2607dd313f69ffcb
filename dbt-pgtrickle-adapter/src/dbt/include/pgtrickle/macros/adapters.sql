{#
  Macros of the pgtrickle adapter (dbt-postgres's, dispatched first to
  pgtrickle__ and then to postgres__).  Stream tables are known from
  pg_trickle's catalog, pgtrickle.pgt_stream_tables.
#}

{# The stream tables of one schema, as (schema, name) rows: list_relations_without_caching (impl.py) types them. #}
{% macro pgtrickle__stream_tables_in_schema(schema_relation) %}
  {% call statement('pgtrickle_stream_tables_in_schema', fetch_result=True) -%}
    select pgt_schema, pgt_name
    from pgtrickle.pgt_stream_tables
    where pgt_schema ilike {{ pgtrickle__literal(schema_relation.schema) }}
  {%- endcall %}
  {{ return(load_result('pgtrickle_stream_tables_in_schema').table) }}
{% endmacro %}


{# A text value as an SQL string literal (standard_conforming_strings on or off). #}
{% macro pgtrickle__literal(value) -%}
  {%- if '\\' in value -%}
    E'{{ value | replace('\\', '\\\\') | replace("'", "''") }}'
  {%- else -%}
    '{{ value | replace("'", "''") }}'
  {%- endif -%}
{%- endmacro %}


{#
  Dropping a stream table goes through the extension (storage table,
  defining view, catalog rows, capture objects no other stream table uses),
  with cascade like dbt's `drop ... cascade`: stream tables and views that
  read it go too, as dbt rebuilds them from their models.  Nothing to drop
  when no stream table has that name (dbt drops backup names "if exists").
#}
{% macro pgtrickle__get_drop_sql(relation) -%}
  {%- if relation.type == 'stream_table' -%}
    select pgtrickle.drop_stream_table(format('%I.%I', pgt_schema, pgt_name), cascade => true)
    from pgtrickle.pgt_stream_tables
    where pgt_schema = {{ pgtrickle__literal(relation.schema) }}
      and pgt_name = {{ pgtrickle__literal(relation.identifier) }}
  {%- else -%}
    {{ default__get_drop_sql(relation) }}
  {%- endif -%}
{%- endmacro %}


{#
  Columns of a relation without the stream tables' hidden __pgt_* columns:
  what dbt-postgres reports (information_schema.columns, in column order),
  less those.  Used by adapter.get_columns_in_relation and so by contracts,
  incremental column lists, dbt_utils.star and the like.
#}
{% macro pgtrickle__get_columns_in_relation(relation) -%}
  {% call statement('get_columns_in_relation', fetch_result=True) %}
      select column_name, data_type, character_maximum_length,
             numeric_precision, numeric_scale
      from {{ relation.information_schema('columns') }}
      where table_name = {{ pgtrickle__literal(relation.identifier) }}
        {% if relation.schema -%}
        and table_schema = {{ pgtrickle__literal(relation.schema) }}
        {%- endif %}
        and left(column_name, {{ '__pgt_' | length }}) <> '__pgt_'
      order by ordinal_position
  {% endcall %}
  {% set table = load_result('get_columns_in_relation').table %}
  {{ return(sql_convert_columns_in_relation(table)) }}
{% endmacro %}


{#
  `dbt source freshness` without loaded_at_field: the data_timestamp of each
  source that is a stream table (SPEC section 5: the time its contents were
  last known equal to its query; NULL before the first refresh, which dbt
  reads as "never loaded").  Sources that are not stream tables get no row:
  the adapter then says that they need loaded_at_field.
#}
{% macro pgtrickle__get_relation_last_modified(information_schema, relations) -%}
  {%- call statement('last_modified', fetch_result=True) -%}
    select pgt_schema as schema, pgt_name as identifier,
           data_timestamp as last_modified, now() as snapshotted_at
    from pgtrickle.pgt_stream_tables
    where false
    {%- for relation in relations %}
       or (pgt_schema = {{ pgtrickle__literal(relation.schema) }}
           and pgt_name = {{ pgtrickle__literal(relation.identifier) }})
    {%- endfor %}
  {%- endcall -%}
  {{ return(load_result('last_modified')) }}
{%- endmacro %}


{#
  Catalog stats of the stream tables of some schemas, for `dbt docs
  generate` (impl.py adds them to the catalog rows of those tables): one
  row per stream table with what pgtrickle.stream_tables_info says, and its
  sources as SQL names.
#}
{% macro pgtrickle__stream_table_stats(schemas) %}
  {% call statement('pgtrickle_stream_table_stats', fetch_result=True) -%}
    select s.pgt_schema, s.pgt_name, s.status, s.refresh_mode,
           s.requested_refresh_mode,
           coalesce(s.schedule, 'calculated') as schedule, s.effective_schedule,
           s.data_timestamp::text as data_timestamp,
           justify_interval(date_trunc('second', s.staleness))::text as staleness,
           case when s.stale then 'yes' else 'no' end as stale,
           (select string_agg(format('%I.%I', n.nspname, c.relname), ', '
                              order by n.nspname, c.relname)
            from pgtrickle.pgt_dependencies d
            join pg_catalog.pg_class c on c.oid = d.source_relid
            join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where d.pgt_id = s.pgt_id) as sources
    from pgtrickle.stream_tables_info s
    where false
    {%- for schema in schemas %}
       or s.pgt_schema = {{ pgtrickle__literal(schema) }}
    {%- endfor %}
  {%- endcall %}
  {{ return(load_result('pgtrickle_stream_table_stats').table) }}
{% endmacro %}
