-- alter_stream_table: schedule, mode, status and the defining query in place.
\pset format unaligned
CREATE TABLE sales (id int PRIMARY KEY, region text, amount int, sold_on date);
INSERT INTO sales SELECT g, 'r' || (g % 3), g, date '2026-01-01' + g FROM generate_series(1, 60) g;
SELECT pgtrickle.create_stream_table('region_sales',
	'SELECT region, sum(amount) AS total FROM sales GROUP BY region', '1m', 'FULL');
SELECT 'region_sales'::regclass::oid AS st_oid \gset
GRANT SELECT ON region_sales TO regress_pgt_bob;
CREATE INDEX region_sales_region ON region_sales (region);

-- schedule: NULL leaves it, 'calculated' sets CALCULATED
SELECT pgtrickle.alter_stream_table('region_sales', schedule => '5m');
SELECT schedule FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT pgtrickle.alter_stream_table('region_sales');
SELECT schedule FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT pgtrickle.alter_stream_table('region_sales', schedule => '*/10 * * * *');
SELECT schedule FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT pgtrickle.alter_stream_table('region_sales', schedule => 'calculated');
SELECT schedule IS NULL AS calculated FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';

-- status
SELECT pgtrickle.alter_stream_table('region_sales', status => 'paused');
SELECT status FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT pgtrickle.alter_stream_table('region_sales', status => 'ACTIVE');
SELECT status FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';

-- refresh mode
SELECT pgtrickle.alter_stream_table('region_sales', refresh_mode => 'AUTO');
SELECT refresh_mode, requested_refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT pgtrickle.alter_stream_table('region_sales', refresh_mode => 'FULL');
SELECT refresh_mode, requested_refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name = 'region_sales';

-- a query with the same output columns: view replaced, table refilled
SELECT pgtrickle.alter_stream_table('region_sales',
	query => 'SELECT region, sum(amount) AS total FROM sales WHERE amount > 10 GROUP BY region');
SELECT pgt_test.check('region_sales');
SELECT 'region_sales'::regclass::oid = :st_oid AS same_oid;
SELECT original_query, defining_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT action, initiated_by, reason FROM pgtrickle.pgt_refresh_history
 WHERE pgt_id = (SELECT pgt_id FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales')
 ORDER BY refresh_id DESC LIMIT 1;

-- new columns, a dropped one and a changed type: ALTER TABLE, same OID
SELECT pgtrickle.alter_stream_table('region_sales',
	query => 'SELECT region, sum(amount)::bigint AS total, count(*) AS n, max(sold_on) AS last_sale
	            FROM sales GROUP BY region');
SELECT pgt_test.refresh('region_sales');
SELECT 'region_sales'::regclass::oid = :st_oid AS same_oid;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'region_sales'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT * FROM region_sales ORDER BY region;
SELECT pgtrickle.alter_stream_table('region_sales', query => 'SELECT region, count(*) AS n FROM sales GROUP BY region');
SELECT pgt_test.refresh('region_sales');
SELECT attname FROM pg_attribute
 WHERE attrelid = 'region_sales'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- grants and indexes on surviving columns survive
SELECT has_table_privilege('regress_pgt_bob', 'region_sales', 'SELECT');
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'region_sales'::regclass;
SELECT source_relid::regclass, columns_used FROM pgtrickle.pgt_dependencies d
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id) WHERE s.pgt_name = 'region_sales';
-- same names and types in another order
SELECT pgtrickle.alter_stream_table('region_sales', query => 'SELECT count(*) AS n, region FROM sales GROUP BY region');
SELECT pgt_test.refresh('region_sales');
-- the query can read other tables now; the dependencies follow
CREATE TABLE regions (region text PRIMARY KEY, label text);
INSERT INTO regions VALUES ('r0', 'North'), ('r1', 'South');
SELECT pgtrickle.alter_stream_table('region_sales',
	query => 'SELECT r.label AS region, count(*) AS n FROM sales s JOIN regions r USING (region) GROUP BY r.label');
SELECT pgt_test.refresh('region_sales');
SELECT d.source_relid::regclass, d.columns_used FROM pgtrickle.pgt_dependencies d
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id) WHERE s.pgt_name = 'region_sales' ORDER BY 1;
-- the old source is free again
CREATE TABLE old_src (v int);
SELECT pgtrickle.create_stream_table('from_old', 'SELECT v FROM old_src', '1m', 'FULL');
SELECT pgtrickle.alter_stream_table('from_old', query => 'SELECT 1 AS v');
DROP TABLE old_src;
SELECT pgt_test.refresh('from_old');

-- a failed query change leaves everything as it was
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', query => 'SELECT nope FROM sales')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', query => 'SELECT 1 AS __pgt_x')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', query => 'SELECT 1/0 AS n, ''x'' AS region')$$);
SELECT original_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';
SELECT pgt_test.refresh('region_sales');

-- cycles between stream tables are refused
SELECT pgtrickle.create_stream_table('st_a', 'SELECT region FROM sales', '1m', 'FULL');
SELECT pgtrickle.create_stream_table('st_b', 'SELECT region FROM st_a', '1m', 'FULL');
SELECT pgtrickle.create_stream_table('st_c', 'SELECT region FROM st_b', '1m', 'FULL');
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('st_a', query => 'SELECT region FROM st_c')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('st_a', query => 'SELECT region FROM st_a')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_or_replace_stream_table('st_a', 'SELECT region FROM st_b', '1m', 'FULL')$$);
SELECT original_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'st_a';

-- argument errors
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', schedule => 'every day')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', refresh_mode => 'fast')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('st_c', query => 'SELECT region FROM st_b LIMIT 1', refresh_mode => 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', status => 'SUSPENDED')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', status => 'ERROR')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('no_such_st', schedule => '1m')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('sales', schedule => '1m')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table(NULL)$$);
SET pg_trickle.min_schedule_seconds = 60;
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('region_sales', schedule => '30s')$$);
SELECT pgtrickle.alter_stream_table('region_sales', schedule => '90s');
RESET pg_trickle.min_schedule_seconds;
SELECT schedule, refresh_mode, status FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_sales';

SELECT * FROM pgt_test.check_all();
