-- Security: ownership, privileges, the refresh sandbox, closed internals.
\pset format unaligned
CREATE TABLE secret (id int, payload text);
INSERT INTO secret VALUES (1, 'classified');
CREATE TABLE open_data (id int, v int);
INSERT INTO open_data VALUES (1, 1), (2, 2);
GRANT SELECT ON open_data TO regress_pgt_alice, regress_pgt_bob;
GRANT CREATE, USAGE ON SCHEMA public TO regress_pgt_alice, regress_pgt_bob;
GRANT USAGE ON SCHEMA pgtrickle TO PUBLIC;

-- creating needs SELECT on every source, also with initialize => false
SET ROLE regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('public.alice_secret', 'SELECT * FROM secret', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('public.alice_secret', 'SELECT * FROM secret', '1m', 'FULL', false)$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('public.alice_secret', 'SELECT o.v FROM open_data o WHERE o.id IN (SELECT id FROM secret)', '1m', 'FULL')$$);
SELECT count(*) FROM pg_class WHERE relname = 'alice_secret';
SELECT pgtrickle.create_stream_table('public.alice_st', 'SELECT id, v FROM open_data', '1m', 'FULL');
SELECT relowner::regrole FROM pg_class WHERE oid = 'public.alice_st'::regclass;
RESET ROLE;

-- only the owner (or a superuser) alters, refreshes, drops, verifies
SET ROLE regress_pgt_bob;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.alice_st')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('public.alice_st', schedule => '5m')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('public.alice_st', query => 'SELECT 1 AS id, 1 AS v')$$);
SELECT pgt_test.err($$SELECT pgtrickle.pause_stream_table('public.alice_st')$$);
SELECT pgt_test.err($$SELECT pgtrickle.resume_stream_table('public.alice_st')$$);
SELECT pgt_test.err($$SELECT pgtrickle.drop_stream_table('public.alice_st')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.verify_stream_table('public.alice_st')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_or_replace_stream_table('public.alice_st', 'SELECT 2 AS id, 2 AS v', '1m', 'FULL')$$);
-- nor read it without a grant
SELECT pgt_test.err($$SELECT * FROM public.alice_st$$);
-- the catalog and views are public; explain and history too
SELECT pgt_name, status FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'alice_st';
SELECT count(*) FROM pgtrickle.stream_tables_info WHERE pgt_name = 'alice_st';
SELECT property, value FROM pgtrickle.explain_st('public.alice_st') WHERE property = 'refresh_mode';
SELECT count(*) FROM pgtrickle.get_refresh_history('public.alice_st');
-- but writing the catalog is not
SELECT pgt_test.err($$UPDATE pgtrickle.pgt_stream_tables SET status = 'PAUSED'$$);
SELECT pgt_test.err($$DELETE FROM pgtrickle.pgt_refresh_history$$);
-- the internal schemas are closed
SELECT pgt_test.err($$SELECT * FROM pgtrickle_defs.st_1$$);
SELECT pgt_test.err($$CREATE TABLE pgtrickle_changes.x (v int)$$);
SELECT pgt_test.err($$CREATE TABLE pgtrickle.x (v int)$$);
RESET ROLE;
SELECT nspname, has_schema_privilege('public', oid, 'USAGE') AS public_usage,
       has_schema_privilege('public', oid, 'CREATE') AS public_create
  FROM pg_namespace WHERE nspname LIKE 'pgtrickle%' ORDER BY 1;
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('public', c.oid, 'INSERT') AS public_insert
  FROM pg_class c WHERE c.relnamespace = 'pgtrickle'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY 1;

-- a superuser may manage anyone's stream table; the refresh still runs as the owner
SELECT pgt_test.refresh('public.alice_st');
SELECT pgtrickle.alter_stream_table('public.alice_st', schedule => '2m');

-- the refresh runs as the owner, restricted, with a fixed search_path
CREATE TABLE seen (who text, path text);
GRANT INSERT ON seen TO PUBLIC;
CREATE FUNCTION whoami() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.seen VALUES (current_user, current_setting('search_path'));
	RETURN current_user;
END $$;
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.alice_who', 'SELECT public.whoami() AS who', '1m', 'FULL');
RESET ROLE;
SELECT pgtrickle.refresh_stream_table('public.alice_who');
SELECT who, path FROM seen;
SELECT * FROM public.alice_who;
-- a function in the query cannot escape the sandbox
CREATE FUNCTION escalate() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'SET ROLE postgres';
	RETURN 'escaped';
END $$;
SET ROLE regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('public.alice_escape', 'SELECT public.escalate() AS x', '1m', 'FULL')$$);
CREATE FUNCTION public.alice_temp() RETURNS int LANGUAGE plpgsql AS $$
BEGIN CREATE TEMP TABLE t_in_refresh (v int); RETURN 1; END $$;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('public.alice_tmp', 'SELECT public.alice_temp() AS x', '1m', 'FULL')$$);
RESET ROLE;
-- a superuser's refresh of alice's table cannot be abused to read secrets
CREATE FUNCTION public.steal() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.secret';
SET ROLE regress_pgt_alice;
SELECT pgtrickle.create_stream_table('public.alice_steal', 'SELECT 1 AS one', '1m', 'FULL');
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('public.alice_steal', query => 'SELECT public.steal() AS one')$$);
RESET ROLE;
-- revoking a privilege takes effect at the next refresh
REVOKE SELECT ON open_data FROM regress_pgt_alice;
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('public.alice_st')$$);
GRANT SELECT ON open_data TO regress_pgt_alice;
SELECT pgt_test.refresh('public.alice_st');
-- a caller's search_path cannot redirect the catalog's own statements
CREATE SCHEMA evil;
CREATE FUNCTION evil.btrim(text, text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
SET search_path = evil, public;
SELECT pgtrickle.create_stream_table('public.safe_path', 'SELECT 1 AS one', '1m', 'FULL');
RESET search_path;
SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'safe_path';
DROP SCHEMA evil CASCADE;
SELECT pgtrickle.drop_stream_table('public.safe_path');

SELECT pgtrickle.drop_stream_table('public.alice_who');
SELECT pgtrickle.drop_stream_table('public.alice_steal');
SELECT * FROM pgt_test.check_all();
