-- The per-change cost of semi- and anti-join deltas (issue 15, TPC-H Q21
-- and Q04): a subquery item's delta once per statement (src/delta/README.md,
-- "A subquery item's delta once per statement").  A semi-join reads the
-- delta of its rest of the query (K) in K's own delta, in its term (a) and
-- in its term (b) over NEG_DELTA(K); with two sublinks in one WHERE (Q21:
-- EXISTS and NOT EXISTS over the same table) the copies nest, and K's join
-- delta was evaluated once per copy.  Now every term reads K's delta from
-- one MATERIALIZED once-item when K holds a sublink (the other one).
-- Counted by the statistics of a table read only by K's delta (tuples it
-- returned to a refresh) against what one evaluation reads, by the number
-- of change-set reads in the differential SQL, and the oracle after every
-- refresh: NULL keys, duplicates, a keyless source, key updates, the last
-- match deleted.
\pset format unaligned
CREATE SCHEMA sdc;
SET search_path = sdc, public;
CREATE TABLE nat (nk int PRIMARY KEY, name text);
CREATE TABLE supp (sk int PRIMARY KEY, name text, nk int);
CREATE TABLE ord (ok int PRIMARY KEY, status text, prio int);
-- keyless, with duplicates and NULL keys
CREATE TABLE "line item" (ok int, sk int, late boolean);
CREATE INDEX ON "line item" (ok);
INSERT INTO nat VALUES (1, 'X'), (2, 'Y');
INSERT INTO supp SELECT g, 's' || g % 7, 1 + g % 2 FROM generate_series(1, 60) g;
INSERT INTO supp VALUES (61, 'snull', NULL);
INSERT INTO ord SELECT g, CASE WHEN g % 3 = 0 THEN 'O' ELSE 'F' END, g % 4
  FROM generate_series(1, 200) g;
INSERT INTO "line item" SELECT 1 + g % 200, 1 + g % 61, g % 3 <> 0
  FROM generate_series(1, 1000) g;
-- duplicate lines, NULL order and supplier keys
INSERT INTO "line item" SELECT ok, sk, late FROM "line item" WHERE ok % 10 = 0;
INSERT INTO "line item" VALUES (NULL, 5, true), (NULL, NULL, true), (7, NULL, true), (8, NULL, false);
ANALYZE nat, supp, ord, "line item";

-- TPC-H Q21's shape: a four-table join with EXISTS and NOT EXISTS over the
-- same keyless table, correlated by an equality and an inequality
SELECT pgtrickle.create_stream_table('sdc.waiting',
	'SELECT s.name, count(*) AS numwait
	   FROM supp s, "line item" l1, ord o, nat n
	  WHERE s.sk = l1.sk AND o.ok = l1.ok AND o.status = ''F'' AND l1.late
	    AND EXISTS (SELECT * FROM "line item" l2 WHERE l2.ok = l1.ok AND l2.sk <> l1.sk)
	    AND NOT EXISTS (SELECT * FROM "line item" l3
	                     WHERE l3.ok = l1.ok AND l3.sk <> l1.sk AND l3.late)
	    AND s.nk = n.nk AND n.name = ''X''
	  GROUP BY s.name',
	'1m', 'DIFFERENTIAL');
-- the same without the aggregate: the multiset of rows (duplicates kept)
SELECT pgtrickle.create_stream_table('sdc.waiting_rows',
	'SELECT l1.ok, l1.sk, s.name
	   FROM supp s JOIN "line item" l1 ON s.sk = l1.sk JOIN ord o ON o.ok = l1.ok
	  WHERE o.status = ''F''
	    AND EXISTS (SELECT * FROM "line item" l2 WHERE l2.ok = l1.ok AND l2.sk <> l1.sk)
	    AND NOT EXISTS (SELECT * FROM "line item" l3
	                     WHERE l3.ok = l1.ok AND l3.sk <> l1.sk AND l3.late)',
	'1m', 'DIFFERENTIAL');
-- TPC-H Q04's shape, and IN / NOT IN with their NULL rules
SELECT pgtrickle.create_stream_table('sdc.prio',
	'SELECT o.prio, count(*) AS n FROM ord o
	  WHERE o.ok < 150 AND EXISTS (SELECT FROM "line item" l WHERE l.ok = o.ok AND l.late)
	  GROUP BY o.prio',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('sdc.inout',
	'SELECT s.sk, s.name FROM supp s
	  WHERE s.sk IN (SELECT l.sk FROM "line item" l JOIN ord o ON o.ok = l.ok WHERE o.prio = 1)
	    AND s.nk NOT IN (SELECT l.sk - 60 FROM "line item" l WHERE l.ok = 8)',
	'1m', 'DIFFERENTIAL');

-- K's delta once per statement: the differential SQL reads each source's
-- change set in the places the rules need (12 reads of "line item"'s
-- change set and 4 of ord's with this rule: the EXISTS's K, which holds
-- the NOT EXISTS, is one once-item, in which the join's delta is read by
-- the NOT EXISTS's two terms; before, the join's terms again in every
-- copy of K's delta: 28 and 12)
INSERT INTO "line item" VALUES (1, 2, true);
UPDATE ord SET status = 'O' WHERE ok = 2;
SELECT count(*) <= 12 AS line_item_changes_read_at_most_12_times
  FROM pgtrickle.explain_st('sdc.waiting') e,
       regexp_matches(e.value, '_changes\([^)]*''' || '"line item"'::regclass::oid::text || '''::oid\)', 'g')
 WHERE e.property = 'differential_refresh_sql';
SELECT count(*) <= 4 AS ord_changes_read_at_most_4_times
  FROM pgtrickle.explain_st('sdc.waiting') e,
       regexp_matches(e.value, '_changes\([^)]*''' || 'ord'::regclass::oid::text || '''::oid\)', 'g')
 WHERE e.property = 'differential_refresh_sql';
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);

UPDATE ord SET status = CASE status WHEN 'F' THEN 'O' ELSE 'F' END WHERE ok BETWEEN 20 AND 59;
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);

-- a change of "line item" only: K's delta (its join's term for the
-- change: the changed lines' suppliers) evaluated once; supp, read only by
-- K, returned 191 rows with this rule, 565 before (a copy of K's delta in
-- each term of both sublinks)
UPDATE "line item" SET late = NOT late WHERE ok BETWEEN 100 AND 139;
SELECT pg_stat_force_next_flush();
SELECT pgt_test.mark_reads('supp');
SELECT pgtrickle.refresh_stream_table('sdc.waiting');
SELECT pg_stat_force_next_flush();
SELECT pgt_test.reads_since_mark('supp') < 300 AS supp_read_for_one_evaluation;
SELECT pgt_test.check('sdc.waiting');
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);

-- the last match of an EXISTS deleted; the last late line of another
-- supplier in an order deleted (NOT EXISTS becomes true)
DELETE FROM "line item" WHERE ok = 3 AND sk <> (SELECT min(sk) FROM "line item" WHERE ok = 3);
DELETE FROM "line item" WHERE ok = 4 AND late AND sk = (SELECT max(sk) FROM "line item" WHERE ok = 4);
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);
-- key updates: lines move between orders, an order key changes, a supplier
-- moves to the other nation, NULL keys appear and go
UPDATE "line item" SET ok = ok + 1 WHERE ok BETWEEN 10 AND 14;
UPDATE ord SET ok = 1000 WHERE ok = 16;
UPDATE supp SET nk = 3 - nk WHERE sk IN (3, 4);
UPDATE "line item" SET ok = NULL WHERE ok = 18;
UPDATE "line item" SET sk = NULL WHERE ok = 19 AND sk % 2 = 0;
UPDATE "line item" SET ok = 21 WHERE ok IS NULL AND sk = 5;
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);
-- duplicates: a copy of every line of some orders, then one copy deleted;
-- a NULL arriving in and leaving the NOT IN subquery
INSERT INTO "line item" SELECT ok, sk, late FROM "line item" WHERE ok BETWEEN 30 AND 35;
DELETE FROM "line item" WHERE ctid IN (SELECT min(ctid) FROM "line item" WHERE ok = 31 GROUP BY sk);
INSERT INTO "line item" VALUES (8, NULL, true);
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);
DELETE FROM "line item" WHERE ok = 8 AND sk IS NULL;
-- both sides at once, in one transaction
BEGIN;
INSERT INTO ord VALUES (300, 'F', 1);
INSERT INTO "line item" VALUES (300, 1, true), (300, 2, false), (300, 2, false);
DELETE FROM ord WHERE ok = 40;
DELETE FROM "line item" WHERE ok = 41;
UPDATE "line item" SET sk = 61 - sk WHERE ok = 42;
COMMIT;
SELECT stream_table, result FROM pgt_test.drefresh_schema('sdc') AS d(stream_table, result);
-- everything deleted, then back (a change that large may recompute)
DELETE FROM "line item";
SELECT pgt_test.refresh(x) FROM unnest(ARRAY['sdc.waiting', 'sdc.waiting_rows', 'sdc.prio', 'sdc.inout']) x;
INSERT INTO "line item" SELECT 1 + g % 200, 1 + g % 61, g % 3 <> 0 FROM generate_series(1, 500) g;
SELECT pgt_test.refresh(x) FROM unnest(ARRAY['sdc.waiting', 'sdc.waiting_rows', 'sdc.prio', 'sdc.inout']) x;
SELECT stream_table, result FROM pgt_test.check_all() WHERE stream_table LIKE 'sdc.%' ORDER BY 1;

RESET search_path;
SELECT pgtrickle.drop_stream_table(x)
  FROM unnest(ARRAY['sdc.waiting', 'sdc.waiting_rows', 'sdc.prio', 'sdc.inout']) x;
DROP SCHEMA sdc CASCADE;
