{# grants, persist_docs and indexes on a stream table. #}
{{ config(
    materialized='stream_table',
    grants={'select': var('documented_readers', ['pgt_reader'])},
    persist_docs={'relation': true, 'columns': true},
    indexes=[
      {'columns': ['customer_id'], 'unique': true},
      {'columns': ['order_count', 'customer_id']}
    ]
) }}

SELECT customer_id, COUNT(*) AS order_count
FROM {{ ref('raw_orders') }}
GROUP BY customer_id
