-- Semi- and anti-joins: the rows of the outer query whose match a change
-- of the subquery may have changed are found from the change set — the
-- values it carries for the equalities of the correlation, then the outer
-- rows with those values through an index — not by reading the outer side
-- and probing the change set once per row (src/delta/README.md, "Semi- and
-- anti-joins", Cost).  The shape of TPC-H Q21: a correlation that mixes an
-- equality with "<>".  Counted by the statistics of the outer table: the
-- rows a refresh reads of it (sequential and index reads).  Every refresh
-- is also checked by the oracle (pgt_test.drefresh).
\pset format unaligned
CREATE TABLE sp_line (id int PRIMARY KEY, ord int, supp int, late boolean);   -- the outer rows (l1)
CREATE TABLE sp_sub (ord int, supp int, late boolean);                        -- the subquery (l3), keyless
CREATE INDEX ON sp_line (ord);
CREATE INDEX ON sp_sub (ord);
-- 2000 orders of 2 lines; every order has a line of another supplier in
-- sp_sub, late for the even orders
INSERT INTO sp_line SELECT g, (g + 1) / 2, g % 7, g % 3 = 0 FROM generate_series(1, 4000) g;
INSERT INTO sp_sub SELECT (g + 1) / 2, 100 + g % 5, (g + 1) / 2 % 2 = 0 FROM generate_series(1, 4000) g;
ANALYZE sp_line, sp_sub;

SELECT pgtrickle.create_stream_table('sp_anti',
	'SELECT l1.supp, count(*) AS numwait FROM sp_line l1
	  WHERE NOT EXISTS (SELECT FROM sp_sub l3 WHERE l3.ord = l1.ord AND l3.supp <> l1.supp AND l3.late)
	  GROUP BY l1.supp', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sp_semi',
	'SELECT l1.id, l1.supp FROM sp_line l1
	  WHERE EXISTS (SELECT 1 FROM sp_sub l2 WHERE l2.ord = l1.ord AND l2.supp <> l1.supp AND l2.late)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sp_notin',
	'SELECT l1.id FROM sp_line l1 WHERE l1.ord NOT IN (SELECT l3.ord FROM sp_sub l3 WHERE l3.late)', '1m', 'DIFFERENTIAL');

-- the rows of sp_line a refresh reads: at most a few per changed order
-- (before: all 4000 of them, each with probes of the change set)
CREATE FUNCTION sp_read_few() RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN pgt_test.reads_since_mark('sp_line') <= 40 THEN 'few rows read'
				ELSE pgt_test.reads_since_mark('sp_line') || ' rows of sp_line read' END
$$;

-- a handful of orders: lines that become late, lose lateness, move to
-- another order, appear and disappear (one inserted and deleted again)
UPDATE sp_sub SET late = NOT late WHERE ord IN (3, 4);
UPDATE sp_sub SET ord = 11 WHERE ord = 10 AND supp = 100;
INSERT INTO sp_sub VALUES (20, 0, true), (20, 1, true), (21, 5, true);
INSERT INTO sp_sub VALUES (22, 0, true);
DELETE FROM sp_sub WHERE ord = 22 AND supp = 0;
DELETE FROM sp_sub WHERE ord = 30;
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('sp_line');
SELECT pgtrickle.refresh_stream_table('sp_anti');
SELECT pg_stat_force_next_flush();
SELECT sp_read_few() AS sp_anti;
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('sp_line');
SELECT pgtrickle.refresh_stream_table('sp_semi');
SELECT pg_stat_force_next_flush();
SELECT sp_read_few() AS sp_semi;
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('sp_line');
SELECT pgtrickle.refresh_stream_table('sp_notin');
SELECT pg_stat_force_next_flush();
SELECT sp_read_few() AS sp_notin;
SELECT pgt_test.check('sp_anti'), pgt_test.check('sp_semi'), pgt_test.check('sp_notin');

-- a NULL key arriving in the NOT IN subquery: every row leaves (all read)
INSERT INTO sp_sub VALUES (NULL, 1, true);
SELECT pgt_test.drefresh('sp_notin');
SELECT count(*) AS rows_left FROM sp_notin;
DELETE FROM sp_sub WHERE ord IS NULL;
SELECT pgt_test.drefresh('sp_notin');
SELECT count(*) AS rows_back FROM sp_notin;

-- both sides change in one refresh (the outer side's change set is
-- probed the same way), duplicates in the subquery
INSERT INTO sp_line VALUES (5001, 40, 9, true), (5002, 40, 9, true);
DELETE FROM sp_line WHERE ord = 41;
UPDATE sp_line SET ord = 42 WHERE id = 85;
INSERT INTO sp_sub VALUES (40, 3, true), (40, 3, true), (42, 6, true);
DELETE FROM sp_sub WHERE ord = 43;
SELECT pgt_test.drefresh('sp_anti'), pgt_test.drefresh('sp_semi'), pgt_test.drefresh('sp_notin');

-- TPC-H Q21's shape: EXISTS and NOT EXISTS over the same table, each
-- correlated by an equality and "<>", the outer side a join; the NOT
-- EXISTS is peeled inside the EXISTS's outer item
CREATE TABLE sp_supp (supp int PRIMARY KEY, nation text);
INSERT INTO sp_supp SELECT g, CASE WHEN g % 3 = 0 THEN 'SAUDI ARABIA' ELSE 'PERU' END FROM generate_series(0, 9) g;
SELECT pgtrickle.create_stream_table('sp_q21',
	'SELECT s.nation, count(*) AS numwait FROM sp_line l1 JOIN sp_supp s ON s.supp = l1.supp
	  WHERE l1.late
		AND EXISTS (SELECT * FROM sp_line l2 WHERE l2.ord = l1.ord AND l2.supp <> l1.supp)
		AND NOT EXISTS (SELECT * FROM sp_line l3 WHERE l3.ord = l1.ord AND l3.supp <> l1.supp AND l3.late)
	  GROUP BY s.nation', '1m', 'DIFFERENTIAL');
UPDATE sp_line SET late = NOT late WHERE ord IN (50, 51, 52);
UPDATE sp_line SET supp = 3 WHERE ord = 53;
INSERT INTO sp_line VALUES (5003, 54, 6, true), (5004, 55, 0, false);
DELETE FROM sp_line WHERE id IN (111, 113);
UPDATE sp_supp SET nation = 'PERU' WHERE supp = 3;
SELECT pgt_test.drefresh('sp_q21');
DELETE FROM sp_line WHERE ord IN (60, 61);
UPDATE sp_line SET ord = 62 WHERE ord = 63;
SELECT pgt_test.drefresh('sp_q21');
SELECT pgtrickle.drop_stream_table('sp_q21');
DROP TABLE sp_supp;

-- the engine keeps its own MATERIALIZED WITH items (named __pgt_...) when
-- it re-reads its text; a user's CTE of such a name is inlined as ever
SELECT pgtrickle.create_stream_table('sp_cte',
	'WITH __pgt_t AS MATERIALIZED (SELECT ord, supp FROM sp_sub WHERE late)
	 SELECT l1.id FROM sp_line l1 WHERE EXISTS (SELECT FROM __pgt_t t WHERE t.ord = l1.ord AND t.supp <> l1.supp)',
	'1m', 'DIFFERENTIAL');
UPDATE sp_sub SET late = NOT late WHERE ord IN (5, 6);
SELECT pgt_test.drefresh('sp_cte');
SELECT pgtrickle.drop_stream_table('sp_cte');

SELECT pgtrickle.drop_stream_table('sp_anti');
SELECT pgtrickle.drop_stream_table('sp_semi');
SELECT pgtrickle.drop_stream_table('sp_notin');
DROP FUNCTION sp_read_few();
DROP TABLE sp_sub, sp_line;
