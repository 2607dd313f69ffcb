{# initialize: false: created empty, filled by its first refresh. #}
{{ config(materialized='stream_table', schedule='1s', initialize=false) }}

SELECT customer_id, MAX(amount) AS largest
FROM {{ ref('raw_orders') }}
GROUP BY customer_id
