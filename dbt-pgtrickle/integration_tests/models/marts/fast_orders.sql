{# Refreshed every second by the scheduler; FULL refresh mode. #}
{{ config(materialized='stream_table', schedule='1s', refresh_mode='FULL') }}

SELECT count(*) AS orders, max(id) AS last_id
FROM {{ ref('raw_orders') }}
