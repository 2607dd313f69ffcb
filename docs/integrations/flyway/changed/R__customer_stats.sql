-- Repeatable: Flyway runs it again whenever this file changes.
-- create_or_replace_stream_table creates the table the first time and later
-- changes only what differs, in place (same table, same OID, readers keep
-- seeing the old contents until the new ones commit).
SELECT pgtrickle.create_or_replace_stream_table(
    name     => 'customer_stats',
    query    => $$
        SELECT customer_id, count(*) AS orders, sum(amount) AS spent
          FROM orders
         GROUP BY customer_id
    $$,
    schedule => '1m'
);
