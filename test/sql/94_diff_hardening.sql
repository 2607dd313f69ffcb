-- Delta engine hardening (issue 13, items 1, 4, 8, 9, 10, 18).  After every
-- refresh the stream table is compared with its defining query
-- (pgt_test.refresh / drefresh, see 00_setup).

-- 1. NaN and +-Infinity leaving a numeric sum/avg: the group is recomputed
CREATE TABLE hd_nan (id int PRIMARY KEY, g int, x numeric);
INSERT INTO hd_nan VALUES (1, 1, 1), (2, 1, 'NaN'), (3, 2, 2), (4, 2, 'Infinity'),
	(5, 3, '-Infinity'), (6, 3, 'Infinity'), (7, 4, 7);
SELECT pgtrickle.create_stream_table('hd_nan_g',
	'SELECT g, sum(x) AS s, avg(x) AS a, count(*) AS n FROM hd_nan GROUP BY g');
SELECT pgtrickle.create_stream_table('hd_nan_all', 'SELECT sum(x) AS s, avg(x) AS a FROM hd_nan');
SELECT g, s, a FROM hd_nan_g ORDER BY g;
DELETE FROM hd_nan WHERE id = 2;               -- NaN leaves group 1
UPDATE hd_nan SET x = 5 WHERE id = 4;          -- Infinity leaves group 2
DELETE FROM hd_nan WHERE id = 6;               -- group 3 keeps -Infinity
SELECT pgt_test.drefresh('hd_nan_g') AS g, pgt_test.drefresh('hd_nan_all') AS all;
SELECT g, s, a FROM hd_nan_g ORDER BY g;
SELECT s, a FROM hd_nan_all;
-- arriving non-finite values merge; leaving again recomputes
UPDATE hd_nan SET x = 'NaN' WHERE id = 7;
SELECT pgt_test.drefresh('hd_nan_g') AS g, pgt_test.drefresh('hd_nan_all') AS all;
UPDATE hd_nan SET x = 8 WHERE id = 7;
DELETE FROM hd_nan WHERE id = 5;
SELECT pgt_test.drefresh('hd_nan_g') AS g, pgt_test.drefresh('hd_nan_all') AS all;
SELECT g, s, a FROM hd_nan_g ORDER BY g;
SELECT s, a FROM hd_nan_all;
-- through a join, where one change reaches a group from two terms
CREATE TABLE hd_nan_k (g int PRIMARY KEY, w int);
INSERT INTO hd_nan_k VALUES (1, 1), (2, 1), (4, 1);
SELECT pgtrickle.create_stream_table('hd_nan_j',
	'SELECT k.w, sum(n.x) AS s FROM hd_nan n JOIN hd_nan_k k ON k.g = n.g GROUP BY k.w');
INSERT INTO hd_nan VALUES (8, 4, 'Infinity');
UPDATE hd_nan_k SET w = 2 WHERE g = 4;
SELECT pgt_test.drefresh('hd_nan_j');
UPDATE hd_nan_k SET w = 1 WHERE g = 4;
DELETE FROM hd_nan WHERE id = 8;
SELECT pgt_test.drefresh('hd_nan_j');
SELECT w, s FROM hd_nan_j ORDER BY w;

-- 4. functions that are not IMMUTABLE, anywhere in the query, named
CREATE TABLE hd_t (id int PRIMARY KEY, v int, ts timestamptz);
INSERT INTO hd_t VALUES (1, 1, '2020-01-01'), (2, 2, '2020-01-02');
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x1', 'SELECT a.id FROM hd_t a JOIN hd_t b ON a.id = b.id AND a.v < random() * 10', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x2', 'SELECT a.id FROM hd_t a JOIN (hd_t b JOIN hd_t c ON b.id = c.id AND c.ts < now()) ON a.id = b.id', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x3', 'SELECT hd_t.id, v.x FROM hd_t, (VALUES (clock_timestamp())) v(x)', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x4', 'SELECT id FROM hd_t WHERE ts < CURRENT_TIMESTAMP', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x5', 'SELECT id FROM hd_t WHERE ts < ''2020-01-01''::timestamptz + random() * interval ''1 day''', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x6', 'SELECT v, json_agg(id) AS ids FROM hd_t GROUP BY v', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x7', 'SELECT v, jsonb_agg(ts) AS tss FROM hd_t GROUP BY v', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x8', 'SELECT id, ts::text AS t FROM hd_t', '1m', 'DIFFERENTIAL')$$);
-- AUTO falls back to FULL with the same reason
SELECT pgtrickle.create_stream_table('hd_on_auto',
	'SELECT a.id FROM hd_t a JOIN hd_t b ON a.id = b.id AND a.ts < now()', '1m', 'AUTO');
SELECT refresh_mode, requested_refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables
 WHERE pgt_relid = 'hd_on_auto'::regclass;
SELECT pgt_test.refresh('hd_on_auto');

-- 8. a join delta over row combinations that never existed does not fail
CREATE TABLE hd_a (id int PRIMARY KEY, d int);
CREATE TABLE hd_b (id int PRIMARY KEY, n int);
INSERT INTO hd_a VALUES (1, 0), (2, 1);
INSERT INTO hd_b VALUES (2, 10);
SELECT pgtrickle.create_stream_table('hd_div', 'SELECT a.id, b.n / a.d AS q FROM hd_a a JOIN hd_b b ON b.id = a.id');
BEGIN;
UPDATE hd_a SET d = 2 WHERE id = 1;           -- old (1, 0) never met (1, 10)
INSERT INTO hd_b VALUES (1, 10);
COMMIT;
SELECT pgtrickle.refresh_stream_table('hd_div');
SELECT h.action, h.reason FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_relid = 'hd_div'::regclass ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.check('hd_div');
SELECT id, q FROM hd_div ORDER BY id;
-- the next change is differential again
UPDATE hd_b SET n = 20 WHERE id = 2;
SELECT pgt_test.drefresh('hd_div');
-- an error of the query itself is still an error
UPDATE hd_a SET d = 0 WHERE id = 2;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('hd_div')$$);
UPDATE hd_a SET d = 5 WHERE id = 2;
SELECT pgt_test.drefresh('hd_div');
SELECT id, q FROM hd_div ORDER BY id;

-- 9. UNIQUE indexes on stream tables: deletes come before inserts
CREATE TABLE hd_u (id int, v int);
INSERT INTO hd_u VALUES (1, 1), (2, 2);
SELECT pgtrickle.create_stream_table('hd_uniq', 'SELECT id, v FROM hd_u');
ALTER TABLE hd_uniq ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ON hd_uniq (v);
UPDATE hd_u SET v = v + 10;
SELECT pgt_test.drefresh('hd_uniq');
UPDATE hd_u SET v = 23 - v;                    -- 11 <-> 12: values swap rows
SELECT pgt_test.drefresh('hd_uniq');
UPDATE hd_u SET id = 3 - id;                   -- keys swap rows
SELECT pgt_test.drefresh('hd_uniq');
SELECT id, v FROM hd_uniq ORDER BY id;
-- a group that disappears gives its value to a new group
CREATE TABLE hd_ug (id int PRIMARY KEY, g int);
INSERT INTO hd_ug VALUES (1, 1), (2, 5);
SELECT pgtrickle.create_stream_table('hd_ugrp', 'SELECT g, sum(id) AS sx FROM hd_ug GROUP BY g');
CREATE UNIQUE INDEX ON hd_ugrp (sx);
CREATE UNIQUE INDEX ON hd_ugrp (g);
UPDATE hd_ug SET g = 2 WHERE id = 1;
SELECT pgt_test.drefresh('hd_ugrp');
SELECT g, sx FROM hd_ugrp ORDER BY g;
-- a result that violates the index fails, as REFRESH MATERIALIZED VIEW does
INSERT INTO hd_u VALUES (3, 11);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('hd_uniq')$$);
DELETE FROM hd_u WHERE id = 3;
SELECT pgt_test.drefresh('hd_uniq');

-- 10. system columns anywhere, and __pgt_ names in sources
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x9', 'SELECT a.id FROM hd_t a JOIN (hd_t b JOIN hd_t c ON b.ctid = c.ctid) ON a.id = b.id', '1m', 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('hd_sys_auto',
	'SELECT a.id FROM hd_t a JOIN (hd_t b JOIN hd_t c ON b.ctid = c.ctid) ON a.id = b.id', '1m', 'AUTO');
UPDATE hd_t SET v = 3 WHERE id = 2;
SELECT pgt_test.refresh('hd_sys_auto');
CREATE TABLE hd_p (id int PRIMARY KEY, "__pgt_m" int, v int);
INSERT INTO hd_p VALUES (1, 1, 1), (2, 2, 2);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x10', 'SELECT hd_p.id, hd_p."__pgt_m" AS m, hd_t.v FROM hd_p JOIN hd_t ON hd_t.id = hd_p.id', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x11', 'SELECT s.__pgt_x AS x FROM (SELECT id AS __pgt_x FROM hd_t) s', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('hd_x12', 'SELECT g, __pgt_count AS c FROM hd_nan_g', '1m', 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('hd_res_auto',
	'SELECT hd_p.id, hd_p."__pgt_m" AS m, hd_t.v FROM hd_p JOIN hd_t ON hd_t.id = hd_p.id', '1m', 'AUTO');
-- a query that does not read the column is differential
SELECT pgtrickle.create_stream_table('hd_res_other', 'SELECT hd_p.id, hd_t.v FROM hd_p JOIN hd_t ON hd_t.id = hd_p.id');
UPDATE hd_p SET v = 5, "__pgt_m" = 5 WHERE id = 1;
UPDATE hd_t SET v = 6 WHERE id = 2;
SELECT pgt_test.refresh('hd_res_auto');
SELECT pgt_test.drefresh('hd_res_other');
-- ... and at alter
SELECT pgtrickle.create_stream_table('hd_res_alter', 'SELECT id, v FROM hd_t');
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('hd_res_alter', query => 'SELECT hd_p.id, hd_p."__pgt_m" AS m FROM hd_p JOIN hd_t ON hd_t.id = hd_p.id')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('hd_res_alter', query => 'SELECT c.id FROM hd_t b JOIN hd_t c ON b.ctid = c.ctid')$$);
-- a column that gets such a name later: the refresh says why
CREATE TABLE hd_q (id int PRIMARY KEY, v int);
INSERT INTO hd_q VALUES (1, 1);
SELECT pgtrickle.create_stream_table('hd_late', 'SELECT hd_q.id, hd_q.v, hd_t.v AS tv FROM hd_q JOIN hd_t ON hd_t.id = hd_q.id');
ALTER TABLE hd_q RENAME COLUMN v TO "__pgt_m";
UPDATE hd_q SET "__pgt_m" = 2;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('hd_late')$$);
ALTER TABLE hd_q RENAME COLUMN "__pgt_m" TO v;
SELECT pgt_test.drefresh('hd_late');

-- 18. cycles through views
CREATE TABLE hd_base (id int PRIMARY KEY);
INSERT INTO hd_base VALUES (1);
SELECT pgtrickle.create_stream_table('hd_ca', 'SELECT id FROM hd_base');
SELECT pgtrickle.create_stream_table('hd_cb', 'SELECT id FROM hd_ca');
SELECT pgtrickle.create_stream_table('hd_cc', 'SELECT id FROM hd_cb');
CREATE VIEW hd_cv AS SELECT id FROM hd_cc;
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('hd_ca', refresh_mode => 'FULL', query => 'SELECT id FROM hd_cv')$$);
-- a direct self-reference through a view, and through a view on a view
CREATE VIEW hd_sv AS SELECT id FROM hd_ca;
CREATE VIEW hd_svv AS SELECT id FROM hd_sv WHERE id > 0;
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('hd_ca', refresh_mode => 'FULL', query => 'SELECT id FROM hd_sv')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('hd_ca', refresh_mode => 'FULL', query => 'SELECT id FROM hd_svv')$$);
-- a view that does not lead back is fine; replacing it to lead back is not
CREATE VIEW hd_cv2 AS SELECT id FROM hd_base;
SELECT pgtrickle.alter_stream_table('hd_ca', refresh_mode => 'FULL', query => 'SELECT id FROM hd_cv2');
SELECT pgt_test.err($$CREATE OR REPLACE VIEW hd_cv2 AS SELECT id FROM hd_cc$$);
CREATE OR REPLACE VIEW hd_cv2 AS SELECT id FROM hd_base WHERE id > 0;
SELECT pgt_test.refresh('hd_ca');
SELECT pgt_test.refresh('hd_cb');

-- every stream table of this file equals its query, and verify agrees
SELECT c.relname, pgt_test.refresh(c.relname) FROM pgtrickle.pgt_stream_tables s
  JOIN pg_class c ON c.oid = s.pgt_relid
 WHERE c.relname LIKE 'hd\_%' ORDER BY 1;
