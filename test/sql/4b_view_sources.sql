-- Views as sources (issue 15, item 7): a DIFFERENTIAL stream table over a
-- view reads the view's definition (views on views too) and captures the
-- tables under it.  Every refresh is checked by the oracle and
-- verify_stream_table (pgt_test.drefresh), which also asserts that it ran
-- DIFFERENTIAL.
\pset format unaligned
SET client_min_messages = warning;
CREATE SCHEMA vs;
SET search_path = vs, public;

CREATE TABLE cust (id int PRIMARY KEY, name text, region text);
CREATE TABLE ord (id int PRIMARY KEY, cid int, amount numeric, note text);
CREATE TABLE dup (a int, b text);      -- keyless, duplicates
INSERT INTO cust VALUES (1, 'ann', 'n'), (2, 'bob', 's'), (3, 'cy', NULL), (4, NULL, 'n');
INSERT INTO ord SELECT g, 1 + g % 5, g * 1.5, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END
  FROM generate_series(1, 30) g;
INSERT INTO dup VALUES (1, 'x'), (1, 'x'), (2, NULL);

-- a view, a view on a view (with a join and a filter), a view with odd names
CREATE VIEW big_ord AS SELECT id, cid, amount FROM ord WHERE amount > 10;
CREATE VIEW named_big AS
  SELECT b.id, b.amount, c.name, c.region FROM big_ord b JOIN cust c ON c.id = b.cid;
CREATE VIEW "odd ""v"".x" ("the a", "b") AS SELECT a, b FROM dup;

CREATE FUNCTION vs.all_ok() RETURNS TABLE(st text, action text)
LANGUAGE sql AS $$
	SELECT s.pgt_name, pgt_test.drefresh('vs.' || quote_ident(s.pgt_name))
	  FROM pgtrickle.pgt_stream_tables s
	 WHERE s.pgt_schema = 'vs' AND s.refresh_mode = 'DIFFERENTIAL' ORDER BY s.pgt_name
$$;

SELECT pgtrickle.create_stream_table('vs.v1', 'SELECT id, amount FROM big_ord WHERE cid <> 2', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('vs.v2', 'SELECT name, region, amount FROM named_big', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('vs.v3', 'SELECT region, count(*) AS n, sum(amount) AS total FROM named_big GROUP BY region', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('vs.v4', 'SELECT x."the a", x.b, c.name FROM "odd ""v"".x" x LEFT JOIN cust c ON c.id = x."the a"', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('vs.v5', 'SELECT c.id FROM cust c WHERE EXISTS (SELECT 1 FROM big_ord b WHERE b.cid = c.id)', '1m', 'AUTO');
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'vs' ORDER BY 1;
-- the views are recorded, and the tables under them captured
SELECT s.pgt_name, d.source_relid::regclass AS source, d.source_type, d.columns_used
  FROM pgtrickle.pgt_dependencies d JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_schema = 'vs' ORDER BY 1, d.source_relid::regclass::text;
SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname = 'pgt_capture_ins' AND c.relnamespace = 'vs'::regnamespace ORDER BY 1;

-- changes under the views: inserts, updates (in and out of a filter, of a
-- join key), deletes, duplicates, NULLs
INSERT INTO ord VALUES (31, 1, 100, 'new'), (32, 2, 5, NULL), (33, NULL, 50, 'orphan');
UPDATE ord SET amount = amount + 20 WHERE id IN (1, 2, 3);
UPDATE ord SET amount = 1 WHERE id = 20;
UPDATE ord SET cid = 3 WHERE id BETWEEN 10 AND 12;
DELETE FROM ord WHERE id % 7 = 0;
UPDATE cust SET region = 's' WHERE id = 1;
UPDATE cust SET name = NULL WHERE id = 2;
INSERT INTO dup VALUES (1, 'x'), (5, 'y');
DELETE FROM dup WHERE a = 2;
SELECT * FROM vs.all_ok();
-- a group's last row goes; a key moves
DELETE FROM ord WHERE cid = 3;
UPDATE ord SET id = id + 1000 WHERE id = 31;
UPDATE cust SET id = 9 WHERE id = 4;
SELECT * FROM vs.all_ok();

-- DROP VIEW is refused while a stream table reads it (also through a view),
-- CASCADE takes the stream tables with it
SELECT pgt_test.err('DROP VIEW vs.big_ord');
SELECT pgt_test.err('DROP TABLE vs.ord');
CREATE TABLE gone (k int, v int);
INSERT INTO gone VALUES (1, 1), (2, 2);
CREATE VIEW gone_v AS SELECT k, v FROM gone WHERE v > 0;
CREATE VIEW gone_vv AS SELECT k FROM gone_v;
SELECT pgtrickle.create_stream_table('vs.g1', 'SELECT k FROM gone_vv', '1m', 'DIFFERENTIAL');
SELECT pgt_test.err('DROP VIEW vs.gone_v');
DROP VIEW gone_v CASCADE;
SELECT count(*) AS g1_left FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'g1';
-- its capture went with it: nothing reads the table any more
SELECT count(*) AS gone_triggers FROM pg_trigger WHERE tgrelid = 'vs.gone'::regclass AND tgname LIKE 'pgt_capture%';

-- CREATE OR REPLACE VIEW of a source view: the stream tables that read it
-- (directly or through other views) capture what the new definition reads
-- and recompute at their next refresh; later refreshes are differential
CREATE TABLE extra (id int PRIMARY KEY, bonus numeric);
INSERT INTO extra VALUES (1, 1000), (5, 2000);
CREATE OR REPLACE VIEW big_ord AS
  SELECT o.id, o.cid, o.amount + coalesce(e.bonus, 0) AS amount
    FROM ord o LEFT JOIN extra e ON e.id = o.id WHERE o.amount > 20;
SELECT s.pgt_name, count(*) FILTER (WHERE d.frontier IS NULL) AS without_frontier,
       bool_or(d.source_relid = 'vs.extra'::regclass) AS reads_extra
  FROM pgtrickle.pgt_dependencies d JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_schema = 'vs' GROUP BY 1 ORDER BY 1;
SELECT pgtrickle.refresh_stream_table('vs.v1');
SELECT h.action, h.reason FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_relid = 'vs.v1'::regclass ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.check('vs.v1');
SELECT pgtrickle.refresh_stream_table('vs.v2');
SELECT pgtrickle.refresh_stream_table('vs.v3');
SELECT pgtrickle.refresh_stream_table('vs.v5');
UPDATE extra SET bonus = bonus + 1;
INSERT INTO extra VALUES (2, 7);
UPDATE ord SET amount = 25 WHERE id = 4;
SELECT * FROM vs.all_ok();
-- a new definition the engine cannot differentiate is refused
SELECT pgt_test.err($$CREATE OR REPLACE VIEW vs.big_ord AS
  SELECT id, cid, amount FROM vs.ord WHERE amount > random()$$);
-- a view no stream table reads: nothing happens
CREATE OR REPLACE VIEW gone_vv AS SELECT 1 AS k;

-- materialized views stay refused, precisely
CREATE MATERIALIZED VIEW mv AS SELECT id, amount FROM ord;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('vs.m1', 'SELECT id FROM vs.mv', '1m', 'DIFFERENTIAL')$$);
-- also behind a view
CREATE VIEW over_mv AS SELECT id FROM mv;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('vs.m1', 'SELECT id FROM vs.over_mv', '1m', 'DIFFERENTIAL')$$);

-- explain_st shows the sources
SELECT value FROM pgtrickle.explain_st('vs.v2') WHERE property = 'sources';

------------------------------------------------------------------------------
-- Privileges: a differential refresh reads the tables under a view as the
-- stream table's owner, so the owner must be able to read them itself.  A
-- view that grants what its own owner can read (security definer
-- semantics, security_barrier) never lets a stream table show more.
------------------------------------------------------------------------------
RESET client_min_messages;
CREATE TABLE secret (id int PRIMARY KEY, owner_name text, payload text);
INSERT INTO secret VALUES (1, 'regress_pgt_alice', 'a1'), (2, 'regress_pgt_bob', 'b2'), (3, 'regress_pgt_alice', 'a3');
CREATE VIEW mine WITH (security_barrier) AS
  SELECT id, payload FROM secret WHERE owner_name = 'regress_pgt_alice';
CREATE VIEW mine_invoker WITH (security_invoker) AS SELECT id, payload FROM secret;
GRANT USAGE, CREATE ON SCHEMA vs TO regress_pgt_alice;
GRANT SELECT ON mine, mine_invoker TO regress_pgt_alice;
GRANT TRIGGER ON secret TO regress_pgt_alice;
SET ROLE regress_pgt_alice;
-- alice can read the view, not the table under it: DIFFERENTIAL refused, AUTO falls back to FULL
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('vs.a1', 'SELECT id, payload FROM vs.mine', '1m', 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('vs.a1', 'SELECT id, payload FROM vs.mine', '1m', 'AUTO');
SELECT refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'a1';
-- the FULL table shows what the view shows alice: her rows only
SELECT * FROM vs.a1 ORDER BY id;
-- a security_invoker view: alice reads the table as herself: refused
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('vs.a2', 'SELECT id FROM vs.mine_invoker', '1m', 'FULL')$$);
RESET ROLE;
-- with SELECT on the table, DIFFERENTIAL works and shows exactly the view's rows
GRANT SELECT ON secret TO regress_pgt_alice;
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('vs.a3', 'SELECT id, payload FROM vs.mine', '1m', 'DIFFERENTIAL');
RESET ROLE;
INSERT INTO secret VALUES (4, 'regress_pgt_alice', 'a4'), (5, 'regress_pgt_bob', 'b5');
UPDATE secret SET owner_name = 'regress_pgt_bob' WHERE id = 1;
SET ROLE regress_pgt_alice;
SELECT pgt_test.drefresh('vs.a3');
SELECT id, payload FROM vs.a3 ORDER BY id;
RESET ROLE;
-- SELECT on the table revoked: the next differential refresh stops (42501
-- or 0A000), consuming nothing
REVOKE SELECT ON secret FROM regress_pgt_alice;
INSERT INTO secret VALUES (6, 'regress_pgt_alice', 'a6');
SET ROLE regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('vs.a3')$$);
RESET ROLE;
GRANT SELECT ON secret TO regress_pgt_alice;
SET ROLE regress_pgt_alice;
SELECT pgt_test.drefresh('vs.a3');
SELECT id, payload FROM vs.a3 ORDER BY id;
RESET ROLE;
SELECT pgtrickle.drop_stream_table('vs.a1');
SELECT pgtrickle.drop_stream_table('vs.a3');
REVOKE ALL ON secret, mine, mine_invoker FROM regress_pgt_alice;
REVOKE ALL ON SCHEMA vs FROM regress_pgt_alice;

SET client_min_messages = warning;
DROP SCHEMA vs CASCADE;
