-- The choice between a delta and a recomputation for a large change set
-- (more than 1,000 change rows) of a table without measured refreshes: the
-- planner's estimate of the delta statement, planned for the change sets'
-- sizes, against that of the recomputation (src/refresh/README.md).
-- Counts of changes against source sizes far from the break-even, so the
-- outcome does not depend on the machine; the estimates themselves are not
-- printed.  differential_max_change_ratio is at its maximum so that only
-- the planner decides below 100 % of a source.
\pset format unaligned
SET pg_trickle.differential_max_change_ratio = 1.0;
CREATE TABLE cc_dim (id int PRIMARY KEY, cat int, "Name.x" text);
CREATE TABLE cc_fact (id int PRIMARY KEY, dim int, v int);
CREATE INDEX ON cc_fact (dim);
INSERT INTO cc_dim SELECT g, g % 7, 'n' || g FROM generate_series(1, 40) g;
INSERT INTO cc_fact SELECT g, 1 + g % 40, g % 100 FROM generate_series(1, 40000) g;
ANALYZE cc_dim, cc_fact;

-- join + aggregate
SELECT pgtrickle.create_stream_table('"cc agg"',
	'SELECT d.cat, count(*) AS n, sum(f.v) AS total FROM cc_fact f JOIN cc_dim d ON d.id = f.dim GROUP BY d.cat',
	'1m', 'DIFFERENTIAL');

-- 1,100 new rows (2.75 % of the source): the delta
INSERT INTO cc_fact SELECT g, 1 + g % 40, g % 100 FROM generate_series(40001, 41100) g;
SELECT pgtrickle.refresh_stream_table('"cc agg"');
SELECT pgt_test.last_refresh('"cc agg"');
SELECT pgt_test.check('"cc agg"');

-- new stream tables (an outer join too): no measured DIFFERENTIAL refresh yet
SELECT pgtrickle.create_stream_table('"cc agg2"',
	'SELECT d.cat, count(*) AS n, sum(f.v) AS total FROM cc_fact f JOIN cc_dim d ON d.id = f.dim GROUP BY d.cat',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('cc_outer2',
	'SELECT d.id, d."Name.x", f.id AS fid, f.v FROM cc_dim d LEFT JOIN cc_fact f ON f.dim = d.id AND f.v < 3',
	'1m', 'DIFFERENTIAL');

-- 18,000 rows updated (36,000 change rows, 88 % of the source, under the
-- ratio).  The aggregate reads only (dim, v) of the changes, whose 36,000
-- rows net to under 200 distinct ones: its delta stays far cheaper than
-- recomputing (planner: about 23 against 1,700) and it stays DIFFERENTIAL.
-- The outer join's delta touches every row of cc_dim through index probes
-- for each change (about 1.8M against 6,000): FULL.  Before the planner was
-- asked, both ran DIFFERENTIAL (88 % is under the ratio of 100 %).
UPDATE cc_fact SET v = (v + 1) % 100, dim = 1 + (dim + 3) % 40 WHERE id % 20 < 9;
SELECT pgtrickle.refresh_stream_table('"cc agg2"'), pgtrickle.refresh_stream_table('cc_outer2');
SELECT pgt_test.last_refresh('"cc agg2"'), pgt_test.last_refresh('cc_outer2');
-- no stream table reads cc_outer2: the recomputation rewrites it whole
-- (before: only the rows that differ, at several times the cost)
SELECT h.rows_deleted, h.rows_inserted, (SELECT count(*) FROM cc_outer2) AS n_rows
  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'cc_outer2' ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.refresh('"cc agg2"'), pgt_test.refresh('cc_outer2');

-- the next small change is a delta again
UPDATE cc_fact SET v = v + 1 WHERE id <= 10;
DELETE FROM cc_dim WHERE id = 40;
SELECT pgt_test.drefresh('"cc agg2"'), pgt_test.drefresh('cc_outer2');

-- the ratio still applies first: beyond it, FULL without asking the
-- planner.  Now a stream table reads cc_outer2: the recomputation writes
-- only the rows that differ, so that the reader receives a small change.
SELECT pgtrickle.create_stream_table('cc_reader',
	'SELECT id, count(fid) AS n FROM cc_outer2 GROUP BY id', '1m', 'DIFFERENTIAL');
SET pg_trickle.differential_max_change_ratio = 0.01;
UPDATE cc_fact SET v = v + 1 WHERE id <= 1000;
SELECT pgtrickle.refresh_stream_table('cc_outer2');
SELECT pgt_test.last_refresh('cc_outer2');
SELECT h.rows_deleted, h.rows_inserted, (SELECT count(*) FROM cc_outer2) AS n_rows
  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'cc_outer2' ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.refresh('cc_outer2');
RESET pg_trickle.differential_max_change_ratio;
SELECT pgt_test.drefresh('cc_reader');

-- measured costs count only from refreshes of 1,000 changes or more: after
-- a DIFFERENTIAL refresh of 500 changes the table still has no history to
-- extrapolate from (its fixed costs would dominate), and the planner decides
SELECT pgtrickle.create_stream_table('cc_outer3',
	'SELECT d.id, d."Name.x", f.id AS fid, f.v FROM cc_dim d LEFT JOIN cc_fact f ON f.dim = d.id AND f.v < 3',
	'1m', 'DIFFERENTIAL');
UPDATE cc_fact SET v = v + 1 WHERE id BETWEEN 2001 AND 2250;
SELECT pgt_test.drefresh('cc_outer3');
SET pg_trickle.differential_max_change_ratio = 1.0;
UPDATE cc_fact SET v = (v + 1) % 100, dim = 1 + (dim + 3) % 39 WHERE id % 20 < 9;
SELECT pgtrickle.refresh_stream_table('cc_outer3');
SELECT pgt_test.last_refresh('cc_outer3');
RESET pg_trickle.differential_max_change_ratio;
SELECT pgt_test.refresh('cc_outer3');

SELECT pgtrickle.drop_stream_table(s) FROM unnest(ARRAY['cc_outer3', 'cc_reader', '"cc agg"', '"cc agg2"', 'cc_outer2']) s;
DROP TABLE cc_fact, cc_dim;
