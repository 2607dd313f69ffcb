{# A stream table that reads another stream table. #}
{{ config(materialized='stream_table', schedule='calculated') }}

SELECT order_count, COUNT(*) AS customers, SUM(total_amount) AS amount
FROM {{ ref('order_totals') }}
GROUP BY order_count
