-- refresh_stream_table: FULL recompute, history, statuses, transactions.
\pset format unaligned
CREATE TABLE items (id int PRIMARY KEY, grp int, price numeric, tag text);
INSERT INTO items SELECT g, g % 5, g * 2, CASE WHEN g % 7 = 0 THEN NULL ELSE 't' || (g % 3) END
  FROM generate_series(1, 200) g;
SELECT pgtrickle.create_stream_table('item_groups',
	'SELECT grp, tag, count(*) AS n, sum(price) AS total, min(price) AS lo, max(price) AS hi
	   FROM items GROUP BY grp, tag', '1m', 'FULL');
SELECT pgtrickle.create_stream_table('item_copy', 'SELECT * FROM items', '1m', 'FULL');
-- duplicates in the result are kept as a multiset
SELECT pgtrickle.create_stream_table('item_tags', 'SELECT tag FROM items', '1m', 'FULL');
SELECT pgt_test.check('item_groups'), pgt_test.check('item_copy'), pgt_test.check('item_tags');

-- inserts, updates (also of the grouping key), deletes, NULLs
INSERT INTO items VALUES (201, 1, 5, NULL), (202, NULL, 7, 't9');
UPDATE items SET grp = grp + 1 WHERE id % 10 = 0;
UPDATE items SET tag = NULL WHERE id BETWEEN 50 AND 60;
DELETE FROM items WHERE id % 11 = 0;
SELECT pgt_test.refresh('item_groups'), pgt_test.refresh('item_copy'), pgt_test.refresh('item_tags');
SELECT count(*) FROM item_copy;

-- the history records each refresh; rows_inserted/deleted count the rewrite
SELECT action, status, rows_inserted, rows_deleted, initiated_by, error_message,
       duration_ms >= 0 AS timed, end_time >= start_time AS ordered,
       data_timestamp <= end_time AS data_ts_ok
  FROM pgtrickle.get_refresh_history('item_copy');
SELECT count(*) FROM pgtrickle.get_refresh_history('item_copy', 1);
SELECT count(*) FROM pgtrickle.get_refresh_history('item_copy', 0);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.get_refresh_history('item_copy', -1)$$);

-- an emptied source gives an empty stream table; refilled, it follows
DELETE FROM items;
SELECT pgt_test.refresh('item_groups'), pgt_test.refresh('item_copy'), pgt_test.refresh('item_tags');
SELECT count(*) FROM item_groups;
INSERT INTO items SELECT g, g % 3, g, 'x' FROM generate_series(1, 30) g;
SELECT pgt_test.refresh('item_groups'), pgt_test.refresh('item_copy'), pgt_test.refresh('item_tags');
SELECT * FROM item_groups ORDER BY grp;

-- a refresh is part of the caller's transaction: a rollback undoes it
BEGIN;
INSERT INTO items VALUES (100, 9, 1, 'rolled back');
SELECT pgtrickle.refresh_stream_table('item_groups');
SELECT count(*) FROM item_groups WHERE grp = 9;
ROLLBACK;
SELECT count(*) FROM item_groups WHERE grp = 9;
SELECT pgt_test.check('item_groups');
-- and sees the caller's own uncommitted changes, at one snapshot
BEGIN;
INSERT INTO items VALUES (101, 8, 1, 'mine');
SELECT pgt_test.refresh('item_groups');
SELECT grp, tag, n FROM item_groups WHERE grp = 8;
COMMIT;
SELECT pgt_test.refresh('item_copy'), pgt_test.refresh('item_tags');
-- in REPEATABLE READ the refresh reads the transaction's snapshot
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pgt_test.refresh('item_groups');
COMMIT;

-- a failing query fails the refresh and leaves the old contents
CREATE TABLE divisors (d int);
INSERT INTO divisors VALUES (1), (2);
SELECT pgtrickle.create_stream_table('quotients', 'SELECT 10 / d AS q FROM divisors', '1m', 'FULL');
INSERT INTO divisors VALUES (0);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('quotients')$$);
SELECT q FROM quotients ORDER BY q;
DELETE FROM divisors WHERE d = 0;
SELECT pgt_test.refresh('quotients');

-- statuses: paused and suspended tables can be refreshed by hand, ERROR not
SELECT pgtrickle.pause_stream_table('item_copy');
SELECT pgt_test.refresh('item_copy');
SELECT status FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'item_copy';
UPDATE pgtrickle.pgt_stream_tables SET status = 'SUSPENDED', consecutive_errors = 3 WHERE pgt_name = 'item_copy';
SELECT pgt_test.refresh('item_copy');
UPDATE pgtrickle.pgt_stream_tables SET status = 'ERROR', last_error_message = 'division by zero',
       last_error_at = now() WHERE pgt_name = 'item_copy';
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('item_copy')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.verify_stream_table('item_copy')$$);
SELECT pgtrickle.resume_stream_table('item_copy');
SELECT status, consecutive_errors, last_error_message, last_error_at FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name = 'item_copy';
SELECT pgt_test.refresh('item_copy');

-- errors
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('no_such_st')$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('items')$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('nosuchschema.x')$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table(NULL)$$);
SELECT pgt_test.err($$SELECT pgtrickle.refresh_stream_table('"bad')$$);
SELECT pgt_test.err($$SELECT pgtrickle.pause_stream_table('no_such_st')$$);
SELECT pgt_test.err($$SELECT pgtrickle.resume_stream_table('no_such_st')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.verify_stream_table('no_such_st')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.get_refresh_history('no_such_st')$$);
SELECT pgt_test.err($$SELECT * FROM pgtrickle.explain_st('no_such_st')$$);

-- verify_stream_table reports what differs; a tampered table shows it
SELECT * FROM pgtrickle.verify_stream_table('item_groups');
-- (the guard cannot be disabled: a superuser tampers past the event trigger)
ALTER EVENT TRIGGER pgtrickle_guard_ddl_start DISABLE;
ALTER TABLE item_groups DISABLE TRIGGER pgt_write_guard;
INSERT INTO item_groups VALUES (77, 'bogus', 1, 1, 1, 1);
ALTER TABLE item_groups ENABLE ALWAYS TRIGGER pgt_write_guard;
ALTER EVENT TRIGGER pgtrickle_guard_ddl_start ENABLE;
SELECT pgt_test.err($$SELECT pgt_test.check('item_groups')$$);
-- verify refreshes first, so the bogus row is gone and nothing differs
SELECT * FROM pgtrickle.verify_stream_table('item_groups');
SELECT count(*) FROM item_groups WHERE tag = 'bogus';

-- types without an equality operator are fine everywhere
CREATE TABLE docs (id int, body json, pos point);
INSERT INTO docs VALUES (1, '{"a": 1}', '(1,2)'), (2, '[1, 2]', NULL), (2, '[1, 2]', NULL);
SELECT pgtrickle.create_stream_table('doc_copy', 'SELECT body, pos FROM docs', '1m', 'FULL');
SELECT pgt_test.refresh('doc_copy');

SELECT * FROM pgt_test.check_all();
