-- Each grouped subquery's delta once per statement (src/delta/README.md,
-- "Each grouped delta once per statement"): a grouped subquery's own delta,
-- its input's delta, the rows of its touched groups, and a self-contained
-- grouped subquery that several terms read whole, are each evaluated once
-- per refresh statement (MATERIALIZED WITH items at the statement's top),
-- however many terms read them.
-- Counted by the statistics of the grouped input (tuples it returned to a
-- refresh, sequential and index reads), against the rows a single reading
-- needs; and the oracle after every refresh.
\pset format unaligned
CREATE TABLE go_l (id int PRIMARY KEY, k int, q int);
CREATE INDEX ON go_l (k);
CREATE TABLE go_p (id int PRIMARY KEY, k int, brand text);
-- 40 groups of 50 rows, and two rows with a NULL key
INSERT INTO go_l SELECT g, 1 + g % 40, g % 11 FROM generate_series(1, 2000) g;
INSERT INTO go_l VALUES (2001, NULL, 5), (2002, NULL, 6);
INSERT INTO go_p SELECT g, g, 'b' || g % 2 FROM generate_series(1, 40) g;
INSERT INTO go_p VALUES (41, NULL, 'b1');
ANALYZE go_l, go_p;

-- TPC-H Q17's shape: three terms read the grouped subquery's delta
SELECT pgtrickle.create_stream_table('go_scalar',
	'SELECT sum(l.q) AS s, count(*) AS n FROM go_l l JOIN go_p p ON l.k = p.k
	  WHERE p.brand = ''b1'' AND l.q < (SELECT 0.8 * avg(l2.q) FROM go_l l2 WHERE l2.k = p.k)',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q15's shape: a grouped CTE read twice, once under max()
SELECT pgtrickle.create_stream_table('go_max',
	'WITH r AS (SELECT k, sum(q) AS t FROM go_l GROUP BY k)
	 SELECT p.id, p.brand, r.t FROM go_p p JOIN r ON r.k = p.k
	  WHERE r.t = (SELECT max(t) FROM r)',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q13's shape: an aggregate of a grouped subquery over an outer join
SELECT pgtrickle.create_stream_table('go_nested',
	'SELECT c, count(*) AS n FROM (SELECT p.id, count(l.id) AS c FROM go_p p
	   LEFT JOIN go_l l ON l.k = p.k AND l.q <> 3 GROUP BY p.id) s GROUP BY c',
	'1m', 'DIFFERENTIAL');
-- a grouped subquery joined twice (a self-join of the same grouped CTE)
SELECT pgtrickle.create_stream_table('go_self',
	'WITH r AS (SELECT k, count(*) AS n, max(q) AS m FROM go_l GROUP BY k)
	 SELECT a.k, a.n, b.m FROM r a JOIN r b ON b.k = a.k + 1',
	'1m', 'DIFFERENTIAL');

-- a change of the grouped input only: two groups of 50 rows touched.
-- go_scalar: the touched groups' rows (100) are read once for the grouped
-- delta, plus the other terms' reads by key: under 6 times 100 (each of the
-- three terms evaluating the delta, which read the groups twice: 14 times).
-- go_max: the whole input (2002 rows) once for max() over the grouped CTE
-- (12 times before: the one group's new and old sides, in every term).
-- go_self: only the touched groups (the whole input before).
UPDATE go_l SET q = q + 1 WHERE id IN (2, 3);
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('go_l');
SELECT pgtrickle.refresh_stream_table('go_scalar');
SELECT pg_stat_force_next_flush();
SELECT CASE WHEN pgt_test.reads_since_mark('go_l') < 6 * 100 THEN 'once' ELSE 'per term' END AS go_scalar;
SELECT pgt_test.check('go_scalar');
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('go_l');
SELECT pgtrickle.refresh_stream_table('go_max');
SELECT pg_stat_force_next_flush();
SELECT CASE WHEN pgt_test.reads_since_mark('go_l') < 2 * 2002 THEN 'once' ELSE 'per term' END AS go_max;
SELECT pgt_test.check('go_max');
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('go_l');
SELECT pgtrickle.refresh_stream_table('go_self');
SELECT pg_stat_force_next_flush();
SELECT CASE WHEN pgt_test.reads_since_mark('go_l') < 2002 / 2 THEN 'touched groups' ELSE 'whole input' END AS go_self;
SELECT pgt_test.check('go_self');
SELECT pgt_test.drefresh('go_nested');

-- the differential SQL defines each once-item once, at its top
CREATE FUNCTION go_items(st text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN n = 0 THEN 'none'
				WHEN n = d THEN 'each defined once' ELSE 'repeated' END
	  FROM (SELECT count(*) AS n, count(DISTINCT m[1]) AS d
			  FROM pgtrickle.explain_st(st) e,
				   regexp_matches(e.value, '(__pgt_once\d+) AS MATERIALIZED', 'g') m
			 WHERE e.property = 'differential_refresh_sql') x
$$;
UPDATE go_l SET q = q + 1 WHERE id = 4;
UPDATE go_p SET brand = 'b1' WHERE id = 2;
SELECT go_items('go_scalar') AS go_scalar, go_items('go_max') AS go_max,
       go_items('go_nested') AS go_nested, go_items('go_self') AS go_self;
SELECT pgt_test.drefresh('go_scalar');
SELECT pgt_test.drefresh('go_max');
SELECT pgt_test.drefresh('go_nested');
SELECT pgt_test.drefresh('go_self');

-- keys that move, NULL keys, a group that empties and one that appears,
-- duplicates, both sides at once
UPDATE go_l SET k = k + 1 WHERE id IN (10, 11, 12);
UPDATE go_l SET k = NULL WHERE id = 13;
UPDATE go_l SET k = 7 WHERE k IS NULL AND id = 2001;
DELETE FROM go_l WHERE k = 15;
INSERT INTO go_l VALUES (3001, 500, 10), (3002, 500, 10), (3003, NULL, 1);
UPDATE go_p SET k = NULL WHERE id = 21;
INSERT INTO go_p VALUES (42, 500, 'b1'), (43, 500, 'b1'), (44, 16, 'b1');
SELECT pgt_test.drefresh('go_scalar');
SELECT pgt_test.drefresh('go_max');
SELECT pgt_test.drefresh('go_nested');
SELECT pgt_test.drefresh('go_self');
-- a new maximum, then its group emptied: max() falls back to the next one
UPDATE go_l SET q = 1000 WHERE id = 100;
SELECT pgt_test.drefresh('go_max');
DELETE FROM go_l WHERE k = (SELECT k FROM go_l WHERE id = 100);
SELECT pgt_test.drefresh('go_max');
SELECT pgt_test.drefresh('go_scalar');
SELECT pgt_test.drefresh('go_nested');
SELECT pgt_test.drefresh('go_self');
-- two rows of the outer side only
UPDATE go_p SET brand = 'b0' WHERE id IN (3, 5);
SELECT pgt_test.drefresh('go_scalar');
SELECT pgt_test.drefresh('go_max');

SELECT pgtrickle.drop_stream_table('go_scalar');
SELECT pgtrickle.drop_stream_table('go_max');
SELECT pgtrickle.drop_stream_table('go_nested');
SELECT pgtrickle.drop_stream_table('go_self');
DROP FUNCTION go_items(text);
DROP TABLE go_p, go_l;
