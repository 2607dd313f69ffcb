/* pg_trickle 0.1.0 -> 0.2.0.  See CHANGELOG.md for what changed and why. */

\echo Use "ALTER EXTENSION pg_trickle UPDATE TO '0.2.0'" to load this file. \quit

-- Catalog
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.fallback_reason IS 'why the mode in effect is FULL although AUTO was requested; for a DIFFERENTIAL table, why its refreshes recompute (row-level security applies to its owner)';

-- Stream tables whose unlogged relations (sources or storage) were intact at
-- their last DIFFERENTIAL refresh.  UNLOGGED itself: crash recovery (and a
-- standby's promotion) empties it exactly when it empties those relations,
-- and a missing row makes the next refresh recompute (src/refresh/unlogged.c).
CREATE UNLOGGED TABLE pgtrickle.pgt_unlogged_marks (
	pgt_id bigint PRIMARY KEY REFERENCES pgtrickle.pgt_stream_tables ON DELETE CASCADE
);
COMMENT ON TABLE pgtrickle.pgt_unlogged_marks IS 'pg_trickle catalog (unlogged): stream tables over unlogged relations refreshed since the last crash recovery; a missing row makes the next refresh FULL';
GRANT SELECT ON pgtrickle.pgt_unlogged_marks TO PUBLIC;

-- Dumps and restores (src/catalog/restore.c): the rows a restore brings
-- back name the dumped database's OIDs until they are re-pointed, so these
-- are no longer UNIQUE; the ids' sequences are dumped with the rows, so that
-- new stream tables and refreshes do not reuse restored ids; the
-- dependencies are derived (and their frontiers belong to the dumped
-- cluster), so they are no longer dumped: membership dropped and added
-- again takes a table out of the extension's configuration.
ALTER TABLE pgtrickle.pgt_stream_tables
	DROP CONSTRAINT pgt_stream_tables_pgt_relid_key,
	DROP CONSTRAINT pgt_stream_tables_pgt_query_relid_key;
CREATE INDEX pgt_stream_tables_relid_idx ON pgtrickle.pgt_stream_tables (pgt_relid);
CREATE INDEX pgt_stream_tables_query_relid_idx ON pgtrickle.pgt_stream_tables (pgt_query_relid);
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_stream_tables_pgt_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_refresh_history_refresh_id_seq', '');
ALTER EXTENSION pg_trickle DROP TABLE pgtrickle.pgt_dependencies;
ALTER EXTENSION pg_trickle ADD TABLE pgtrickle.pgt_dependencies;

CREATE FUNCTION pgtrickle._catalog_restore()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_catalog_restore';
COMMENT ON FUNCTION pgtrickle._catalog_restore() IS
	'pg_trickle internal: points a catalog row a restore brings back at the restored storage table and defining view, and leaves out the rows of stream tables not restored';
REVOKE EXECUTE ON FUNCTION pgtrickle._catalog_restore() FROM PUBLIC;
CREATE TRIGGER pgt_restore BEFORE INSERT ON pgtrickle.pgt_stream_tables
	FOR EACH ROW EXECUTE FUNCTION pgtrickle._catalog_restore();
ALTER TABLE pgtrickle.pgt_stream_tables ENABLE ALWAYS TRIGGER pgt_restore;
-- and leaves out the history of stream tables the restore leaves out
CREATE TRIGGER pgt_restore BEFORE INSERT ON pgtrickle.pgt_refresh_history
	FOR EACH ROW EXECUTE FUNCTION pgtrickle._catalog_restore();
ALTER TABLE pgtrickle.pgt_refresh_history ENABLE ALWAYS TRIGGER pgt_restore;
CREATE TRIGGER pgt_restore BEFORE INSERT ON pgtrickle.pgt_refresh_totals
	FOR EACH ROW EXECUTE FUNCTION pgtrickle._catalog_restore();
ALTER TABLE pgtrickle.pgt_refresh_totals ENABLE ALWAYS TRIGGER pgt_restore;

ALTER TABLE pgtrickle.pgt_dependencies ADD COLUMN frontier_lost_at timestamptz;
COMMENT ON COLUMN pgtrickle.pgt_dependencies.frontier_lost_at IS
	'when pending changes of this source were given up because its change buffer exceeded pg_trickle.max_buffer_rows (the next refresh is a full one); NULL otherwise';

-- Functions and views whose comments changed
COMMENT ON FUNCTION pgtrickle._scheduler_running() IS
	'whether pg_trickle serves the current database: the launcher runs and can start its scheduler (which runs only while there is work)';
COMMENT ON VIEW pgtrickle.quick_health IS
	'one row: how many stream tables are in error, stale or paused, and whether pg_trickle serves the database';
COMMENT ON FUNCTION pgtrickle._capture() IS
	'capture trigger on each source of a DIFFERENTIAL stream table (per statement, or per row for session_replication_role = replica): copies the changed rows into the source''s change buffer';

-- Event triggers: the write guard cannot be removed; cycles through replaced views
CREATE FUNCTION pgtrickle._on_view_change()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_on_view_change';
COMMENT ON FUNCTION pgtrickle._on_view_change() IS
	'refuses a view replaced so that stream tables would read each other in a cycle';

CREATE FUNCTION pgtrickle._guard_ddl_start()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_guard_ddl_start';
COMMENT ON FUNCTION pgtrickle._guard_ddl_start() IS
	'refuses DDL that would disable or drop the write guard of a stream table, or give it inheritance parents, children or partitions';

CREATE EVENT TRIGGER pgtrickle_guard_ddl_start ON ddl_command_start
	WHEN TAG IN ('ALTER TABLE', 'ALTER FOREIGN TABLE', 'CREATE TABLE',
				 'CREATE FOREIGN TABLE', 'DROP TRIGGER')
	EXECUTE FUNCTION pgtrickle._guard_ddl_start();
COMMENT ON EVENT TRIGGER pgtrickle_guard_ddl_start IS
	'pg_trickle: stream tables keep their write guard';

CREATE EVENT TRIGGER pgtrickle_view_change ON ddl_command_end
	WHEN TAG IN ('CREATE VIEW')
	EXECUTE FUNCTION pgtrickle._on_view_change();
COMMENT ON EVENT TRIGGER pgtrickle_view_change IS
	'pg_trickle: refuse cycles of stream tables through replaced views';

REVOKE EXECUTE ON FUNCTION pgtrickle._guard_ddl_start(), pgtrickle._on_view_change() FROM PUBLIC;

-- Change sets served to the delta statement
CREATE FUNCTION pgtrickle._changes_support(internal)
RETURNS internal
LANGUAGE c STRICT
AS 'MODULE_PATHNAME', 'pgt_changes_support';
COMMENT ON FUNCTION pgtrickle._changes_support(internal) IS
	'planner support of pgtrickle._changes: the exact row count of the change set being refreshed';

CREATE FUNCTION pgtrickle._changes(pgt_id bigint, source_relid oid)
RETURNS SETOF record
LANGUAGE c STRICT STABLE ROWS 10
SUPPORT pgtrickle._changes_support
AS 'MODULE_PATHNAME', 'pgt_changes';
COMMENT ON FUNCTION pgtrickle._changes(bigint, oid) IS
	'pg_trickle internal: the netted pending changes of a source, as read by the refresh in progress (errors outside a refresh)';

-- Health: seven capture triggers, unlogged sources, bounded buffers
CREATE OR REPLACE FUNCTION pgtrickle.check_cdc_health()
RETURNS TABLE(pgt_schema text, pgt_name text,
			  source_schema text, source_table text, source_relid oid,
			  cdc_mode text, slot_name text, lag_bytes bigint,
			  confirmed_lsn pg_lsn, buffer_rows bigint, buffer_bytes bigint,
			  healthy boolean, issue text, alert text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET IntervalStyle = postgres
AS $$
	WITH pairs AS (
		SELECT st.pgt_id, st.pgt_schema, st.pgt_name, st.status,
			   st.is_populated,
			   coalesce(st.data_timestamp, st.created_at) AS fresh_as_of,
			   d.source_relid, d.frontier, d.frontier_lost_at, d.cdc_mode AS dep_cdc_mode,
			   st.refresh_mode = 'DIFFERENTIAL'
				   AND d.source_type IN ('TABLE', 'STREAM_TABLE') AS captured,
			   c.oid IS NOT NULL AS source_exists,
			   c.relpersistence = 'u' AND NOT EXISTS (
				   SELECT FROM pgtrickle.pgt_unlogged_marks m
				   WHERE m.pgt_id = st.pgt_id) AS unlogged_lost,
			   n.nspname::text AS source_schema, c.relname::text AS source_table
		FROM pgtrickle.pgt_stream_tables st
		JOIN pgtrickle.pgt_dependencies d ON d.pgt_id = st.pgt_id
		LEFT JOIN pg_class c ON c.oid = d.source_relid
		LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
	),
	checked AS (
		SELECT p.*,
			   p.captured AND p.source_exists AND NOT EXISTS (
				   SELECT 1 FROM pg_class b
				   JOIN pg_namespace bn ON bn.oid = b.relnamespace
				   WHERE bn.nspname = 'pgtrickle_changes'
					 AND b.relname = 'changes_' || p.source_relid) AS buffer_missing,
			   trg.missing, trg.disabled, trg.wrong_mode, trg.unexpected,
			   u.pending_rows, u.total_bytes,
			   coalesce(nullif(current_setting('pg_trickle.max_buffer_rows', true), ''),
						'0')::bigint AS max_buffer_rows,
			   eff.effective_schedule, eff.effective_seconds
		FROM pairs p
		LEFT JOIN LATERAL (
			-- every member of the source's tree carries the capture triggers
			-- (a partitioned table or an inheritance parent: each partition
			-- or child at every level, src/capture/inherit.c); a member's
			-- triggers are named with it
			WITH RECURSIVE members(relid, depth) AS (
				SELECT p.source_relid, 0
				UNION ALL
				SELECT i.inhrelid, m.depth + 1
				FROM members m JOIN pg_inherits i ON i.inhparent = m.relid
				WHERE m.depth < 1000
			),
			named AS (
				SELECT m.relid, m.depth,
					   CASE WHEN m.relid = p.source_relid THEN ''
							ELSE ' on ' || m.relid::regclass::text END AS place
				FROM members m
			)
			SELECT array_agg(w.name || m.place ORDER BY m.depth, m.place, w.ord)
					   FILTER (WHERE t.oid IS NULL) AS missing,
				   array_agg(w.name || m.place ORDER BY m.depth, m.place, w.ord)
					   FILTER (WHERE t.tgenabled = 'D') AS disabled,
				   array_agg(format('%s%s (%s instead of %s)', w.name, m.place,
									CASE t.tgenabled WHEN 'A' THEN 'ENABLE ALWAYS'
										 WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE' END,
									CASE w.mode WHEN 'A' THEN 'ENABLE ALWAYS'
										 WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE' END)
							 ORDER BY m.depth, m.place, w.ord)
					   FILTER (WHERE t.tgenabled <> 'D' AND t.tgenabled <> w.mode) AS wrong_mode,
				   (SELECT array_agg(x.tgname::text || n.place ORDER BY n.depth, n.place, x.tgname)
					  FROM named n
					  JOIN pg_trigger x ON x.tgrelid = n.relid
					 WHERE p.captured AND p.source_exists
					   AND x.tgfoid = 'pgtrickle._capture()'::regprocedure
					   AND x.tgname <> ALL (ARRAY['pgt_capture_ins', 'pgt_capture_upd',
												  'pgt_capture_del', 'pgt_capture_trunc',
												  'pgt_capture_ins_replica', 'pgt_capture_upd_replica',
												  'pgt_capture_del_replica'])) AS unexpected
			-- the capture triggers and how each must be enabled
			-- (src/capture/trigger.c, CaptureTriggers)
			FROM named m
			CROSS JOIN (VALUES ('pgt_capture_ins', 'O', 1), ('pgt_capture_upd', 'O', 2),
							   ('pgt_capture_del', 'O', 3), ('pgt_capture_trunc', 'A', 4),
							   ('pgt_capture_ins_replica', 'R', 5), ('pgt_capture_upd_replica', 'R', 6),
							   ('pgt_capture_del_replica', 'R', 7)) w(name, mode, ord)
			LEFT JOIN pg_trigger t
				   ON t.tgrelid = m.relid AND t.tgname = w.name
				  AND t.tgfoid = 'pgtrickle._capture()'::regprocedure
			WHERE p.captured AND p.source_exists
		) trg ON true
		-- STRICT: a NULL argument skips the call (a join qual would not)
		LEFT JOIN LATERAL pgtrickle._cdc_buffer_usage(
			CASE WHEN p.captured AND p.source_exists THEN p.pgt_id END,
			p.source_relid) u ON true
		LEFT JOIN LATERAL pgtrickle._effective_schedule(p.pgt_id) eff ON true
	),
	judged AS (
		SELECT k.*,
			   array_remove(ARRAY[
				   CASE WHEN NOT k.source_exists THEN 'source table dropped' END,
				   CASE WHEN k.buffer_missing
						THEN 'change buffer pgtrickle_changes.changes_' || k.source_relid || ' missing' END,
				   CASE WHEN k.missing IS NOT NULL
						THEN 'capture trigger' || CASE WHEN cardinality(k.missing) > 1 THEN 's' ELSE '' END
							 || ' missing: ' || array_to_string(k.missing, ', ') END,
				   CASE WHEN k.disabled IS NOT NULL
						THEN 'capture trigger' || CASE WHEN cardinality(k.disabled) > 1 THEN 's' ELSE '' END
							 || ' disabled: ' || array_to_string(k.disabled, ', ') END,
				   CASE WHEN k.wrong_mode IS NOT NULL
						THEN 'capture trigger' || CASE WHEN cardinality(k.wrong_mode) > 1 THEN 's' ELSE '' END
							 || ' enabled for the wrong session_replication_role: '
							 || array_to_string(k.wrong_mode, ', ') END,
				   CASE WHEN k.unexpected IS NOT NULL
						THEN 'other capture trigger' || CASE WHEN cardinality(k.unexpected) > 1 THEN 's' ELSE '' END
							 || ' on the source: ' || array_to_string(k.unexpected, ', ') END
			   ], NULL) AS critical,
			   array_remove(ARRAY[
				   CASE WHEN k.captured AND k.source_exists AND NOT k.buffer_missing
							 AND k.is_populated AND k.frontier IS NULL
						THEN 'no frontier: the next refresh is a full one; the buffer is not pruned until then' END,
				   CASE WHEN k.captured AND k.unlogged_lost AND k.is_populated
						THEN 'unlogged source may have been emptied by crash recovery: the next refresh is a full one' END,
				   CASE WHEN k.captured AND k.frontier_lost_at IS NOT NULL
						THEN format('pending changes given up at %s: the change buffer exceeded pg_trickle.max_buffer_rows; the next refresh is a full one',
									date_trunc('second', k.frontier_lost_at)) END,
				   CASE WHEN k.captured AND k.max_buffer_rows > 0
							 AND k.pending_rows >= 0.8 * k.max_buffer_rows
						THEN format('buffer near its limit: %s rows pending for this stream table, pg_trickle.max_buffer_rows is %s',
									k.pending_rows, k.max_buffer_rows) END,
				   CASE WHEN k.pending_rows > 0
							 AND now() - k.fresh_as_of > 2 * make_interval(secs => k.effective_seconds)
						THEN format('buffer growing: no refresh consumed changes for %s (effective schedule %s%s)',
									date_trunc('second', now() - k.fresh_as_of),
									k.effective_schedule,
									CASE WHEN k.status <> 'ACTIVE' THEN ', status ' || k.status ELSE '' END) END
			   ], NULL) AS warnings
		FROM checked k
	)
	SELECT j.pgt_schema, j.pgt_name, j.source_schema, j.source_table, j.source_relid,
		   CASE WHEN j.captured THEN j.dep_cdc_mode ELSE 'NONE' END,
		   NULL::text, NULL::bigint, NULL::pg_lsn,
		   j.pending_rows, j.total_bytes,
		   cardinality(j.critical) + cardinality(j.warnings) = 0,
		   nullif(array_to_string(j.critical || j.warnings, '; '), ''),
		   CASE WHEN cardinality(j.critical) > 0 THEN 'critical'
				WHEN cardinality(j.warnings) > 0 THEN 'warning' END
	FROM judged j
	UNION ALL
	-- restored by pg_restore or carried by pg_upgrade and not set up yet
	-- (src/catalog/restore.c): nothing is captured for it until then
	SELECT st.pgt_schema, st.pgt_name, NULL, NULL, NULL, 'NONE', NULL, NULL, NULL, NULL, NULL,
		   false,
		   'restored and not set up yet: the scheduler sets it up once the restore has created its write guard and the capture triggers of its sources; pgtrickle.refresh_stream_table() sets it up at once',
		   'warning'
	FROM pgtrickle.pgt_stream_tables st
	WHERE NOT EXISTS (
		SELECT 1 FROM pg_depend d
		WHERE d.classid = 'pg_class'::regclass AND d.objid = st.pgt_query_relid
		  AND d.objsubid = 0 AND d.refclassid = 'pg_class'::regclass
		  AND d.refobjid = st.pgt_relid AND d.refobjsubid = 0 AND d.deptype = 'i')
	ORDER BY 1, 2, 3, 4, 5
$$;

-- An interrupted refresh is found also while a later one holds the table
CREATE OR REPLACE FUNCTION pgtrickle._fail_interrupted_refreshes()
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH failed AS (
		UPDATE pgtrickle.pgt_refresh_history h
		   SET status = 'FAILED',
			   error_message = 'refresh interrupted (server restart or backend crash)',
			   end_time = greatest(now(), h.start_time)
		  FROM pgtrickle.pgt_stream_tables st
		 WHERE h.status = 'RUNNING'
		   AND st.pgt_id = h.pgt_id
		   -- dead: no refresh holds the table, or a later announcement of it
		   -- exists (the scheduler announces a table again only once the
		   -- worker of the earlier one is gone; the later refresh may hold
		   -- the table by now)
		   AND (EXISTS (SELECT 1 FROM pgtrickle.pgt_refresh_history n
						 WHERE n.pgt_id = h.pgt_id AND n.refresh_id > h.refresh_id)
				OR NOT EXISTS (
			   SELECT 1 FROM pg_locks l
			   WHERE l.locktype = 'relation'
				 AND l.database = (SELECT oid FROM pg_database
								   WHERE datname = current_database())
				 AND l.relation = st.pgt_relid
				 AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
				 AND l.granted))
		RETURNING 1
	)
	SELECT count(*) FROM failed
$$;

-- Change buffers and capture triggers in place: the xid index, the triggers
-- for session_replication_role = replica, no grants.  Frontiers are kept:
-- each source is locked while its triggers change (src/capture/buffer.c).
CREATE FUNCTION pgtrickle._upgrade_capture()
RETURNS integer
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_upgrade_capture';
SELECT pgtrickle._upgrade_capture();
DROP FUNCTION pgtrickle._upgrade_capture();

-- Earlier builds granted USAGE on the buffers' schema to consumers' owners.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT a.grantee::regrole AS role
			   FROM pg_namespace n, aclexplode(n.nspacl) a
			  WHERE n.nspname = 'pgtrickle_changes' AND a.grantee <> n.nspowner
				AND a.grantee <> 0
	LOOP
		EXECUTE format('REVOKE ALL ON SCHEMA pgtrickle_changes FROM %s', r.role);
	END LOOP;
END
$$;

-- the launcher: databases that waited for this update are served again
SELECT pgtrickle._wake_launcher();

-- The value of a scalar subquery without an aggregate, rewritten by the
-- differential engine into its row count and value (src/delta/sublink.c).
CREATE FUNCTION pgtrickle._one_row(bigint, anyelement)
RETURNS anyelement
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgt_one_row';
COMMENT ON FUNCTION pgtrickle._one_row(bigint, anyelement) IS
	'pg_trickle internal: the value of a scalar subquery that met the given number of rows; more than one raises 21000 as the subquery would';
