{# Its materialization comes from a var, to switch between table, view and stream_table. #}
{{ config(materialized=var('switcher_materialized', 'stream_table')) }}

SELECT id, amount * 2 AS doubled FROM {{ ref('raw_orders') }}
