-- Differential refresh: UNION ALL, subqueries in FROM, CTEs, stream tables
-- reading stream tables, refused constructs, switching modes.
\pset format unaligned
CREATE TABLE m_a (id int PRIMARY KEY, k int, v text);
CREATE TABLE m_b (id int PRIMARY KEY, k int, v text);
INSERT INTO m_a SELECT g, g % 4, 'a' || g FROM generate_series(1, 40) g;
INSERT INTO m_b SELECT g, g % 6, 'b' || g FROM generate_series(1, 30) g;

SELECT pgtrickle.create_stream_table('m_union',
	'SELECT k, v FROM m_a WHERE k > 0 UNION ALL SELECT k, v FROM m_b UNION ALL SELECT 99, ''const''', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('m_sub',
	'SELECT s.k, s.v, b.v AS bv FROM (SELECT k, v FROM m_a WHERE id % 2 = 0) s JOIN m_b b ON b.k = s.k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('m_cte',
	'WITH evens AS (SELECT id, k FROM m_a WHERE id % 2 = 0), odds AS (SELECT id, k FROM m_b WHERE id % 2 = 1)
	 SELECT e.k, count(*) AS n FROM evens e JOIN odds o ON o.k = e.k GROUP BY e.k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('m_union_agg',
	'SELECT k, count(*) AS n FROM (SELECT k FROM m_a UNION ALL SELECT k FROM m_b) u GROUP BY k', '1m', 'DIFFERENTIAL');
-- a chain: stream tables reading stream tables stay differential
SELECT pgtrickle.create_stream_table('m_up', 'SELECT k, count(*) AS n, sum(id) AS s FROM m_a GROUP BY k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('m_down', 'SELECT k, n * 10 AS n10 FROM m_up WHERE s > 10', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('m_down2', 'SELECT count(*) AS groups, sum(n10) AS total FROM m_down', '1m', 'DIFFERENTIAL');

INSERT INTO m_a VALUES (41, 1, 'new'), (42, 5, 'five');
UPDATE m_a SET k = 3 WHERE id < 6;
DELETE FROM m_a WHERE id BETWEEN 30 AND 35;
INSERT INTO m_b VALUES (31, 2, 'b31');
UPDATE m_b SET v = 'changed' WHERE k = 2;
DELETE FROM m_b WHERE id = 4;
SELECT pgt_test.drefresh('m_union'), pgt_test.drefresh('m_sub'), pgt_test.drefresh('m_cte'),
       pgt_test.drefresh('m_union_agg');
SELECT pgt_test.drefresh('m_up'), pgt_test.drefresh('m_down'), pgt_test.drefresh('m_down2');
DELETE FROM m_a WHERE k = 3;
SELECT pgt_test.drefresh('m_up'), pgt_test.drefresh('m_down'), pgt_test.drefresh('m_down2');

-- refused constructs: explicit DIFFERENTIAL fails naming the construct, AUTO falls back
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT a.id, g FROM m_a a CROSS JOIN LATERAL generate_series(1, a.k) g', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT id, row_number() OVER (ORDER BY id) FROM m_a', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT id FROM m_a WHERE k > (SELECT b.k FROM m_b b WHERE b.id = m_a.id)', '1m', 'DIFFERENTIAL')$$);
-- (a scalar subquery without an aggregate is maintained since sublink.c)
SELECT pgtrickle.drop_stream_table('m_x');
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT id FROM m_a ORDER BY id LIMIT 3', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT id, now() AS t FROM m_a', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT json_agg(k::float8) FROM m_a', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT k, percentile_disc(k / 10.0) WITHIN GROUP (ORDER BY v) FROM m_a GROUP BY k', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT DISTINCT ON (k) k, v FROM m_a', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT k, v::json AS j FROM m_b', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r', '1m', 'DIFFERENTIAL')$$);
-- views are sources since issue 15 item 7 (4b_view_sources); materialized views are not
CREATE MATERIALIZED VIEW m_view AS SELECT id, k FROM m_a;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT k FROM m_view', '1m', 'DIFFERENTIAL')$$);
-- sources capture cannot follow: AUTO falls back to FULL, DIFFERENTIAL says why
CREATE TABLE m_parted (id int, k int) PARTITION BY RANGE (id);
CREATE TABLE m_part1 PARTITION OF m_parted FOR VALUES FROM (0) TO (100);
INSERT INTO m_parted VALUES (1, 1), (2, 2);
-- partitioned tables are sources since issue 15 item 7 (4c_partition_sources); ONLY and partitions are not
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT id FROM ONLY m_parted', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('m_x', 'SELECT id FROM m_part1', '1m', 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('m_from_part', 'SELECT id, k FROM m_part1', '1m', 'AUTO');
SELECT pgt_test.refresh('m_from_part');
SELECT pgtrickle.drop_stream_table('m_from_part');
DROP TABLE m_parted;
SELECT pgtrickle.create_stream_table('m_auto', 'SELECT a.id, b.v, row_number() OVER (ORDER BY a.id) AS rn FROM m_a a LEFT JOIN m_b b ON b.id = a.id', '1m', 'AUTO');
SELECT property, value FROM pgtrickle.explain_st('m_auto')
 WHERE property IN ('refresh_mode', 'requested_refresh_mode', 'differential_supported', 'fallback_reason');

-- initialize => false: the first refresh is the initial population
SELECT pgtrickle.create_stream_table('m_lazy', 'SELECT id, v FROM m_a WHERE k = 1', '1m', 'DIFFERENTIAL', false);
INSERT INTO m_a VALUES (44, 1, 'lazy');
SELECT pgt_test.refresh('m_lazy');
SELECT action, reason FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'm_lazy' ORDER BY refresh_id LIMIT 1;
INSERT INTO m_a VALUES (45, 1, 'later');
SELECT pgt_test.drefresh('m_lazy');

-- switching modes in place
SELECT pgtrickle.alter_stream_table('m_union', refresh_mode => 'FULL');
SELECT attname FROM pg_attribute WHERE attrelid = 'm_union'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT pgt_test.refresh('m_union');
SELECT pgtrickle.alter_stream_table('m_union', refresh_mode => 'DIFFERENTIAL');
SELECT action, reason FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'm_union' ORDER BY refresh_id DESC LIMIT 1;
INSERT INTO m_b VALUES (32, 3, 'b32');
SELECT pgt_test.drefresh('m_union');
-- a query change on a differential stream table keeps it differential
SELECT pgtrickle.alter_stream_table('m_up', query => 'SELECT k, count(*) AS n, sum(id) AS s, max(v) AS top FROM m_a GROUP BY k');
INSERT INTO m_a VALUES (43, 2, 'zz');
SELECT pgt_test.drefresh('m_up'), pgt_test.drefresh('m_down'), pgt_test.drefresh('m_down2');
SELECT pgt_test.refresh('m_auto');
-- a source's change buffer and triggers go away with its last differential reader
SELECT count(*) AS m_b_buffers FROM pg_class
 WHERE relnamespace = 'pgtrickle_changes'::regnamespace AND relname = 'changes_' || 'm_b'::regclass::oid;
SELECT count(*) AS m_b_capture_triggers FROM pg_trigger WHERE tgrelid = 'm_b'::regclass AND tgname LIKE 'pgt_capture%';
SELECT pgtrickle.drop_stream_table('m_union');
SELECT pgtrickle.drop_stream_table('m_sub');
SELECT pgtrickle.alter_stream_table('m_cte', refresh_mode => 'FULL');
SELECT pgt_test.refresh('m_cte');
DROP TABLE m_union_agg;
SELECT count(*) AS m_b_buffers FROM pg_class
 WHERE relnamespace = 'pgtrickle_changes'::regnamespace AND relname = 'changes_' || 'm_b'::regclass::oid;
SELECT count(*) AS m_b_capture_triggers FROM pg_trigger WHERE tgrelid = 'm_b'::regclass AND tgname LIKE 'pgt_capture%';
-- m_a is still read differentially by m_up
SELECT count(*) AS m_a_capture_triggers FROM pg_trigger WHERE tgrelid = 'm_a'::regclass AND tgname LIKE 'pgt_capture%';

-- Changes net out per row before the query sees them: a row inserted and
-- deleted again, or changed and changed back, since the last refresh is
-- never evaluated (here: never divided by), and costs no write.
CREATE TABLE m_div (id int PRIMARY KEY, n int, d int);
INSERT INTO m_div VALUES (1, 10, 2);
SELECT pgtrickle.create_stream_table('m_quot', 'SELECT id, n / d AS q FROM m_div');
SELECT pgtrickle.create_stream_table('m_quot_sum', 'SELECT sum(n / d) AS s FROM m_div');
INSERT INTO m_div VALUES (2, 1, 0);
DELETE FROM m_div WHERE id = 2;
INSERT INTO m_div VALUES (3, 1, 0);
UPDATE m_div SET d = 1 WHERE id = 3;
UPDATE m_div SET d = 5 WHERE id = 1;
UPDATE m_div SET d = 2 WHERE id = 1;
SELECT pgt_test.refresh('m_quot');
SELECT pgt_test.refresh('m_quot_sum');
SELECT h.action, h.rows_inserted, h.rows_deleted FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'm_quot' AND h.action <> 'NO_DATA' ORDER BY h.refresh_id DESC LIMIT 1;
SELECT id, q FROM m_quot ORDER BY id;
SELECT s FROM m_quot_sum;
-- a change that does not cancel still meets the query's errors
INSERT INTO m_div VALUES (4, 1, 0);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('m_quot')$$);
DELETE FROM m_div WHERE id = 4;

SELECT * FROM pgt_test.check_all();
