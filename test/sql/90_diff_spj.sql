-- Differential refresh: projection, WHERE, inner joins (also self, cross and
-- non-equi), keyless sources with duplicates.  After every refresh: it ran
-- DIFFERENTIAL (or NO_DATA), the oracle agrees and verify finds nothing.
\pset format unaligned
CREATE TABLE d_cust (id int PRIMARY KEY, name text, region text, vip boolean);
CREATE TABLE d_ord (id int PRIMARY KEY, cust_id int, amount numeric(10,2), qty int, note text);
CREATE TABLE d_dup (a int, b text);                 -- no key, duplicates allowed
INSERT INTO d_cust SELECT g, 'c' || g, CASE g % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' END, g % 4 = 0
  FROM generate_series(1, 30) g;
INSERT INTO d_ord SELECT g, 1 + g % 30, (g * 1.25)::numeric(10,2), g % 7, CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END
  FROM generate_series(1, 200) g;
INSERT INTO d_dup VALUES (1, 'x'), (1, 'x'), (2, NULL), (2, NULL), (3, 'y');

SELECT pgtrickle.create_stream_table('d_proj',
	'SELECT id, amount * qty AS total, upper(note) AS loud,
	        CASE WHEN qty > 3 THEN ''many'' WHEN qty IS NULL THEN NULL ELSE ''few'' END AS size
	   FROM d_ord WHERE amount > 10 AND note IS NOT NULL', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('d_join',
	'SELECT o.id, c.name, c.region, o.amount FROM d_ord o JOIN d_cust c ON c.id = o.cust_id WHERE c.vip OR o.qty > 5',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('d_self',
	'SELECT a.id AS a_id, b.id AS b_id FROM d_cust a JOIN d_cust b ON a.region = b.region AND a.id < b.id WHERE a.id <= 10',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('d_cross',
	'SELECT d.a, c.region FROM d_dup d CROSS JOIN (SELECT DISTINCT region FROM d_cust) c', '1m', 'AUTO');
SELECT pgtrickle.create_stream_table('d_cross2',
	'SELECT d.a, c.id FROM d_dup d, d_cust c WHERE c.id < 3', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('d_nonequi',
	'SELECT o.id AS oid, c.id AS cid FROM d_ord o JOIN d_cust c ON o.qty > c.id % 7 AND o.cust_id = c.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('d_dups', 'SELECT a, b FROM d_dup', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('d_three',
	'SELECT o.id, c.name, x.b FROM d_ord o JOIN d_cust c ON c.id = o.cust_id JOIN d_dup x ON x.a = o.qty', '1m', 'DIFFERENTIAL');
SELECT pgt_name, refresh_mode, requested_refresh_mode FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name LIKE 'd\_%' ORDER BY 1;
-- the storage of a differential stream table carries its row identity
SELECT attname FROM pg_attribute WHERE attrelid = 'd_proj'::regclass AND attnum > 0 ORDER BY attnum;

-- nothing pending: NO_DATA
SELECT pgt_test.drefresh('d_proj');

-- inserts, updates (keys, join keys, to and from NULL), deletes
INSERT INTO d_ord VALUES (201, 4, 99.99, 9, 'fresh'), (202, 8, 5, 1, NULL), (203, 12, 50, 6, 'x');
UPDATE d_ord SET amount = amount + 100 WHERE id % 17 = 0;
UPDATE d_ord SET cust_id = 4 WHERE id BETWEEN 20 AND 25;
UPDATE d_ord SET note = NULL WHERE id = 33;
UPDATE d_ord SET note = 'back' WHERE id = 35;
UPDATE d_ord SET id = id + 1000 WHERE id = 50;
DELETE FROM d_ord WHERE id % 19 = 0;
UPDATE d_cust SET vip = NOT vip WHERE id % 5 = 0;
UPDATE d_cust SET region = 'south' WHERE id = 3;
UPDATE d_cust SET region = NULL WHERE id = 6;
DELETE FROM d_cust WHERE id = 7;
INSERT INTO d_dup VALUES (1, 'x'), (4, 'z'), (5, NULL);
DELETE FROM d_dup WHERE a = 2;
UPDATE d_dup SET b = 'w' WHERE a = 3;
SELECT pgt_test.drefresh('d_proj'), pgt_test.drefresh('d_join'), pgt_test.drefresh('d_self'),
       pgt_test.refresh('d_cross'), pgt_test.drefresh('d_cross2'), pgt_test.drefresh('d_nonequi'),
       pgt_test.drefresh('d_dups'), pgt_test.drefresh('d_three');
-- duplicates are kept as separate rows, and one of two equal rows can go
SELECT a, b, count(*) FROM d_dups GROUP BY a, b ORDER BY a, b;
DELETE FROM d_dup WHERE ctid = (SELECT min(ctid) FROM d_dup WHERE a = 1);
SELECT pgt_test.drefresh('d_dups');
SELECT a, b, count(*) FROM d_dups GROUP BY a, b ORDER BY a, b;

-- a change undone before the refresh, and changes in one transaction
INSERT INTO d_ord VALUES (300, 1, 1, 1, 'gone');
DELETE FROM d_ord WHERE id = 300;
BEGIN;
UPDATE d_ord SET qty = qty + 1 WHERE id < 10;
UPDATE d_ord SET qty = qty - 1 WHERE id < 5;
COMMIT;
SELECT pgt_test.drefresh('d_proj'), pgt_test.drefresh('d_join'), pgt_test.drefresh('d_three');

-- a rolled-back savepoint leaves nothing behind
BEGIN;
INSERT INTO d_ord VALUES (301, 2, 42, 4, 'kept');
SAVEPOINT s;
INSERT INTO d_ord VALUES (302, 2, 43, 4, 'rolled back');
UPDATE d_cust SET name = 'nobody' WHERE id = 2;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT pgt_test.drefresh('d_join');
SELECT count(*) FROM d_join WHERE name = 'nobody';

-- a refresh inside the writing transaction, and more writes after it
BEGIN;
INSERT INTO d_ord VALUES (303, 3, 77, 9, 'before');
SELECT pgt_test.drefresh('d_proj');
INSERT INTO d_ord VALUES (304, 3, 78, 9, 'after');
COMMIT;
SELECT pgt_test.drefresh('d_proj');
SELECT id, loud FROM d_proj WHERE id IN (303, 304) ORDER BY id;

-- a refresh rolled back consumes nothing
BEGIN;
UPDATE d_ord SET amount = 1000 WHERE id = 303;
COMMIT;
BEGIN;
SELECT pgtrickle.refresh_stream_table('d_proj');
ROLLBACK;
SELECT pgt_test.drefresh('d_proj');
SELECT total FROM d_proj WHERE id = 303;

-- bulk statements
INSERT INTO d_ord SELECT g, 1 + g % 29, g, g % 9, 'bulk' FROM generate_series(2001, 2400) g;
UPDATE d_ord SET qty = qty + 2 WHERE id BETWEEN 2001 AND 2200;
DELETE FROM d_ord WHERE id BETWEEN 2300 AND 2400;
SELECT pgt_test.drefresh('d_proj'), pgt_test.drefresh('d_join'), pgt_test.drefresh('d_nonequi'), pgt_test.drefresh('d_three');

-- TRUNCATE of a source makes the next refresh a full one, which says why
TRUNCATE d_dup;
SELECT pgtrickle.refresh_stream_table('d_dups');
SELECT action, reason FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'd_dups' ORDER BY refresh_id DESC LIMIT 1;
SELECT pgt_test.check('d_dups');
INSERT INTO d_dup VALUES (9, 'again');
SELECT pgt_test.drefresh('d_dups'), pgt_test.refresh('d_three'), pgt_test.refresh('d_cross'),
       pgt_test.refresh('d_cross2');

-- a change set that is a large share of a source is applied by FULL refresh
INSERT INTO d_ord SELECT g, 1 + g % 29, g, g % 9, 'many' FROM generate_series(5001, 5700) g;
SELECT pgt_test.drefresh('d_proj');
SET pg_trickle.differential_max_change_ratio = 0.01;
UPDATE d_ord SET qty = qty + 1;
SELECT pgtrickle.refresh_stream_table('d_proj');
SELECT action, reason LIKE 'FULL by cost: %' AS by_cost FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id) WHERE s.pgt_name = 'd_proj' ORDER BY refresh_id DESC LIMIT 1;
RESET pg_trickle.differential_max_change_ratio;
SELECT pgt_test.check('d_proj');
-- the others read d_ord too: the same change set is a FULL by cost for them
SELECT pgt_test.refresh('d_join'), pgt_test.refresh('d_self'), pgt_test.refresh('d_cross2'),
       pgt_test.refresh('d_nonequi'), pgt_test.refresh('d_dups'), pgt_test.refresh('d_three');
SELECT s.pgt_name, h.action, split_part(h.reason, ':', 1) AS reason FROM pgtrickle.pgt_stream_tables s
  CROSS JOIN LATERAL (SELECT action, reason FROM pgtrickle.pgt_refresh_history
                      WHERE pgt_id = s.pgt_id AND action <> 'NO_DATA' ORDER BY refresh_id DESC LIMIT 1) h
 WHERE s.pgt_name IN ('d_join', 'd_nonequi', 'd_three') ORDER BY 1;

SELECT * FROM pgt_test.check_all();
