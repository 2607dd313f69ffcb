-- Observability: check_cdc_health, _prune_history, _fail_interrupted_refreshes.
--
-- Schedules are '1h' so that a running scheduler leaves these tables alone;
-- states a scheduler could repair (an old data_timestamp, RUNNING history
-- rows) are set up and looked at inside one transaction.

-- check_cdc_health for the h_ stream tables; buffers are named by OID: hide it
CREATE FUNCTION pgt_test.h_health()
RETURNS TABLE(pgt_name text, source_table text, cdc_mode text, buffer_rows bigint,
			  has_bytes boolean, healthy boolean, issue text, alert text)
LANGUAGE sql AS $$
	SELECT pgt_name, source_table, cdc_mode, buffer_rows, buffer_bytes > 0, healthy,
		   regexp_replace(issue, 'changes_[0-9]+', 'changes_<oid>', 'g'), alert
	  FROM pgtrickle.check_cdc_health()
	 WHERE pgt_name LIKE 'h\_%'
$$;

CREATE FUNCTION pgt_test.h_buffer(src regclass) RETURNS text
LANGUAGE sql AS $$ SELECT 'pgtrickle_changes.changes_' || src::oid $$;

------------------------------------------------------------------------------
-- Healthy: one row per (stream table, source).  Captured sources of
-- DIFFERENTIAL tables (tables and stream tables) report TRIGGER and their
-- buffer; sources of FULL tables report NONE and no buffer.
------------------------------------------------------------------------------
CREATE TABLE h_orders (id int PRIMARY KEY, customer int NOT NULL,
					   amount numeric NOT NULL, note text);
CREATE TABLE h_customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO h_customers VALUES (10, 'ten'), (20, 'twenty');
INSERT INTO h_orders VALUES (1, 10, 5, 'a'), (2, 10, 7, 'b'), (3, 20, 11, 'c');
SELECT pgtrickle.create_stream_table('h_totals',
	'SELECT customer, sum(amount) AS total FROM h_orders GROUP BY customer', '1h', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('h_notes',
	'SELECT id, note FROM h_orders', '1h', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('h_names',
	'SELECT o.id, c.name FROM h_orders o JOIN h_customers c ON c.id = o.customer', '1h', 'FULL');
SELECT pgtrickle.create_stream_table('h_top',
	'SELECT customer, total FROM h_totals WHERE total > 10', '1h', 'DIFFERENTIAL');
-- not populated and no frontier yet: fine
SELECT pgtrickle.create_stream_table('h_lazy',
	'SELECT id FROM h_customers', '1h', 'DIFFERENTIAL', initialize => false);
SELECT * FROM pgt_test.h_health();
-- trigger capture has no slot
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE slot_name IS NULL AND lag_bytes IS NULL AND confirmed_lsn IS NULL) AS without_slot,
	   count(*) FILTER (WHERE source_relid = 'h_orders'::regclass
						  AND source_schema = 'public' AND source_table = 'h_orders') AS h_orders_rows
  FROM pgtrickle.check_cdc_health() WHERE pgt_name LIKE 'h\_%';

------------------------------------------------------------------------------
-- buffer_rows: the rows of the source's buffer this stream table has not
-- consumed yet (a shared buffer keeps rows until every reader has them)
------------------------------------------------------------------------------
INSERT INTO h_orders VALUES (4, 20, 13, 'd'), (5, 30, 17, 'e');
UPDATE h_orders SET amount = amount + 100 WHERE id = 1;
SELECT * FROM pgt_test.h_health() WHERE source_table = 'h_orders';
SELECT pgt_test.drefresh('h_totals');
-- h_totals has consumed them, h_notes not yet; h_top has changes of h_totals
SELECT * FROM pgt_test.h_health();

------------------------------------------------------------------------------
-- Stale consumption: pending rows, and no refresh for more than twice the
-- effective schedule (1h here)
------------------------------------------------------------------------------
BEGIN;
UPDATE pgtrickle.pgt_stream_tables SET data_timestamp = now() - interval '2 hours 30 minutes'
 WHERE pgt_name IN ('h_notes', 'h_totals');
UPDATE pgtrickle.pgt_stream_tables SET data_timestamp = now() - interval '1 hour 30 minutes'
 WHERE pgt_name = 'h_top';
-- h_notes: warning; h_totals: nothing pending; h_top: within twice its schedule
SELECT * FROM pgt_test.h_health();
-- a paused table keeps capturing: said so
SELECT pgtrickle.pause_stream_table('h_notes');
SELECT issue FROM pgt_test.h_health() WHERE pgt_name = 'h_notes';
ROLLBACK;
SELECT pgt_test.drefresh('h_notes');
SELECT pgt_test.drefresh('h_top');
SELECT * FROM pgt_test.h_health();

------------------------------------------------------------------------------
-- Capture triggers: disabled, enabled for the wrong role, missing (critical)
------------------------------------------------------------------------------
ALTER TABLE h_orders DISABLE TRIGGER pgt_capture_ins;
SELECT * FROM pgt_test.h_health() WHERE source_table = 'h_orders';
-- ENABLE ALWAYS would capture what a replica session writes twice (the
-- row-level replica triggers capture it); plain ENABLE on a replica trigger
-- misses it
ALTER TABLE h_orders ENABLE ALWAYS TRIGGER pgt_capture_ins;
ALTER TABLE h_orders ENABLE TRIGGER pgt_capture_del_replica;
SELECT pgt_name, issue, alert FROM pgt_test.h_health() WHERE source_table = 'h_orders';
ALTER TABLE h_orders ENABLE TRIGGER pgt_capture_ins;
ALTER TABLE h_orders ENABLE REPLICA TRIGGER pgt_capture_del_replica;
SELECT pgt_name, healthy FROM pgt_test.h_health() WHERE source_table = 'h_orders';

-- a lone DROP TRIGGER is refused; renamed, a trigger is missing under its
-- name (and still fires under the other)
SELECT regexp_replace(pgt_test.err($$DROP TRIGGER pgt_capture_upd ON h_orders$$),
					  'changes_[0-9]+', 'changes_<oid>', 'g');
ALTER TRIGGER pgt_capture_upd ON h_orders RENAME TO h_renamed;
SELECT pgt_name, issue, alert FROM pgt_test.h_health() WHERE source_table = 'h_orders';
ALTER TRIGGER h_renamed ON h_orders RENAME TO pgt_capture_upd;
SELECT pgt_name, healthy FROM pgt_test.h_health() WHERE source_table = 'h_orders';

------------------------------------------------------------------------------
-- A missing buffer (dropped by hand; its triggers go with it) is critical;
-- switching a reader to FULL and back captures again, and the other
-- reader, without a frontier until its next (full) refresh, is a warning
------------------------------------------------------------------------------
SELECT pgt_test.h_buffer('h_orders') AS h_orders_buffer \gset
DROP TABLE :h_orders_buffer;
SELECT * FROM pgt_test.h_health() WHERE source_table = 'h_orders';
SELECT split_part(pgt_test.err($$SELECT pgtrickle.refresh_stream_table('h_notes')$$), E'\n', 1);
SELECT pgtrickle.alter_stream_table('h_totals', refresh_mode => 'FULL');
SELECT pgtrickle.alter_stream_table('h_totals', refresh_mode => 'DIFFERENTIAL');
SELECT * FROM pgt_test.h_health() WHERE source_table = 'h_orders';
SELECT pgt_test.refresh('h_notes');
UPDATE h_orders SET note = 'after repair' WHERE id = 2;
SELECT pgt_test.drefresh('h_notes');
SELECT pgt_test.drefresh('h_totals');
SELECT * FROM pgt_test.h_health() WHERE source_table = 'h_orders';

------------------------------------------------------------------------------
-- A dropped source (DDL cannot do it, the stream table depends on it:
-- simulated in the catalog), for FULL and DIFFERENTIAL alike
------------------------------------------------------------------------------
SELECT NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = 4000000000) AS unused_oid;
BEGIN;
INSERT INTO pgtrickle.pgt_dependencies (pgt_id, source_relid, source_type)
SELECT pgt_id, 4000000000, 'TABLE' FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name IN ('h_names', 'h_notes');
SELECT * FROM pgt_test.h_health() WHERE source_table IS NULL;
ROLLBACK;

------------------------------------------------------------------------------
-- Anyone may call check_cdc_health; buffers stay closed
------------------------------------------------------------------------------
CREATE ROLE h_reader;
SET ROLE h_reader;
SELECT * FROM pgt_test.h_health();
-- one row per (stream table, source), whatever the rights on them
SELECT (SELECT count(*) FROM pgtrickle.check_cdc_health())
	   = (SELECT count(*) FROM pgtrickle.pgt_dependencies) AS one_row_per_source;
SELECT pgt_test.err('SELECT count(*) FROM ' || :'h_orders_buffer');
SELECT pgt_test.err($$SELECT pgtrickle._prune_history()$$);
SELECT pgt_test.err($$SELECT pgtrickle._fail_interrupted_refreshes()$$);
RESET ROLE;
DROP ROLE h_reader;

------------------------------------------------------------------------------
-- _prune_history: rows older than pg_trickle.history_retention_days (30),
-- by end_time, or start_time when there is none
------------------------------------------------------------------------------
SHOW pg_trickle.history_retention_days;
BEGIN;
INSERT INTO pgtrickle.pgt_refresh_history
	(pgt_id, start_time, end_time, action, status, initiated_by, reason)
SELECT s.pgt_id, now() - v.started, now() - v.ended, 'FULL', v.status, 'SCHEDULER', v.reason
  FROM pgtrickle.pgt_stream_tables s,
	   (VALUES (interval '40 days', interval '40 days', 'COMPLETED', 'h: ended 40 days ago'),
			   (interval '31 days', NULL, 'FAILED', 'h: started 31 days ago, no end'),
			   (interval '31 days', interval '29 days', 'COMPLETED', 'h: ended 29 days ago'),
			   (interval '10 days', interval '10 days', 'COMPLETED', 'h: ended 10 days ago'))
	   v(started, ended, status, reason)
 WHERE s.pgt_name = 'h_totals';
SELECT pgtrickle._prune_history() AS pruned;
SELECT reason FROM pgtrickle.pgt_refresh_history WHERE reason LIKE 'h: %' ORDER BY refresh_id;
SELECT pgtrickle._prune_history() AS pruned_again;
ROLLBACK;

------------------------------------------------------------------------------
-- _fail_interrupted_refreshes: a RUNNING row whose stream table nobody holds
-- a refresh's lock on (ExclusiveLock) was interrupted
------------------------------------------------------------------------------
BEGIN;
INSERT INTO pgtrickle.pgt_refresh_history
	(pgt_id, start_time, action, status, initiated_by, reason)
SELECT pgt_id, now() - interval '5 minutes', 'DIFFERENTIAL', 'RUNNING', 'SCHEDULER', 'h: ' || pgt_name
  FROM pgtrickle.pgt_stream_tables WHERE pgt_name IN ('h_totals', 'h_notes');
-- a refresh of h_notes would hold this lock: its row is left alone
LOCK TABLE h_notes IN EXCLUSIVE MODE;
SELECT pgtrickle._fail_interrupted_refreshes() AS failed;
SELECT reason, status, error_message, end_time = now() AS ended_now
  FROM pgtrickle.pgt_refresh_history WHERE reason LIKE 'h: %' ORDER BY reason;
SELECT pgtrickle._fail_interrupted_refreshes() AS failed_again;
-- pg_stat_stream_tables counts it as a failed refresh
SELECT pgt_name, failed_refreshes, last_status
  FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name = 'h_totals';
ROLLBACK;

------------------------------------------------------------------------------
-- A partitioned source and an inheritance parent: the capture triggers of
-- every partition and child, at every level, are checked too, each named
-- with its table
------------------------------------------------------------------------------
CREATE TABLE h_parts (id int NOT NULL, region text NOT NULL, amount int)
	PARTITION BY LIST (region);
CREATE TABLE h_parts_east PARTITION OF h_parts FOR VALUES IN ('east');
CREATE TABLE "h parts.west" PARTITION OF h_parts FOR VALUES IN ('west')
	PARTITION BY RANGE (id);
CREATE TABLE h_parts_west_low PARTITION OF "h parts.west" FOR VALUES FROM (0) TO (100);
INSERT INTO h_parts VALUES (1, 'east', 5), (2, 'west', 7);
SELECT pgtrickle.create_stream_table('h_regions',
	'SELECT region, sum(amount) AS total FROM h_parts GROUP BY region', '1h', 'DIFFERENTIAL');
SELECT pgt_name, healthy, issue FROM pgt_test.h_health() WHERE source_table = 'h_parts';
ALTER TABLE h_parts_west_low DISABLE TRIGGER pgt_capture_del;
ALTER TABLE "h parts.west" ENABLE ALWAYS TRIGGER pgt_capture_upd;
SELECT pgt_name, issue, alert FROM pgt_test.h_health() WHERE source_table = 'h_parts';
ALTER TABLE h_parts_west_low ENABLE TRIGGER pgt_capture_del;
ALTER TABLE "h parts.west" ENABLE TRIGGER pgt_capture_upd;
CREATE TABLE h_base (id int NOT NULL, amount int);
CREATE TABLE h_child () INHERITS (h_base);
INSERT INTO h_child VALUES (1, 3);
SELECT pgtrickle.create_stream_table('h_based',
	'SELECT id, amount FROM h_base', '1h', 'DIFFERENTIAL');
ALTER TABLE h_child RENAME TO "h child";
ALTER TRIGGER pgt_capture_ins ON "h child" RENAME TO h_renamed;
SELECT pgt_name, issue, alert FROM pgt_test.h_health() WHERE source_table = 'h_base';
ALTER TRIGGER h_renamed ON "h child" RENAME TO pgt_capture_ins;
INSERT INTO "h child" VALUES (2, 4);
UPDATE h_parts SET amount = amount + 1;
SELECT pgt_test.drefresh('h_based');
SELECT pgt_test.drefresh('h_regions');
SELECT pgt_name, healthy FROM pgt_test.h_health() WHERE source_table IN ('h_parts', 'h_base');
SELECT pgtrickle.drop_stream_table('h_regions');
SELECT pgtrickle.drop_stream_table('h_based');
DROP TABLE h_parts, h_base CASCADE;

SELECT pgtrickle.drop_stream_table('h_lazy');
SELECT pgt_test.refresh('h_names');
SELECT pgt_test.drefresh('h_top');
SELECT * FROM pgt_test.h_health();
SELECT * FROM pgt_test.check_all();
