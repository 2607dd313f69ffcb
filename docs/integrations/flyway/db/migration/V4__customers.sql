-- A source table, its first rows and the stream table over it in one
-- migration: Flyway runs it in one transaction, so either all of it is
-- there afterwards or none of it.
CREATE TABLE customers (
    id     integer PRIMARY KEY,
    name   text    NOT NULL,
    region text    NOT NULL
);
INSERT INTO customers VALUES (1, 'Ada', 'north'), (2, 'Brian', 'south');

SELECT pgtrickle.create_stream_table(
    name         => 'region_revenue',
    query        => $$
        SELECT c.region, sum(o.amount) AS revenue
          FROM orders o JOIN customers c ON c.id = o.customer_id
         GROUP BY c.region
    $$,
    schedule     => '1m',
    refresh_mode => 'DIFFERENTIAL'
);

-- Rows a migration adds to a source reach the stream tables at their next
-- scheduled refresh; refresh_stream_table brings one up to date now, in
-- this transaction.
INSERT INTO orders (customer_id, amount) VALUES (1, 20.00);
SELECT pgtrickle.refresh_stream_table('order_totals');
