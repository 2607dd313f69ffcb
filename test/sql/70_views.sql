-- Views, schedules and explain_st.
\pset format unaligned
SET TIME ZONE 'UTC';
-- schedule grammar
SELECT s, pgtrickle._schedule_seconds(s, '2026-03-10 12:00:00+00') AS seconds
  FROM unnest(ARRAY['30s', '5m', '1h30m', '2d', '1w', '90', '1H 30M', '*/15 * * * *',
                    '0 9 * * 1-5', '@hourly', '@daily', '@weekly', '@monthly', 'calculated',
                    NULL]) s;
SELECT pgtrickle._schedule_next_fire('*/15 * * * *', '2026-03-10 12:07:00+00'),
       pgtrickle._schedule_next_fire('0 9 * * 1-5', '2026-03-13 10:00:00+00'),
       pgtrickle._schedule_next_fire('@monthly', '2026-03-10 12:00:00+00'),
       pgtrickle._schedule_next_fire('10m', '2026-03-10 12:00:00+00'),
       pgtrickle._schedule_next_fire('0 0 13 * 5', '2026-03-10 12:00:00+00');
SELECT pgt_test.err($$SELECT pgtrickle._schedule_seconds('5 minutes')$$);
SELECT pgt_test.err($$SELECT pgtrickle._schedule_seconds('* * * *')$$);
SELECT pgt_test.err($$SELECT pgtrickle._schedule_seconds('0 0 31 2 *')$$);
SELECT pgt_test.err($$SELECT pgtrickle._schedule_seconds('@fortnightly')$$);
SELECT pgt_test.err($$SELECT pgtrickle._schedule_seconds('-5s')$$);

-- effective schedule: CALCULATED follows its most frequent reader, transitively
CREATE TABLE v_src (id int, g int);
INSERT INTO v_src SELECT g, g % 4 FROM generate_series(1, 40) g;
SELECT pgtrickle.create_stream_table('v_base', 'SELECT id, g FROM v_src', NULL, 'FULL');
SELECT pgtrickle.create_stream_table('v_mid', 'SELECT g, count(*) AS n FROM v_base GROUP BY g', 'calculated', 'FULL');
SELECT effective_schedule FROM pgtrickle.stream_tables_info WHERE pgt_name IN ('v_base', 'v_mid') ORDER BY pgt_name;
SELECT pgtrickle.create_stream_table('v_top1', 'SELECT n FROM v_mid', '10m', 'FULL');
SELECT pgtrickle.create_stream_table('v_top2', 'SELECT g FROM v_mid', '2m', 'FULL');
SELECT pgtrickle.create_stream_table('v_side', 'SELECT id FROM v_base', '*/30 * * * *', 'FULL');
SELECT pgt_name, schedule, effective_schedule FROM pgtrickle.stream_tables_info
 WHERE pgt_name LIKE 'v\_%' ORDER BY pgt_name;
SELECT property, value FROM pgtrickle.explain_st('v_base') WHERE property LIKE '%schedule';

-- freshness: stale when ACTIVE and older than twice the effective interval
SELECT pgt_name, staleness IS NOT NULL AS has_staleness, stale FROM pgtrickle.stream_tables_info
 WHERE pgt_name LIKE 'v\_%' ORDER BY pgt_name;
UPDATE pgtrickle.pgt_stream_tables SET data_timestamp = now() - interval '5 minutes' WHERE pgt_name = 'v_top2';
UPDATE pgtrickle.pgt_stream_tables SET data_timestamp = now() - interval '5 minutes' WHERE pgt_name = 'v_top1';
SELECT pgt_name, stale FROM pgtrickle.stream_tables_info WHERE pgt_name IN ('v_top1', 'v_top2') ORDER BY 1;
UPDATE pgtrickle.pgt_stream_tables SET status = 'PAUSED' WHERE pgt_name = 'v_top2';
SELECT pgt_name, stale FROM pgtrickle.stream_tables_info WHERE pgt_name = 'v_top2';
-- never populated: no staleness, stale once twice the interval has passed since creation
SELECT pgtrickle.create_stream_table('v_lazy', 'SELECT id FROM v_src', '1m', 'FULL', false);
SELECT staleness, stale FROM pgtrickle.stream_tables_info WHERE pgt_name = 'v_lazy';
UPDATE pgtrickle.pgt_stream_tables SET status = 'ACTIVE', created_at = now() - interval '1 hour' WHERE pgt_name = 'v_lazy';
SELECT staleness, stale FROM pgtrickle.stream_tables_info WHERE pgt_name = 'v_lazy';

-- pg_stat_stream_tables aggregates the history
SELECT pgt_test.refresh('v_base');
SELECT pgt_name, status, refresh_mode, schedule, effective_schedule, is_populated,
       consecutive_errors, total_refreshes, successful_refreshes, failed_refreshes,
       total_rows_inserted, total_rows_deleted, avg_duration_ms >= 0 AS has_avg,
       last_action, last_status, last_error_message
  FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name LIKE 'v\_%' ORDER BY pgt_name;

-- pruning the history keeps the counters (they never go down); skipped
-- attempts are not refreshes
INSERT INTO pgtrickle.pgt_refresh_history (pgt_id, start_time, end_time, action, status, initiated_by)
SELECT pgt_id, now(), now(), 'SKIP', 'SKIPPED', 'SCHEDULER'
  FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'v_base';
CREATE TEMP TABLE v_counts AS
SELECT pgt_name, total_refreshes, successful_refreshes, failed_refreshes,
       total_rows_inserted, total_rows_deleted
  FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name LIKE 'v\_%';
SELECT pgt_name, total_refreshes, total_rows_inserted, last_action, last_status
  FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name = 'v_base';
UPDATE pgtrickle.pgt_refresh_history SET start_time = start_time - interval '1 year',
       end_time = end_time - interval '1 year'
 WHERE pgt_id IN (SELECT pgt_id FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('v_base', 'v_mid'))
   AND refresh_id NOT IN (SELECT max(refresh_id) FROM pgtrickle.pgt_refresh_history GROUP BY pgt_id);
SELECT pgtrickle._prune_history() > 0 AS pruned;
SELECT s.pgt_name, count(h.*) AS history_rows
  FROM pgtrickle.pgt_stream_tables s LEFT JOIN pgtrickle.pgt_refresh_history h USING (pgt_id)
 WHERE s.pgt_name IN ('v_base', 'v_mid') GROUP BY 1 ORDER BY 1;
SELECT pgt_name, refreshes, successful_refreshes, failed_refreshes, rows_inserted, rows_deleted
  FROM pgtrickle.pgt_refresh_totals JOIN pgtrickle.pgt_stream_tables USING (pgt_id) ORDER BY 1;
(SELECT pgt_name, total_refreshes, successful_refreshes, failed_refreshes,
        total_rows_inserted, total_rows_deleted
   FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name LIKE 'v\_%'
 EXCEPT SELECT * FROM v_counts)
UNION ALL
(SELECT * FROM v_counts EXCEPT
 SELECT pgt_name, total_refreshes, successful_refreshes, failed_refreshes,
        total_rows_inserted, total_rows_deleted
   FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name LIKE 'v\_%');
-- a second prune adds to the totals
UPDATE pgtrickle.pgt_refresh_history SET start_time = start_time - interval '1 year',
       end_time = end_time - interval '1 year'
 WHERE pgt_id = (SELECT pgt_id FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'v_base');
SELECT pgtrickle._prune_history() AS pruned;
SELECT t.total_refreshes = c.total_refreshes AS same_refreshes,
       t.total_rows_inserted = c.total_rows_inserted AS same_rows, t.last_action
  FROM pgtrickle.pg_stat_stream_tables t JOIN v_counts c USING (pgt_name) WHERE pgt_name = 'v_base';

-- quick_health: one row
SELECT total_stream_tables > 0 AS some, error_tables, stale_tables, paused_tables,
       scheduler_running, status FROM pgtrickle.quick_health;
UPDATE pgtrickle.pgt_stream_tables SET status = 'SUSPENDED' WHERE pgt_name = 'v_top1';
SELECT error_tables, status FROM pgtrickle.quick_health;
SELECT pgtrickle.resume_stream_table('v_top1');
SELECT pgtrickle.resume_stream_table('v_top2');

-- explain_st lists what a refresh does and why
SELECT property, value FROM pgtrickle.explain_st('v_mid');

-- every column of SPEC section 4 and 5 is there
SELECT attname FROM pg_attribute WHERE attrelid = 'pgtrickle.pg_stat_stream_tables'::regclass
   AND attnum > 0 ORDER BY attnum;
SELECT attname FROM pg_attribute WHERE attrelid = 'pgtrickle.quick_health'::regclass
   AND attnum > 0 ORDER BY attnum;
SELECT attname FROM pg_attribute WHERE attrelid = 'pgtrickle.stream_tables_info'::regclass
   AND attnum > 0 ORDER BY attnum;
-- and every SQL object has a comment
SELECT p.oid::regprocedure FROM pg_proc p
 WHERE p.pronamespace = 'pgtrickle'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.oid::regclass FROM pg_class c
 WHERE c.relnamespace = 'pgtrickle'::regnamespace AND c.relkind IN ('r', 'v')
   AND obj_description(c.oid, 'pg_class') IS NULL;
-- GUCs of SPEC section 6
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'pg\_trickle.%' ORDER BY name;

SELECT * FROM pgt_test.check_all();
