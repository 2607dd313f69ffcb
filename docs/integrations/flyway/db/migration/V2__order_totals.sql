-- Dollar quoting keeps the defining query readable: no quote doubling
-- inside, even for string literals such as 'refund'.
SELECT pgtrickle.create_stream_table(
    name     => 'order_totals',
    query    => $$
        SELECT customer_id, sum(amount) AS total, count(*) AS orders
          FROM orders
         WHERE amount > 0
         GROUP BY customer_id
    $$,
    schedule => '5m'
);
