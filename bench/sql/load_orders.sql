-- An orders-shaped fact table: bench.orders (refresh targets) or
-- bench.sc_orders (scaling).  psql variables: tbl, n, n_customers.
\set ON_ERROR_STOP 1
SELECT setseed(0.17);
DROP TABLE IF EXISTS :tbl;
CREATE TABLE :tbl (
    id          bigint        NOT NULL,
    customer_id int           NOT NULL,
    amount      numeric(12,2) NOT NULL,
    qty         int           NOT NULL
);
INSERT INTO :tbl
SELECT g, 1 + floor(random() * :n_customers)::int, round((random() * 1000)::numeric, 2), 1 + g % 10
  FROM generate_series(1, :n) g;
ALTER TABLE :tbl ADD PRIMARY KEY (id);
CREATE INDEX ON :tbl (customer_id);
VACUUM ANALYZE :tbl;
INSERT INTO bench.sizes VALUES (regexp_replace(:'tbl', '^bench\.', ''), :n)
ON CONFLICT (name) DO UPDATE SET n = excluded.n;
