-- create_stream_table and its variants: arguments, names, errors.
\pset format unaligned
CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), note text);
INSERT INTO orders SELECT g, 'c' || (g % 4), g * 1.5, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END
  FROM generate_series(1, 20) g;

-- the plain case, with every argument named
SELECT pgtrickle.create_stream_table(name => 'order_totals',
	query => 'SELECT customer, sum(amount) AS total, count(*) AS n FROM orders GROUP BY customer',
	schedule => '30s', refresh_mode => 'FULL', initialize => true, cdc_mode => 'trigger');
SELECT pgt_test.check('order_totals');
SELECT * FROM order_totals ORDER BY customer;
SELECT pgt_schema, pgt_name, schedule, refresh_mode, requested_refresh_mode, status,
       is_populated, data_timestamp IS NOT NULL AS has_data_ts, cdc_mode,
       original_query, defining_query
  FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'order_totals';
-- the storage table: owned by the creator, columns typed like the query
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'order_totals'::regclass AND attnum > 0 ORDER BY attnum;
SELECT relowner::regrole FROM pg_class WHERE oid = 'order_totals'::regclass;
-- one history row: the initial population
SELECT h.action, h.status, h.rows_inserted, h.rows_deleted, h.initiated_by, h.reason
  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'order_totals';
SELECT d.source_relid::regclass, d.source_type, d.cdc_mode, d.columns_used
  FROM pgtrickle.pgt_dependencies d JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE s.pgt_name = 'order_totals';

-- keywords are case-insensitive; schedules are stored trimmed
SELECT pgtrickle.create_stream_table('big_orders', 'SELECT id, amount FROM orders WHERE amount > 20',
	' 5m ', 'full');
SELECT schedule, refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'big_orders';
SELECT pgt_test.check('big_orders');

-- AUTO: DIFFERENTIAL when the engine supports the query, else FULL with a
-- NOTICE naming the reason
SELECT pgtrickle.create_stream_table('auto_diff', 'SELECT id FROM orders', '1m', 'AUTO');
SELECT refresh_mode, requested_refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name = 'auto_diff';
SELECT pgtrickle.create_stream_table('auto_orders', 'SELECT id, to_char(amount, ''999.99'') AS shown FROM orders', '1m', 'AUTO');
SELECT refresh_mode, requested_refresh_mode, fallback_reason FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name = 'auto_orders';

-- CALCULATED: NULL or 'calculated'
SELECT pgtrickle.create_stream_table('calc1', 'SELECT id FROM orders', NULL, 'FULL');
SELECT pgtrickle.create_stream_table('calc2', 'SELECT id FROM orders', 'Calculated', 'FULL');
SELECT pgt_name, schedule IS NULL AS calculated FROM pgtrickle.pgt_stream_tables
 WHERE pgt_name LIKE 'calc%' ORDER BY 1;

-- initialize => false: empty, INITIALIZING, populated by the first refresh
SELECT pgtrickle.create_stream_table('lazy', 'SELECT id, customer FROM orders', '1m', 'FULL', false);
SELECT status, is_populated, data_timestamp FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'lazy';
SELECT count(*) FROM lazy;
SELECT pgt_test.refresh('lazy');
SELECT status, is_populated FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'lazy';
SELECT action, initiated_by FROM pgtrickle.get_refresh_history('lazy');

-- names are SQL identifiers: quotes, dots and spaces
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."Odd ""Source"".x" ("Col A" int, "b.c" text);
INSERT INTO "My Schema"."Odd ""Source"".x" VALUES (1, 'one'), (2, 'two'), (2, 'two');
SELECT pgtrickle.create_stream_table('"My Schema"."Order Totals"',
	'SELECT "Col A", "b.c", count(*) AS "N ""quoted""" FROM "My Schema"."Odd ""Source"".x" GROUP BY 1, 2',
	'1m', 'FULL');
SELECT * FROM "My Schema"."Order Totals" ORDER BY 1;
SELECT pgt_test.refresh('"My Schema"."Order Totals"');
SELECT pgtrickle.create_stream_table('"My Schema"."a.b"', 'SELECT 1 AS one', '1m', 'FULL');
SELECT pgt_schema, pgt_name FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'My Schema' ORDER BY 2;
SELECT * FROM "My Schema"."a.b";
-- an unqualified name goes to the first existing schema of search_path
SET search_path = nosuchschema, "My Schema", public;
SELECT pgtrickle.create_stream_table('in_path', 'SELECT 2 AS two', '1m', 'FULL');
RESET search_path;
SELECT '"My Schema".in_path'::regclass;
-- the query resolves names under the caller's search_path, "$user" included
CREATE SCHEMA regress_pgt_alice AUTHORIZATION regress_pgt_alice;
CREATE TABLE regress_pgt_alice.mine (v int);
ALTER TABLE regress_pgt_alice.mine OWNER TO regress_pgt_alice;
INSERT INTO regress_pgt_alice.mine VALUES (42);
GRANT USAGE ON SCHEMA pgtrickle TO regress_pgt_alice;
SET ROLE regress_pgt_alice;
SHOW search_path;
SELECT pgtrickle.create_stream_table('regress_pgt_alice.mine_st', 'SELECT v FROM mine', '1m', 'FULL');
SELECT * FROM regress_pgt_alice.mine_st;
RESET ROLE;
SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'mine_st';

-- if_not_exists: NOTICE and no change when the name exists
SELECT pgtrickle.create_stream_table_if_not_exists('order_totals', 'SELECT 1 AS x', '1m', 'FULL');
SELECT pgtrickle.create_stream_table_if_not_exists('orders', 'SELECT 1 AS x', '1m', 'FULL');
SELECT original_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'order_totals';
SELECT pgtrickle.create_stream_table_if_not_exists('new_one', 'SELECT id FROM orders', '1m', 'FULL');
SELECT pgt_test.check('new_one');

-- or_replace: creates, or changes only what differs
SELECT pgtrickle.create_or_replace_stream_table('replaced', 'SELECT id FROM orders WHERE id < 5', '1m', 'FULL');
SELECT 'replaced'::regclass::oid AS replaced_oid \gset
SELECT pgtrickle.create_or_replace_stream_table('replaced', 'SELECT id FROM orders WHERE id < 5', '1m', 'FULL');
SELECT count(*) AS refreshes FROM pgtrickle.get_refresh_history('replaced');
SELECT pgtrickle.create_or_replace_stream_table('replaced', 'SELECT id FROM orders WHERE id < 5', '2m', 'FULL');
SELECT schedule, count(*) AS refreshes FROM pgtrickle.pgt_stream_tables s
  JOIN pgtrickle.pgt_refresh_history USING (pgt_id) WHERE pgt_name = 'replaced' GROUP BY 1;
SELECT pgtrickle.create_or_replace_stream_table('replaced', 'SELECT id, customer FROM orders WHERE id < 8', '2m', 'FULL');
SELECT 'replaced'::regclass::oid = :replaced_oid AS same_oid, count(*) FROM replaced;
SELECT pgt_test.check('replaced');
SELECT pgt_test.err($$SELECT pgtrickle.create_or_replace_stream_table('orders', 'SELECT 1', '1m', 'FULL')$$);

-- errors: SQLSTATE, message, DETAIL and HINT (SPEC section 7)
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('order_totals', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('orders', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT id, row_number() OVER () FROM orders', '1m')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT o.id FROM orders o ORDER BY o.id LIMIT 3', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1', '1m', 'INCREMENTAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1', 'soon', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1', '0s', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1', '61 * * * *', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1', '1m', 'FULL', true, 'wal')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1', '1m', 'FULL', true, 'logical')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('"unterminated', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('a.b.c.d', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('a..b', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('nosuchschema.x', 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table(NULL, 'SELECT 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', NULL, '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'DELETE FROM orders', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1; SELECT 2', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', '', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELEC 1', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT * FROM no_such_table', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT no_such_column FROM orders', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT 1 INTO y', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT * FROM orders FOR UPDATE', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT id AS __pgt_row_id FROM orders', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT id, id FROM orders', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT $1', '1m', 'FULL')$$);
CREATE TEMP TABLE scratch (v int);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('x', 'SELECT v FROM scratch', '1m', 'FULL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('pg_temp.x', 'SELECT 1', '1m', 'FULL')$$);
-- nothing was left behind by the failures
SELECT count(*) FROM pg_class WHERE relname = 'x';
SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'x';

-- a query with a trailing semicolon and a comment is fine
SELECT pgtrickle.create_stream_table('commented', E'SELECT id FROM orders -- the ids\n;  ', '1m', 'FULL');
SELECT pgt_test.check('commented');
-- literal text, dollar quotes and comments pass through intact
SELECT pgtrickle.create_stream_table('quoted',
	$q$SELECT 'it''s' AS a, $x$dollar $ "quote"$x$ AS b, /* c */ 'x' || note AS c FROM orders WHERE note IS NOT NULL$q$,
	'1m', 'FULL');
SELECT a, b, count(*) FROM quoted GROUP BY 1, 2;
SELECT original_query FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'quoted';
SELECT pgt_test.refresh('quoted');

SELECT * FROM pgt_test.check_all();
