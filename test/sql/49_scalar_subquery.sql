-- Scalar subqueries in DIFFERENTIAL refresh: an aggregate subquery in the
-- select list, WHERE or (uncorrelated) HAVING, correlated by equalities or
-- not, becomes a LEFT JOIN with the subquery grouped by its correlation
-- columns (count over no rows is 0, any other aggregate NULL).  TPC-H Q2,
-- Q11, Q15, Q17, Q20 and Q22 in small.  Every refresh is checked by the
-- oracle and verify_stream_table (pgt_test.drefresh), which also asserts
-- that it ran DIFFERENTIAL.
SET client_min_messages = warning;
CREATE SCHEMA ss;
SET search_path = ss, public;

-- parts with a key; supplies and lines without one (duplicates); NULLs
CREATE TABLE part (id int PRIMARY KEY, name text, size int);
CREATE TABLE supply (pid int, sid int, cost numeric, avail int);
CREATE TABLE line (pid int, sid int, qty int, price numeric);
CREATE INDEX ON supply (pid);
CREATE INDEX ON line (pid);
INSERT INTO part VALUES (1, 'bolt', 5), (2, 'nut', 5), (3, 'gear', 10), (4, 'cog', NULL), (5, 'pin', 1);
INSERT INTO supply VALUES (1, 1, 10, 100), (1, 2, 8, 50), (1, 2, 8, 50), (2, 1, 3, 10), (3, 3, 20, 5),
                          (NULL, 1, 1, 1), (4, 2, NULL, 7);
INSERT INTO line VALUES (1, 1, 5, 50), (1, 1, 1, 10), (1, 2, 2, 16), (2, 1, 4, 12), (2, 1, 4, 12),
                        (3, 3, 1, 20), (NULL, 1, 3, 3), (4, 2, 9, NULL);


-- correlated, in WHERE: rows above their own part's average
SELECT pgtrickle.create_stream_table('ss.above',
	'SELECT l.pid, l.qty FROM line l WHERE l.qty > (SELECT avg(x.qty) FROM line x WHERE x.pid = l.pid)',
	'1m', 'DIFFERENTIAL');
-- in the select list: count over no rows is 0, max over no rows NULL;
-- an expression over aggregates; two subqueries
SELECT pgtrickle.create_stream_table('ss.counts',
	'SELECT p.id, (SELECT count(*) FROM line l WHERE l.pid = p.id) AS n, (SELECT max(l.qty) FROM line l WHERE l.pid = p.id) AS mx, (SELECT coalesce(sum(s.avail), -1) + count(s.sid) FROM supply s WHERE s.pid = p.id) AS a FROM part p',
	'1m', 'DIFFERENTIAL');
-- uncorrelated, in WHERE; and together with NOT EXISTS (TPC-H Q22)
SELECT pgtrickle.create_stream_table('ss.unc',
	'SELECT s.pid, s.cost FROM supply s WHERE s.cost > (SELECT avg(cost) FROM supply WHERE cost > 2)',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.q22',
	'SELECT p.size, count(*) AS n FROM part p WHERE p.size > (SELECT avg(size) FROM part WHERE size > 1) AND NOT EXISTS (SELECT 1 FROM line l WHERE l.pid = p.id) GROUP BY p.size',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q2: the cheapest supply of each part, the subquery a join
SELECT pgtrickle.create_stream_table('ss.q2',
	'SELECT p.name, s.sid, s.cost FROM part p JOIN supply s ON s.pid = p.id WHERE p.size = 5 AND s.cost = (SELECT min(x.cost) FROM supply x JOIN part y ON y.id = x.pid WHERE x.pid = p.id AND y.size IS NOT NULL)',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q17: an aggregate over the rows the subquery selects
SELECT pgtrickle.create_stream_table('ss.q17',
	'SELECT sum(l.price) AS revenue, count(*) AS n FROM line l JOIN part p ON p.id = l.pid WHERE p.size < 10 AND l.qty < (SELECT 1.5 * avg(x.qty) FROM line x WHERE x.pid = p.id)',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q20: a scalar subquery inside an IN subquery, two correlations
SELECT pgtrickle.create_stream_table('ss.q20',
	'SELECT p.name FROM part p WHERE p.id IN (SELECT s.pid FROM supply s WHERE s.avail > (SELECT 5 * sum(l.qty) FROM line l WHERE l.pid = s.pid AND l.sid = s.sid))',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q15: the maximum of a CTE that the query also joins
SELECT pgtrickle.create_stream_table('ss.q15',
	'WITH rev AS (SELECT sid, sum(price) AS total FROM line GROUP BY sid) SELECT r.sid, r.total FROM rev r WHERE r.total = (SELECT max(total) FROM rev)',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q11: an uncorrelated subquery in HAVING
SELECT pgtrickle.create_stream_table('ss.q11',
	'SELECT s.pid, sum(s.cost * s.avail) AS value FROM supply s GROUP BY s.pid HAVING sum(s.cost * s.avail) > (SELECT sum(cost * avail) * 0.2 FROM supply)',
	'1m', 'DIFFERENTIAL');
-- in the select list of a grouped query: correlated to its group key, or
-- uncorrelated (the subquery's columns join the GROUP BY)
SELECT pgtrickle.create_stream_table('ss.grouped',
	'SELECT l.pid, sum(l.qty) AS q, (SELECT max(s.cost) FROM supply s WHERE s.pid = l.pid) AS top_cost, (SELECT count(*) FROM part) AS parts FROM line l GROUP BY l.pid',
	'1m', 'DIFFERENTIAL');
-- a correlation on an expression, a quoted name; AUTO chooses DIFFERENTIAL
SELECT pgtrickle.create_stream_table('ss."odd ""sq"""',
	'SELECT p.id AS "p.id" FROM part p WHERE p.size + 0 >= (SELECT min("a b".qty) FROM line "a b" WHERE "a b".pid + 1 = p.id + 1)',
	'1m', 'AUTO');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'ss' ORDER BY pgt_name;
SELECT id, n, mx, a FROM ss.counts ORDER BY id;
SELECT (SELECT count(*) FROM ss.above) AS above, (SELECT count(*) FROM ss.unc) AS unc,
       (SELECT count(*) FROM ss.q22) AS q22, (SELECT count(*) FROM ss.q2) AS q2,
       (SELECT count(*) FROM ss.q17) AS q17, (SELECT count(*) FROM ss.q20) AS q20,
       (SELECT count(*) FROM ss.q15) AS q15, (SELECT count(*) FROM ss.q11) AS q11;

-- a group that appears (part 5's first line), a group whose last row goes
INSERT INTO line VALUES (5, 1, 2, 4), (5, 1, 2, 4);
DELETE FROM line WHERE pid = 3;
SELECT * FROM pgt_test.drefresh_schema('ss');
SELECT id, n, mx, a FROM ss.counts ORDER BY id;

-- updates of correlation keys (into and out of NULL) and of values
UPDATE line SET pid = NULL WHERE pid = 2 AND qty = 4 AND ctid = (SELECT min(ctid) FROM line WHERE pid = 2);
UPDATE line SET pid = 3 WHERE pid IS NULL AND qty = 3;
UPDATE supply SET cost = 2 WHERE pid = 1 AND sid = 1;
UPDATE supply SET pid = 5 WHERE pid IS NULL;
SELECT * FROM pgt_test.drefresh_schema('ss');

-- changes of the outer side only; the uncorrelated values move
INSERT INTO part VALUES (6, 'axle', 5);
UPDATE part SET size = 20 WHERE id = 3;
SELECT * FROM pgt_test.drefresh_schema('ss');
INSERT INTO supply VALUES (6, 1, 100, 1), (6, 4, 1, 1000);
DELETE FROM part WHERE id = 2;
SELECT * FROM pgt_test.drefresh_schema('ss');

-- one copy of a duplicate goes; then everything goes
DELETE FROM supply WHERE ctid = (SELECT min(ctid) FROM supply WHERE pid = 1 AND sid = 2);
SELECT * FROM pgt_test.drefresh_schema('ss');
DELETE FROM line;
DELETE FROM supply;
SELECT * FROM pgt_test.drefresh_schema('ss');
SELECT id, n, mx, a FROM ss.counts ORDER BY id;
INSERT INTO line VALUES (1, 1, 1, 1);
SELECT * FROM pgt_test.drefresh_schema('ss');

-- explain_st names how each scalar subquery is maintained
SELECT value FROM pgtrickle.explain_st('ss.counts') WHERE property = 'subquery_maintenance';
SELECT value FROM pgtrickle.explain_st('ss.q11') WHERE property = 'subquery_maintenance';
SELECT value FROM pgtrickle.explain_st('ss.q20') WHERE property = 'subquery_maintenance';

-- what stays refused is named (0A000; AUTO: FULL with the reason)
SELECT pgtrickle.create_stream_table('ss.r1', 'SELECT p.id, (SELECT l.qty FROM line l WHERE l.pid = p.id) FROM part p', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r2', 'SELECT p.id FROM part p WHERE p.size > (SELECT sum(qty) FROM line GROUP BY pid LIMIT 1)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r3', 'SELECT p.id FROM part p WHERE p.size > (SELECT sum(qty) FROM line GROUP BY pid)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r4', 'SELECT p.id FROM part p WHERE p.size > (SELECT sum(l.qty) FROM line l WHERE l.pid < p.id)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r5', 'SELECT p.id FROM part p WHERE p.size > (SELECT sum(l.qty * p.size) FROM line l WHERE l.pid = p.id)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r6', 'SELECT l.pid FROM line l GROUP BY l.pid HAVING sum(l.qty) > (SELECT avg(size) FROM part p WHERE p.id = l.pid)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r7', 'SELECT p.id FROM part p WHERE p.size > (SELECT string_agg(l.pid::text, '','') FROM line l WHERE l.pid = p.id)::int', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r9', 'SELECT count(*) AS n, (SELECT count(*) FROM line) AS m FROM part', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r10', 'SELECT p.size, sum((SELECT count(*) FROM line l WHERE l.pid = p.id)) AS s FROM part p GROUP BY p.size', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ss.r8', 'SELECT p.id, (SELECT l.qty FROM line l WHERE l.pid = p.id) FROM part p', '1m', 'AUTO');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'r8';

SELECT pgtrickle.drop_stream_table(s.pgt_schema || '.' || quote_ident(s.pgt_name))
  FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_schema = 'ss';
DROP SCHEMA ss CASCADE;
