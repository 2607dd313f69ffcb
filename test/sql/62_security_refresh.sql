-- Refresh-time security: change buffers are closed (item 12), every refresh
-- checks the owner's privileges (item 13), row-level security is never
-- bypassed by applying changes (item 11), and the write guard cannot be
-- taken away or reached from inside a refresh (item 16).
\pset format unaligned
GRANT CREATE, USAGE ON SCHEMA public TO regress_pgt_alice, regress_pgt_bob;
GRANT USAGE ON SCHEMA pgtrickle TO PUBLIC;

CREATE FUNCTION pgt_test.sr_buffer(src regclass) RETURNS regclass
LANGUAGE sql AS $$ SELECT to_regclass('pgtrickle_changes.changes_' || src::oid) $$;
-- who besides the buffer's owner may do anything with it
CREATE FUNCTION pgt_test.sr_buffer_grantees(src regclass) RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce(string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
											ELSE a.grantee::regrole::text END, ', '), 'nobody')
	  FROM pg_class c, aclexplode(c.relacl) a
	 WHERE c.oid = pgt_test.sr_buffer(src) AND a.grantee <> c.relowner
$$;
CREATE FUNCTION pgt_test.sr_err(sql text) RETURNS text
LANGUAGE sql AS $$
	SELECT regexp_replace(pgt_test.err(sql), 'changes_[0-9]+', 'changes_<oid>', 'g')
$$;
CREATE FUNCTION pgt_test.sr_last(st text) RETURNS text
LANGUAGE sql AS $$
	SELECT h.action || ': ' || h.reason FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_relid = st::regclass ORDER BY h.refresh_id DESC LIMIT 1
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgt_test TO PUBLIC;

------------------------------------------------------------------------------
-- Item 12: nobody but the extension reads a change buffer
------------------------------------------------------------------------------
CREATE TABLE sr_src (id int PRIMARY KEY, v int, hidden text);
INSERT INTO sr_src VALUES (1, 10, 'a'), (2, 20, 'b');
GRANT SELECT ON sr_src TO regress_pgt_alice;
-- capture needs TRIGGER (61_security_api); this file is about what comes after
GRANT TRIGGER ON sr_src TO regress_pgt_alice, regress_pgt_bob;
-- a second consumer (the superuser's) captures a column alice's query does not read
SELECT pgtrickle.create_stream_table('public.sr_super', 'SELECT id, hidden FROM sr_src', '1m', 'DIFFERENTIAL');
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.sr_alice', 'SELECT id, v FROM sr_src', '1m', 'DIFFERENTIAL');
RESET ROLE;
UPDATE sr_src SET hidden = 'secret' WHERE id = 1;
SELECT pgt_test.sr_buffer_grantees('sr_src');
SELECT r AS role, has_table_privilege(r, pgt_test.sr_buffer('sr_src'), 'SELECT') AS can_read_buffer,
       has_schema_privilege(r, 'pgtrickle_changes', 'USAGE') AS can_use_schema
  FROM unnest(ARRAY['regress_pgt_alice', 'regress_pgt_bob', 'public']) r ORDER BY 1;
SELECT pgt_test.sr_buffer('sr_src') AS sr_buffer \gset
SET ROLE regress_pgt_alice;
SELECT pgt_test.sr_err('SELECT hidden FROM ' || :'sr_buffer');
-- the change set function answers only the refresh that read it
SELECT pgt_test.err(format('SELECT * FROM pgtrickle._changes(%s, %s) AS c(id int, hidden text)',
       (SELECT pgt_id FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'sr_super'), 'sr_src'::regclass::oid));
-- the refresh reads the buffer with the extension's rights
SELECT pgt_test.drefresh('public.sr_alice');
RESET ROLE;
SELECT pgt_test.err(format('SELECT * FROM pgtrickle._changes(%s, %s) AS c(id int, hidden text)',
       (SELECT pgt_id FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'sr_super'), 'sr_src'::regclass::oid));
-- a new owner gets nothing either
ALTER TABLE sr_alice OWNER TO regress_pgt_bob;
SELECT pgt_test.sr_buffer_grantees('sr_src');
-- nor does a REVOKE on the source leave a right behind
ALTER TABLE sr_alice OWNER TO regress_pgt_alice;
REVOKE SELECT ON sr_src FROM regress_pgt_alice;
SELECT pgt_test.sr_buffer_grantees('sr_src');
SELECT has_table_privilege('regress_pgt_alice', pgt_test.sr_buffer('sr_src'), 'SELECT') AS alice_reads_buffer;
GRANT SELECT ON sr_src TO regress_pgt_alice;
-- grants made on a buffer by hand go at the next attach or DDL
DO $$BEGIN EXECUTE format('GRANT SELECT ON %s TO PUBLIC, regress_pgt_bob', pgt_test.sr_buffer('sr_src')); END$$;
SELECT pgt_test.sr_buffer_grantees('sr_src');
ALTER TABLE sr_alice OWNER TO regress_pgt_alice;
SELECT pgt_test.sr_buffer_grantees('sr_src');

------------------------------------------------------------------------------
-- Item 13: every refresh checks that the owner may still read what the
-- query reads, before reading any change
------------------------------------------------------------------------------
REVOKE SELECT ON sr_src FROM regress_pgt_alice;
-- nothing pending
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_alice')$$);
-- changes pending: refused too, and nothing is consumed
UPDATE sr_src SET v = 11 WHERE id = 1;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_alice')$$);
SELECT * FROM sr_alice ORDER BY id;
-- column privileges count, as in the query itself
GRANT SELECT (id, v) ON sr_src TO regress_pgt_alice;
SELECT pgt_test.drefresh('public.sr_alice');
SELECT * FROM sr_alice ORDER BY id;
REVOKE SELECT (v) ON sr_src FROM regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_alice')$$);
GRANT SELECT (v) ON sr_src TO regress_pgt_alice;
-- a column the query does not read needs no right
REVOKE SELECT ON sr_src FROM regress_pgt_alice;
GRANT SELECT (id, v) ON sr_src TO regress_pgt_alice;
SELECT pgt_test.drefresh('public.sr_alice');
-- a new owner without SELECT cannot refresh
ALTER TABLE sr_alice OWNER TO regress_pgt_bob;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_alice')$$);
GRANT SELECT ON sr_src TO regress_pgt_bob;
SELECT pgt_test.drefresh('public.sr_alice');
ALTER TABLE sr_alice OWNER TO regress_pgt_alice;
-- also through a join (the delta reads only one side's changes)
CREATE TABLE sr_dim (id int PRIMARY KEY, label text);
INSERT INTO sr_dim VALUES (1, 'one'), (2, 'two');
GRANT SELECT ON sr_dim TO regress_pgt_alice;
GRANT TRIGGER ON sr_dim TO regress_pgt_alice, regress_pgt_bob;
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.sr_join',
	'SELECT s.id, s.v, d.label FROM sr_src s JOIN sr_dim d ON d.id = s.id', '1m', 'DIFFERENTIAL');
RESET ROLE;
REVOKE SELECT ON sr_dim FROM regress_pgt_alice;
UPDATE sr_src SET v = 12 WHERE id = 1;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_join')$$);
GRANT SELECT ON sr_dim TO regress_pgt_alice;
SELECT pgt_test.drefresh('public.sr_join');
SELECT pgtrickle.drop_stream_table('public.sr_join');
-- a view read by a FULL stream table is checked as the view's owner
CREATE VIEW sr_dim_view AS SELECT id, label FROM sr_dim;
GRANT SELECT ON sr_dim_view TO regress_pgt_alice;
REVOKE SELECT ON sr_dim FROM regress_pgt_alice;
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.sr_view', 'SELECT id, label FROM sr_dim_view', '1m', 'FULL');
RESET ROLE;
SELECT pgt_test.refresh('public.sr_view');
REVOKE SELECT ON sr_dim_view FROM regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_view')$$);
SELECT pgtrickle.drop_stream_table('public.sr_view');
DROP VIEW sr_dim_view;

------------------------------------------------------------------------------
-- Item 11: row-level security.  Changes are applied only where no policy
-- can hide rows from the owner; elsewhere the refresh recomputes under the
-- policies
------------------------------------------------------------------------------
CREATE TABLE sr_orders (id int PRIMARY KEY, region text, amount int);
CREATE TABLE sr_regions (region text PRIMARY KEY, manager text);
INSERT INTO sr_orders VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'eu', 30);
INSERT INTO sr_regions VALUES ('eu', 'alice'), ('us', 'bob');
GRANT SELECT ON sr_orders, sr_regions TO regress_pgt_alice, regress_pgt_bob;
GRANT TRIGGER ON sr_orders, sr_regions TO regress_pgt_alice, regress_pgt_bob;
ALTER TABLE sr_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY sr_orders_eu ON sr_orders TO regress_pgt_alice USING (region = 'eu');
-- refused for DIFFERENTIAL, FULL for AUTO, when the policies apply to the owner
SET ROLE regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('public.sr_rls', 'SELECT o.id, o.amount, r.manager FROM sr_orders o JOIN sr_regions r USING (region)', '1m', 'DIFFERENTIAL')$$);
SELECT pgtrickle.create_stream_table('public.sr_rls', 'SELECT o.id, o.amount, r.manager FROM sr_orders o JOIN sr_regions r USING (region)', '1m', 'AUTO');
SELECT refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'sr_rls';
SELECT * FROM sr_rls ORDER BY id;
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('public.sr_rls', refresh_mode => 'DIFFERENTIAL')$$);
SELECT pgtrickle.drop_stream_table('public.sr_rls');
RESET ROLE;
-- exempt owners keep DIFFERENTIAL: a superuser, and the table's owner
SELECT pgtrickle.create_stream_table('public.sr_rls_super', 'SELECT id, amount FROM sr_orders', '1m', 'DIFFERENTIAL');
ALTER TABLE sr_regions OWNER TO regress_pgt_alice;
ALTER TABLE sr_regions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sr_regions_none ON sr_regions USING (false);
-- RLS enabled later on a joined source: policies on sr_orders hide rows from bob
ALTER TABLE sr_orders DISABLE ROW LEVEL SECURITY;
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.sr_rls_join',
	'SELECT o.id, o.amount, r.manager FROM sr_orders o JOIN sr_regions r USING (region)', '1m', 'DIFFERENTIAL');
RESET ROLE;
SELECT refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'sr_rls_join';
INSERT INTO sr_orders VALUES (4, 'us', 40);
SET ROLE regress_pgt_alice;
SELECT pgt_test.drefresh('public.sr_rls_join');
RESET ROLE;
ALTER TABLE sr_orders ENABLE ROW LEVEL SECURITY;
INSERT INTO sr_orders VALUES (5, 'us', 50), (6, 'eu', 60);
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
SELECT * FROM sr_rls_join ORDER BY id;
SET ROLE regress_pgt_alice;
SELECT pgt_test.check('public.sr_rls_join');
RESET ROLE;
-- and keeps recomputing while they apply (a policy change has no change rows)
DROP POLICY sr_orders_eu ON sr_orders;
CREATE POLICY sr_orders_big ON sr_orders TO regress_pgt_alice USING (amount >= 30);
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
SET ROLE regress_pgt_alice;
SELECT pgt_test.check('public.sr_rls_join');
RESET ROLE;
SELECT property, value FROM pgtrickle.explain_st('public.sr_rls_join')
 WHERE property IN ('refresh_mode', 'differential_supported', 'fallback_reason') ORDER BY 1;
-- once they no longer apply, one more recomputation brings back the hidden
-- rows (also after an alter_stream_table that keeps the mode)
ALTER TABLE sr_orders DISABLE ROW LEVEL SECURITY;
SELECT pgtrickle.alter_stream_table('public.sr_rls_join', refresh_mode => 'DIFFERENTIAL');
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
SELECT * FROM sr_rls_join ORDER BY id;
UPDATE sr_orders SET amount = amount + 1 WHERE id = 2;
SET ROLE regress_pgt_alice;
SELECT pgt_test.drefresh('public.sr_rls_join');
RESET ROLE;
-- FORCE ROW LEVEL SECURITY makes the policies of alice's own table apply to her
ALTER TABLE sr_regions FORCE ROW LEVEL SECURITY;
UPDATE sr_orders SET amount = amount + 1 WHERE id = 1;
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
SELECT count(*) AS rows_visible_to_alice FROM sr_rls_join;
ALTER TABLE sr_regions NO FORCE ROW LEVEL SECURITY;
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
-- a new owner the policies apply to: recomputed under them
ALTER TABLE sr_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY sr_orders_bob ON sr_orders TO regress_pgt_bob USING (region = 'us');
GRANT SELECT ON sr_regions TO regress_pgt_bob;
CREATE POLICY sr_regions_bob ON sr_regions TO regress_pgt_bob USING (true);
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
ALTER TABLE sr_rls_join OWNER TO regress_pgt_bob;
UPDATE sr_orders SET amount = amount + 1 WHERE id = 1;
SELECT pgtrickle.refresh_stream_table('public.sr_rls_join');
SELECT pgt_test.sr_last('public.sr_rls_join');
SELECT * FROM sr_rls_join ORDER BY id;
-- the superuser's stream table never needed any of this
UPDATE sr_orders SET amount = amount + 1 WHERE id = 3;
SELECT pgt_test.drefresh('public.sr_rls_super');
SELECT pgtrickle.drop_stream_table('public.sr_rls_join');
SELECT pgtrickle.drop_stream_table('public.sr_rls_super');

------------------------------------------------------------------------------
-- Item 16: the write guard stays on, and only the engine's own statements
-- pass it
------------------------------------------------------------------------------
GRANT INSERT, UPDATE, DELETE, TRUNCATE ON sr_alice TO regress_pgt_bob;
SET ROLE regress_pgt_alice;
SELECT pgt_test.err($$ALTER TABLE sr_alice DISABLE TRIGGER pgt_write_guard$$);
SELECT pgt_test.err($$ALTER TABLE sr_alice DISABLE TRIGGER ALL$$);
SELECT pgt_test.err($$ALTER TABLE sr_alice DISABLE TRIGGER USER$$);
SELECT pgt_test.err($$ALTER TABLE sr_alice ENABLE TRIGGER pgt_write_guard$$);
SELECT pgt_test.err($$ALTER TABLE sr_alice ENABLE REPLICA TRIGGER pgt_write_guard$$);
SELECT pgt_test.err($$DROP TRIGGER pgt_write_guard ON sr_alice$$);
SELECT pgt_test.err($$ALTER TRIGGER pgt_write_guard ON sr_alice RENAME TO other_name$$);
SELECT pgt_test.err($$ALTER TABLE sr_alice DISABLE TRIGGER other_name$$);
ALTER TRIGGER other_name ON sr_alice RENAME TO pgt_write_guard;
-- the owner's own triggers stay the owner's
CREATE FUNCTION public.sr_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER sr_own AFTER INSERT ON sr_alice FOR EACH STATEMENT EXECUTE FUNCTION public.sr_noop();
ALTER TABLE sr_alice DISABLE TRIGGER sr_own;
DROP TRIGGER sr_own ON sr_alice;
-- inheritance and partitions would move rows past the guard
SELECT pgt_test.err($$CREATE TABLE public.sr_child () INHERITS (sr_alice)$$);
CREATE TABLE public.sr_other (id int, v int);
SELECT pgt_test.err($$ALTER TABLE public.sr_other INHERIT sr_alice$$);
SELECT pgt_test.err($$ALTER TABLE sr_alice INHERIT public.sr_other$$);
CREATE TABLE public.sr_parted (id int, v int) PARTITION BY RANGE (id);
SELECT pgt_test.err($$ALTER TABLE public.sr_parted ATTACH PARTITION sr_alice FOR VALUES FROM (0) TO (100)$$);
DROP TABLE public.sr_other, public.sr_parted;
RESET ROLE;
-- superusers included
SELECT pgt_test.err($$ALTER TABLE sr_alice DISABLE TRIGGER pgt_write_guard$$);
SELECT pgt_test.err($$DROP TRIGGER pgt_write_guard ON sr_alice$$);
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'sr_alice'::regclass ORDER BY 1;
SET ROLE regress_pgt_bob;
SELECT pgt_test.err($$INSERT INTO sr_alice VALUES (99, 99)$$);
RESET ROLE;
-- a function called by the defining query cannot write the stream table
-- during its refresh, in any way
CREATE TABLE sr_log (what text);
GRANT INSERT ON sr_log TO PUBLIC;
SET ROLE regress_pgt_alice;
CREATE TABLE public.sr_how (how text);
INSERT INTO public.sr_how VALUES ('none');
CREATE FUNCTION public.sr_sneak() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	how text := (SELECT h.how FROM public.sr_how h);
BEGIN
	IF how = 'insert' THEN
		INSERT INTO public.sr_victim VALUES (1000, 1000);
	ELSIF how = 'delete' THEN
		DELETE FROM public.sr_victim;
	ELSIF how = 'dynamic' THEN
		EXECUTE 'UPDATE public.sr_victim SET v = -1';
	ELSIF how = 'sql' THEN
		PERFORM public.sr_sneak_sql();
	END IF;
	INSERT INTO public.sr_log VALUES (how);
	RETURN 1;
END $$;
SELECT pgtrickle.create_stream_table('public.sr_victim', 'SELECT id, v * public.sr_sneak() AS v FROM sr_src', '1m', 'FULL');
CREATE FUNCTION public.sr_sneak_sql() RETURNS int LANGUAGE sql AS
	'INSERT INTO public.sr_victim VALUES (3000, 3000) RETURNING 1';
UPDATE public.sr_how SET how = 'insert';
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_victim')$$);
UPDATE public.sr_how SET how = 'delete';
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_victim')$$);
UPDATE public.sr_how SET how = 'dynamic';
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_victim')$$);
UPDATE public.sr_how SET how = 'sql';
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_victim')$$);
-- also when the query is replaced (the refresh of alter_stream_table)
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('public.sr_victim', query => 'SELECT id, v * public.sr_sneak() + 0 AS v FROM sr_src')$$);
SELECT * FROM sr_victim ORDER BY id;
UPDATE public.sr_how SET how = 'none';
SELECT pgt_test.refresh('public.sr_victim');
-- a trigger on the stream table cannot write it during a refresh either
CREATE FUNCTION public.sr_echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.sr_victim VALUES (2000, 2000); RETURN NULL; END $$;
SELECT pgtrickle.alter_stream_table('public.sr_victim', query => 'SELECT id, v FROM sr_src');
CREATE TRIGGER sr_echo AFTER INSERT ON sr_victim FOR EACH STATEMENT EXECUTE FUNCTION public.sr_echo();
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.sr_victim')$$);
DROP TRIGGER sr_echo ON sr_victim;
SELECT pgt_test.refresh('public.sr_victim');
SELECT pgtrickle.drop_stream_table('public.sr_victim');
DROP FUNCTION public.sr_sneak(), public.sr_sneak_sql(), public.sr_echo(), public.sr_noop();
DROP TABLE public.sr_how;
RESET ROLE;

SELECT pgtrickle.drop_stream_table('public.sr_alice');
SELECT pgtrickle.drop_stream_table('public.sr_super');
DROP TABLE sr_src, sr_dim, sr_orders, sr_regions, sr_log;
