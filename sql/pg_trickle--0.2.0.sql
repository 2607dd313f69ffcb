/* pg_trickle 0.2.0 — install script.  See ../shared/design/SPEC.md for the contract. */

\echo Use "CREATE EXTENSION pg_trickle" to load this file. \quit

-- The control file names schema pgtrickle; CREATE EXTENSION creates it.
GRANT USAGE ON SCHEMA pgtrickle TO PUBLIC;
COMMENT ON SCHEMA pgtrickle IS 'pg_trickle: stream table API, catalog and views';

-- Defining queries, one view per stream table, each an internal part of its
-- storage table (so pg_depend protects sources and follows renames).
CREATE SCHEMA pgtrickle_defs;
REVOKE ALL ON SCHEMA pgtrickle_defs FROM PUBLIC;
COMMENT ON SCHEMA pgtrickle_defs IS 'pg_trickle internal: the defining query of each stream table, kept as a view';

-- Change buffers (filled by capture triggers of DIFFERENTIAL stream tables).
CREATE SCHEMA pgtrickle_changes;
REVOKE ALL ON SCHEMA pgtrickle_changes FROM PUBLIC;
COMMENT ON SCHEMA pgtrickle_changes IS 'pg_trickle internal: change buffers of captured source rows; closed to PUBLIC';

------------------------------------------------------------------------------
-- Catalog
------------------------------------------------------------------------------

CREATE TABLE pgtrickle.pgt_stream_tables (
	pgt_id bigserial PRIMARY KEY,
	pgt_relid oid NOT NULL,
	pgt_schema text NOT NULL,
	pgt_name text NOT NULL,
	defining_query text NOT NULL,
	original_query text NOT NULL,
	schedule text,
	refresh_mode text NOT NULL
		CHECK (refresh_mode IN ('FULL', 'DIFFERENTIAL')),
	requested_refresh_mode text NOT NULL
		CHECK (requested_refresh_mode IN ('FULL', 'DIFFERENTIAL', 'AUTO')),
	status text NOT NULL DEFAULT 'INITIALIZING'
		CHECK (status IN ('INITIALIZING', 'ACTIVE', 'PAUSED', 'SUSPENDED', 'ERROR')),
	is_populated boolean NOT NULL DEFAULT false,
	data_timestamp timestamptz,
	last_refresh_at timestamptz,
	consecutive_errors integer NOT NULL DEFAULT 0,
	last_error_message text,
	last_error_at timestamptz,
	cdc_mode text NOT NULL DEFAULT 'trigger',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- columns beyond SPEC section 4
	pgt_query_relid oid NOT NULL,
	fallback_reason text
);
-- Not UNIQUE: rows a restore brings back name objects of the dumped
-- database until they are re-pointed (src/catalog/restore.c).
CREATE INDEX pgt_stream_tables_relid_idx ON pgtrickle.pgt_stream_tables (pgt_relid);
CREATE INDEX pgt_stream_tables_query_relid_idx ON pgtrickle.pgt_stream_tables (pgt_query_relid);
COMMENT ON TABLE pgtrickle.pgt_stream_tables IS 'pg_trickle catalog: one row per stream table';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.defining_query IS 'the defining query as PostgreSQL deparses it today (follows renames of sources)';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.original_query IS 'the query text exactly as given to the last create or query change';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.schedule IS 'schedule as given, trimmed; NULL means CALCULATED';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.refresh_mode IS 'refresh mode in effect: FULL or DIFFERENTIAL';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.requested_refresh_mode IS 'refresh mode asked for: FULL, DIFFERENTIAL or AUTO';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.data_timestamp IS 'time of the snapshot at which the contents were last known equal to the query';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.pgt_query_relid IS 'the view in pgtrickle_defs that holds the defining query';
COMMENT ON COLUMN pgtrickle.pgt_stream_tables.fallback_reason IS 'why the mode in effect is FULL although AUTO was requested; for a DIFFERENTIAL table, why its refreshes recompute (row-level security applies to its owner)';

CREATE TABLE pgtrickle.pgt_dependencies (
	pgt_id bigint NOT NULL REFERENCES pgtrickle.pgt_stream_tables ON DELETE CASCADE,
	source_relid oid NOT NULL,
	source_type text NOT NULL
		CHECK (source_type IN ('TABLE', 'STREAM_TABLE', 'VIEW')),
	cdc_mode text NOT NULL DEFAULT 'TRIGGER'
		CHECK (cdc_mode IN ('TRIGGER', 'WAL', 'TRANSITIONING')),
	columns_used text[] NOT NULL DEFAULT '{}',
	PRIMARY KEY (pgt_id, source_relid)
);
CREATE INDEX pgt_dependencies_source_idx ON pgtrickle.pgt_dependencies (source_relid);
COMMENT ON TABLE pgtrickle.pgt_dependencies IS 'pg_trickle catalog: one row per (stream table, source relation it reads)';
COMMENT ON COLUMN pgtrickle.pgt_dependencies.columns_used IS 'source columns the defining query references';

CREATE TABLE pgtrickle.pgt_refresh_history (
	refresh_id bigserial PRIMARY KEY,
	pgt_id bigint NOT NULL REFERENCES pgtrickle.pgt_stream_tables ON DELETE CASCADE,
	data_timestamp timestamptz,
	start_time timestamptz NOT NULL,
	end_time timestamptz,
	action text NOT NULL
		CHECK (action IN ('NO_DATA', 'FULL', 'DIFFERENTIAL', 'REINITIALIZE', 'SKIP')),
	status text NOT NULL
		CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED')),
	rows_inserted bigint NOT NULL DEFAULT 0,
	rows_deleted bigint NOT NULL DEFAULT 0,
	delta_row_count bigint NOT NULL DEFAULT 0,
	error_message text,
	initiated_by text NOT NULL
		CHECK (initiated_by IN ('SCHEDULER', 'MANUAL', 'INITIAL')),
	reason text
);
CREATE INDEX pgt_refresh_history_pgt_idx ON pgtrickle.pgt_refresh_history (pgt_id, refresh_id DESC);
COMMENT ON TABLE pgtrickle.pgt_refresh_history IS 'pg_trickle catalog: one row per refresh attempt, kept pg_trickle.history_retention_days';
COMMENT ON COLUMN pgtrickle.pgt_refresh_history.reason IS 'why this action ran';

-- What pruning took out of pgt_refresh_history, per stream table, so that the
-- counters of pg_stat_stream_tables never go down (monitoring reads them as
-- counters: a decrease looks like a reset).  Written only by _prune_history.
CREATE TABLE pgtrickle.pgt_refresh_totals (
	pgt_id bigint PRIMARY KEY REFERENCES pgtrickle.pgt_stream_tables ON DELETE CASCADE,
	refreshes bigint NOT NULL DEFAULT 0,
	successful_refreshes bigint NOT NULL DEFAULT 0,
	failed_refreshes bigint NOT NULL DEFAULT 0,
	rows_inserted bigint NOT NULL DEFAULT 0,
	rows_deleted bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE pgtrickle.pgt_refresh_totals IS 'pg_trickle catalog: per stream table, the counts of the refresh history rows pruned so far (pg_stat_stream_tables adds them to the retained history)';

-- Stream tables whose unlogged relations (sources or storage) were intact at
-- their last DIFFERENTIAL refresh.  UNLOGGED itself: crash recovery (and a
-- standby's promotion) empties it exactly when it empties those relations,
-- and a missing row makes the next refresh recompute (src/refresh/unlogged.c).
CREATE UNLOGGED TABLE pgtrickle.pgt_unlogged_marks (
	pgt_id bigint PRIMARY KEY REFERENCES pgtrickle.pgt_stream_tables ON DELETE CASCADE
);
COMMENT ON TABLE pgtrickle.pgt_unlogged_marks IS 'pg_trickle catalog (unlogged): stream tables over unlogged relations refreshed since the last crash recovery; a missing row makes the next refresh FULL';

GRANT SELECT ON pgtrickle.pgt_stream_tables, pgtrickle.pgt_dependencies,
	pgtrickle.pgt_refresh_history, pgtrickle.pgt_refresh_totals,
	pgtrickle.pgt_unlogged_marks TO PUBLIC;

-- pg_dump keeps the catalog rows of an extension only when asked to.  Not
-- pgt_dependencies: it is derived from the defining views, and its
-- frontiers name transactions of the dumped cluster (src/catalog/restore.c).
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_stream_tables', '');
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_stream_tables_pgt_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_refresh_history', '');
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_refresh_history_refresh_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_refresh_totals', '');

-- A restore (its COPY) brings rows naming the dumped database's OIDs:
-- point them at the restored storage table and defining view, by name.
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

------------------------------------------------------------------------------
-- Schedules
------------------------------------------------------------------------------

CREATE FUNCTION pgtrickle._schedule_seconds(schedule text, at timestamptz DEFAULT now())
RETURNS double precision
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgt_schedule_seconds';
COMMENT ON FUNCTION pgtrickle._schedule_seconds(text, timestamptz) IS
	'seconds a schedule stands for at a time (cron: gap between its last two fire times); NULL for CALCULATED';

CREATE FUNCTION pgtrickle._schedule_next_fire(schedule text, after timestamptz DEFAULT now())
RETURNS timestamptz
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgt_schedule_next_fire';
COMMENT ON FUNCTION pgtrickle._schedule_next_fire(text, timestamptz) IS
	'first time after a given time at which a schedule is due; NULL for CALCULATED';

-- The schedule in effect: the table's own, or for CALCULATED the most frequent
-- of its readers (transitively), or pg_trickle.default_schedule_seconds.
CREATE FUNCTION pgtrickle._effective_schedule(p_pgt_id bigint,
	OUT effective_schedule text, OUT effective_seconds double precision)
LANGUAGE sql STABLE
AS $$
	WITH RECURSIVE readers(pgt_id, path) AS (
		SELECT p_pgt_id, ARRAY[p_pgt_id]
	  UNION ALL
		-- only a CALCULATED table takes its pace from its readers
		SELECT d.pgt_id, r.path || d.pgt_id
		FROM readers r
		JOIN pgtrickle.pgt_stream_tables up ON up.pgt_id = r.pgt_id
		JOIN pgtrickle.pgt_dependencies d ON d.source_relid = up.pgt_relid
		WHERE up.schedule IS NULL AND NOT d.pgt_id = ANY (r.path)
	),
	candidates AS (
		SELECT s.schedule AS sched,
			   pgtrickle._schedule_seconds(s.schedule) AS secs
		FROM readers r JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		WHERE s.schedule IS NOT NULL
	  UNION ALL
		-- a CALCULATED table that nothing reads runs at the default pace
		-- the setting reads like '1min': it has a unit
		SELECT dflt.secs::bigint || 's', dflt.secs
		FROM (SELECT extract(epoch FROM coalesce(
					current_setting('pg_trickle.default_schedule_seconds', true),
					'60')::interval)::double precision AS secs) dflt,
			 readers r JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		WHERE s.schedule IS NULL
		  AND NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_dependencies d
						  WHERE d.source_relid = s.pgt_relid)
	)
	SELECT sched, secs FROM candidates ORDER BY secs, sched LIMIT 1
$$;
COMMENT ON FUNCTION pgtrickle._effective_schedule(bigint) IS
	'schedule in effect for a stream table (resolves CALCULATED) and its interval in seconds';

------------------------------------------------------------------------------
-- API
------------------------------------------------------------------------------

CREATE FUNCTION pgtrickle.create_stream_table(name text, query text,
	schedule text DEFAULT '1m',
	refresh_mode text DEFAULT 'DIFFERENTIAL',
	initialize boolean DEFAULT true,
	cdc_mode text DEFAULT NULL)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_create_stream_table';
COMMENT ON FUNCTION pgtrickle.create_stream_table(text, text, text, text, boolean, text) IS
	'create a stream table: a table kept equal to a query';

CREATE FUNCTION pgtrickle.create_stream_table_if_not_exists(name text, query text,
	schedule text DEFAULT '1m',
	refresh_mode text DEFAULT 'DIFFERENTIAL',
	initialize boolean DEFAULT true,
	cdc_mode text DEFAULT NULL)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_create_stream_table_if_not_exists';
COMMENT ON FUNCTION pgtrickle.create_stream_table_if_not_exists(text, text, text, text, boolean, text) IS
	'create a stream table unless a relation of that name exists (then a NOTICE)';

CREATE FUNCTION pgtrickle.create_or_replace_stream_table(name text, query text,
	schedule text DEFAULT '1m',
	refresh_mode text DEFAULT 'DIFFERENTIAL',
	initialize boolean DEFAULT true,
	cdc_mode text DEFAULT NULL)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_create_or_replace_stream_table';
COMMENT ON FUNCTION pgtrickle.create_or_replace_stream_table(text, text, text, text, boolean, text) IS
	'create a stream table, or alter an existing one in place to the given definition';

CREATE FUNCTION pgtrickle.alter_stream_table(name text,
	schedule text DEFAULT NULL,
	refresh_mode text DEFAULT NULL,
	status text DEFAULT NULL,
	query text DEFAULT NULL)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_alter_stream_table';
COMMENT ON FUNCTION pgtrickle.alter_stream_table(text, text, text, text, text) IS
	'change the schedule, refresh mode, status or defining query of a stream table (NULL = unchanged)';

CREATE FUNCTION pgtrickle.drop_stream_table(name text, cascade boolean DEFAULT false)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_drop_stream_table';
COMMENT ON FUNCTION pgtrickle.drop_stream_table(text, boolean) IS
	'drop a stream table; cascade => true also drops what reads it';

CREATE FUNCTION pgtrickle.refresh_stream_table(name text)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_refresh_stream_table';
COMMENT ON FUNCTION pgtrickle.refresh_stream_table(text) IS
	'bring a stream table up to date now, in the caller''s transaction';

CREATE FUNCTION pgtrickle.pause_stream_table(name text)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_pause_stream_table';
COMMENT ON FUNCTION pgtrickle.pause_stream_table(text) IS
	'stop scheduled refreshes of a stream table (changes are still captured)';

CREATE FUNCTION pgtrickle.resume_stream_table(name text)
RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_resume_stream_table';
COMMENT ON FUNCTION pgtrickle.resume_stream_table(text) IS
	'resume scheduled refreshes of a stream table and clear its errors';

CREATE FUNCTION pgtrickle.verify_stream_table(name text)
RETURNS TABLE(side text, row_data jsonb)
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_verify_stream_table';
COMMENT ON FUNCTION pgtrickle.verify_stream_table(text) IS
	'refresh, then list the rows in which the stream table differs from its query (none when consistent)';

CREATE FUNCTION pgtrickle.explain_st(name text)
RETURNS TABLE(property text, value text)
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_explain_st';
COMMENT ON FUNCTION pgtrickle.explain_st(text) IS
	'how a stream table is refreshed: mode, reasons, sources, the SQL a refresh runs, schedule';

CREATE FUNCTION pgtrickle.get_refresh_history(name text, max_rows integer DEFAULT 20)
RETURNS TABLE(refresh_id bigint, data_timestamp timestamptz,
			  start_time timestamptz, end_time timestamptz,
			  action text, status text, rows_inserted bigint,
			  rows_deleted bigint, duration_ms double precision,
			  error_message text, initiated_by text)
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_get_refresh_history';
COMMENT ON FUNCTION pgtrickle.get_refresh_history(text, integer) IS
	'the latest refresh attempts of a stream table, newest first';

------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------

-- Read from the scheduler's shared memory, not pg_stat_activity, which
-- hides backend_type of other users' processes from roles without
-- pg_read_all_stats.
CREATE FUNCTION pgtrickle._scheduler_running()
RETURNS boolean
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'pgt_scheduler_running';
COMMENT ON FUNCTION pgtrickle._scheduler_running() IS
	'whether pg_trickle serves the current database: the launcher runs and can start its scheduler (which runs only while there is work)';

CREATE VIEW pgtrickle.stream_tables_info AS
SELECT st.*,
	   now() - st.data_timestamp AS staleness,
	   (st.status = 'ACTIVE'
		AND now() - coalesce(st.data_timestamp, st.created_at)
			> 2 * make_interval(secs => eff.effective_seconds)) AS stale,
	   eff.effective_schedule
FROM pgtrickle.pgt_stream_tables st
CROSS JOIN LATERAL pgtrickle._effective_schedule(st.pgt_id) eff;
COMMENT ON VIEW pgtrickle.stream_tables_info IS
	'stream tables with their staleness and the schedule in effect';

CREATE VIEW pgtrickle.pg_stat_stream_tables AS
SELECT i.pgt_id, i.pgt_schema, i.pgt_name, i.status, i.refresh_mode,
	   i.schedule, i.effective_schedule, i.is_populated, i.data_timestamp,
	   i.last_refresh_at, i.staleness, i.stale, i.consecutive_errors,
	   coalesce(t.refreshes, 0) + h.total_refreshes AS total_refreshes,
	   coalesce(t.successful_refreshes, 0) + h.successful_refreshes AS successful_refreshes,
	   coalesce(t.failed_refreshes, 0) + h.failed_refreshes AS failed_refreshes,
	   coalesce(t.rows_inserted, 0) + h.total_rows_inserted AS total_rows_inserted,
	   coalesce(t.rows_deleted, 0) + h.total_rows_deleted AS total_rows_deleted,
	   h.avg_duration_ms,
	   l.action AS last_action,
	   l.status AS last_status,
	   i.last_error_message
FROM pgtrickle.stream_tables_info i
LEFT JOIN LATERAL (
	SELECT count(*) AS total_refreshes,
		   count(*) FILTER (WHERE status = 'COMPLETED') AS successful_refreshes,
		   count(*) FILTER (WHERE status = 'FAILED') AS failed_refreshes,
		   coalesce(sum(rows_inserted), 0)::bigint AS total_rows_inserted,
		   coalesce(sum(rows_deleted), 0)::bigint AS total_rows_deleted,
		   avg(extract(epoch FROM end_time - start_time) * 1000)
			   FILTER (WHERE status = 'COMPLETED')::double precision AS avg_duration_ms
	FROM pgtrickle.pgt_refresh_history
	WHERE pgt_id = i.pgt_id AND status IN ('COMPLETED', 'FAILED')
) h ON true
LEFT JOIN pgtrickle.pgt_refresh_totals t ON t.pgt_id = i.pgt_id
LEFT JOIN LATERAL (
	SELECT action, status FROM pgtrickle.pgt_refresh_history
	WHERE pgt_id = i.pgt_id ORDER BY refresh_id DESC LIMIT 1
) l ON true;
COMMENT ON VIEW pgtrickle.pg_stat_stream_tables IS
	'per stream table refresh statistics: counters since creation (refreshes that ran; skipped ones not counted), avg_duration_ms over the retained history';

CREATE VIEW pgtrickle.quick_health AS
SELECT count(*) AS total_stream_tables,
	   count(*) FILTER (WHERE status IN ('ERROR', 'SUSPENDED')) AS error_tables,
	   count(*) FILTER (WHERE stale) AS stale_tables,
	   count(*) FILTER (WHERE status = 'PAUSED') AS paused_tables,
	   pgtrickle._scheduler_running() AS scheduler_running,
	   CASE
		   WHEN count(*) = 0 THEN 'EMPTY'
		   WHEN count(*) FILTER (WHERE status IN ('ERROR', 'SUSPENDED')) > 0 THEN 'CRITICAL'
		   WHEN count(*) FILTER (WHERE stale) > 0
				OR NOT pgtrickle._scheduler_running() THEN 'WARNING'
		   ELSE 'OK'
	   END AS status
FROM pgtrickle.stream_tables_info;
COMMENT ON VIEW pgtrickle.quick_health IS
	'one row: how many stream tables are in error, stale or paused, and whether pg_trickle serves the database';

GRANT SELECT ON pgtrickle.stream_tables_info, pgtrickle.pg_stat_stream_tables,
	pgtrickle.quick_health TO PUBLIC;

------------------------------------------------------------------------------
-- Internal: write guard and catalog upkeep
------------------------------------------------------------------------------

CREATE FUNCTION pgtrickle._guard_write()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_guard_write';
COMMENT ON FUNCTION pgtrickle._guard_write() IS
	'trigger on every stream table: refuses writes that do not come from a refresh';

CREATE FUNCTION pgtrickle._on_sql_drop()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_on_sql_drop';
COMMENT ON FUNCTION pgtrickle._on_sql_drop() IS
	'removes catalog rows of stream tables dropped by any command';

CREATE FUNCTION pgtrickle._on_ddl_command_end()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_on_ddl_command_end';
COMMENT ON FUNCTION pgtrickle._on_ddl_command_end() IS
	'keeps names, defining queries and dependencies in the catalog in step with renames';

CREATE FUNCTION pgtrickle._on_view_change()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_on_view_change';
COMMENT ON FUNCTION pgtrickle._on_view_change() IS
	'refuses a view replaced so that stream tables would read each other in a cycle';

CREATE EVENT TRIGGER pgtrickle_sql_drop ON sql_drop
	EXECUTE FUNCTION pgtrickle._on_sql_drop();
COMMENT ON EVENT TRIGGER pgtrickle_sql_drop IS
	'pg_trickle: clean the catalog when a stream table is dropped';

CREATE EVENT TRIGGER pgtrickle_ddl_command_end ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'ALTER SCHEMA', 'ALTER VIEW',
				 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE')
	EXECUTE FUNCTION pgtrickle._on_ddl_command_end();
COMMENT ON EVENT TRIGGER pgtrickle_ddl_command_end IS
	'pg_trickle: follow renames of stream tables and their sources';

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

REVOKE EXECUTE ON FUNCTION pgtrickle._guard_write(), pgtrickle._on_sql_drop(),
	pgtrickle._on_ddl_command_end(), pgtrickle._guard_ddl_start(),
	pgtrickle._on_view_change() FROM PUBLIC;

------------------------------------------------------------------------------
-- Change capture
------------------------------------------------------------------------------

-- Per (stream table, source): what its last refresh consumed of the source's
-- change buffer.  NULL: nothing yet (the next refresh is a full one).
ALTER TABLE pgtrickle.pgt_dependencies ADD COLUMN frontier pg_snapshot,
	ADD COLUMN frontier_xid xid8, ADD COLUMN frontier_seq bigint,
	ADD COLUMN frontier_lost_at timestamptz;
COMMENT ON COLUMN pgtrickle.pgt_dependencies.frontier_lost_at IS
	'when pending changes of this source were given up because its change buffer exceeded pg_trickle.max_buffer_rows (the next refresh is a full one); NULL otherwise';
COMMENT ON COLUMN pgtrickle.pgt_dependencies.frontier IS
	'snapshot of the last refresh: changes of transactions visible in it are consumed (NULL: none consumed yet)';
COMMENT ON COLUMN pgtrickle.pgt_dependencies.frontier_xid IS
	'transaction of the last refresh: its own changes are consumed up to frontier_seq';
COMMENT ON COLUMN pgtrickle.pgt_dependencies.frontier_seq IS
	'value of pgtrickle_changes.change_seq taken just after the last refresh';

-- Orders the change rows of one transaction against its own refreshes; only
-- compared within one transaction, so a backend may cache values.
CREATE SEQUENCE pgtrickle_changes.change_seq CACHE 32;
COMMENT ON SEQUENCE pgtrickle_changes.change_seq IS
	'pg_trickle internal: sequence number of each captured statement and of each refresh frontier';

-- Each change buffer pgtrickle_changes.changes_<source oid> is created when a
-- DIFFERENTIAL stream table starts reading the source, with seven triggers
-- (pgt_capture_ins|upd|del|trunc, pgt_capture_ins|upd|del_replica) on the
-- source that call this function.
CREATE FUNCTION pgtrickle._capture()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_capture';
COMMENT ON FUNCTION pgtrickle._capture() IS
	'capture trigger on each source of a DIFFERENTIAL stream table (per statement, or per row for session_replication_role = replica): copies the changed rows into the source''s change buffer';

REVOKE EXECUTE ON FUNCTION pgtrickle._capture() FROM PUBLIC;

-- The netted change set a differential refresh read for one source, served
-- to its delta statement; the support function tells the planner its size.
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

CREATE FUNCTION pgtrickle._capture_ddl_start()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_capture_ddl_start';
COMMENT ON FUNCTION pgtrickle._capture_ddl_start() IS
	'refuses ALTER TABLE ... ALTER COLUMN ... TYPE on a column whose changes are captured';

REVOKE EXECUTE ON FUNCTION pgtrickle._capture_ddl_start() FROM PUBLIC;

CREATE EVENT TRIGGER pgtrickle_capture_ddl_start ON ddl_command_start
	WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION pgtrickle._capture_ddl_start();
COMMENT ON EVENT TRIGGER pgtrickle_capture_ddl_start IS
	'pg_trickle: keep the types of captured source columns as their change buffers have them';

------------------------------------------------------------------------------
-- Scheduler
------------------------------------------------------------------------------

CREATE FUNCTION pgtrickle._wake_launcher()
RETURNS boolean
LANGUAGE c
AS 'MODULE_PATHNAME', 'pgt_wake_launcher';
COMMENT ON FUNCTION pgtrickle._wake_launcher() IS
	'asks the pg_trickle launcher to start the scheduler of this database now';
REVOKE EXECUTE ON FUNCTION pgtrickle._wake_launcher() FROM PUBLIC;


------------------------------------------------------------------------------
-- Observability
------------------------------------------------------------------------------

-- What check_cdc_health reads of a change buffer: the rows one stream table
-- has not consumed yet and the buffer's size.  Counted in C as the catalog
-- owner (buffers are closed to PUBLIC); only the numbers come out.
CREATE FUNCTION pgtrickle._cdc_buffer_usage(p_pgt_id bigint, p_source_relid oid,
	OUT pending_rows bigint, OUT total_bytes bigint)
RETURNS record
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'pgt_cdc_buffer_usage';
COMMENT ON FUNCTION pgtrickle._cdc_buffer_usage(bigint, oid) IS
	'rows of a source''s change buffer a stream table has not consumed, and the buffer''s size (NULL: no buffer, or locked by DDL)';

-- One row per (stream table, source).  Sources of DIFFERENTIAL stream tables
-- that are tables or stream tables are captured (cdc_mode from
-- pgt_dependencies); every other source is reported with cdc_mode 'NONE'
-- and only the check that it still exists.  Runs with the caller's rights:
-- everything but the buffers is readable by PUBLIC.
CREATE FUNCTION pgtrickle.check_cdc_health()
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
COMMENT ON FUNCTION pgtrickle.check_cdc_health() IS
	'one row per (stream table, source): capture mode, change buffer size, and whether capture is healthy (issue, alert)';

-- Refresh history is kept pg_trickle.history_retention_days; the scheduler
-- calls this.  A row's age is its end_time (start_time while it has none);
-- end_time >= start_time, so the index on start_time finds the candidates.
CREATE INDEX pgt_refresh_history_start_idx ON pgtrickle.pgt_refresh_history (start_time);

CREATE FUNCTION pgtrickle._prune_history()
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH cutoff AS (
		SELECT now() - make_interval(days => coalesce(
				   nullif(current_setting('pg_trickle.history_retention_days', true), '')::integer,
				   30)) AS t
	), gone AS (
		DELETE FROM pgtrickle.pgt_refresh_history h
		USING cutoff
		WHERE h.start_time < cutoff.t
		  AND coalesce(h.end_time, h.start_time) < cutoff.t
		RETURNING h.pgt_id, h.status, h.rows_inserted, h.rows_deleted
	), counted AS (
		-- every row has its stream table: history goes with it (ON DELETE CASCADE)
		INSERT INTO pgtrickle.pgt_refresh_totals AS t
		SELECT pgt_id,
			   count(*) FILTER (WHERE status IN ('COMPLETED', 'FAILED')),
			   count(*) FILTER (WHERE status = 'COMPLETED'),
			   count(*) FILTER (WHERE status = 'FAILED'),
			   coalesce(sum(rows_inserted) FILTER (WHERE status IN ('COMPLETED', 'FAILED')), 0),
			   coalesce(sum(rows_deleted) FILTER (WHERE status IN ('COMPLETED', 'FAILED')), 0)
		FROM gone
		GROUP BY pgt_id
		ON CONFLICT (pgt_id) DO UPDATE
		   SET refreshes = t.refreshes + excluded.refreshes,
			   successful_refreshes = t.successful_refreshes + excluded.successful_refreshes,
			   failed_refreshes = t.failed_refreshes + excluded.failed_refreshes,
			   rows_inserted = t.rows_inserted + excluded.rows_inserted,
			   rows_deleted = t.rows_deleted + excluded.rows_deleted
	)
	SELECT count(*) FROM gone
$$;
COMMENT ON FUNCTION pgtrickle._prune_history() IS
	'deletes refresh history older than pg_trickle.history_retention_days (by end_time, or start_time without one), adding what it deletes to pgt_refresh_totals; returns the number of rows deleted';

-- A RUNNING history row is written by the scheduler, in a transaction of its
-- own, before the refresh starts; the refresh's transaction finishes it.  A
-- refresh holds ExclusiveLock on the storage table until it commits or rolls
-- back, so a RUNNING row of a stream table on which no transaction holds
-- ExclusiveLock or AccessExclusiveLock has no refresh behind it any more: its
-- refresh was interrupted (server restart, backend crash).  The scheduler
-- calls this when it starts.
CREATE FUNCTION pgtrickle._fail_interrupted_refreshes()
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
COMMENT ON FUNCTION pgtrickle._fail_interrupted_refreshes() IS
	'marks RUNNING refresh history rows with no refresh behind them (no lock on the storage table) as FAILED; returns the number of rows';

REVOKE EXECUTE ON FUNCTION pgtrickle._prune_history(),
	pgtrickle._fail_interrupted_refreshes() FROM PUBLIC;

-- CREATE EXTENSION: have this database's scheduler started right away.
SELECT pgtrickle._wake_launcher();

-- The value of a scalar subquery without an aggregate, rewritten by the
-- differential engine into its row count and value (src/delta/sublink.c).
CREATE FUNCTION pgtrickle._one_row(bigint, anyelement)
RETURNS anyelement
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgt_one_row';
COMMENT ON FUNCTION pgtrickle._one_row(bigint, anyelement) IS
	'pg_trickle internal: the value of a scalar subquery that met the given number of rows; more than one raises 21000 as the subquery would';
