-- A grouped subquery joined by its group key is read only for the keys a
-- term's other rows carry (src/delta/README.md, "Grouped subqueries read
-- by key"): a change of the other side reaches the touched groups through
-- the index on the group key instead of aggregating the whole input.
-- Counted by the statistics of the grouped input: tuples it returned to a
-- refresh (sequential and index reads): a few hundred by key (each outer
-- row reads its group), at least the whole table (3002 rows) before.
\pset format unaligned
CREATE TABLE gp_l (id int PRIMARY KEY, k int, q int);
CREATE INDEX ON gp_l (k);
CREATE TABLE gp_p (id int PRIMARY KEY, k int, brand text, k8 bigint);
INSERT INTO gp_l SELECT g, 1 + g % 100, g % 7 FROM generate_series(1, 3000) g;
INSERT INTO gp_l VALUES (3001, NULL, 5), (3002, NULL, 6);
INSERT INTO gp_p SELECT g, g, 'b' || g % 3, g % 50 FROM generate_series(1, 100) g;
INSERT INTO gp_p VALUES (101, NULL, 'bn');
ANALYZE gp_l, gp_p;

CREATE FUNCTION gp_verdict() RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN pgt_test.reads_since_mark('gp_l') < (SELECT count(*) FROM gp_l) / 2
				THEN 'by key' ELSE 'whole input' END
$$;

-- a join with a grouped subquery in FROM
SELECT pgtrickle.create_stream_table('gp_join',
	'SELECT p.id, p.brand, s.total, s.n FROM gp_p p
	   JOIN (SELECT k, sum(q) AS total, count(*) AS n FROM gp_l GROUP BY k) s ON s.k = p.k',
	'1m', 'DIFFERENTIAL');
-- a correlated scalar subquery (TPC-H Q17's shape)
SELECT pgtrickle.create_stream_table('gp_scalar',
	'SELECT p.id, l.id AS lid, l.q FROM gp_p p JOIN gp_l l ON l.k = p.k
	  WHERE p.brand = ''b1'' AND l.q < (SELECT avg(l2.q) FROM gp_l l2 WHERE l2.k = p.k)',
	'1m', 'DIFFERENTIAL');
-- IN over a grouped subquery (TPC-H Q18's shape)
SELECT pgtrickle.create_stream_table('gp_in',
	'SELECT p.id, p.brand FROM gp_p p
	  WHERE p.k IN (SELECT k FROM gp_l GROUP BY k HAVING sum(q) > 90)',
	'1m', 'DIFFERENTIAL');
-- a cross-type equality (bigint = integer) on the group key
SELECT pgtrickle.create_stream_table('gp_cross',
	'SELECT p.id, s.total FROM gp_p p
	   JOIN (SELECT k, sum(q) AS total FROM gp_l GROUP BY k) s ON p.k8 = s.k',
	'1m', 'DIFFERENTIAL');
-- a join condition that is not an equality on the group key: not restricted
SELECT pgtrickle.create_stream_table('gp_nonkey',
	'SELECT p.id, p.brand, s.k FROM gp_p p
	   JOIN (SELECT k, max(q) AS m FROM gp_l GROUP BY k) s ON s.m > p.id % 7 AND s.k < 3',
	'1m', 'DIFFERENTIAL');

-- with a change of the other side pending, the differential SQL reads the
-- grouped subquery with the key condition inside (its HAVING), LATERAL
UPDATE gp_p SET brand = brand || '-', k8 = 50 WHERE id = 1;
CREATE FUNCTION gp_by_key(st text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN v !~ 'pgtrickle\._changes\(' THEN 'no term'
				WHEN v ~ 'HAVING [^;]{0,80}\(((gp_l|l2)\.k = [\w.]+|[\w.]+ = (gp_l|l2)\.k)\)' THEN 'by key'
				ELSE 'whole' END
	  FROM (SELECT regexp_replace(value, '\s+', ' ', 'g') AS v FROM pgtrickle.explain_st(st)
			 WHERE property = 'differential_refresh_sql') x
$$;
SELECT gp_by_key('gp_join') AS gp_join, gp_by_key('gp_scalar') AS gp_scalar,
       gp_by_key('gp_in') AS gp_in, gp_by_key('gp_cross') AS gp_cross,
       gp_by_key('gp_nonkey') AS gp_nonkey;

-- changes of the other side only: each refresh reads the touched groups
UPDATE gp_p SET brand = brand || '+' WHERE id IN (3, 4);
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('gp_l');
SELECT pgtrickle.refresh_stream_table('gp_join');
SELECT pg_stat_force_next_flush();
SELECT gp_verdict() AS gp_join;
SELECT pgt_test.drefresh('gp_join');
UPDATE gp_p SET brand = 'b1' WHERE id IN (5, 6);
UPDATE gp_p SET brand = 'b0' WHERE id = 7;
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('gp_l');
SELECT pgtrickle.refresh_stream_table('gp_scalar');
SELECT pg_stat_force_next_flush();
SELECT gp_verdict() AS gp_scalar;
SELECT pgt_test.drefresh('gp_scalar');
INSERT INTO gp_p VALUES (201, 8, 'new'), (202, NULL, 'null key'), (203, 500, 'no group');
DELETE FROM gp_p WHERE id = 9;
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('gp_l');
SELECT pgtrickle.refresh_stream_table('gp_in');
SELECT pg_stat_force_next_flush();
SELECT gp_verdict() AS gp_in;
SELECT pgt_test.drefresh('gp_in');
SELECT pgt_test.drefresh('gp_nonkey');
SELECT pgt_test.drefresh('gp_cross');

-- keys that move, NULL keys, groups that appear and empty, both sides at once
UPDATE gp_p SET k = k + 1 WHERE id BETWEEN 10 AND 12;
UPDATE gp_p SET k = NULL WHERE id = 13;
UPDATE gp_p SET k = 14 WHERE id = 101;
UPDATE gp_p SET k8 = NULL WHERE id = 21;
UPDATE gp_p SET k8 = 7 WHERE id IN (22, 23);
INSERT INTO gp_l VALUES (4001, 500, 100), (4002, 500, 1), (4003, NULL, 9);
DELETE FROM gp_l WHERE k = 15;
UPDATE gp_l SET q = q + 50 WHERE id IN (16, 116, 216);
UPDATE gp_l SET k = 17 WHERE id = 18;
SELECT pgt_test.drefresh('gp_join');
SELECT pgt_test.drefresh('gp_scalar');
SELECT pgt_test.drefresh('gp_in');
SELECT pgt_test.drefresh('gp_nonkey');
SELECT pgt_test.drefresh('gp_cross');
-- duplicates of the outer row (same key twice) and a key that leaves
INSERT INTO gp_p VALUES (301, 20, 'dup', 20), (302, 20, 'dup', 20);
UPDATE gp_l SET k = NULL WHERE k = 20 AND id % 2 = 0;
SELECT pgt_test.drefresh('gp_join');
SELECT pgt_test.drefresh('gp_scalar');
SELECT pgt_test.drefresh('gp_in');
SELECT pgt_test.drefresh('gp_nonkey');
SELECT pgt_test.drefresh('gp_cross');

SELECT pgtrickle.drop_stream_table('gp_join');
SELECT pgtrickle.drop_stream_table('gp_scalar');
SELECT pgtrickle.drop_stream_table('gp_in');
SELECT pgtrickle.drop_stream_table('gp_nonkey');
SELECT pgtrickle.drop_stream_table('gp_cross');
DROP FUNCTION gp_verdict();
DROP FUNCTION gp_by_key(text);
DROP TABLE gp_p, gp_l;
