-- order_totals equals its aggregation of raw_orders, as multisets (EXCEPT ALL
-- both ways; __pgt_* columns left out).  Rows returned = failures.
WITH expected AS (
    SELECT customer_id, SUM(amount) AS total_amount, COUNT(*) AS order_count
    FROM {{ ref('raw_orders') }}
    GROUP BY customer_id
), actual AS (
    SELECT customer_id, total_amount, order_count FROM {{ ref('order_totals') }}
)
(SELECT 'missing' AS side, * FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM actual) m)
UNION ALL
(SELECT 'extra' AS side, * FROM (SELECT * FROM actual EXCEPT ALL SELECT * FROM expected) e)
