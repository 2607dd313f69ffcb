-- First start of the demo database (docker-entrypoint-initdb.d): the
-- extension, the least-privilege monitoring role the exporter logs in as,
-- and a few stream tables to look at.
CREATE EXTENSION pg_trickle;

-- The exporter's role: pg_monitor for postgres_exporter's own metrics; the
-- pg_trickle queries need nothing more (see monitoring/README.md).
-- The password is for the demo only.
CREATE ROLE pgtrickle_monitor LOGIN PASSWORD 'pgtrickle_monitor';
GRANT pg_monitor TO pgtrickle_monitor;

CREATE SCHEMA shop;
CREATE TABLE shop.orders (
    id bigserial PRIMARY KEY,
    region text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shop.orders (region, amount)
SELECT (ARRAY['north', 'south', 'east', 'west'])[1 + g % 4], (g % 97) + 0.5
  FROM generate_series(1, 1000) g;

SELECT pgtrickle.create_stream_table('shop.region_revenue',
    'SELECT region, count(*) AS orders, sum(amount) AS revenue FROM shop.orders GROUP BY region',
    '5s');
SELECT pgtrickle.create_stream_table('shop.big_orders',
    'SELECT id, region, amount FROM shop.orders WHERE amount > 90',
    '30s');
SELECT pgtrickle.create_stream_table('shop.daily_revenue',
    'SELECT created_at::date AS day, sum(amount) AS revenue FROM shop.orders GROUP BY created_at::date',
    '1m', 'FULL');
