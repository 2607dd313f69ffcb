-- What the capture triggers write to a change buffer on the direct path
-- (src/capture/trigger.c, "writer"): per DML kind, one row and many (more
-- than a batch of 1000, so several table_multi_insert calls sharing their
-- slots, and the bulk-insert state), rolled-back statements and
-- subtransactions, TRUNCATE markers, row-level (replica) firings, a source
-- whose captured columns sit around uncaptured and dropped ones, a partition
-- with another column layout, and the BRIN index on __pgt_xid when the
-- rows go to page ranges that are already summarised (one index_insert per
-- range a firing wrote to must cover every row).
--
-- Buffer rows are shown without xids: stmt numbers the capturing firings
-- in order (dense rank of __pgt_seq).
\pset format unaligned
SET client_min_messages = warning;
CREATE SCHEMA cp;
SET search_path = cp, public;

CREATE FUNCTION cp.buffer(src regclass) RETURNS regclass
LANGUAGE sql AS $$ SELECT to_regclass('pgtrickle_changes.changes_' || src::oid) $$;

-- every buffer row, captured columns as jsonb
CREATE FUNCTION cp.rows(src regclass)
RETURNS TABLE(stmt bigint, mult smallint, "row" jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT dense_rank() OVER (ORDER BY __pgt_seq), __pgt_mult,'
		'       to_jsonb(r) - ''__pgt_xid'' - ''__pgt_seq'' - ''__pgt_mult'''
		'  FROM %s r ORDER BY __pgt_seq, __pgt_mult, 3::text',
		cp.buffer(src));
END
$$;

-- per firing and multiplicity: rows, distinct xids, and sums of the
-- captured columns a, b (for the many-row statements)
CREATE FUNCTION cp.summary(src regclass)
RETURNS TABLE(stmt bigint, mult smallint, n bigint, xids bigint, ids bigint,
			  sum_a bigint, sum_b bigint, null_a bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT s, __pgt_mult, count(*), count(DISTINCT __pgt_xid), count(DISTINCT id),'
		'       sum(a)::bigint, sum(b)::bigint, count(*) FILTER (WHERE a IS NULL)'
		'  FROM (SELECT dense_rank() OVER (ORDER BY __pgt_seq) AS s, * FROM %s) b'
		' GROUP BY 1, 2 ORDER BY 1, 2',
		cp.buffer(src));
END
$$;

-- whether a query reads through the index on __pgt_xid
CREATE FUNCTION cp.read_by_index(q text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		IF line ~ 'Bitmap Index Scan on changes_xid_' THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END
$$;

-- delete a source's buffer rows by hand (id <= upto)
CREATE FUNCTION cp.remove_by_hand(src regclass, upto int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('DELETE FROM %s WHERE id <= %s', cp.buffer(src), upto);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- the rows of one writer: how many, in how many page ranges of 16 pages,
-- whether all in the first 64 pages, and how many a read through the
-- index on __pgt_xid finds (with the plan checked to be that read)
CREATE FUNCTION cp.brin_check(src regclass, writer xid8)
RETURNS TABLE(written bigint, ranges bigint, in_first_64_pages boolean,
			  found_by_index bigint, read_by_index boolean)
LANGUAGE plpgsql AS $$
DECLARE
	q text := format('SELECT count(*) FROM %s WHERE ((__pgt_xid::text)::bigint) >= %s',
					 cp.buffer(src), writer::text::bigint);
BEGIN
	EXECUTE format('SELECT count(*), count(DISTINCT (ctid::text::point)[0]::int / 16),'
				   '       max((ctid::text::point)[0]::int) < 64'
				   '  FROM %s WHERE __pgt_xid = %L::xid8', cp.buffer(src), writer)
		INTO written, ranges, in_first_64_pages;
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_indexscan = off;
	EXECUTE q INTO found_by_index;
	read_by_index := cp.read_by_index(q);
	RETURN NEXT;
END
$$;

-- a: captured; wide: not captured, between captured columns; b: captured,
-- the last column; gone: dropped before a
CREATE TABLE cp.t (id int PRIMARY KEY, gone int, a int, wide text, b int);
ALTER TABLE cp.t DROP COLUMN gone;
SELECT pgtrickle.create_stream_table('cp.st',
	'SELECT a, count(*) AS n, sum(b) AS sb FROM cp.t GROUP BY a', '1m', 'DIFFERENTIAL');
-- the buffer copies id (the key), a and b only
SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
 WHERE attrelid = cp.buffer('cp.t') AND attnum > 0 AND NOT attisdropped;

-- one row of each kind: INSERT +1, UPDATE -1 old and +1 new, DELETE -1
INSERT INTO cp.t VALUES (1, 10, repeat('x', 50), 100);
UPDATE cp.t SET a = 11, b = 101 WHERE id = 1;
DELETE FROM cp.t WHERE id = 1;
-- a multi-row statement of each kind
INSERT INTO cp.t VALUES (2, 20, 'w', 200), (3, 30, NULL, NULL), (4, NULL, 'w', 400);
UPDATE cp.t SET b = coalesce(b, 0) + 1, wide = 'changed';
DELETE FROM cp.t WHERE id IN (2, 3);
-- an UPDATE of uncaptured columns only still captures its rows
UPDATE cp.t SET wide = 'again';
-- statements that change nothing capture nothing
UPDATE cp.t SET b = 0 WHERE false;
DELETE FROM cp.t WHERE id < 0;
SELECT * FROM cp.rows('cp.t');
SELECT pgt_test.drefresh('cp.st');

-- rolled back: a statement, a transaction, a subtransaction
INSERT INTO cp.t VALUES (5, 50, 'w', 500), (5, 50, 'w', 500);	-- fails: key
BEGIN;
INSERT INTO cp.t VALUES (6, 60, 'w', 600);
ROLLBACK;
BEGIN;
INSERT INTO cp.t VALUES (7, 70, 'w', 700);
SAVEPOINT s;
UPDATE cp.t SET a = 71 WHERE id = 7;
DELETE FROM cp.t WHERE id = 4;
ROLLBACK TO s;
UPDATE cp.t SET b = 701 WHERE id = 7;
COMMIT;
-- the buffer holds what is not consumed yet: the committed rows only
SELECT * FROM cp.rows('cp.t');
SELECT pgt_test.drefresh('cp.st');

-- more rows than a batch (1000): 2500 inserted, updated (5000 buffer rows
-- from one firing, old and new), deleted; every row once, with its values
INSERT INTO cp.t SELECT g, g % 7, 'w', g FROM generate_series(1001, 3500) g;
UPDATE cp.t SET a = a + 1, b = b * 2 WHERE id > 1000;
DELETE FROM cp.t WHERE id > 1000;
SELECT * FROM cp.summary('cp.t');
-- the sums expected: a inserted, a updated, b inserted, b updated
SELECT sum(g % 7), sum(g % 7 + 1), sum(g), sum(2 * g) FROM generate_series(1001, 3500) g;
SELECT pgt_test.drefresh('cp.st');

-- TRUNCATE: one marker row without columns; the next refresh recomputes
INSERT INTO cp.t VALUES (8, 80, 'w', 800);
TRUNCATE cp.t;
INSERT INTO cp.t VALUES (9, 90, 'w', 900);
SELECT * FROM cp.rows('cp.t');
SELECT pgtrickle.refresh_stream_table('cp.st');
SELECT h.action FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_relid = 'cp.st'::regclass ORDER BY h.refresh_id DESC LIMIT 1;
SELECT pgt_test.check('cp.st');

-- row-level firings (session_replication_role = replica): one firing per
-- row, each written as its own one-row batch
SET session_replication_role = replica;
INSERT INTO cp.t VALUES (10, 100, 'w', 1000), (11, 110, 'w', 1100);
UPDATE cp.t SET b = b + 1 WHERE id IN (10, 11);
DELETE FROM cp.t WHERE id = 9;
RESET session_replication_role;
SELECT * FROM cp.rows('cp.t');
SELECT pgt_test.drefresh('cp.st');

-- a partition whose columns have other numbers than the root's (a dropped
-- column, another order): its own trigger maps them by name, through the
-- last captured column of its own layout
CREATE TABLE cp.p (id int, a int, wide text, b int) PARTITION BY RANGE (id);
CREATE TABLE cp.p1 PARTITION OF cp.p FOR VALUES FROM (0) TO (100);
CREATE TABLE cp.p2 (x int, b int, wide text, a int, id int NOT NULL);
ALTER TABLE cp.p2 DROP COLUMN x;
ALTER TABLE cp.p ATTACH PARTITION cp.p2 FOR VALUES FROM (100) TO (200);
SELECT pgtrickle.create_stream_table('cp.pst',
	'SELECT a, count(*) AS n, sum(b) AS sb FROM cp.p GROUP BY a', '1m', 'DIFFERENTIAL');
INSERT INTO cp.p VALUES (1, 1, 'w', 10), (101, 2, 'w', 20);	-- through the root
INSERT INTO cp.p2 (id, a, b) VALUES (102, 3, 30);				-- naming the partition
UPDATE cp.p2 SET b = b + 1, wide = 'x';
UPDATE cp.p SET id = id + 100 WHERE id = 1;						-- moves to p2
DELETE FROM cp.p2 WHERE id = 102;
SELECT * FROM cp.rows('cp.p');
SELECT pgt_test.drefresh('cp.pst');
SELECT pgtrickle.drop_stream_table('cp.pst');
DROP TABLE cp.p;

-- The BRIN index on __pgt_xid when the rows go to page ranges that are
-- already summarised: every row written must be found through the index.
-- Fill about 75 pages (ranges 0-4) with a pair of firings that net to
-- nothing, summarise every range, remove that pair by hand (as the owner)
-- and vacuum, keeping a few rows at the end so the table is not truncated:
-- the next rows go to the freed pages, into summarised ranges.
CREATE TABLE cp.r (id int PRIMARY KEY, a int, b int);
SELECT pgtrickle.create_stream_table('cp.rst',
	'SELECT a, count(*) AS n, sum(b) AS sb FROM cp.r GROUP BY a', '1m', 'DIFFERENTIAL');
INSERT INTO cp.r SELECT g, g % 5, g FROM generate_series(1, 5000) g;
DELETE FROM cp.r;
INSERT INTO cp.r SELECT g, g % 5, g FROM generate_series(90001, 90300) g;
SELECT format('pgtrickle_changes.changes_xid_%s', 'cp.r'::regclass::oid) AS xid_index \gset
SELECT brin_summarize_new_values(:'xid_index') > 0 AS summarised;
SELECT cp.remove_by_hand('cp.r', 5000);
\set ECHO none
SELECT format('VACUUM %s', cp.buffer('cp.r')) \gexec
\set ECHO all
SELECT pg_relation_size(cp.buffer('cp.r')) / current_setting('block_size')::int > 64 AS not_truncated;
-- 6000 rows: six batches, over several ranges
BEGIN;
INSERT INTO cp.r SELECT g, g % 5, g FROM generate_series(10001, 16000) g;
SELECT pg_current_xact_id() AS writer \gset
COMMIT;
SELECT * FROM cp.brin_check('cp.r', :'writer');
SELECT pgt_test.refresh('cp.rst');
SELECT pgtrickle.drop_stream_table('cp.rst');
DROP TABLE cp.r;

SELECT pgtrickle.drop_stream_table('cp.st');
DROP TABLE cp.t;
DROP FUNCTION cp.brin_check(regclass, xid8);
DROP FUNCTION cp.remove_by_hand(regclass, int);
DROP FUNCTION cp.read_by_index(text);
DROP FUNCTION cp.summary(regclass);
DROP FUNCTION cp.rows(regclass);
DROP FUNCTION cp.buffer(regclass);
DROP SCHEMA cp;
