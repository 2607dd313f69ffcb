{# A schema and a table name that need quoting; the name contains a dot. #}
{{ config(materialized='stream_table', schema='Odd Schema', alias='Mixed Case.Dot') }}

SELECT customer_id, MIN(amount) AS smallest
FROM {{ ref('raw_orders') }}
GROUP BY customer_id
