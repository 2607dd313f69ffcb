{{ config(
    materialized='stream_table',
    schedule=var('order_totals_schedule', '1m'),
    refresh_mode=var('order_totals_refresh_mode', 'DIFFERENTIAL'),
    status=var('order_totals_status', none)
) }}

SELECT customer_id,
       SUM(amount) AS total_amount,
       COUNT(*) AS order_count
FROM {{ ref('raw_orders') }}
GROUP BY customer_id
