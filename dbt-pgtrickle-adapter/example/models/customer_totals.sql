{{ config(materialized='stream_table', schedule='1m') }}
select customer_id, sum(amount) as total, count(*) as orders
from {{ ref('orders') }}
group by customer_id
