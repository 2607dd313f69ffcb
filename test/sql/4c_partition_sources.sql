-- Partitioned tables and inheritance parents as sources (issue 15, item 7):
-- one change buffer per table named in FROM, written by the capture
-- triggers of that table and of every partition or child below it
-- (src/capture/README.md, "Partitioned tables and inheritance").  Every
-- refresh is checked by the oracle and verify_stream_table
-- (pgt_test.drefresh), which also asserts that it ran DIFFERENTIAL.
\pset format unaligned
SET client_min_messages = warning;
CREATE SCHEMA ps;
SET search_path = ps, public;

-- after a change no DML shows (a partition attached with rows, detached,
-- dropped, truncated): each reader recomputes once, then is right
CREATE FUNCTION ps.recompute_all() RETURNS TABLE(st text, action text)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT s.pgt_name FROM pgtrickle.pgt_stream_tables s
			  WHERE s.pgt_schema = 'ps' ORDER BY s.pgt_name LOOP
		PERFORM pgtrickle.refresh_stream_table('ps.' || quote_ident(r.pgt_name));
		PERFORM pgt_test.check('ps.' || quote_ident(r.pgt_name));
		st := r.pgt_name;
		action := ps.last('ps.' || quote_ident(r.pgt_name));
		RETURN NEXT;
	END LOOP;
END
$$;
-- the last refresh's action and reason
CREATE FUNCTION ps.last(st text) RETURNS text
LANGUAGE sql AS $$
	SELECT h.action || coalesce(': ' || h.reason, '') FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_relid = st::regclass ORDER BY h.refresh_id DESC LIMIT 1
$$;

------------------------------------------------------------------------------
-- A partitioned table with a sub-partitioned partition and a default one
------------------------------------------------------------------------------
CREATE TABLE ev (id int, region text, amount numeric, PRIMARY KEY (id, region))
  PARTITION BY LIST (region);
CREATE TABLE ev_n PARTITION OF ev FOR VALUES IN ('n');
CREATE TABLE ev_s PARTITION OF ev FOR VALUES IN ('s') PARTITION BY RANGE (id);
CREATE TABLE ev_s_lo PARTITION OF ev_s FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE ev_s_hi PARTITION OF ev_s FOR VALUES FROM (100) TO (MAXVALUE);
-- a partition whose columns are in another order (attribute numbers differ)
CREATE TABLE ev_w (amount numeric, junk int, id int NOT NULL, region text NOT NULL);
ALTER TABLE ev_w DROP COLUMN junk;
ALTER TABLE ev ATTACH PARTITION ev_w FOR VALUES IN ('w');
CREATE TABLE ev_other PARTITION OF ev DEFAULT;
INSERT INTO ev SELECT g, (ARRAY['n', 's', 'w', 'e'])[1 + g % 4], g * 1.5 FROM generate_series(1, 200) g;

CREATE TABLE reg (code text PRIMARY KEY, name text);
INSERT INTO reg VALUES ('n', 'north'), ('s', 'south'), ('w', 'west');

SELECT pgtrickle.create_stream_table('ps.p_rows', 'SELECT id, region, amount FROM ev WHERE amount > 10', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ps.p_sum', 'SELECT region, count(*) AS n, sum(amount) AS total FROM ev GROUP BY region', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ps.p_join', 'SELECT e.id, r.name FROM ev e LEFT JOIN reg r ON r.code = e.region WHERE e.id % 3 = 0', '1m', 'DIFFERENTIAL');
-- the partitioned table is the source; every partition writes its buffer
SELECT s.pgt_name, d.source_relid::regclass AS source, d.source_type
  FROM pgtrickle.pgt_dependencies d JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_schema = 'ps' ORDER BY 1, d.source_relid::regclass::text;
SELECT c.relname, count(*) AS capture_triggers,
       count(*) FILTER (WHERE t.tgenabled = 'R') AS replica
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'pgt_capture%' AND c.relnamespace = 'ps'::regnamespace
 GROUP BY 1 ORDER BY 1;

-- writes through the root, to a partition, to a sub-partition; updates that
-- move rows between partitions (through the root) and within one
INSERT INTO ev VALUES (1001, 'n', 5), (1002, 's', 500), (1003, 'x', 7);
INSERT INTO ev_s_lo VALUES (50000 % 97, 's', 1) ON CONFLICT DO NOTHING;
INSERT INTO ev_w (id, region, amount) VALUES (2001, 'w', 33);
UPDATE ev SET region = 'n' WHERE id IN (2, 6, 10);           -- s -> n
UPDATE ev SET id = id + 1000 WHERE region = 's' AND id < 30; -- ev_s_lo -> ev_s_hi
UPDATE ev_n SET amount = amount * 2 WHERE id % 5 = 0;
DELETE FROM ev_s_hi WHERE id % 7 = 0;
DELETE FROM ev WHERE region = 'e' AND id < 50;
UPDATE reg SET name = 'North' WHERE code = 'n';
SELECT * FROM pgt_test.drefresh_schema('ps');

-- partitions created, attached and detached later
CREATE TABLE ev_e PARTITION OF ev FOR VALUES IN ('e2');
INSERT INTO ev VALUES (3001, 'e2', 70);
INSERT INTO ev_e VALUES (3002, 'e2', 71);                    -- naming the new partition
SELECT * FROM pgt_test.drefresh_schema('ps');
-- a table with rows attached: the rows appear without DML, so the readers recompute once
DELETE FROM ev_other WHERE region = 'q';
CREATE TABLE ev_q (id int NOT NULL, region text NOT NULL, amount numeric);
INSERT INTO ev_q VALUES (4001, 'q', 11), (4002, 'q', 12);
ALTER TABLE ev ATTACH PARTITION ev_q FOR VALUES IN ('q');
SELECT * FROM ps.recompute_all();
SELECT * FROM pgt_test.drefresh_schema('ps');
INSERT INTO ev_q VALUES (4003, 'q', 13);
SELECT * FROM pgt_test.drefresh_schema('ps');
-- a partition detached: its rows leave; later writes to it are not the root's
ALTER TABLE ev DETACH PARTITION ev_w;
SELECT * FROM ps.recompute_all();
INSERT INTO ev_w VALUES (99, 5000, 'w');
UPDATE ev_w SET amount = 0;
SELECT count(*) AS detached_triggers FROM pg_trigger WHERE tgrelid = 'ps.ev_w'::regclass AND tgname LIKE 'pgt_capture%';
SELECT * FROM pgt_test.drefresh_schema('ps');
-- a sub-partitioned partition detached and attached again
ALTER TABLE ev DETACH PARTITION ev_s;
SELECT count(*) AS ev_s_triggers FROM pg_trigger WHERE tgrelid IN ('ps.ev_s'::regclass, 'ps.ev_s_lo'::regclass, 'ps.ev_s_hi'::regclass) AND tgname LIKE 'pgt_capture%';
INSERT INTO ev_s VALUES (150, 's', 1.5);
ALTER TABLE ev ATTACH PARTITION ev_s FOR VALUES IN ('s');
SELECT * FROM ps.recompute_all();
UPDATE ev SET amount = amount + 1 WHERE region = 's';
SELECT * FROM pgt_test.drefresh_schema('ps');
-- DETACH ... CONCURRENTLY (two transactions; not with a default partition): the same
CREATE TABLE cc (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE cc1 PARTITION OF cc FOR VALUES FROM (0) TO (100);
CREATE TABLE cc2 PARTITION OF cc FOR VALUES FROM (100) TO (200);
INSERT INTO cc SELECT g, g FROM generate_series(90, 110) g;
SELECT pgtrickle.create_stream_table('ps.p_cc', 'SELECT id, v FROM cc WHERE v % 2 = 0', '1m', 'DIFFERENTIAL');
INSERT INTO cc VALUES (150, 150), (50, 50);
SELECT * FROM pgt_test.drefresh_schema('ps');
ALTER TABLE cc DETACH PARTITION cc2 CONCURRENTLY;
SELECT count(*) AS cc2_triggers FROM pg_trigger WHERE tgrelid = 'ps.cc2'::regclass AND tgname LIKE 'pgt_capture%';
SELECT * FROM ps.recompute_all();
INSERT INTO cc2 VALUES (160, 160);
INSERT INTO cc1 VALUES (60, 60);
SELECT * FROM pgt_test.drefresh_schema('ps');
-- TRUNCATE of one partition: the readers recompute
TRUNCATE ev_n;
SELECT * FROM ps.recompute_all();
INSERT INTO ev VALUES (5001, 'n', 50);
SELECT * FROM pgt_test.drefresh_schema('ps');
-- ONLY, and a partition read on its own, stay refused with the reason
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ps.p_x', 'SELECT id FROM ONLY ps.ev', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ps.p_x', 'SELECT id FROM ps.ev_n', '1m', 'DIFFERENTIAL')$$);
-- DROP of a partition: its rows go without DML, the readers recompute
DROP TABLE ev_e;
SELECT * FROM ps.recompute_all();
SELECT * FROM pgt_test.drefresh_schema('ps');

------------------------------------------------------------------------------
-- Inheritance: FROM parent reads the children, ONLY parent does not
------------------------------------------------------------------------------
CREATE TABLE animal (id int PRIMARY KEY, name text, legs int);
CREATE TABLE dog (breed text) INHERITS (animal);
CREATE TABLE puppy (age int) INHERITS (dog);
INSERT INTO animal VALUES (1, 'generic', 4);
INSERT INTO dog VALUES (2, 'rex', 4, 'lab');
INSERT INTO puppy VALUES (3, 'bit', 4, 'pug', 1);
SELECT pgtrickle.create_stream_table('ps.i_all', 'SELECT id, name, legs FROM animal', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ps.i_legs', 'SELECT legs, count(*) AS n FROM animal GROUP BY legs', '1m', 'DIFFERENTIAL');
INSERT INTO dog VALUES (4, 'max', 3, 'mutt');
UPDATE animal SET legs = 5 WHERE id IN (1, 3);          -- through the parent: parent and grandchild rows
UPDATE puppy SET name = 'bitty';
DELETE FROM dog WHERE id = 2;
INSERT INTO animal VALUES (5, 'cat', 4);
SELECT * FROM pgt_test.drefresh_schema('ps');
-- a child added (empty, then with rows) and removed later
CREATE TABLE cat (lives int) INHERITS (animal);
INSERT INTO cat VALUES (6, 'tom', 4, 9);
SELECT * FROM pgt_test.drefresh_schema('ps');
CREATE TABLE bird (id int NOT NULL, name text, legs int, wings int);
INSERT INTO bird VALUES (7, 'tweety', 2, 2);
ALTER TABLE bird INHERIT animal;
SELECT * FROM ps.recompute_all() WHERE st LIKE 'i\_%';
SELECT * FROM pgt_test.drefresh_schema('ps');
UPDATE bird SET legs = 1;
SELECT * FROM pgt_test.drefresh_schema('ps');
ALTER TABLE dog NO INHERIT animal;
SELECT * FROM ps.recompute_all() WHERE st LIKE 'i\_%';
SELECT * FROM pgt_test.drefresh_schema('ps');
INSERT INTO dog VALUES (8, 'ghost', 4, 'husky');
SELECT count(*) AS dog_triggers FROM pg_trigger WHERE tgrelid IN ('ps.dog'::regclass, 'ps.puppy'::regclass) AND tgname LIKE 'pgt_capture%';
SELECT * FROM pgt_test.drefresh_schema('ps');
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ps.i_x', 'SELECT id FROM ONLY ps.animal', '1m', 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('ps.i_only', 'SELECT id FROM ONLY ps.animal', '1m', 'AUTO');
SELECT refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'i_only';
SELECT pgtrickle.drop_stream_table('ps.i_only');

-- dropping the stream tables drops the capture of every partition and child
SELECT pgtrickle.drop_stream_table('ps.' || pgt_name) FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'ps' ORDER BY pgt_name;
SELECT count(*) AS capture_triggers_left FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'pgt_capture%' AND c.relnamespace = 'ps'::regnamespace;
DROP SCHEMA ps CASCADE;
