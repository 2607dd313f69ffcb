-- One session that drops and creates the extension again: the plans each
-- backend keeps of the extension's own statements (CatalogPrepare) must
-- follow the new catalog and the new change buffers, and a stream table of
-- the same name works as before.  Its own database, so that the other
-- tests' objects are untouched.
\pset format unaligned
\set regress_db :DBNAME
CREATE DATABASE pgt_reinstall;
\c pgt_reinstall
SET client_min_messages = warning;
CREATE EXTENSION pg_trickle;
CREATE TABLE s (id int PRIMARY KEY, v int);
INSERT INTO s VALUES (1, 1), (2, 2);
SELECT pgtrickle.create_stream_table('st', 'SELECT count(*) AS n, sum(v) AS total FROM s', '1m');
INSERT INTO s VALUES (3, 3);
SELECT pgtrickle.refresh_stream_table('st');
SELECT n, total FROM st;
SELECT pgtrickle.refresh_stream_table('st');
DROP EXTENSION pg_trickle CASCADE;
CREATE EXTENSION pg_trickle;
SELECT pgtrickle.create_stream_table('st', 'SELECT count(*) AS n, sum(v) AS total FROM s', '1m');
INSERT INTO s VALUES (4, 4);
UPDATE s SET v = 10 WHERE id = 1;
SELECT pgtrickle.refresh_stream_table('st');
SELECT n, total FROM st;
SELECT * FROM pgtrickle.verify_stream_table('st');
SELECT h.action, h.status, h.reason
  FROM pgtrickle.pgt_refresh_history h ORDER BY refresh_id;
\c :regress_db
DROP DATABASE pgt_reinstall;
