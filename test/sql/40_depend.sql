-- Dependencies the PostgreSQL way: drops, cascades, renames.
\pset format unaligned
CREATE TABLE customers (id int PRIMARY KEY, name text, city text);
CREATE TABLE purchases (id int PRIMARY KEY, customer_id int REFERENCES customers, amount int);
INSERT INTO customers SELECT g, 'cust' || g, CASE WHEN g % 2 = 0 THEN 'Oslo' ELSE 'Rome' END
  FROM generate_series(1, 10) g;
INSERT INTO purchases SELECT g, 1 + g % 10, g FROM generate_series(1, 50) g;
SELECT pgtrickle.create_stream_table('city_totals',
	'SELECT c.city, sum(p.amount) AS total FROM purchases p JOIN customers c ON c.id = p.customer_id GROUP BY c.city',
	'1m', 'FULL');
SELECT pgtrickle.create_stream_table('big_cities', 'SELECT city FROM city_totals WHERE total > 100', '1m', 'FULL');
SELECT s.pgt_name, d.source_relid::regclass, d.source_type, d.columns_used FROM pgtrickle.pgt_dependencies d
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id) WHERE s.pgt_name IN ('city_totals', 'big_cities')
 ORDER BY s.pgt_name, 2;

-- a source cannot be dropped while a stream table reads it
DROP TABLE purchases;
ALTER TABLE purchases DROP COLUMN amount;
-- columns the query does not use can go
ALTER TABLE customers ADD COLUMN unused int;
ALTER TABLE customers DROP COLUMN unused;
-- the defining view is an internal part of the stream table
SELECT pgt_query_relid::regclass AS defview FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'city_totals' \gset
SELECT pgt_test.err(format('DROP VIEW %s', :'defview'));

-- renames of sources, their columns and schemas are followed
ALTER TABLE purchases RENAME TO purchase_log;
ALTER TABLE purchase_log RENAME COLUMN amount TO value;
ALTER TABLE customers RENAME COLUMN city TO town;
INSERT INTO purchase_log VALUES (51, 2, 1000);
SELECT pgt_test.refresh('city_totals'), pgt_test.refresh('big_cities');
SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'city_totals';
SELECT original_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'city_totals';
SELECT d.source_relid::regclass, d.columns_used FROM pgtrickle.pgt_dependencies d
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id) WHERE s.pgt_name = 'city_totals' ORDER BY 1;
CREATE SCHEMA shop;
ALTER TABLE purchase_log SET SCHEMA shop;
SELECT pgt_test.refresh('city_totals');
SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'city_totals';
ALTER SCHEMA shop RENAME TO store;
SELECT pgt_test.refresh('city_totals');

-- renaming or moving the stream table itself is followed too
ALTER TABLE city_totals RENAME TO town_totals;
SELECT pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('city_totals', 'town_totals', 'big_cities') ORDER BY 1;
SELECT pgt_test.refresh('town_totals'), pgt_test.refresh('big_cities');
SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'big_cities';
ALTER TABLE town_totals SET SCHEMA store;
SELECT pgt_schema, pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('town_totals', 'big_cities') ORDER BY 2;
SELECT pgt_test.refresh('store.town_totals');

-- drop_stream_table refuses when other stream tables read it
SELECT pgt_test.err($$SELECT pgtrickle.drop_stream_table('store.town_totals')$$);
SELECT pgt_test.err($$SELECT pgtrickle.drop_stream_table('store.town_totals', false)$$);
-- so does DROP TABLE, naming the reader
SELECT pgt_test.err($$DROP TABLE store.town_totals$$);
-- and DROP TABLE of a source names the stream table
SELECT pgt_test.err($$DROP TABLE customers$$);

-- DROP TABLE source CASCADE removes the stream tables and their catalog rows
BEGIN;
DROP TABLE customers CASCADE;
SELECT pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('city_totals', 'town_totals', 'big_cities') ORDER BY 1;
SELECT count(*) FROM pgtrickle.pgt_dependencies d
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.source_relid);
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'pgtrickle_defs'::regnamespace)
     = (SELECT count(*) FROM pgtrickle.pgt_stream_tables) AS one_view_each;
ROLLBACK;

-- drop_stream_table with cascade drops the readers too
BEGIN;
SELECT pgtrickle.drop_stream_table('store.town_totals', cascade => true);
SELECT pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('city_totals', 'town_totals', 'big_cities') ORDER BY 1;
ROLLBACK;

-- DROP TABLE of a stream table works like drop_stream_table
SELECT pgtrickle.drop_stream_table('big_cities');
SELECT pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('city_totals', 'town_totals', 'big_cities') ORDER BY 1;
SELECT count(*) AS st_count FROM pgtrickle.pgt_stream_tables \gset
DROP TABLE store.town_totals;
SELECT count(*) = :st_count - 1 AS one_less FROM pgtrickle.pgt_stream_tables;
SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'town_totals';
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'pgtrickle_defs'::regnamespace)
     = (SELECT count(*) FROM pgtrickle.pgt_stream_tables) AS one_view_each;
-- the sources are free again
DROP TABLE store.purchase_log;

-- a user view on a stream table: drop needs cascade, as in PostgreSQL
CREATE TABLE nums (n int);
INSERT INTO nums SELECT generate_series(1, 5);
SELECT pgtrickle.create_stream_table('evens', 'SELECT n FROM nums WHERE n % 2 = 0', '1m', 'FULL');
CREATE VIEW even_view AS SELECT * FROM evens;
SELECT pgt_test.err($$SELECT pgtrickle.drop_stream_table('evens')$$);
SELECT pgtrickle.drop_stream_table('evens', cascade => true);
SELECT to_regclass('even_view');

-- DROP SCHEMA CASCADE and DROP OWNED clean the catalog as well
CREATE SCHEMA doomed;
SELECT pgtrickle.create_stream_table('doomed.st', 'SELECT n FROM nums', '1m', 'FULL');
DROP SCHEMA doomed CASCADE;
SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'doomed';
GRANT SELECT ON nums TO regress_pgt_bob;
GRANT CREATE ON SCHEMA public TO regress_pgt_bob;
GRANT USAGE ON SCHEMA pgtrickle TO regress_pgt_bob;
SET ROLE regress_pgt_bob;
SELECT pgtrickle.create_stream_table('bobs', 'SELECT n FROM nums', '1m', 'FULL');
RESET ROLE;
SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'bobs';
DROP OWNED BY regress_pgt_bob;
SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'bobs';
DROP TABLE nums;

-- a stream table over a view
CREATE TABLE base (v int);
INSERT INTO base VALUES (1), (2);
CREATE VIEW base_view AS SELECT v * 10 AS v10 FROM base;
SELECT pgtrickle.create_stream_table('from_view', 'SELECT v10 FROM base_view', '1m', 'FULL');
SELECT d.source_relid::regclass, d.source_type FROM pgtrickle.pgt_dependencies d
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id) WHERE s.pgt_name = 'from_view'
 ORDER BY d.source_relid::regclass::text;
INSERT INTO base VALUES (3);
SELECT pgt_test.refresh('from_view');
SELECT pgt_test.err($$DROP VIEW base_view$$);
SELECT pgtrickle.drop_stream_table('from_view');
DROP VIEW base_view;
DROP TABLE base;

SELECT * FROM pgt_test.check_all();
