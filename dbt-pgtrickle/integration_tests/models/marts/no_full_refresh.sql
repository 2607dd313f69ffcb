{{ config(materialized='stream_table', full_refresh=false) }}

SELECT id, amount FROM {{ ref('raw_orders') }} WHERE amount > 40
