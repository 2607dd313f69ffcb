-- The choice without history compares like with like: the planner leaves
-- writes out of every estimate (an INSERT costs what its query costs), but
-- a recomputation that rewrites the table deletes every row and writes
-- every row and its index entries again, where a delta writes about one
-- row per change row.  Both sides are now charged for their writes
-- (src/refresh/README.md, "Choice without history").  Counts far from the
-- break-even; the estimates themselves are not printed.
\pset format unaligned
SET pg_trickle.differential_max_change_ratio = 1.0;
CREATE TABLE ch_src (id int PRIMARY KEY, grp int, v int);
INSERT INTO ch_src SELECT g, g % 100, g FROM generate_series(1, 60000) g;
ANALYZE ch_src;

SELECT pgtrickle.create_stream_table('"ch copy"', 'SELECT id, grp, v FROM ch_src', '1m', 'DIFFERENTIAL');

-- 1,500 rows updated: 3,000 change rows (5 % of the source).  The delta
-- deletes and inserts 1,500 rows; recomputing deletes and writes all
-- 60,000 with their index entries.  Before, only reading was compared
-- (the delta's probes against one scan of the source): FULL by cost.
UPDATE ch_src SET v = v + 1 WHERE id % 40 = 0;
SELECT pgtrickle.refresh_stream_table('"ch copy"');
SELECT pgt_test.last_refresh('"ch copy"');
SELECT pgt_test.check('"ch copy"');

-- most of the source changed: recomputing is still chosen (the table has
-- a measured DIFFERENTIAL refresh of over 1,000 changes now: its history
-- decides)
UPDATE ch_src SET v = v + 1 WHERE id % 10 < 6;
SELECT pgtrickle.refresh_stream_table('"ch copy"');
SELECT pgt_test.last_refresh('"ch copy"');
SELECT pgt_test.refresh('"ch copy"');
RESET pg_trickle.differential_max_change_ratio;

SELECT pgtrickle.drop_stream_table('"ch copy"');
DROP TABLE ch_src;
