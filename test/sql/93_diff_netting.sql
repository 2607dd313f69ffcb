-- Change sets are netted by the binary image of the columns the query
-- reads (capture/changes.c), never by a text form; min/max recompute only
-- groups that lost their extreme; a HAVING that becomes NULL drops a group.

-- float8 values that print alike with extra_float_digits = 0 stay distinct
CREATE TABLE n_f (id int PRIMARY KEY, x float8, note text);
INSERT INTO n_f VALUES (1, 1), (2, 0.1);
SELECT pgtrickle.create_stream_table('n_fx', 'SELECT id, x FROM n_f');
SELECT pgtrickle.create_stream_table('n_fsum', 'SELECT count(*) AS n, min(x) AS lo, max(x) AS hi FROM n_f');
SET extra_float_digits = 0;
UPDATE n_f SET x = 1.0000000000000002 WHERE id = 1;
SELECT pgt_test.refresh('n_fx');
SELECT pgt_test.refresh('n_fsum');
RESET extra_float_digits;
SELECT id, x FROM n_fx ORDER BY id;
SELECT hi = 1.0000000000000002::float8 AS hi_exact FROM n_fsum;

-- an update of a column the query does not read costs that query nothing
UPDATE n_f SET note = 'changed' WHERE id = 2;
SELECT pgtrickle.create_stream_table('n_fnote', 'SELECT id, note FROM n_f');
UPDATE n_f SET note = 'again' WHERE id = 2;
SELECT pgt_test.drefresh('n_fx') AS n_fx, pgt_test.drefresh('n_fnote') AS n_fnote;
SELECT * FROM pgt_test.check_all() WHERE stream_table IN ('n_fx', 'n_fnote');

-- array columns are read, netted and matched like any other
CREATE TABLE n_arr (id int PRIMARY KEY, tags text[], vals int[]);
INSERT INTO n_arr VALUES (1, '{a,b}', '{1,2}'), (2, '{c}', NULL), (3, '{}', '{3}');
SELECT pgtrickle.create_stream_table('n_arr_rows', 'SELECT id, tags, vals FROM n_arr');
SELECT pgtrickle.create_stream_table('n_arr_grp', 'SELECT tags, count(*) AS n FROM n_arr GROUP BY tags');
UPDATE n_arr SET tags = '{a,b}' WHERE id = 2;
UPDATE n_arr SET vals = '{9}' WHERE id = 1;
INSERT INTO n_arr VALUES (4, '{a,b}', '{}');
DELETE FROM n_arr WHERE id = 3;
SELECT pgt_test.refresh('n_arr_rows');
SELECT pgt_test.refresh('n_arr_grp');
SELECT tags, n FROM n_arr_grp ORDER BY tags;
-- groups keyed by arrays (of different sizes, NULL, with NULL elements)
-- that lose their extreme are recomputed: their keys travel as records
SELECT pgtrickle.create_stream_table('n_arr_min',
	'SELECT tags, min(id) AS lo, max(vals) AS hi FROM n_arr GROUP BY tags');
INSERT INTO n_arr VALUES (5, NULL, '{5}'), (6, '{a,NULL}', '{6}'), (7, NULL, '{7}'), (8, '{a,NULL}', NULL);
SELECT pgt_test.drefresh('n_arr_min');
DELETE FROM n_arr WHERE id IN (1, 5, 6);
SELECT pgt_test.drefresh('n_arr_min');
SELECT tags, lo, hi FROM n_arr_min ORDER BY tags NULLS FIRST;
SELECT pgt_test.refresh('n_arr_rows'), pgt_test.refresh('n_arr_grp');

-- numeric spellings are kept: 1.0 becomes 1.00, the stream table follows
CREATE TABLE n_num (id int PRIMARY KEY, v numeric);
INSERT INTO n_num VALUES (1, 1.0);
SELECT pgtrickle.create_stream_table('n_num_rows', 'SELECT id, v FROM n_num');
UPDATE n_num SET v = 1.00;
SELECT pgt_test.refresh('n_num_rows');
SELECT v::text FROM n_num_rows;

-- a HAVING condition that becomes NULL removes the group
CREATE TABLE n_h (g int, v int);
INSERT INTO n_h VALUES (1, 950), (1, 10), (2, 990);
SELECT pgtrickle.create_stream_table('n_having', 'SELECT g, max(v) AS m FROM n_h GROUP BY g HAVING max(v) > 900');
UPDATE n_h SET v = NULL WHERE g = 2;
UPDATE n_h SET v = NULL WHERE g = 1 AND v = 950;
SELECT pgt_test.refresh('n_having');
SELECT g, m FROM n_having ORDER BY g;
UPDATE n_h SET v = 999 WHERE g = 2;
SELECT pgt_test.refresh('n_having');
SELECT g, m FROM n_having ORDER BY g;

-- min/max: groups that lose their extreme are recomputed, NULL keys too
CREATE TABLE n_mm (k int, v int);
INSERT INTO n_mm SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE i % 4 END, i FROM generate_series(1, 40) i;
CREATE INDEX ON n_mm (k);
SELECT pgtrickle.create_stream_table('n_minmax', 'SELECT k, min(v) AS lo, max(v) AS hi, count(*) AS n FROM n_mm GROUP BY k');
DELETE FROM n_mm WHERE v IN (40, 4, 39, 1);
UPDATE n_mm SET v = 100 WHERE v = 38;
INSERT INTO n_mm VALUES (3, 0);
SELECT pgt_test.refresh('n_minmax');
SELECT k, lo, hi, n FROM n_minmax ORDER BY k NULLS FIRST;

-- the change set is only served to the refresh that read it
SELECT pgt_test.err($$SELECT * FROM pgtrickle._changes(1, 'n_mm'::regclass) AS c(x int, __pgt_m bigint)$$);

-- rows a lagging consumer keeps are not read by the others' refreshes
CREATE TABLE n_lag (id int PRIMARY KEY, v int);
INSERT INTO n_lag SELECT g, g FROM generate_series(1, 100) g;
SELECT pgtrickle.create_stream_table('n_lag_fast', 'SELECT id, v FROM n_lag');
SELECT pgtrickle.create_stream_table('n_lag_slow', 'SELECT sum(v) AS s FROM n_lag');
SELECT pgtrickle.pause_stream_table('n_lag_slow');
DO $$BEGIN FOR i IN 1..150 LOOP UPDATE n_lag SET v = v + 1; END LOOP; END$$;
SELECT pgt_test.refresh('n_lag_fast');
UPDATE n_lag SET v = v + 1 WHERE id = 1;
SELECT brin_summarize_new_values(('pgtrickle_changes.changes_xid_' || 'n_lag'::regclass::oid)::regclass) > 0 AS summarized;
DO $$BEGIN EXECUTE format('ANALYZE pgtrickle_changes.%I', 'changes_' || 'n_lag'::regclass::oid); END$$;
BEGIN;
SELECT pgtrickle.refresh_stream_table('n_lag_fast');
SELECT pg_stat_get_xact_numscans(('pgtrickle_changes.changes_xid_' || 'n_lag'::regclass::oid)::regclass) > 0 AS read_by_writer_range;
COMMIT;
SELECT pgtrickle.resume_stream_table('n_lag_slow');
SELECT pgt_test.refresh('n_lag_slow');

-- a recomputation of an aggregate that another stream table reads writes
-- only the groups that differ (without a reader it rewrites the table:
-- test/sql/4e_cost_choice.sql)
CREATE TABLE n_re (g int, v int);
INSERT INTO n_re SELECT i % 50, i FROM generate_series(1, 1000) i;
SELECT pgtrickle.create_stream_table('n_re_sum', 'SELECT g, count(*) AS n, sum(v) AS s FROM n_re GROUP BY g');
SELECT pgtrickle.create_stream_table('n_re_sum_reader', 'SELECT count(*) AS groups FROM n_re_sum');
BEGIN;
TRUNCATE n_re;
INSERT INTO n_re SELECT i % 50, i FROM generate_series(1, 1000) i;
UPDATE n_re SET v = v + 1 WHERE g = 7;
DELETE FROM n_re WHERE g = 8;
COMMIT;
SELECT pgt_test.refresh('n_re_sum');
SELECT h.action, h.reason, h.rows_inserted, h.rows_deleted FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'n_re_sum' AND h.action <> 'NO_DATA' ORDER BY h.refresh_id DESC LIMIT 1;

-- ... and so does one of a projection
SELECT pgtrickle.create_stream_table('n_re_rows', 'SELECT g, v FROM n_re WHERE v > 900');
SELECT pgtrickle.create_stream_table('n_re_rows_reader', 'SELECT count(*) AS n FROM n_re_rows');
BEGIN;
TRUNCATE n_re;
INSERT INTO n_re SELECT i % 50, i FROM generate_series(1, 1000) i;
UPDATE n_re SET v = v + 1 WHERE g = 7;
COMMIT;
SELECT pgt_test.refresh('n_re_rows');
SELECT pgt_test.refresh('n_re_sum');
SELECT h.action, h.reason, h.rows_inserted, h.rows_deleted FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'n_re_rows' AND h.action <> 'NO_DATA' ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.refresh('n_re_sum_reader'), pgt_test.refresh('n_re_rows_reader');

-- system catalogs and the extension's own tables are never captured
-- (no trigger fires for their writes): refused for DIFFERENTIAL, FULL for AUTO
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sys_rel', 'SELECT relname FROM pg_catalog.pg_class', refresh_mode => 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sys_own', 'SELECT pgt_name FROM pgtrickle.pgt_stream_tables', refresh_mode => 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('sys_auto', 'SELECT relname FROM pg_catalog.pg_class', refresh_mode => 'AUTO');
SELECT refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'sys_auto';
SELECT pgtrickle.drop_stream_table('sys_auto');

SELECT * FROM pgt_test.check_all() WHERE stream_table LIKE 'n\_%';
