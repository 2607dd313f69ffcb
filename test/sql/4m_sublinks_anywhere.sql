-- EXISTS / IN / = ANY where PostgreSQL cannot make a semi-join of them
-- (under OR, under NOT (... OR ...), in the select list, in CASE, in
-- HAVING) and scalar subqueries without an aggregate, in DIFFERENTIAL
-- refresh: rewritten into aggregate scalar subqueries (sublink.c) that the
-- scalar rule maintains.  Every refresh is checked by the oracle and
-- verify_stream_table (pgt_test.drefresh), which also asserts that it ran
-- DIFFERENTIAL.  NULL keys, duplicates, keyless sources, updates of
-- correlation columns, deletes of the last matching row.
SET client_min_messages = warning;
CREATE SCHEMA sa;
SET search_path = sa, public;

CREATE TABLE o (id int PRIMARY KEY, k int, cid int, flag bool);
CREATE TABLE n (k int, v int);			-- no key: duplicates
CREATE TABLE cust (id int, name text, vip bool);	-- no key: 21000 possible
CREATE INDEX ON n (k);
CREATE INDEX ON cust (id);
INSERT INTO o VALUES (1, 1, 1, false), (2, 2, 2, true), (3, 3, NULL, false), (4, NULL, 3, false),
                     (5, 1, 4, NULL), (6, 7, 1, false);
INSERT INTO n VALUES (1, 10), (1, 10), (2, 7), (NULL, 3), (5, NULL), (3, 1);
INSERT INTO cust VALUES (1, 'ann', true), (2, 'bob', false), (3, NULL, NULL), (9, 'x', true), (9, 'y', false);


-- EXISTS under OR; NOT (... OR EXISTS); EXISTS and NOT EXISTS in the select list
SELECT pgtrickle.create_stream_table('sa.or_exists',
	'SELECT o.id FROM o WHERE o.flag OR EXISTS (SELECT 1 FROM n WHERE n.k = o.k)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.not_or',
	'SELECT o.id, o.k FROM o WHERE NOT (o.flag OR EXISTS (SELECT 1 FROM n WHERE n.k = o.k AND n.v > 5))', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.sel',
	'SELECT o.id, EXISTS (SELECT 1 FROM n WHERE n.k = o.k) AS has_n, NOT EXISTS (SELECT FROM n WHERE n.k = o.k AND n.v > 5) AS no_big FROM o', '1m', 'DIFFERENTIAL');
-- in CASE, with an uncorrelated one; in a grouped select list; in HAVING
SELECT pgtrickle.create_stream_table('sa.cased',
	'SELECT o.id, CASE WHEN EXISTS (SELECT 1 FROM n WHERE n.k = o.k) THEN ''yes'' WHEN o.flag OR EXISTS (SELECT 1 FROM n WHERE n.v = 3) THEN ''flag'' ELSE ''no'' END AS s FROM o', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.grouped',
	'SELECT o.k, count(*) AS c, EXISTS (SELECT 1 FROM n WHERE n.k = o.k) AS has_n FROM o GROUP BY o.k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.having',
	'SELECT o.cid, count(*) AS c FROM o GROUP BY o.cid HAVING count(*) > 1 OR EXISTS (SELECT 1 FROM n WHERE n.v = 7)', '1m', 'DIFFERENTIAL');
-- IN under OR (NULL and false alike); IN and NOT IN in the select list and
-- under NOT, with NULLs on both sides (three-valued)
SELECT pgtrickle.create_stream_table('sa.in_or',
	'SELECT o.id FROM o WHERE o.flag OR o.k IN (SELECT n.v FROM n)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.in_sel',
	'SELECT o.id, o.k IN (SELECT n.v FROM n WHERE n.k = o.cid) AS i FROM o', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.notin_sel',
	'SELECT o.id, o.k NOT IN (SELECT n.v FROM n) AS ni FROM o', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.any_sel',
	'SELECT o.id, o.k = ANY (SELECT n.k FROM n WHERE n.v > 5) AS a FROM o', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.notin_or',
	'SELECT o.id FROM o WHERE o.flag OR o.k NOT IN (SELECT n.v FROM n WHERE n.k IS NOT NULL)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.notin_not',
	'SELECT o.id FROM o WHERE NOT (o.cid IN (SELECT n.k FROM n WHERE n.v < 10) OR o.flag)', '1m', 'DIFFERENTIAL');
-- scalar subqueries without an aggregate: correlated, uncorrelated, in WHERE, boolean
SELECT pgtrickle.create_stream_table('sa.name',
	'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name FROM o', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.first',
	'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = 2) AS bob FROM o', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.vip',
	'SELECT o.id FROM o WHERE (SELECT c.vip FROM cust c WHERE c.id = o.cid) OR o.flag', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sa.named',
	'SELECT o.id FROM o WHERE (SELECT c.name FROM cust c WHERE c.id = o.cid) = ''ann''', '1m', 'DIFFERENTIAL');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'sa' ORDER BY 1;
SELECT * FROM pgt_test.drefresh_schema('sa');
SELECT i.id, i.i, ni.ni, a.a FROM sa.in_sel i JOIN sa.notin_sel ni USING (id) JOIN sa.any_sel a USING (id) ORDER BY id;
SELECT * FROM sa.name ORDER BY id;

-- changes on both sides: duplicates, NULL keys, a correlation column
-- updated, the last matching row deleted, a NULL arriving in NOT IN's set
INSERT INTO n VALUES (7, 11), (2, 7), (NULL, NULL);
UPDATE o SET k = 5 WHERE id = 3;
UPDATE o SET flag = true WHERE id = 5;
SELECT * FROM pgt_test.drefresh_schema('sa');
SELECT i.id, i.i, ni.ni, a.a FROM sa.in_sel i JOIN sa.notin_sel ni USING (id) JOIN sa.any_sel a USING (id) ORDER BY id;
DELETE FROM n WHERE k = 1;
UPDATE n SET k = 3 WHERE k = 2;
UPDATE cust SET name = 'ann2' WHERE id = 1;
UPDATE o SET cid = 2 WHERE id = 4;
SELECT * FROM pgt_test.drefresh_schema('sa');
DELETE FROM n WHERE v IS NULL;
DELETE FROM cust WHERE id = 9;
SELECT * FROM pgt_test.drefresh_schema('sa');
INSERT INTO o VALUES (7, NULL, NULL, NULL), (8, 10, 9, false);
SELECT * FROM pgt_test.drefresh_schema('sa');
SELECT i.id, i.i, ni.ni, a.a FROM sa.in_sel i JOIN sa.notin_sel ni USING (id) JOIN sa.any_sel a USING (id) ORDER BY id;
DELETE FROM n;
UPDATE o SET k = k + 1;
SELECT * FROM pgt_test.drefresh_schema('sa');
INSERT INTO n SELECT k, k FROM o WHERE k IS NOT NULL;
DELETE FROM o WHERE id = 1;
SELECT * FROM pgt_test.drefresh_schema('sa');

-- more than one row for an outer row that exists: 21000, as the query
INSERT INTO cust VALUES (2, 'bob2', true);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('sa.first')$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('sa.name')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sa.name2', 'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name FROM o', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name FROM o$$);
-- ... not for customers no order reads
INSERT INTO cust VALUES (40, 'p', true), (40, 'q', false);
DELETE FROM cust WHERE name = 'bob2';
SELECT * FROM pgt_test.drefresh_schema('sa');
-- a duplicate arriving while its only order leaves: the delta meets the
-- pair, the refresh recomputes and succeeds, as the query does
INSERT INTO o VALUES (9, 1, 50, false);
INSERT INTO cust VALUES (50, 'z', false);
SELECT * FROM pgt_test.drefresh_schema('sa');
DELETE FROM o WHERE id = 9;
INSERT INTO cust VALUES (50, 'z2', true);
SELECT pgtrickle.refresh_stream_table('sa.' || t), pgt_test.check('sa.' || t)
  FROM unnest(ARRAY['name', 'named', 'vip']) t;
SELECT s.pgt_name, h.action, h.reason
  FROM pgtrickle.pgt_stream_tables s
  CROSS JOIN LATERAL (SELECT action, reason FROM pgtrickle.pgt_refresh_history x
                       WHERE x.pgt_id = s.pgt_id ORDER BY x.refresh_id DESC LIMIT 1) h
 WHERE s.pgt_name IN ('name', 'named', 'vip') ORDER BY 1;
SELECT * FROM pgt_test.drefresh_schema('sa');

-- explain_st names how each is maintained
SELECT value FROM pgtrickle.explain_st('sa.or_exists') WHERE property = 'subquery_maintenance';
SELECT value FROM pgtrickle.explain_st('sa.in_sel') WHERE property = 'subquery_maintenance';
SELECT value FROM pgtrickle.explain_st('sa.name') WHERE property = 'subquery_maintenance';

-- what stays refused is named (0A000; AUTO: FULL with the reason)
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sa.r1', 'SELECT o.id FROM o WHERE o.flag OR EXISTS (SELECT 1 FROM n WHERE n.k < o.k)', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sa.r2', 'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid LIMIT 1) FROM o', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sa.r3', 'SELECT o.id, o.k::bigint IN (SELECT n.v::bigint + 0 FROM n WHERE n.k = o.id OR n.v = 1) FROM o', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('sa.r4', 'SELECT o.cid FROM o GROUP BY o.cid HAVING EXISTS (SELECT 1 FROM n WHERE n.k = o.cid)', '1m', 'DIFFERENTIAL')$$);

SELECT pgtrickle.drop_stream_table(s.pgt_schema || '.' || quote_ident(s.pgt_name))
  FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_schema = 'sa';
DROP SCHEMA sa CASCADE;
