-- The choice between the delta and a recomputation, without history, made
-- cheaply and right (src/refresh/README.md, "Choice without history"):
-- each statement is planned at most once, the delta statement not at all
-- when what it was estimated at before (in this backend, for other change
-- sets) already exceeds the recomputation; a storage table is analyzed
-- after its initial population, so the delta's probes of it are estimated
-- from statistics.  What was compared is recorded in the history: the
-- reason of a DIFFERENTIAL refresh chosen by the planner says so too.
-- Counts far from the break-even; numbers in the reasons are replaced by N.
\pset format unaligned
SET pg_trickle.differential_max_change_ratio = 1.0;
CREATE TABLE ce_dim (id int PRIMARY KEY, "Name.x" text);
CREATE TABLE ce_fact (id int PRIMARY KEY, dim int, v int);
CREATE INDEX ON ce_fact (dim);
INSERT INTO ce_dim SELECT g, 'n' || g FROM generate_series(1, 40) g;
INSERT INTO ce_fact SELECT g, 1 + g % 40, g % 100 FROM generate_series(1, 20000) g;
ANALYZE ce_dim, ce_fact;

-- An outer join whose delta probes every row of ce_dim per change: a
-- change of most of ce_fact recomputes.
SELECT pgtrickle.create_stream_table('"ce outer"',
	'SELECT d.id, d."Name.x", f.id AS fid, f.v FROM ce_dim d LEFT JOIN ce_fact f ON f.dim = d.id AND f.v < 3',
	'1m', 'DIFFERENTIAL');

-- The first large change set: both statements planned and compared.
UPDATE ce_fact SET v = (v + 1) % 100, dim = 1 + (dim + 3) % 40 WHERE id % 20 < 9;
SELECT pgtrickle.refresh_stream_table('"ce outer"');
SELECT pgt_test.last_refresh('"ce outer"');
SELECT pgt_test.check('"ce outer"');

-- The next one, larger in every source: the delta statement planned for
-- the last one costs at least as much for this one, which is already more
-- than the recomputation: FULL without planning the delta statement
-- (before: planned again, and the same choice).
UPDATE ce_fact SET v = (v + 1) % 100, dim = 1 + (dim + 3) % 40 WHERE id % 20 < 10;
SELECT pgtrickle.refresh_stream_table('"ce outer"');
SELECT pgt_test.last_refresh('"ce outer"');
SELECT pgt_test.check('"ce outer"');

-- An aggregate whose 36,000 change rows net to under 200: the delta wins,
-- and the reason says what the planner compared (before: only "N pending
-- changes").
SELECT pgtrickle.create_stream_table('"ce agg"',
	'SELECT d."Name.x", count(*) AS n, sum(f.v) AS total FROM ce_fact f JOIN ce_dim d ON d.id = f.dim GROUP BY d."Name.x"',
	'1m', 'DIFFERENTIAL');
UPDATE ce_fact SET v = (v + 1) % 100, dim = 1 + (dim + 3) % 40 WHERE id % 20 < 9;
SELECT pgtrickle.refresh_stream_table('"ce agg"'), pgtrickle.refresh_stream_table('"ce outer"');
SELECT pgt_test.last_refresh('"ce agg"');
SELECT pgt_test.check('"ce agg"'), pgt_test.check('"ce outer"');

-- A projection of 60,000 rows and 1,200 change rows.  The delta deletes
-- by __pgt_row_id: without statistics on the storage table the planner took
-- each probe for 1/200 of its rows (300), and the estimate of the delta was
-- 3.7 times higher (11,742 against 3,208 with statistics).  The storage
-- table is analyzed after its initial population now (before: never, until
-- autovacuum came): it has statistics at once.
CREATE TABLE ce_big (id int PRIMARY KEY, v int);
INSERT INTO ce_big SELECT g, g FROM generate_series(1, 60000) g;
ANALYZE ce_big;
SELECT pgtrickle.create_stream_table('ce_copy', 'SELECT id, v FROM ce_big', '1m', 'DIFFERENTIAL');
SELECT c.reltuples, s.n_distinct
  FROM pg_class c LEFT JOIN pg_stats s
    ON s.schemaname = 'public' AND s.tablename = c.relname AND s.attname = '__pgt_row_id'
 WHERE c.oid = 'ce_copy'::regclass;
UPDATE ce_big SET v = v + 1 WHERE id % 100 = 0;
SELECT pgtrickle.refresh_stream_table('ce_copy');
SELECT pgt_test.last_refresh('ce_copy');
SELECT pgt_test.check('ce_copy');

-- A change set over the limit of the first read (1,000 rows) is read
-- once and a little: that read stops at the 1,001st row, then the whole
-- set is read and netted (a table without history: the planner decides).
-- Rows read of the buffer by the refresh: 1,001 and 6,000, then 6,000 by
-- the prune that deletes them (before: the first read went through all
-- 6,000 too).
CREATE TABLE ce_reads (id int PRIMARY KEY, v int);
INSERT INTO ce_reads SELECT g, g FROM generate_series(1, 60000) g;
ANALYZE ce_reads;
SELECT pgtrickle.create_stream_table('ce_reads_copy', 'SELECT id, v FROM ce_reads', '1m', 'DIFFERENTIAL');
UPDATE ce_reads SET v = v + 1 WHERE id <= 3000;
SELECT format('pgtrickle_changes.changes_%s', 'ce_reads'::regclass::oid) AS buffer \gset
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads(:'buffer');
SELECT pgtrickle.refresh_stream_table('ce_reads_copy');
SELECT pg_stat_force_next_flush();
SELECT pgt_test.reads_since_mark(:'buffer') AS "rows of the buffer read";
SELECT pgt_test.last_refresh('ce_reads_copy');
SELECT pgt_test.check('ce_reads_copy');
-- A buffer past 128 pages (20,000 rows here) is read with a plan made
-- for the refresh's horizon, on the expression its index covers; a
-- smaller one keeps its plan and compares the xid8 itself (above).
UPDATE ce_reads SET v = v + 1 WHERE id <= 10000;
SELECT pg_relation_size(:'buffer') > 128 * 8192 AS "buffer past 128 pages";
SELECT pgtrickle.refresh_stream_table('ce_reads_copy');
SELECT pgt_test.check('ce_reads_copy');
RESET pg_trickle.differential_max_change_ratio;

SELECT pgtrickle.drop_stream_table('"ce agg"');
SELECT pgtrickle.drop_stream_table('"ce outer"');
SELECT pgtrickle.drop_stream_table('ce_copy');
SELECT pgtrickle.drop_stream_table('ce_reads_copy');
DROP TABLE ce_big, ce_reads, ce_fact, ce_dim;
