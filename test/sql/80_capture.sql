-- Change capture (src/capture): buffers, triggers, frontiers, pruning.
--
-- A buffer's rows are shown without xids: stmt numbers the capturing
-- statements in order (dense rank of __pgt_seq), mult is +1 inserted, -1
-- deleted, 0 TRUNCATE marker, row is the captured columns.

CREATE FUNCTION pgt_test.cap_buffer(src regclass) RETURNS regclass
LANGUAGE sql AS $$ SELECT to_regclass('pgtrickle_changes.changes_' || src::oid) $$;

CREATE FUNCTION pgt_test.cap_changes(src regclass)
RETURNS TABLE(stmt bigint, mult smallint, "row" jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT dense_rank() OVER (ORDER BY __pgt_seq), __pgt_mult,'
		'       to_jsonb(b) - ''__pgt_xid'' - ''__pgt_seq'' - ''__pgt_mult'''
		'  FROM %s b ORDER BY __pgt_seq, __pgt_mult, 3::text',
		pgt_test.cap_buffer(src));
END
$$;

-- what capture exists for a source: buffer columns and triggers
CREATE FUNCTION pgt_test.cap_state(src regclass)
RETURNS TABLE(buffer boolean, columns text, triggers text)
LANGUAGE sql AS $$
	SELECT b IS NOT NULL,
		   (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
							  ', ' ORDER BY a.attnum)
			  FROM pg_attribute a
			 WHERE a.attrelid = b AND a.attnum > 0 AND NOT a.attisdropped),
		   (SELECT string_agg(t.tgname || ' ' || t.tgenabled::text, ', ' ORDER BY t.tgname)
			  FROM pg_trigger t
			 WHERE t.tgrelid = src AND t.tgname LIKE 'pgt\_capture\_%')
	  FROM (SELECT pgt_test.cap_buffer(src) AS b) x
$$;

-- whether each stream table reading a cap_ source has a frontier for it
CREATE FUNCTION pgt_test.cap_frontiers()
RETURNS TABLE(stream_table name, source regclass, has_frontier boolean)
LANGUAGE sql AS $$
	SELECT s.pgt_name::name, d.source_relid::regclass, d.frontier IS NOT NULL
	  FROM pgtrickle.pgt_dependencies d JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name LIKE 'cap\_%' ORDER BY 1, 2::text
$$;

-- errors name buffers by OID: hide it
CREATE FUNCTION pgt_test.cap_err(sql text) RETURNS text
LANGUAGE sql AS $$
	SELECT regexp_replace(pgt_test.err(sql), 'changes_[0-9]+', 'changes_<oid>', 'g')
$$;

CREATE FUNCTION pgt_test.cap_last_action(st text) RETURNS text
LANGUAGE sql AS $$
	SELECT h.action FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_relid = st::regclass ORDER BY h.refresh_id DESC LIMIT 1
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgt_test TO PUBLIC;

------------------------------------------------------------------------------
-- A FULL stream table captures nothing; a DIFFERENTIAL one captures the
-- columns it reads plus the primary key, with seven triggers:
-- statement-level ones enabled for ordinary sessions, row-level ones
-- enabled REPLICA, TRUNCATE enabled ALWAYS.
------------------------------------------------------------------------------
CREATE TABLE cap_orders (id int PRIMARY KEY, customer int NOT NULL,
						 amount numeric NOT NULL, note text);
INSERT INTO cap_orders VALUES (1, 10, 5, 'a'), (2, 10, 7, 'b'), (3, 20, 11, 'c');
SELECT pgtrickle.create_stream_table('cap_full',
	'SELECT customer, sum(amount) AS total FROM cap_orders GROUP BY customer', '1m', 'FULL');
SELECT * FROM pgt_test.cap_state('cap_orders');
SELECT pgtrickle.create_stream_table('cap_totals',
	'SELECT customer, sum(amount) AS total FROM cap_orders GROUP BY customer', '1m', 'DIFFERENTIAL');
-- buffer: id (primary key), customer, amount; not note
SELECT * FROM pgt_test.cap_state('cap_orders');
SELECT * FROM pgt_test.cap_frontiers();
-- the buffer belongs to the catalog owner; PUBLIC may not read it
SELECT c.relowner = (SELECT relowner FROM pg_class WHERE oid = 'pgtrickle.pgt_stream_tables'::regclass) AS catalog_owner,
	   has_table_privilege('public', c.oid, 'SELECT') AS public_select
  FROM pg_class c WHERE c.oid = pgt_test.cap_buffer('cap_orders');

------------------------------------------------------------------------------
-- Writes land as rows: INSERT +1, DELETE -1, UPDATE -1 (old) and +1 (new)
------------------------------------------------------------------------------
INSERT INTO cap_orders VALUES (4, 20, 13, 'd'), (5, 30, 17, 'e');
UPDATE cap_orders SET amount = amount + 100 WHERE id = 1;
DELETE FROM cap_orders WHERE id = 2;
-- a statement that changes nothing writes nothing
UPDATE cap_orders SET amount = 0 WHERE id = 999;
SELECT * FROM pgt_test.cap_changes('cap_orders');
-- one consumer: its refresh consumes everything, and prunes it
SELECT pgt_test.drefresh('cap_totals');
SELECT * FROM pgt_test.cap_changes('cap_orders');

-- TRUNCATE leaves a marker; the next refresh is a full one
TRUNCATE cap_orders;
INSERT INTO cap_orders VALUES (1, 10, 1, 'x');
SELECT * FROM pgt_test.cap_changes('cap_orders');
SELECT pgtrickle.refresh_stream_table('cap_totals');
SELECT pgt_test.cap_last_action('cap_totals');
SELECT pgt_test.check('cap_totals');
SELECT count(*) AS buffer_rows FROM pgt_test.cap_changes('cap_orders');

-- INSERT ... ON CONFLICT, MERGE and COPY are captured
INSERT INTO cap_orders VALUES (1, 10, 2, 'x2'), (2, 20, 3, 'y')
	ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount, note = EXCLUDED.note;
MERGE INTO cap_orders o USING (VALUES (1, 50), (2, NULL), (3, 60)) s(id, amount) ON o.id = s.id
	WHEN MATCHED AND s.amount IS NULL THEN DELETE
	WHEN MATCHED THEN UPDATE SET amount = s.amount
	WHEN NOT MATCHED THEN INSERT VALUES (s.id, 30, s.amount, 'merged');
COPY cap_orders FROM stdin;
4	40	4	copied
5	40	5	copied
\.
SELECT * FROM pgt_test.cap_changes('cap_orders');
SELECT pgt_test.drefresh('cap_totals');

-- a rolled back savepoint leaves nothing behind
BEGIN;
INSERT INTO cap_orders VALUES (6, 60, 6, 'kept');
SAVEPOINT s;
INSERT INTO cap_orders VALUES (7, 70, 7, 'rolled back');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM pgt_test.cap_changes('cap_orders');
SELECT pgt_test.drefresh('cap_totals');

-- writes of the refreshing transaction: before its refresh they are
-- consumed by it, after it they are pending
BEGIN;
INSERT INTO cap_orders VALUES (8, 80, 8, 'before');
SELECT pgtrickle.refresh_stream_table('cap_totals');
INSERT INTO cap_orders VALUES (9, 90, 9, 'after');
SELECT * FROM pgt_test.cap_changes('cap_orders');
COMMIT;
SELECT pgt_test.drefresh('cap_totals');
SELECT count(*) AS buffer_rows FROM pgt_test.cap_changes('cap_orders');

------------------------------------------------------------------------------
-- A second consumer that reads note: the buffer gains the column; pruning
-- keeps what the consumer with the older frontier still needs
------------------------------------------------------------------------------
SELECT pgtrickle.create_stream_table('cap_notes',
	'SELECT id, note FROM cap_orders WHERE amount > 5', '1m', 'DIFFERENTIAL');
SELECT * FROM pgt_test.cap_state('cap_orders');
SELECT * FROM pgt_test.cap_frontiers();
UPDATE cap_orders SET note = 'changed', amount = 70 WHERE id = 6;
SELECT pgt_test.drefresh('cap_notes');
-- still needed by cap_totals
SELECT * FROM pgt_test.cap_changes('cap_orders');
SELECT pgt_test.drefresh('cap_totals');
SELECT count(*) AS buffer_rows FROM pgt_test.cap_changes('cap_orders');

-- a renamed source column is still captured (the buffer maps columns
-- through pg_depend, not by name)
ALTER TABLE cap_orders RENAME COLUMN note TO remark;
UPDATE cap_orders SET remark = 'renamed' WHERE id = 6;
SELECT * FROM pgt_test.cap_changes('cap_orders');
SELECT pgt_test.drefresh('cap_notes');
SELECT pgt_test.drefresh('cap_totals');

-- capture objects are protected; captured columns keep their type
SELECT pgt_test.cap_err($$DROP TRIGGER pgt_capture_ins ON cap_orders$$);
SELECT pgt_test.cap_err($$ALTER TABLE cap_orders ALTER COLUMN id TYPE bigint$$);
-- a column nobody captures can change
ALTER TABLE cap_orders ADD COLUMN extra int;
ALTER TABLE cap_orders ALTER COLUMN extra TYPE bigint;
ALTER TABLE cap_orders DROP COLUMN extra;
INSERT INTO cap_orders VALUES (10, 10, 10, 'after ddl');
SELECT pgt_test.drefresh('cap_notes');
SELECT pgt_test.drefresh('cap_totals');

-- with an index on the buffer, capture writes through SQL instead
SELECT pgt_test.cap_buffer('cap_orders') AS cap_orders_buffer \gset
CREATE INDEX cap_buffer_xid ON :cap_orders_buffer (__pgt_xid);
UPDATE cap_orders SET amount = amount + 1 WHERE id IN (9, 10);
DELETE FROM cap_orders WHERE id = 8;
SELECT * FROM pgt_test.cap_changes('cap_orders');
SELECT pgt_test.drefresh('cap_notes');
SELECT pgt_test.drefresh('cap_totals');
DROP INDEX pgtrickle_changes.cap_buffer_xid;

------------------------------------------------------------------------------
-- Rights: nobody but the extension reads a buffer, not even the owner of
-- a consumer; a writer needs no rights on it
------------------------------------------------------------------------------
CREATE TABLE cap_shared (id int PRIMARY KEY, v int);
INSERT INTO cap_shared VALUES (1, 1);
-- (capture needs TRIGGER on the source: docs/security.md)
GRANT SELECT, TRIGGER ON cap_shared TO regress_pgt_alice;
GRANT CREATE, USAGE ON SCHEMA public TO regress_pgt_alice, regress_pgt_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON cap_shared TO regress_pgt_bob;
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.cap_alice', 'SELECT id, v FROM cap_shared', '1m', 'DIFFERENTIAL');
RESET ROLE;
SELECT r AS role, has_table_privilege(r, pgt_test.cap_buffer('cap_shared'), 'SELECT') AS can_read_buffer
  FROM unnest(ARRAY['regress_pgt_alice', 'regress_pgt_bob', 'public']) r ORDER BY 1;
SELECT pgt_test.cap_buffer('cap_shared') AS cap_shared_buffer \gset
SET ROLE regress_pgt_bob;
INSERT INTO cap_shared VALUES (2, 2);
UPDATE cap_shared SET v = 10 WHERE id = 1;
SELECT pgt_test.cap_err('SELECT * FROM ' || :'cap_shared_buffer');
RESET ROLE;
SELECT * FROM pgt_test.cap_changes('cap_shared');
SET ROLE regress_pgt_alice;
SELECT pgt_test.drefresh('public.cap_alice');
RESET ROLE;
-- a new owner of the stream table gets no right either
-- (CaptureDetachUnused; every DROP runs it through the sql_drop trigger)
ALTER TABLE cap_alice OWNER TO regress_pgt_bob;
CREATE TABLE cap_throwaway ();
DROP TABLE cap_throwaway;
SELECT r AS role, has_table_privilege(r, pgt_test.cap_buffer('cap_shared'), 'SELECT') AS can_read_buffer
  FROM unnest(ARRAY['regress_pgt_alice', 'regress_pgt_bob', 'public']) r ORDER BY 1;
UPDATE cap_shared SET v = 20 WHERE id = 2;
SET ROLE regress_pgt_bob;
SELECT pgt_test.drefresh('public.cap_alice');
RESET ROLE;

------------------------------------------------------------------------------
-- Column types: a NOT NULL domain is captured as its base type (a TRUNCATE
-- marker holds NULLs); a dropped source column is skipped
------------------------------------------------------------------------------
CREATE DOMAIN pgt_test.cap_posint AS int NOT NULL CHECK (VALUE > 0);
CREATE TABLE cap_typed (id int PRIMARY KEY, gone text, qty pgt_test.cap_posint, label varchar(10));
ALTER TABLE cap_typed DROP COLUMN gone;
INSERT INTO cap_typed VALUES (1, 1, 'one');
SELECT pgtrickle.create_stream_table('cap_typed_sum',
	'SELECT label, sum(qty) AS qty FROM cap_typed GROUP BY label', '1m', 'DIFFERENTIAL');
SELECT * FROM pgt_test.cap_state('cap_typed');
INSERT INTO cap_typed VALUES (2, 2, 'two');
UPDATE cap_typed SET qty = 3 WHERE id = 1;
SELECT pgt_test.drefresh('cap_typed_sum');
TRUNCATE cap_typed;
SELECT * FROM pgt_test.cap_changes('cap_typed');
SELECT pgtrickle.refresh_stream_table('cap_typed_sum');
SELECT pgt_test.cap_last_action('cap_typed_sum');
SELECT pgt_test.check('cap_typed_sum');

------------------------------------------------------------------------------
-- What cannot be captured
------------------------------------------------------------------------------
CREATE TABLE cap_parted (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE cap_part1 PARTITION OF cap_parted FOR VALUES FROM (0) TO (100);
CREATE TABLE cap_parent (k int);
CREATE TABLE cap_child () INHERITS (cap_parent);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('cap_x', 'SELECT k, v FROM cap_part1', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('cap_x', 'SELECT k FROM ONLY cap_parent', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('cap_x', 'SELECT k FROM cap_child', '1m', 'DIFFERENTIAL')$$);
SELECT count(*) FROM pg_class WHERE relname = 'cap_x';
-- starting capture in REPEATABLE READ would miss changes committed since
-- the transaction's snapshot
CREATE TABLE cap_rr (id int PRIMARY KEY);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('cap_rr_st', 'SELECT id FROM cap_rr', '1m', 'DIFFERENTIAL')$$);
ROLLBACK;

------------------------------------------------------------------------------
-- Capture goes when its last DIFFERENTIAL consumer goes
------------------------------------------------------------------------------
-- a consumer switched to FULL: the other one keeps the buffer
SELECT pgtrickle.alter_stream_table('cap_notes', refresh_mode => 'FULL');
SELECT (pgt_test.cap_state('cap_orders')).buffer;
SELECT * FROM pgt_test.cap_frontiers();
-- the last one dropped: buffer and triggers are gone
SELECT pgtrickle.drop_stream_table('cap_totals');
SELECT * FROM pgt_test.cap_state('cap_orders');
INSERT INTO cap_orders VALUES (20, 20, 20, 'not captured');
-- back to DIFFERENTIAL: capture again, and a full refresh first
SELECT pgtrickle.alter_stream_table('cap_notes', refresh_mode => 'DIFFERENTIAL');
SELECT * FROM pgt_test.cap_state('cap_orders');
SELECT pgt_test.cap_last_action('cap_notes');
UPDATE cap_orders SET amount = 21 WHERE id = 20;
SELECT pgt_test.drefresh('cap_notes');
-- a source dropped with CASCADE takes its buffer along
CREATE TEMP TABLE cap_captured AS
SELECT pgt_test.cap_buffer(r)::oid AS buffer, r::oid AS source
  FROM unnest(ARRAY['cap_orders', 'cap_typed', 'cap_shared']::regclass[]) r;
SELECT count(buffer) AS buffers FROM cap_captured;
DROP TABLE cap_orders CASCADE;
DROP TABLE cap_typed CASCADE;
DROP TABLE cap_shared CASCADE;
SELECT count(*) AS buffers FROM pg_class WHERE oid IN (SELECT buffer FROM cap_captured);
SELECT count(*) AS capture_triggers FROM pg_trigger WHERE tgrelid IN (SELECT source FROM cap_captured);
SELECT * FROM pgt_test.cap_frontiers();

DROP TABLE cap_parted, cap_parent, cap_child, cap_rr;
DROP DOMAIN pgt_test.cap_posint;
