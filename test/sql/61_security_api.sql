-- Security of the API functions: checks before locks, homes of stream
-- tables, who may attach capture to a table, bounded change buffers.
-- (docs/security.md refers to the sections of this file.)
\pset format unaligned
CREATE ROLE regress_pgt_carol;
CREATE ROLE regress_pgt_dave;
GRANT USAGE ON SCHEMA pgtrickle TO regress_pgt_carol, regress_pgt_dave;
CREATE SCHEMA api_sec AUTHORIZATION regress_pgt_carol;
GRANT USAGE, CREATE ON SCHEMA api_sec TO regress_pgt_dave;

-- == not a stream table, not the owner: refused before any lock ==
-- (test/specs/api_checks_before_locks.spec shows that no lock is queued)
SELECT pgt_test.err($$SELECT pgtrickle.drop_stream_table('pg_catalog.pg_class')$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('pg_catalog.pg_class')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('pg_catalog.pg_class', schedule => '5m')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.verify_stream_table('pg_catalog.pg_class')$$);
SELECT pgt_test.err($$SELECT pgtrickle.pause_stream_table('pg_class')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.explain_st('pg_class')$$);
SELECT pgt_test.err($$SELECT pgtrickle.drop_stream_table('api_sec.nothing_here')$$);

-- == internal schemas are never the home of a stream table (42501) ==
CREATE TABLE api_sec.src (id int PRIMARY KEY, v int);
INSERT INTO api_sec.src VALUES (1, 10), (2, 20);
ALTER TABLE api_sec.src OWNER TO regress_pgt_carol;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('pgtrickle.st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('pgtrickle_changes.st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('pgtrickle_defs.st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('pg_catalog.st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('information_schema.st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table_if_not_exists('pgtrickle.st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
-- the first schema of search_path counts, as for CREATE TABLE
SET search_path = pgtrickle_defs, public;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('st_home', 'SELECT id FROM api_sec.src', '1m', 'FULL')$$);
RESET search_path;
SELECT count(*) AS created FROM pg_class WHERE relname = 'st_home';
-- nor can one be moved there
SELECT pgtrickle.create_stream_table('api_sec.st_moved', 'SELECT id FROM api_sec.src', '1m', 'FULL');
SELECT pgt_test.err($$ALTER TABLE api_sec.st_moved SET SCHEMA pgtrickle$$);
SELECT pgt_schema, pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'st_moved';
SELECT pgtrickle.drop_stream_table('api_sec.st_moved');

-- == capture needs the TRIGGER privilege on the source ==
-- dave may read carol's table, nothing more
GRANT SELECT ON api_sec.src TO regress_pgt_dave;
SET ROLE regress_pgt_dave;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('api_sec.dave_diff', 'SELECT id, v FROM api_sec.src', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('api_sec.dave_diff', 'SELECT id, v FROM api_sec.src')$$);
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'api_sec.src'::regclass;
-- AUTO falls back to FULL and says why; FULL needs SELECT only
SELECT pgtrickle.create_stream_table('api_sec.dave_auto', 'SELECT id, v FROM api_sec.src', '1m', 'AUTO');
SELECT pgtrickle.create_stream_table('api_sec.dave_full', 'SELECT id, v FROM api_sec.src', '1m', 'FULL');
SELECT pgt_name, refresh_mode, requested_refresh_mode FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name LIKE 'dave_%' ORDER BY 1;
SELECT value FROM pgtrickle.explain_st('api_sec.dave_auto') WHERE property = 'fallback_reason';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'api_sec.src'::regclass;
-- switching to DIFFERENTIAL, or a new query, is checked the same way
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('api_sec.dave_full', refresh_mode => 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('api_sec.dave_auto', query => 'SELECT id FROM api_sec.src')$$);
SELECT refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'dave_auto';
RESET ROLE;
-- a superuser changing dave's stream table: dave's rights decide
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('api_sec.dave_full', refresh_mode => 'DIFFERENTIAL')$$);

-- joining a capture that the owner installed needs TRIGGER as well
SET ROLE regress_pgt_carol;
SELECT pgtrickle.create_stream_table('api_sec.carol_diff', 'SELECT id, v FROM api_sec.src', '1m', 'DIFFERENTIAL');
RESET ROLE;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'api_sec.src'::regclass;
SET ROLE regress_pgt_dave;
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('api_sec.dave_diff', 'SELECT id, v FROM api_sec.src', '1m', 'DIFFERENTIAL')$$);
RESET ROLE;

-- the owner grants TRIGGER: now dave may
SET ROLE regress_pgt_carol;
GRANT TRIGGER ON api_sec.src TO regress_pgt_dave;
RESET ROLE;
SET ROLE regress_pgt_dave;
SELECT pgtrickle.create_stream_table('api_sec.dave_diff', 'SELECT id, v FROM api_sec.src', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.alter_stream_table('api_sec.dave_full', refresh_mode => 'DIFFERENTIAL');
RESET ROLE;
SELECT pgt_name, refresh_mode FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name IN ('dave_diff', 'dave_full', 'carol_diff') ORDER BY 1;
INSERT INTO api_sec.src VALUES (3, 30);
SELECT pgt_test.drefresh('api_sec.dave_diff');
-- revoking TRIGGER leaves existing capture alone; turning DIFFERENTIAL again
-- checks it
SET ROLE regress_pgt_carol;
REVOKE TRIGGER ON api_sec.src FROM regress_pgt_dave;
RESET ROLE;
INSERT INTO api_sec.src VALUES (4, 40);
SELECT pgt_test.drefresh('api_sec.dave_diff');
SET ROLE regress_pgt_dave;
SELECT pgtrickle.alter_stream_table('api_sec.dave_full', refresh_mode => 'FULL');
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('api_sec.dave_full', refresh_mode => 'DIFFERENTIAL')$$);
RESET ROLE;
-- a column-level SELECT grant on the columns read is enough
CREATE TABLE api_sec.cols (id int, secret text, v int);
ALTER TABLE api_sec.cols OWNER TO regress_pgt_carol;
GRANT SELECT (id, v), TRIGGER ON api_sec.cols TO regress_pgt_dave;
SET ROLE regress_pgt_dave;
SELECT pgtrickle.create_stream_table('api_sec.dave_cols', 'SELECT id, v FROM api_sec.cols', '1m', 'DIFFERENTIAL');
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('api_sec.dave_cols', query => 'SELECT id, secret FROM api_sec.cols')$$);
RESET ROLE;

-- == a paused or failing consumer does not grow a buffer without bound ==
CREATE TABLE api_sec.buf_src (id int PRIMARY KEY, v int);
INSERT INTO api_sec.buf_src VALUES (1, 1);
SELECT pgtrickle.create_stream_table('api_sec.buf_active', 'SELECT id, v FROM api_sec.buf_src', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('api_sec.buf_paused', 'SELECT sum(v) AS total FROM api_sec.buf_src', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.pause_stream_table('api_sec.buf_paused');
-- only a superuser may change the limit
SET ROLE regress_pgt_dave;
SELECT pgt_test.err($$SET pg_trickle.max_buffer_rows = 5$$);
RESET ROLE;
SET pg_trickle.max_buffer_rows = 5;
CREATE FUNCTION api_sec.buffer_rows() RETURNS bigint LANGUAGE sql AS
$$SELECT (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM pgtrickle_changes.changes_%s',
                 'api_sec.buf_src'::regclass::oid), false, true, '')))[1]::text::bigint$$;
CREATE FUNCTION api_sec.buf_health() RETURNS TABLE(pgt_name text, buffer_rows bigint, alert text, issue text)
LANGUAGE sql AS
$$SELECT pgt_name, buffer_rows, alert,
         regexp_replace(issue, 'given up at [^:]*:[^:]*:[^:]*: ', 'given up at <time>: ')
    FROM pgtrickle.check_cdc_health() WHERE source_table = 'buf_src' ORDER BY 1$$;
-- within the limit: the paused consumer's changes are kept
INSERT INTO api_sec.buf_src SELECT g, g FROM generate_series(2, 4) g;
SELECT pgt_test.drefresh('api_sec.buf_active');
SELECT api_sec.buffer_rows();
SELECT * FROM api_sec.buf_health();
-- near the limit: a warning
INSERT INTO api_sec.buf_src VALUES (5, 5);
SELECT pgt_test.drefresh('api_sec.buf_active');
SELECT * FROM api_sec.buf_health();
-- past it: the consumer holding the rows gives them up, the buffer is
-- pruned; the writer was never blocked nor failed
INSERT INTO api_sec.buf_src SELECT g, g FROM generate_series(6, 8) g;
UPDATE api_sec.buf_src SET v = v + 1 WHERE id = 1;
SELECT api_sec.buffer_rows();
SELECT pgt_test.drefresh('api_sec.buf_active');
SELECT api_sec.buffer_rows();
SELECT * FROM api_sec.buf_health();
-- the way out: the consumer's next refresh recomputes and says why
SELECT pgtrickle.resume_stream_table('api_sec.buf_paused');
SELECT pgtrickle.refresh_stream_table('api_sec.buf_paused');
SELECT h.action, h.reason FROM pgtrickle.pgt_refresh_history h
  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'buf_paused' ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.check('api_sec.buf_paused');
SELECT * FROM api_sec.buf_health();
-- and then it is differential again
INSERT INTO api_sec.buf_src VALUES (9, 9);
SELECT pgt_test.drefresh('api_sec.buf_paused');
SELECT pgt_test.drefresh('api_sec.buf_active');
SELECT api_sec.buffer_rows();
RESET pg_trickle.max_buffer_rows;

-- == clean up ==
SELECT pgtrickle.drop_stream_table(format('%I.%I', pgt_schema, pgt_name))
  FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'api_sec' ORDER BY pgt_id;
DROP SCHEMA api_sec CASCADE;
DROP OWNED BY regress_pgt_carol, regress_pgt_dave;
DROP ROLE regress_pgt_carol, regress_pgt_dave;
