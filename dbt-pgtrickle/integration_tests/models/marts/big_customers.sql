{# An ordinary dbt view reading a stream table: dbt orders it after order_totals. #}
{{ config(materialized='view') }}

SELECT customer_id, total_amount
FROM {{ ref('order_totals') }}
WHERE order_count >= 3
