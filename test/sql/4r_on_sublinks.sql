-- Subqueries in ON conditions (src/delta/onqual.c): an inner join's are
-- WHERE conditions of the level, a LEFT/RIGHT join's that read only its
-- nullable side filter that side; both then go through the semi-join,
-- sublink and scalar-subquery rules.  Every other place stays refused.
-- Each stream table is DIFFERENTIAL and equals its query after every
-- refresh (pgt_test.drefresh_schema).
SET client_min_messages = warning;
CREATE SCHEMA oq;
SET search_path = oq, public;

CREATE TABLE cust (id int PRIMARY KEY, name text, region int);
CREATE TABLE ord (id int PRIMARY KEY, cid int, amount int, status text);
CREATE TABLE banned (region int);                       -- no key, NULLs, duplicates
CREATE TABLE ok_status (s text);
-- a dropped column on a nullable side that becomes a subquery
CREATE TABLE "odd ""ship"" t" (junk int, oid int, "ship to" text);
ALTER TABLE "odd ""ship"" t" DROP COLUMN junk;
INSERT INTO cust SELECT g, 'c' || g, g % 4 FROM generate_series(1, 12) g;
INSERT INTO cust VALUES (13, 'c13', NULL);
INSERT INTO ord SELECT g, 1 + g % 14, g * 3 % 17, (ARRAY['new', 'paid', 'sent', NULL])[1 + g % 4]
  FROM generate_series(1, 40) g;
INSERT INTO ord VALUES (41, NULL, 5, 'paid');
INSERT INTO banned VALUES (1), (1), (NULL);
INSERT INTO ok_status VALUES ('paid'), ('sent'), ('paid');
INSERT INTO "odd ""ship"" t" SELECT g, 'addr ' || g % 5 FROM generate_series(1, 30) g;
INSERT INTO "odd ""ship"" t" VALUES (NULL, 'nowhere'), (3, 'again');

-- inner joins: uncorrelated EXISTS; correlated EXISTS reading both sides;
-- NOT IN with NULLs in the set; a correlated scalar aggregate
SELECT pgtrickle.create_stream_table('oq.inner_exists',
	'SELECT c.id, o.id AS oid FROM cust c JOIN ord o ON o.cid = c.id AND EXISTS (SELECT 1 FROM ok_status)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.inner_corr',
	'SELECT c.id, o.id AS oid, o.amount FROM cust c JOIN ord o ON o.cid = c.id
	   AND EXISTS (SELECT 1 FROM banned b WHERE b.region = c.region AND o.amount > 3)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.inner_not_in',
	'SELECT c.name, o.amount FROM cust c JOIN ord o ON o.cid = c.id AND c.region NOT IN (SELECT region FROM banned)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.inner_scalar',
	'SELECT c.id, o.id AS oid FROM cust c JOIN ord o ON o.cid = c.id
	   AND o.amount > (SELECT avg(o2.amount) FROM ord o2 WHERE o2.cid = c.id)',
	'1m', 'DIFFERENTIAL');
-- an inner join beside an outer join (not inside its nullable side)
SELECT pgtrickle.create_stream_table('oq.inner_then_left',
	'SELECT c.id, o.id AS oid, s."ship to" FROM cust c JOIN ord o ON o.cid = c.id AND o.status IN (SELECT s FROM ok_status)
	   LEFT JOIN "odd ""ship"" t" s ON s.oid = o.id',
	'1m', 'DIFFERENTIAL');
-- outer joins, conditions on the nullable side only: IN, NOT EXISTS
-- (correlated), an uncorrelated EXISTS; RIGHT JOIN; a dropped column and
-- a quoted name on the nullable side; under GROUP BY
SELECT pgtrickle.create_stream_table('oq.left_in',
	'SELECT c.id, o.id AS oid FROM cust c LEFT JOIN ord o ON o.cid = c.id AND o.status IN (SELECT s FROM ok_status)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.right_not_exists',
	'SELECT c.id, o.id AS oid FROM ord o RIGHT JOIN cust c ON o.cid = c.id
	   AND NOT EXISTS (SELECT 1 FROM banned b WHERE b.region = o.amount % 4)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.left_uncorr',
	'SELECT c.id, o.amount FROM cust c LEFT JOIN ord o ON o.cid = c.id AND EXISTS (SELECT 1 FROM banned WHERE region = 2)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.left_dropped',
	'SELECT o.id, s."ship to" FROM ord o LEFT JOIN "odd ""ship"" t" s ON s.oid = o.id
	   AND s."ship to" IN (SELECT ''addr '' || region::text FROM banned)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.left_grouped',
	'SELECT c.region, count(o.id) AS n, sum(o.amount) AS total FROM cust c
	   LEFT JOIN ord o ON o.cid = c.id AND o.status IN (SELECT s FROM ok_status) GROUP BY c.region',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('oq.auto_on',
	'SELECT c.id, o.id AS oid FROM cust c LEFT JOIN ord o ON o.cid = c.id AND o.amount IN (SELECT region FROM banned)',
	'1m', 'AUTO');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'oq' ORDER BY 1;

-- changes on every side: the subqueries' tables (rows in and out of the
-- sets, NULLs, duplicates), join keys and filtered columns, deletes
INSERT INTO banned VALUES (2), (NULL);
SELECT * FROM pgt_test.drefresh_schema('oq');
DELETE FROM ok_status WHERE s = 'paid';
UPDATE ord SET cid = 13 WHERE id IN (2, 3);
UPDATE ord SET status = 'sent' WHERE id % 5 = 0;
SELECT * FROM pgt_test.drefresh_schema('oq');
DELETE FROM banned WHERE region IS NULL;
UPDATE cust SET region = 2 WHERE id IN (1, 5);
INSERT INTO ord VALUES (42, 1, 16, 'sent'), (43, 13, 0, NULL);
UPDATE "odd ""ship"" t" SET "ship to" = 'addr 1' WHERE oid <= 6;
SELECT * FROM pgt_test.drefresh_schema('oq');
DELETE FROM ok_status;
DELETE FROM ord WHERE id % 3 = 0;
UPDATE ord SET amount = amount + 7 WHERE cid = 1;
SELECT * FROM pgt_test.drefresh_schema('oq');
INSERT INTO ok_status VALUES ('new'), (NULL);
DELETE FROM banned;
DELETE FROM cust WHERE id = 4;
SELECT * FROM pgt_test.drefresh_schema('oq');

-- still refused, each naming where the subquery is: the preserved side of
-- an outer join, both sides, a FULL JOIN, an inner join inside the
-- nullable side of an outer join
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('oq.r1',
	'SELECT c.id, o.id AS oid FROM cust c LEFT JOIN ord o ON o.cid = c.id AND c.region IN (SELECT region FROM banned)',
	'1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('oq.r2',
	'SELECT c.id, o.id AS oid FROM cust c LEFT JOIN ord o ON o.cid = c.id AND o.amount > (SELECT count(*) FROM banned b WHERE b.region = c.region)',
	'1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('oq.r3',
	'SELECT c.id, o.id AS oid FROM cust c FULL JOIN ord o ON o.cid = c.id AND o.status IN (SELECT s FROM ok_status)',
	'1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('oq.r4',
	'SELECT c.id, o.id AS oid FROM cust c LEFT JOIN (ord o JOIN banned b ON b.region = o.amount AND EXISTS (SELECT 1 FROM ok_status)) ON o.cid = c.id',
	'1m', 'DIFFERENTIAL')$$);
-- AUTO falls back to FULL with that reason
SELECT pgtrickle.create_stream_table('oq.r5',
	'SELECT c.id, o.id AS oid FROM cust c LEFT JOIN ord o ON o.cid = c.id AND c.region IN (SELECT region FROM banned)',
	'1m', 'AUTO');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'r5';
SELECT pgt_test.refresh('oq.r5');
SELECT pgt_test.last_refresh('oq.r5');

DROP SCHEMA oq CASCADE;
RESET search_path;
