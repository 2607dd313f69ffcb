-- Sources of the refresh targets (and of the scaling join): regions,
-- customers, orders.  psql variables: n_regions, n_customers, n_orders.
-- Ordinary (logged) tables; keys and indexes are built after loading.
\set ON_ERROR_STOP 1
SELECT setseed(0.42);

CREATE TABLE bench.regions (
    id   int  NOT NULL,
    name text NOT NULL,
    zone int  NOT NULL
);
INSERT INTO bench.regions
SELECT g, 'region ' || g, g % 10 FROM generate_series(1, :n_regions) g;

CREATE TABLE bench.customers (
    id        int  NOT NULL,
    region_id int  NOT NULL,
    name      text NOT NULL,
    segment   int  NOT NULL
);
INSERT INTO bench.customers
SELECT g, 1 + floor(random() * :n_regions)::int, 'customer ' || g, g % 5
  FROM generate_series(1, :n_customers) g;

INSERT INTO bench.sizes VALUES ('regions', :n_regions), ('customers', :n_customers);

ALTER TABLE bench.regions ADD PRIMARY KEY (id);
ALTER TABLE bench.customers ADD PRIMARY KEY (id);
CREATE INDEX ON bench.customers (region_id);
VACUUM ANALYZE bench.regions, bench.customers;
