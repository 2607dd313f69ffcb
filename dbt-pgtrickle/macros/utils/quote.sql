{#
  pgtrickle_quote_text(value)

  Renders `value` as a PostgreSQL text constant, or NULL when it is none.

  Why not dbt.string_literal: on Postgres it only wraps the value in single
  quotes, so a model whose SQL contains a quote would break the call (or,
  worse, change its meaning).  Why not doubling single quotes: with
  standard_conforming_strings = off a backslash would still escape.  A
  dollar-quoted constant is read byte for byte whatever the settings, as long
  as its closing delimiter does not occur in the text.  The tag is picked so
  that it does not occur in the text at all, which also rules out a text that
  ends in a prefix of the closing delimiter (e.g. "...$pgtrickle_0").

  Args:
    value: any value; it is converted to a string first.
  Returns: SQL text such as $pgtrickle_0$select 'a'$pgtrickle_0$, or NULL.
#}
{% macro pgtrickle_quote_text(value) %}
  {%- if value is none -%}
    {{ return('NULL') }}
  {%- endif -%}
  {%- set text = value | string -%}
  {%- set state = namespace(tag=none) -%}
  {%- for n in range(1000) -%}
    {%- set candidate = 'pgtrickle_' ~ n -%}
    {%- if state.tag is none and candidate not in text -%}
      {%- set state.tag = candidate -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if state.tag is none -%}
    {{ exceptions.raise_compiler_error("pg_trickle: found no dollar-quote tag that does not occur in the text") }}
  {%- endif -%}
  {{ return('$' ~ state.tag ~ '$' ~ text ~ '$' ~ state.tag ~ '$') }}
{% endmacro %}


{#
  pgtrickle_relation_name(relation)

  The name to hand to the pg_trickle API for a dbt relation: schema and table
  quoted as identifiers (dbt-postgres quotes by default), without the
  database part, which the extension does not take.  The extension parses
  it as an SQL name, so "My Schema"."Order Totals" works; nothing here splits
  on '.'.

  Returns: SQL text constant, e.g. $pgtrickle_0$"analytics"."order_totals"$pgtrickle_0$
#}
{% macro pgtrickle_relation_name(relation) %}
  {{ return(dbt_pgtrickle.pgtrickle_quote_text(relation.include(database=false) | string)) }}
{% endmacro %}


{#
  pgtrickle_resolve_name(model_name, schema=none)

  Turns what a user passes to a run-operation into a name for the API:
    * the name of a dbt model or seed of this project -> its relation;
    * with `schema` -> schema and name, each quoted as an identifier;
    * anything else is passed on as written: an SQL name such as
      analytics.order_totals or "My Schema"."Order Totals", resolved by the
      extension the way CREATE TABLE resolves names (search_path).
  Returns: SQL text constant (see pgtrickle_quote_text).
#}
{% macro pgtrickle_resolve_name(model_name, schema=none) %}
  {%- if schema is not none -%}
    {{ return(dbt_pgtrickle.pgtrickle_quote_text(adapter.quote(schema) ~ '.' ~ adapter.quote(model_name))) }}
  {%- endif -%}
  {%- set relation = dbt_pgtrickle.pgtrickle_model_relation(model_name) -%}
  {%- if relation is not none -%}
    {{ return(dbt_pgtrickle.pgtrickle_relation_name(relation)) }}
  {%- endif -%}
  {{ return(dbt_pgtrickle.pgtrickle_quote_text(model_name)) }}
{% endmacro %}


{#
  pgtrickle_model_relation(model_name)

  The relation of the model called `model_name` in the project graph (its
  configured schema and alias), or none when there is no such model.
#}
{% macro pgtrickle_model_relation(model_name) %}
  {%- if execute -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type == 'model' and node.name == model_name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema,
                                      identifier=node.alias, type='table')) }}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(none) }}
{% endmacro %}


{#
  pgtrickle_run_and_commit(sql)

  Runs `sql` in a transaction of its own and commits it: what a
  run-operation needs, since dbt commits nothing for it (run_query does not
  even begin a transaction on some dbt versions, and work left uncommitted is
  rolled back when the connection is released).  Works with and without the
  profile's `autocommit`.
#}
{% macro pgtrickle_run_and_commit(sql) %}
  {% call statement('pgtrickle_operation', fetch_result=false, auto_begin=true) -%}
    {{ sql }}
  {%- endcall %}
  {% do adapter.commit() %}
{% endmacro %}
