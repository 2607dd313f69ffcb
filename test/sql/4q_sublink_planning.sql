-- Scalar subqueries of one query level over the same rows (the same FROM
-- and WHERE, different select lists) share ONE grouped subquery and one
-- LEFT JOIN, their values side by side (scalar.c, "values side by side"):
-- a scalar subquery without an aggregate (sublink.c writes it as its
-- count(*) and its min(value) over the same rows), several of them over
-- the same correlation, one next to an aggregate one, an IN as a value
-- next to them, in a subquery in FROM and in a grouped select list (in
-- WHERE they are not shared: src/delta/README.md).  Every refresh is checked by the oracle (pgt_test.drefresh);
-- NULLs, duplicates, keyless sources and 21000 as the query raises it.
-- The structure (how many grouped subqueries are joined) is read from
-- explain_st, never a timing.
SET client_min_messages = warning;
CREATE SCHEMA sp;
SET search_path = sp, public;

CREATE TABLE o (id int PRIMARY KEY, k int, cid int, flag bool);
CREATE TABLE n (k int, v int);				-- no key: duplicates
CREATE TABLE cust (id int, name text, vip bool);	-- no key: 21000 possible
CREATE INDEX ON n (k);
CREATE INDEX ON cust (id);
INSERT INTO o VALUES (1, 1, 1, false), (2, 2, 2, true), (3, 3, NULL, false), (4, NULL, 3, false),
                     (5, 1, 4, NULL), (6, 7, 1, false);
INSERT INTO n VALUES (1, 10), (1, 10), (2, 7), (NULL, 3), (5, NULL), (3, 1), (1, 1);
INSERT INTO cust VALUES (1, 'ann', true), (2, 'bob', false), (3, NULL, NULL), (9, 'x', true), (9, 'y', false);

-- every refresh checked by the oracle and verify_stream_table (a delta
-- that meets a 21000 on rows that never existed together recomputes:
-- src/delta/README.md, "21000 in a delta")
-- the oracle and verify after each refresh, and the action it took: the
-- delta of sp.mixed can pair rows that never existed together (a customer
-- id duplicated before or after the change) and then recomputes, as
-- designed (src/delta/README.md, "Sublinks anywhere")
CREATE FUNCTION sp.all_ok() RETURNS TABLE(st text, ok text)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT s.pgt_name FROM pgtrickle.pgt_stream_tables s
			  WHERE s.pgt_schema = 'sp' ORDER BY s.pgt_name LOOP
		st := r.pgt_name;
		PERFORM pgtrickle.refresh_stream_table('sp.' || quote_ident(st));
		ok := pgt_test.last_refresh('sp.' || quote_ident(st));
		PERFORM pgt_test.check('sp.' || quote_ident(st));
		IF EXISTS (SELECT 1 FROM pgtrickle.verify_stream_table('sp.' || quote_ident(st))) THEN
			RAISE EXCEPTION 'verify_stream_table(sp.%) returned rows', st;
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$;

-- two scalar subqueries without an aggregate over the same rows: one join
SELECT pgtrickle.create_stream_table('sp.two',
	'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, (SELECT c.vip FROM cust c WHERE c.id = o.cid) AS vip FROM o', '1m', 'DIFFERENTIAL');
-- IN as a value, a scalar one and an aggregate one at one level
SELECT pgtrickle.create_stream_table('sp.mixed',
	'SELECT o.id, o.k IN (SELECT n.v FROM n WHERE n.k = o.cid) AS i, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, (SELECT count(*) FROM cust c WHERE c.id = o.cid) AS nc FROM o', '1m', 'DIFFERENTIAL');
-- nested: one in a subquery in FROM (its own joins), one above it
SELECT pgtrickle.create_stream_table('sp.nested',
	'SELECT x.id, x.name, (SELECT c.vip FROM cust c WHERE c.id = x.k) AS vip FROM (SELECT o.id, o.k, (SELECT c.name FROM cust c WHERE c.id = o.k) AS name FROM o) x', '1m', 'DIFFERENTIAL');
-- in a grouped select list (the values join the GROUP BY as hidden keys)
SELECT pgtrickle.create_stream_table('sp.grouped',
	'SELECT o.cid, count(*) AS c, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, (SELECT c.vip FROM cust c WHERE c.id = o.cid) AS vip FROM o GROUP BY o.cid', '1m', 'DIFFERENTIAL');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'sp' ORDER BY 1;
SELECT * FROM sp.all_ok();
SELECT * FROM sp.mixed ORDER BY id;

-- one grouped subquery per distinct set of rows: the lines name the joins
SELECT s.pgt_name, x.value
  FROM pgtrickle.pgt_stream_tables s,
       LATERAL pgtrickle.explain_st('sp.' || s.pgt_name) x
 WHERE s.pgt_schema = 'sp' AND x.property = 'subquery_maintenance' ORDER BY 1;

-- changes on both sides: duplicates, NULL keys, a correlation column
-- updated, the last matching row deleted, a NULL arriving in NOT IN's set
INSERT INTO n VALUES (7, 11), (2, 7), (NULL, NULL);
UPDATE o SET k = 5 WHERE id = 3;
UPDATE o SET flag = true WHERE id = 5;
UPDATE cust SET vip = NULL WHERE id = 2;
SELECT * FROM sp.all_ok();
DELETE FROM n WHERE k = 1;
UPDATE n SET k = 3 WHERE k = 2;
UPDATE cust SET name = 'ann2', vip = false WHERE id = 1;
UPDATE o SET cid = 2 WHERE id = 4;
SELECT * FROM sp.all_ok();
DELETE FROM n WHERE v IS NULL;
DELETE FROM cust WHERE id = 9;
INSERT INTO o VALUES (7, NULL, NULL, NULL), (8, 10, 9, false), (9, 2, 2, true);
SELECT * FROM sp.all_ok();
SELECT * FROM sp.mixed ORDER BY id;
SELECT * FROM sp.grouped ORDER BY cid;

-- more than one row for an outer row that exists: 21000, as the query
INSERT INTO cust VALUES (2, 'bob2', true);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('sp.two')$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('sp.grouped')$$);
SELECT pgt_test.err($$SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, (SELECT c.vip FROM cust c WHERE c.id = o.cid) AS vip FROM o$$);
-- ... not for customers no order reads
DELETE FROM cust WHERE name = 'bob2';
INSERT INTO cust VALUES (40, 'p', true), (40, 'q', false);
SELECT * FROM sp.all_ok();
DELETE FROM o;
SELECT * FROM sp.all_ok();
INSERT INTO o VALUES (1, 1, 1, true), (2, 40, 40, false);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('sp.mixed')$$);
DELETE FROM cust WHERE id = 40;
SELECT * FROM sp.all_ok();

-- three IN as values and two scalar subqueries at one level: eight joins,
-- a delta statement past the size bound (rewrite.c): refused when the
-- table becomes DIFFERENTIAL (AUTO: FULL, saying why), where it took over
-- 9 GB of memory at the first refresh before
SELECT pgtrickle.create_stream_table('sp.five',
	'SELECT o.id, o.k IN (SELECT n.v FROM n WHERE n.k = o.cid) AS i1, o.cid NOT IN (SELECT n.v FROM n) AS i2,
	        o.k IN (SELECT c.id / 10 FROM cust c WHERE c.id = o.cid) AS i3,
	        (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, (SELECT n.v FROM n WHERE n.k = o.k) AS v FROM o',
	'1m', 'AUTO');
SELECT refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'five';

SELECT pgtrickle.drop_stream_table(s.pgt_schema || '.' || quote_ident(s.pgt_name))
  FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_schema = 'sp';
DROP SCHEMA sp CASCADE;
