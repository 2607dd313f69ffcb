-- Differential refresh of UNION, INTERSECT and EXCEPT (distinct at the root
-- of the set operation tree, any operator below it): per distinct row the
-- counts of the inputs are hidden state; NULLs compare equal.
\pset format unaligned
CREATE TABLE so_l (id int PRIMARY KEY, a int, b text);
CREATE TABLE so_r (id int PRIMARY KEY, a int, b text);
CREATE TABLE so_k (a int, b text);          -- keyless, duplicates
INSERT INTO so_l VALUES (1, 1, 'x'), (2, 1, 'x'), (3, 2, NULL), (4, NULL, 'y'), (5, 3, 'z'), (6, 4, 'w');
INSERT INTO so_r VALUES (1, 1, 'x'), (2, 2, NULL), (3, NULL, 'y'), (4, NULL, 'y'), (5, 5, 'v');
INSERT INTO so_k VALUES (1, 'x'), (1, 'x'), (3, 'z'), (NULL, NULL);

SELECT pgtrickle.create_stream_table('so_union', 'SELECT a, b FROM so_l UNION SELECT a, b FROM so_r', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('so_inter', 'SELECT a, b FROM so_l INTERSECT SELECT a, b FROM so_r', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('so_except', 'SELECT a, b FROM so_l EXCEPT SELECT a, b FROM so_r', '1m', 'DIFFERENTIAL');
-- ALL below a distinct root: min(m, n) and max(m - n, 0) decide presence
SELECT pgtrickle.create_stream_table('so_nested',
	'(SELECT a, b FROM so_l EXCEPT ALL SELECT a, b FROM so_k) UNION (SELECT a, b FROM so_r INTERSECT ALL SELECT a, b FROM so_k)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('so_mixed',
	'SELECT a, b FROM so_l UNION ALL SELECT a, b FROM so_k EXCEPT SELECT a, b FROM so_r WHERE a IS NOT NULL',
	'1m', 'DIFFERENTIAL');
-- column types resolved across the inputs, quoted names
SELECT pgtrickle.create_stream_table('so_types',
	'SELECT a AS "A b.c", b FROM so_l INTERSECT SELECT a::bigint, b FROM so_k', '1m', 'DIFFERENTIAL');
-- the set operation's collation (explicit on one side), ORDER BY ignored
SELECT pgtrickle.create_stream_table('so_coll',
	'SELECT b COLLATE "C" AS b FROM so_l EXCEPT SELECT b FROM so_r ORDER BY 1', '1m', 'DIFFERENTIAL');
-- ALL at the root (multiset: min(m, n), max(m - n, 0) copies), a set
-- operation under UNION ALL, and one in a subquery under an aggregate
SELECT pgtrickle.create_stream_table('so_iall', 'SELECT a, b FROM so_l INTERSECT ALL SELECT a, b FROM so_k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('so_eall', 'SELECT a, b FROM so_l EXCEPT ALL SELECT a, b FROM so_k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('so_under',
	'SELECT a, b FROM so_k UNION ALL (SELECT a, b FROM so_l EXCEPT SELECT a, b FROM so_r)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('so_sub',
	'SELECT a, count(*) AS n FROM (SELECT a FROM so_l EXCEPT ALL SELECT a FROM so_k) s GROUP BY a', '1m', 'DIFFERENTIAL');
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'so_types'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE '\_\_pgt%' ORDER BY attnum;
SELECT a, b FROM so_inter ORDER BY a, b;
SELECT a, b FROM so_except ORDER BY a, b;
SELECT a, b FROM so_iall ORDER BY a, b;
SELECT a, b FROM so_eall ORDER BY a, b;

-- a row whose count crosses zero on either side
DELETE FROM so_r WHERE id = 1;                       -- (1,x) leaves the right: out of INTERSECT, into EXCEPT
INSERT INTO so_r VALUES (6, 3, 'z');                 -- (3,z) reaches the right
DELETE FROM so_r WHERE id = 3;                       -- (NULL,y) still once on the right
UPDATE so_l SET b = 'v', a = 5 WHERE id = 6;         -- (4,w) leaves the left, (5,v) comes
INSERT INTO so_k VALUES (1, 'x');                    -- (1,x): left 2, keyless 3: EXCEPT ALL empties
DELETE FROM so_k WHERE a IS NULL;
SELECT pgt_test.drefresh('so_union'), pgt_test.drefresh('so_inter'), pgt_test.drefresh('so_except'),
       pgt_test.drefresh('so_nested'), pgt_test.drefresh('so_mixed'), pgt_test.drefresh('so_types'), pgt_test.drefresh('so_coll'),
       pgt_test.drefresh('so_iall'), pgt_test.drefresh('so_eall'), pgt_test.drefresh('so_under'), pgt_test.drefresh('so_sub');
SELECT a, b FROM so_inter ORDER BY a, b;
SELECT a, b FROM so_except ORDER BY a, b;
SELECT a, b FROM so_iall ORDER BY a, b;
SELECT a, b FROM so_eall ORDER BY a, b;

-- duplicates: one copy of a duplicated row goes, the row stays
DELETE FROM so_l WHERE id = 2;
INSERT INTO so_r VALUES (7, 1, 'x'), (8, 1, 'x');
DELETE FROM so_k WHERE ctid = (SELECT min(ctid) FROM so_k WHERE a = 1);
SELECT pgt_test.drefresh('so_union'), pgt_test.drefresh('so_inter'), pgt_test.drefresh('so_except'),
       pgt_test.drefresh('so_nested'), pgt_test.drefresh('so_mixed'), pgt_test.drefresh('so_types'), pgt_test.drefresh('so_coll'),
       pgt_test.drefresh('so_iall'), pgt_test.drefresh('so_eall'), pgt_test.drefresh('so_under'), pgt_test.drefresh('so_sub');
-- everything leaves, then comes back
DELETE FROM so_l; DELETE FROM so_k;
SELECT pgt_test.drefresh('so_union'), pgt_test.drefresh('so_inter'), pgt_test.drefresh('so_except'),
       pgt_test.drefresh('so_nested'), pgt_test.drefresh('so_mixed'), pgt_test.drefresh('so_types'), pgt_test.drefresh('so_coll'),
       pgt_test.drefresh('so_iall'), pgt_test.drefresh('so_eall'), pgt_test.drefresh('so_under'), pgt_test.drefresh('so_sub');
SELECT count(*) FROM so_inter;
SELECT a, b FROM so_eall ORDER BY a, b;
INSERT INTO so_l VALUES (1, NULL, NULL), (2, 5, 'v'), (3, 1, 'x');
INSERT INTO so_k VALUES (NULL, NULL), (5, 'v');
SELECT pgt_test.drefresh('so_union'), pgt_test.drefresh('so_inter'), pgt_test.drefresh('so_except'),
       pgt_test.drefresh('so_nested'), pgt_test.drefresh('so_mixed'), pgt_test.drefresh('so_types'), pgt_test.drefresh('so_coll'),
       pgt_test.drefresh('so_iall'), pgt_test.drefresh('so_eall'), pgt_test.drefresh('so_under'), pgt_test.drefresh('so_sub');
SELECT a, b FROM so_inter ORDER BY a, b;
SELECT a, b FROM so_iall ORDER BY a, b;
SELECT a, n FROM so_sub ORDER BY a;

-- what stays refused names the construct
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('so_x', 'SELECT a FROM so_l UNION SELECT a FROM so_r LIMIT 2', '1m', 'DIFFERENTIAL')$$);

SELECT pgtrickle.drop_stream_table(n) FROM unnest(ARRAY['so_union', 'so_inter', 'so_except', 'so_nested', 'so_mixed', 'so_types', 'so_coll', 'so_iall', 'so_eall', 'so_under', 'so_sub']) n;
DROP TABLE so_l, so_r, so_k;
