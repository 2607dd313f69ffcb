-- What every DIFFERENTIAL refresh pays besides its delta (src/refresh/README.md,
-- "Fixed cost of a refresh").  The prune after a refresh runs its DELETE
-- (and takes the source's consumer lock) only for buffers that hold a row:
-- after most refreshes most buffers are empty (sources that did not change;
-- all of them when nothing was pending).  Which buffers a refresh pruned is
-- seen from the consumer locks the prune holds to commit, so each refresh
-- runs in a transaction of its own.
\pset format unaligned
CREATE TABLE fc_fact (id int PRIMARY KEY, dim int, v int);
CREATE TABLE "fc dim.x" (id int PRIMARY KEY, "Name" text);
INSERT INTO "fc dim.x" SELECT g, 'd' || g FROM generate_series(1, 5) g;
INSERT INTO fc_fact SELECT g, 1 + g % 5, g FROM generate_series(1, 50) g;

SELECT pgtrickle.create_stream_table('fc_join',
	'SELECT f.id, d."Name", f.v FROM fc_fact f JOIN "fc dim.x" d ON d.id = f.dim',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('fc_dim_only',
	'SELECT id, "Name" FROM "fc dim.x"', '1m', 'DIFFERENTIAL');

-- the buffers pruned in the current transaction: the prune of a source's
-- buffer holds an object lock on the source (CaptureLockConsumers) to commit
CREATE FUNCTION fc_pruned() RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(l.objid::regclass::text, ', ' ORDER BY l.objid::regclass::text), '(none)')
	  FROM pg_locks l
	 WHERE l.locktype = 'object' AND l.classid = 'pg_class'::regclass
	   AND l.objsubid = 1 AND l.mode = 'AccessExclusiveLock'
	   AND l.pid = pg_backend_pid()
$$;
CREATE FUNCTION fc_buffered(src regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM pgtrickle_changes.%I', 'changes_' || src::oid) INTO n;
	RETURN n;
END $$;
CREATE FUNCTION fc_last(st text) RETURNS text LANGUAGE sql AS $$
	SELECT h.action FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_relid = st::regclass ORDER BY h.refresh_id DESC LIMIT 1
$$;

-- only the fact table changes: only its buffer is pruned
UPDATE fc_fact SET v = v + 1 WHERE id <= 3;
BEGIN;
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_last('fc_join') AS action, fc_pruned() AS pruned;
COMMIT;
SELECT fc_buffered('fc_fact') AS fact_left, fc_buffered('"fc dim.x"') AS dim_left;

-- nothing pending: no buffer is pruned
BEGIN;
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_last('fc_join') AS action, fc_pruned() AS pruned;
COMMIT;

-- a change the refresh reads but that nets to nothing: its rows are not
-- pruned yet, fc_dim_only has consumed none of them, and the prune sees
-- that from the frontiers without running its DELETE (before: it scanned
-- the buffer to delete nothing)
BEGIN;
INSERT INTO "fc dim.x" VALUES (99, 'gone');
DELETE FROM "fc dim.x" WHERE id = 99;
COMMIT;
BEGIN;
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_last('fc_join') AS action, fc_pruned() AS pruned;
COMMIT;
SELECT fc_buffered('"fc dim.x"') AS dim_left_by_join;
-- fc_dim_only has not consumed them: they stay until it does, and every
-- refresh of a reader prunes that buffer meanwhile (nothing pending for it)
BEGIN;
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_last('fc_join') AS action, fc_pruned() AS pruned;
COMMIT;
SELECT pgtrickle.refresh_stream_table('fc_dim_only');
SELECT fc_last('fc_dim_only') AS action, fc_buffered('"fc dim.x"') AS dim_left;

-- two readers of the dimension: rows go when the last of them consumed them,
-- whichever refresh comes last, also when the other read nothing of it
UPDATE "fc dim.x" SET "Name" = "Name" || '!' WHERE id = 1;
SELECT pgtrickle.refresh_stream_table('fc_dim_only');
SELECT fc_buffered('"fc dim.x"') AS dim_left_for_join;
UPDATE fc_fact SET v = v + 1 WHERE id = 4;
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_buffered('"fc dim.x"') AS dim_left, fc_buffered('fc_fact') AS fact_left;

-- the results are those of the queries
SELECT count(*) AS join_differs FROM (
	(SELECT id, "Name", v FROM fc_join EXCEPT ALL
	 SELECT f.id, d."Name", f.v FROM fc_fact f JOIN "fc dim.x" d ON d.id = f.dim)
	UNION ALL
	(SELECT f.id, d."Name", f.v FROM fc_fact f JOIN "fc dim.x" d ON d.id = f.dim
	 EXCEPT ALL SELECT id, "Name", v FROM fc_join)) x;
SELECT count(*) AS dim_differs FROM (
	(SELECT id, "Name" FROM fc_dim_only EXCEPT ALL SELECT id, "Name" FROM "fc dim.x")
	UNION ALL (SELECT id, "Name" FROM "fc dim.x" EXCEPT ALL SELECT id, "Name" FROM fc_dim_only)) x;

-- The delta statement kept in the backend (src/refresh/plancache.c) is
-- rebuilt when what it is made of changes: a new column of a source, a
-- changed query of the stream table.
UPDATE fc_fact SET v = v + 10 WHERE id = 5;
SELECT pgtrickle.refresh_stream_table('fc_join');
ALTER TABLE fc_fact ADD COLUMN w int DEFAULT 7;
UPDATE fc_fact SET v = v + 10 WHERE id = 6;
INSERT INTO fc_fact VALUES (51, 2, 51, 1);
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_last('fc_join') AS action;
SELECT pgtrickle.alter_stream_table('fc_join',
	query => 'SELECT f.id, d."Name", f.v + f.w AS v FROM fc_fact f JOIN "fc dim.x" d ON d.id = f.dim');
UPDATE fc_fact SET w = 100 WHERE id = 7;
DELETE FROM fc_fact WHERE id = 8;
SELECT pgtrickle.refresh_stream_table('fc_join');
SELECT fc_last('fc_join') AS action;
SELECT count(*) AS join_differs FROM (
	(SELECT id, "Name", v FROM fc_join EXCEPT ALL
	 SELECT f.id, d."Name", f.v + f.w FROM fc_fact f JOIN "fc dim.x" d ON d.id = f.dim)
	UNION ALL
	(SELECT f.id, d."Name", f.v + f.w FROM fc_fact f JOIN "fc dim.x" d ON d.id = f.dim
	 EXCEPT ALL SELECT id, "Name", v FROM fc_join)) x;

SELECT pgtrickle.drop_stream_table('fc_join');
SELECT pgtrickle.drop_stream_table('fc_dim_only');
DROP TABLE fc_fact, "fc dim.x";
DROP FUNCTION fc_pruned(), fc_buffered(regclass), fc_last(text);
