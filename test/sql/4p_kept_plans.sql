-- The delta statement kept in the backend between refreshes
-- (src/refresh/plancache.c, src/refresh/README.md "Plan cache").  The
-- session's count of statements built, pg_trickle.delta_statements_built
-- (read-only), says which refreshes built one.  A kept plan serves change
-- sets within a factor 2 of the sizes it was planned for: sizes that
-- wander around a power of two do not rebuild it, a change of size beyond
-- the factor does, and so do a new column of a source, a dropped one, a
-- new query of the stream table and a source's branch appearing or going.
-- An index created or dropped on a source keeps the statement but
-- PostgreSQL replans it (the refresh uses the new index, or works without
-- the old one).  The oracle (pgt_test.drefresh) checks the result after
-- every refresh.
\pset format unaligned
CREATE TABLE "kp fact" (id int PRIMARY KEY, "Dim.k" int, v int);
CREATE TABLE kp_dim (k int PRIMARY KEY, label text);
INSERT INTO kp_dim SELECT g, 'l' || g FROM generate_series(1, 4) g;
INSERT INTO "kp fact" SELECT g, 1 + g % 4, g FROM generate_series(1, 40) g;
SELECT pgtrickle.create_stream_table('"kp st"',
	'SELECT d.label, count(*) AS n, sum(f.v + f.id) AS s
	   FROM "kp fact" f JOIN kp_dim d ON d.k = f."Dim.k" GROUP BY d.label',
	'1m', 'DIFFERENTIAL');

-- a refresh: its action and how many delta statements it built; then
-- the oracle (a refresh that finds nothing pending, and the checks)
CREATE FUNCTION kp_refresh() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	before int := current_setting('pg_trickle.delta_statements_built')::int;
	built int;
	r text;
BEGIN
	PERFORM pgtrickle.refresh_stream_table('"kp st"');
	built := current_setting('pg_trickle.delta_statements_built')::int - before;
	r := pgt_test.drefresh('"kp st"');	-- nothing pending: NO_DATA
	RETURN (SELECT h.action || ' of ' || h.delta_row_count
			  FROM pgtrickle.pgt_refresh_history h
			  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
			 WHERE s.pgt_relid = '"kp st"'::regclass AND h.action <> 'NO_DATA'
			 ORDER BY h.refresh_id DESC LIMIT 1)
		|| ' changes, statements built: ' || built || '; then ' || r;
END $$;
-- read-only
SET pg_trickle.delta_statements_built = 0;
\set VERBOSITY terse

-- 3 updated rows of the fact table (a change set of 6 rows: each an old
-- and a new image): the first statement
UPDATE "kp fact" SET v = v + 1 WHERE id <= 3;
SELECT kp_refresh();
-- 10, then 8, then 12 rows: across powers of two, within twice 6: kept
UPDATE "kp fact" SET v = v + 1 WHERE id <= 5;
SELECT kp_refresh();
UPDATE "kp fact" SET v = v + 1 WHERE id <= 4;
SELECT kp_refresh();
UPDATE "kp fact" SET v = v + 1 WHERE id <= 6;
SELECT kp_refresh();
-- 14: more than twice 6, a new statement (kept for 7 .. 28): 24 keeps it
UPDATE "kp fact" SET v = v + 1 WHERE id <= 7;
SELECT kp_refresh();
UPDATE "kp fact" SET v = v + 1 WHERE id <= 12;
SELECT kp_refresh();
-- the dimension changes too: its branch joins the statement, a new one
UPDATE kp_dim SET label = label || '+' WHERE k = 1;
UPDATE "kp fact" SET v = v + 1 WHERE id <= 8;
SELECT kp_refresh();
-- ... and goes when it has no change again
UPDATE "kp fact" SET v = v + 1 WHERE id <= 8;
SELECT kp_refresh();
-- a new index on a source: the same statement, replanned by PostgreSQL
CREATE INDEX kp_fact_dim ON "kp fact" ("Dim.k");
UPDATE "kp fact" SET v = v + 1 WHERE id <= 8;
SELECT kp_refresh();
DROP INDEX kp_fact_dim;
UPDATE "kp fact" SET "Dim.k" = 1 + ("Dim.k" % 4) WHERE id <= 8;	-- a join key
SELECT kp_refresh();
-- a new column of a source: rebuilt
ALTER TABLE "kp fact" ADD COLUMN w int DEFAULT 1;
UPDATE "kp fact" SET v = v + 1 WHERE id <= 8;
SELECT kp_refresh();
-- a dropped column the query does not read: rebuilt (attribute numbers)
ALTER TABLE "kp fact" DROP COLUMN w;
UPDATE "kp fact" SET v = v + 1 WHERE id <= 8;
SELECT kp_refresh();
-- a new query: reinitialized, then a new statement
SELECT pgtrickle.alter_stream_table('"kp st"', query =>
	'SELECT d.label, count(*) AS n, sum(f.v + f.id) AS s, max(f.id) AS m
	   FROM "kp fact" f JOIN kp_dim d ON d.k = f."Dim.k" GROUP BY d.label');
UPDATE "kp fact" SET v = v + 1 WHERE id <= 8;
SELECT kp_refresh();
UPDATE "kp fact" SET v = v + 1 WHERE id <= 9;
SELECT kp_refresh();
\set VERBOSITY default

SELECT pgtrickle.drop_stream_table('"kp st"');
DROP FUNCTION kp_refresh();
DROP TABLE "kp fact", kp_dim;
