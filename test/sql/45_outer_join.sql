-- Outer joins (LEFT, RIGHT, FULL) in DIFFERENTIAL refresh: NULL-extended
-- rows appear and disappear as matches come and go.  Every refresh is
-- checked by the oracle and verify_stream_table (pgt_test.drefresh), which
-- also asserts that it ran DIFFERENTIAL.
SET client_min_messages = warning;
CREATE SCHEMA oj;
SET search_path = oj, public;

-- customers with a key; orders without one (duplicates allowed); NULL keys
CREATE TABLE cust (id int PRIMARY KEY, name text, region int);
CREATE TABLE ord (cid int, amount numeric, note text);
CREATE TABLE region (id int, label text);
INSERT INTO cust VALUES (1, 'ann', 1), (2, 'bob', 1), (3, 'cy', 2), (4, NULL, NULL), (5, 'eve', 3);
INSERT INTO ord VALUES (1, 10, 'a'), (1, 10, 'a'), (1, 5, 'b'), (2, 7, 'c'), (NULL, 1, 'orphan'),
                       (9, 2, 'unknown customer');
INSERT INTO region VALUES (1, 'north'), (2, 'south'), (2, 'south'), (NULL, 'nowhere');


-- the three join types, duplicates and NULL keys on both sides
SELECT pgtrickle.create_stream_table('oj.l', 'SELECT c.id, c.name, o.amount, o.note FROM cust c LEFT JOIN ord o ON o.cid = c.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.r', 'SELECT c.name, o.cid, o.amount FROM cust c RIGHT JOIN ord o ON o.cid = c.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.f', 'SELECT c.id, o.cid, o.note FROM cust c FULL JOIN ord o ON o.cid = c.id', '1m', 'DIFFERENTIAL');
-- expressions over the NULL-extended side, a condition on the preserved
-- side in ON, a non-equi condition
SELECT pgtrickle.create_stream_table('oj.expr', 'SELECT c.id, coalesce(o.note, ''none'') AS note, o.amount IS NULL AS missing FROM cust c LEFT JOIN ord o ON o.cid = c.id AND c.region = 1', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.nonequi', 'SELECT c.id, o.amount FROM cust c LEFT JOIN ord o ON o.amount > c.id * 3', '1m', 'DIFFERENTIAL');
-- the anti-join pattern
SELECT pgtrickle.create_stream_table('oj.anti', 'SELECT c.id, c.name FROM cust c LEFT JOIN ord o ON o.cid = c.id WHERE o.cid IS NULL', '1m', 'DIFFERENTIAL');
-- chains, mixed with inner joins, nested, USING, NATURAL, a join alias
SELECT pgtrickle.create_stream_table('oj.chain', 'SELECT c.id, o.amount, r.label FROM cust c LEFT JOIN ord o ON o.cid = c.id LEFT JOIN region r ON r.id = c.region', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.chain2', 'SELECT o.note, c.name, r.label FROM ord o LEFT JOIN cust c ON c.id = o.cid FULL JOIN region r ON r.id = c.region', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.mixed', 'SELECT c.id, o.amount, r.label FROM cust c JOIN region r ON r.id = c.region RIGHT JOIN ord o ON o.cid = c.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.nested', 'SELECT r.label, c.name, o.note FROM region r LEFT JOIN (cust c JOIN ord o ON o.cid = c.id) ON c.region = r.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.using', 'SELECT id, c.name, r.label FROM cust c FULL JOIN region r USING (id)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.natural', 'SELECT * FROM (SELECT id AS cid, name FROM cust) c NATURAL LEFT JOIN ord', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.alias', 'SELECT j.id, j.note FROM (cust c LEFT JOIN ord o ON o.cid = c.id) AS j(id, name, region) WHERE j.region IS NOT NULL', '1m', 'DIFFERENTIAL');
-- subqueries in FROM, UNION ALL on the NULL-extended side
SELECT pgtrickle.create_stream_table('oj.sub', 'SELECT c.id, x.v FROM (SELECT id FROM cust WHERE region IS DISTINCT FROM 3) c LEFT JOIN (SELECT cid, amount AS v FROM ord UNION ALL SELECT id, 0 FROM region) x ON x.cid = c.id', '1m', 'DIFFERENTIAL');
-- under aggregates: count, sum, avg, min/max, HAVING, a group key from the
-- NULL-extended side, no GROUP BY
SELECT pgtrickle.create_stream_table('oj.agg', 'SELECT c.id, count(o.cid) AS n, count(*) AS rows, sum(o.amount) AS total, avg(o.amount) AS mean, max(o.note) AS last FROM cust c LEFT JOIN ord o ON o.cid = c.id GROUP BY c.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.agg_null_key', 'SELECT o.note, count(*) AS n, min(c.name) AS first FROM cust c RIGHT JOIN ord o ON o.cid = c.id GROUP BY o.note', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.agg_having', 'SELECT r.label, count(c.id) AS n FROM region r FULL JOIN cust c ON c.region = r.id GROUP BY r.label HAVING count(c.id) <> 1', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.agg_scalar', 'SELECT count(*) AS n, count(o.cid) AS matched FROM cust c LEFT JOIN ord o ON o.cid = c.id', '1m', 'DIFFERENTIAL');
-- an outer join in a UNION ALL branch and in a CTE read twice; a VALUES
-- list as one side
SELECT pgtrickle.create_stream_table('oj.union_branch', 'SELECT c.id, o.note FROM cust c LEFT JOIN ord o ON o.cid = c.id UNION ALL SELECT o.cid, r.label FROM ord o FULL JOIN region r ON r.id = o.cid', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.cte_twice', 'WITH j AS (SELECT c.id, c.region, o.amount FROM cust c LEFT JOIN ord o ON o.cid = c.id) SELECT a.id, b.amount FROM j a JOIN j b ON a.region = b.region AND a.id < b.id', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.values_side', 'SELECT v.k, v.tag, c.name FROM (VALUES (1, ''one''), (3, ''three''), (NULL, ''null'')) v(k, tag) LEFT JOIN cust c ON c.id = v.k', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oj.distinct', 'SELECT DISTINCT c.region, o.note IS NULL AS lonely FROM cust c LEFT JOIN ord o ON o.cid = c.id', '1m', 'DIFFERENTIAL');
SELECT * FROM pgt_test.drefresh_schema('oj');

-- a first match arrives (NULL row disappears), duplicates of an existing match
INSERT INTO ord VALUES (3, 4, 'd'), (1, 10, 'a');
SELECT * FROM pgt_test.drefresh_schema('oj');

-- the last match goes (NULL row appears); one of two duplicates goes
DELETE FROM ord WHERE cid = 2;
DELETE FROM ord WHERE ctid = (SELECT min(ctid) FROM ord WHERE cid = 1 AND amount = 10);
SELECT * FROM pgt_test.drefresh_schema('oj');

-- join keys updated: moves between customers, to NULL and back, to a
-- customer that does not exist yet, which then arrives
UPDATE ord SET cid = 4 WHERE note = 'b';
UPDATE ord SET cid = NULL WHERE note = 'd';
UPDATE ord SET cid = 6 WHERE note = 'unknown customer';
INSERT INTO cust VALUES (6, 'fay', 2);
SELECT * FROM pgt_test.drefresh_schema('oj');
UPDATE ord SET cid = 3 WHERE cid IS NULL;
UPDATE cust SET region = 1 WHERE region IS NULL;
SELECT * FROM pgt_test.drefresh_schema('oj');

-- both sides change in the same refresh: a customer and its orders swap
-- places, the preserved row and its match go together
UPDATE cust SET id = 7 WHERE id = 1;
UPDATE ord SET cid = 7 WHERE cid = 1;
DELETE FROM cust WHERE id = 3;
DELETE FROM ord WHERE cid = 3;
INSERT INTO cust VALUES (8, 'gus', NULL);
INSERT INTO ord VALUES (8, 3, 'e'), (8, 3, 'e');
INSERT INTO region VALUES (3, 'east');
SELECT * FROM pgt_test.drefresh_schema('oj');

-- an update of a column the join does not read; a change that is undone
UPDATE ord SET note = 'renamed' WHERE note = 'a';
UPDATE cust SET name = 'x' WHERE id = 5;
UPDATE cust SET name = 'eve' WHERE id = 5;
SELECT * FROM pgt_test.drefresh_schema('oj');

-- one side emptied, then refilled
DELETE FROM ord;
SELECT * FROM pgt_test.drefresh_schema('oj');
INSERT INTO ord SELECT id, id * 2, 'n' || id FROM cust;
INSERT INTO ord SELECT id, 1, 'dup' FROM cust WHERE id > 5;
DELETE FROM region WHERE label = 'south';
SELECT * FROM pgt_test.drefresh_schema('oj');

-- a NULL-extended row whose preserved side has NULLs itself, and rows that
-- are equal but not identical (numeric scale)
INSERT INTO cust VALUES (10, NULL, NULL);
INSERT INTO ord VALUES (10, 1.0, NULL), (10, 1.00, NULL);
SELECT * FROM pgt_test.drefresh_schema('oj');
DELETE FROM ord WHERE cid = 10 AND scale(amount) = 1;
SELECT * FROM pgt_test.drefresh_schema('oj');

-- AUTO chooses DIFFERENTIAL for an outer join; explain_st says so
SELECT pgtrickle.create_stream_table('oj.auto', 'SELECT c.id, o.note FROM cust c LEFT JOIN ord o ON o.cid = c.id', '1m', 'AUTO');
SELECT property, value FROM pgtrickle.explain_st('oj.auto')
 WHERE property IN ('refresh_mode', 'requested_refresh_mode', 'differential_supported', 'fallback_reason')
 ORDER BY property;
-- with a change pending, the delta probes the other side for matches
UPDATE ord SET cid = NULL WHERE cid = 6;
SELECT (value LIKE '%NOT (EXISTS ( SELECT%' OR value LIKE '%LEFT JOIN oj.ord y ON %') AS probes_the_other_side
  FROM pgtrickle.explain_st('oj.auto') WHERE property = 'differential_refresh_sql';
SELECT pgt_test.drefresh('oj.auto');

-- a stream table over an outer join read by another one
SELECT pgtrickle.create_stream_table('oj.down', 'SELECT note, count(*) AS n FROM oj.l GROUP BY note', '1m', 'DIFFERENTIAL');
DELETE FROM ord WHERE cid = 7;
INSERT INTO ord VALUES (5, 1, 'late');
SELECT pgt_test.drefresh('oj.l'), pgt_test.drefresh('oj.down');

-- names that need quoting, on both sides of the join
CREATE TABLE "Odd ""Side""" ("Key" int, "the value" text);
INSERT INTO "Odd ""Side""" VALUES (2, 'two'), (NULL, 'none');
SELECT pgtrickle.create_stream_table('oj."Odd join"', 'SELECT c.id, s."the value" FROM cust c FULL JOIN "Odd ""Side""" s ON s."Key" = c.id', '1m', 'DIFFERENTIAL');
INSERT INTO "Odd ""Side""" VALUES (5, 'five');
DELETE FROM "Odd ""Side""" WHERE "Key" = 2;
SELECT pgt_test.drefresh('oj."Odd join"');

SELECT pgtrickle.drop_stream_table('oj.down');
SELECT pgtrickle.drop_stream_table(format('oj.%I', pgt_name))
  FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'oj' ORDER BY pgt_name;
DROP SCHEMA oj CASCADE;
RESET search_path;
