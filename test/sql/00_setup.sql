-- Setup shared by the regression tests: the extension, test roles and the
-- oracle.  The oracle is independent of pg_trickle's own verify function:
-- it evaluates the defining query itself and compares the stream table with
-- it as a multiset of rows in text form, ignoring internal __pgt_* columns.
CREATE EXTENSION pg_trickle;
SELECT extname, extversion, nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pg_trickle';

CREATE SCHEMA pgt_test;

-- check(st): the stream table equals its defining query right now.
CREATE FUNCTION pgt_test.check(st text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	rel regclass := st::regclass;
	q text;
	populated boolean;
	cols text;
	differences bigint;
BEGIN
	SELECT s.defining_query, s.is_populated INTO q, populated
	  FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_relid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'oracle: % is not a stream table', st;
	END IF;
	IF NOT populated THEN
		IF EXISTS (SELECT 1 FROM pg_class WHERE oid = rel AND reltuples > 0) THEN
			RAISE EXCEPTION 'oracle: unpopulated % has rows', st;
		END IF;
		RETURN 'unpopulated';
	END IF;
	EXECUTE format('CREATE TEMP VIEW pgt_oracle_query AS %s', q);
	SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
	  FROM pg_attribute
	 WHERE attrelid = 'pgt_oracle_query'::regclass AND attnum > 0
	   AND attname NOT LIKE '\_\_pgt\_%';
	EXECUTE format(
		'SELECT count(*) FROM ('
		'  (SELECT (s.*)::text FROM (SELECT %1$s FROM %2$s) s'
		'   EXCEPT ALL SELECT (q.*)::text FROM (SELECT %1$s FROM pgt_oracle_query) q)'
		'  UNION ALL'
		'  (SELECT (q.*)::text FROM (SELECT %1$s FROM pgt_oracle_query) q'
		'   EXCEPT ALL SELECT (s.*)::text FROM (SELECT %1$s FROM %2$s) s)) d',
		cols, rel) INTO differences;
	DROP VIEW pgt_oracle_query;
	IF differences > 0 THEN
		RAISE EXCEPTION 'oracle: stream table % differs from its query in % rows', st, differences;
	END IF;
	RETURN 'ok';
END
$$;

-- refresh(st): refresh, then the oracle, then verify_stream_table must agree.
CREATE FUNCTION pgt_test.refresh(st text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pgtrickle.refresh_stream_table(st);
	PERFORM pgt_test.check(st);
	IF EXISTS (SELECT 1 FROM pgtrickle.verify_stream_table(st)) THEN
		RAISE EXCEPTION 'verify_stream_table(%) returned rows', st;
	END IF;
	RETURN 'ok';
END
$$;

-- drefresh(st): a refresh that must run DIFFERENTIAL (or find nothing to
-- do), then the oracle and verify_stream_table.
CREATE FUNCTION pgt_test.drefresh(st text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	act text;
	why text;
BEGIN
	PERFORM pgtrickle.refresh_stream_table(st);
	SELECT h.action, h.reason INTO act, why
	  FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_relid = st::regclass ORDER BY h.refresh_id DESC LIMIT 1;
	IF act NOT IN ('DIFFERENTIAL', 'NO_DATA') THEN
		RAISE EXCEPTION 'refresh of % ran % (%), not DIFFERENTIAL', st, act, why;
	END IF;
	PERFORM pgt_test.check(st);
	IF EXISTS (SELECT 1 FROM pgtrickle.verify_stream_table(st)) THEN
		RAISE EXCEPTION 'verify_stream_table(%) returned rows', st;
	END IF;
	RETURN act;
END
$$;

-- check_all(): every stream table in the database equals its query, and
-- verify_stream_table (which refreshes first) finds no difference either.
CREATE FUNCTION pgt_test.check_all() RETURNS TABLE(stream_table text, result text)
LANGUAGE sql AS $$
	SELECT s.pgt_relid::regclass::text,
		   pgt_test.check(s.pgt_relid::regclass::text)
		   || CASE WHEN s.status = 'ERROR' THEN ''
				   WHEN EXISTS (SELECT 1 FROM pgtrickle.verify_stream_table(s.pgt_relid::regclass::text))
				   THEN ', verify found differences' ELSE ', verified' END
	  FROM pgtrickle.pgt_stream_tables s ORDER BY 1
$$;

-- err(sql): the SQLSTATE, message, DETAIL and HINT a statement fails with.
CREATE FUNCTION pgt_test.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	detail text;
	hint text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || SQLERRM
		|| CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
		|| CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END
$$;

-- drefresh_schema(sch): drefresh every stream table of a schema, by name.
CREATE FUNCTION pgt_test.drefresh_schema(sch text) RETURNS TABLE(st text, action text)
LANGUAGE sql AS $$
	SELECT s.pgt_name, pgt_test.drefresh(quote_ident(sch) || '.' || quote_ident(s.pgt_name))
	  FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_schema = sch ORDER BY s.pgt_name
$$;

-- last_refresh(st): the action of st's last refresh and its reason, with
-- numbers (sizes, estimates) shown as N so that expected outputs are stable.
CREATE FUNCTION pgt_test.last_refresh(st text) RETURNS text
LANGUAGE sql AS $$
	SELECT h.action || coalesce(': ' || regexp_replace(h.reason, '[0-9]+', 'N', 'g'), '')
	  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_relid = st::regclass ORDER BY h.refresh_id DESC LIMIT 1
$$;

-- Rows read from a table, to test that a refresh reads by key rather than
-- everything: mark_reads(t) before the refresh, reads_since_mark(t) after
-- it, each its own statement (the statistics reach pg_stat_user_tables
-- between statements).
CREATE FUNCTION pgt_test.rows_read(t regclass) RETURNS bigint
LANGUAGE sql AS $$
	SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
	  FROM pg_stat_user_tables WHERE relid = t
$$;
CREATE TABLE pgt_test.read_marks (rel regclass PRIMARY KEY, reads bigint NOT NULL);
CREATE FUNCTION pgt_test.mark_reads(t regclass) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO pgt_test.read_marks VALUES (t, pgt_test.rows_read(t))
	ON CONFLICT (rel) DO UPDATE SET reads = excluded.reads
$$;
CREATE FUNCTION pgt_test.reads_since_mark(t regclass) RETURNS bigint
LANGUAGE sql AS $$
	SELECT pgt_test.rows_read(t) - m.reads FROM pgt_test.read_marks m WHERE m.rel = t
$$;

-- The oracle itself must be able to fail.
CREATE TABLE pgt_test.src(a int);
INSERT INTO pgt_test.src VALUES (1), (2), (2);
SELECT pgtrickle.create_stream_table('pgt_test.copy', 'SELECT a FROM pgt_test.src', '1m', 'FULL');
SELECT pgt_test.check('pgt_test.copy');
INSERT INTO pgt_test.src VALUES (2);
SELECT pgt_test.err($$SELECT pgt_test.check('pgt_test.copy')$$);
SELECT pgt_test.refresh('pgt_test.copy');
SELECT pgtrickle.drop_stream_table('pgt_test.copy');
DROP TABLE pgt_test.src;

CREATE ROLE regress_pgt_alice;
CREATE ROLE regress_pgt_bob;
GRANT USAGE ON SCHEMA pgt_test TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgt_test TO PUBLIC;
