-- Differential refresh of aggregates: GROUP BY with count, sum, avg, min,
-- max and FILTER; HAVING; aggregates without GROUP BY; DISTINCT; NULL keys.
\pset format unaligned
CREATE TABLE a_sale (id int PRIMARY KEY, shop text, item text, qty int, price numeric(8,2), day date);
INSERT INTO a_sale SELECT g, 's' || (g % 5), CASE WHEN g % 11 = 0 THEN NULL ELSE 'i' || (g % 7) END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE g % 10 END, (g % 37) * 1.5, date '2026-01-01' + g % 20
  FROM generate_series(1, 500) g;

SELECT pgtrickle.create_stream_table('a_groups',
	'SELECT shop, item, count(*) AS n, count(qty) AS nq, sum(qty) AS total, avg(price) AS avg_price,
	        min(price) AS lo, max(day) AS last_day,
	        count(*) FILTER (WHERE qty > 5) AS big, sum(price) FILTER (WHERE item = ''i1'') AS i1_sales
	   FROM a_sale GROUP BY shop, item', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('a_expr',
	'SELECT upper(shop) AS shop, sum(qty) * 2 AS doubled, round(avg(qty), 2) AS avg_qty, count(*) - count(qty) AS missing
	   FROM a_sale GROUP BY upper(shop)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('a_having',
	'SELECT item, sum(qty) AS total FROM a_sale GROUP BY item HAVING count(*) > 70', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('a_scalar',
	'SELECT count(*) AS n, sum(qty) AS total, avg(qty) AS mean, min(day) AS first_day, max(price) AS top FROM a_sale',
	'1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('a_distinct', 'SELECT DISTINCT shop, item FROM a_sale', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('a_hidden_key',
	'SELECT sum(qty) AS total FROM a_sale GROUP BY day', '1m', 'DIFFERENTIAL');
SELECT attname FROM pg_attribute WHERE attrelid = 'a_groups'::regclass AND attnum > 0 ORDER BY attnum;

INSERT INTO a_sale VALUES (501, 's1', 'i1', 9, 99.5, '2026-02-01'), (502, 's9', 'new', NULL, 1, '2026-01-05'),
                          (503, NULL, NULL, 3, 2, NULL);
UPDATE a_sale SET qty = qty + 1 WHERE id % 7 = 0;
UPDATE a_sale SET shop = 's0' WHERE id BETWEEN 10 AND 20;
UPDATE a_sale SET item = NULL WHERE id = 30;
UPDATE a_sale SET price = 0 WHERE id IN (SELECT id FROM a_sale WHERE shop = 's2' ORDER BY price DESC LIMIT 3);
DELETE FROM a_sale WHERE id % 23 = 0;
SELECT pgt_test.drefresh('a_groups'), pgt_test.drefresh('a_expr'), pgt_test.drefresh('a_having'),
       pgt_test.drefresh('a_scalar'), pgt_test.drefresh('a_distinct'), pgt_test.drefresh('a_hidden_key');

-- the minimum of a group goes away: recomputed from the source
SELECT lo FROM a_groups WHERE shop = 's1' AND item = 'i1';
DELETE FROM a_sale WHERE shop = 's1' AND item = 'i1'
   AND price = (SELECT min(price) FROM a_sale WHERE shop = 's1' AND item = 'i1');
SELECT pgt_test.drefresh('a_groups');
SELECT lo FROM a_groups WHERE shop = 's1' AND item = 'i1';

-- a group that empties disappears; HAVING groups come and go
DELETE FROM a_sale WHERE shop = 's9';
INSERT INTO a_sale SELECT 600 + g, 's3', 'i2', 1, 1, '2026-03-01' FROM generate_series(1, 40) g;
SELECT pgt_test.drefresh('a_groups'), pgt_test.drefresh('a_having'), pgt_test.drefresh('a_distinct');
SELECT count(*) FROM a_groups WHERE shop = 's9';
SELECT item FROM a_having ORDER BY item;

-- NULL group keys are groups like any other
SELECT shop, item, n FROM a_groups WHERE shop IS NULL OR item IS NULL ORDER BY shop, item;

-- everything deleted: grouped tables empty, the scalar one shows what the query shows
DELETE FROM a_sale;
SELECT pgt_test.drefresh('a_groups'), pgt_test.drefresh('a_expr'), pgt_test.drefresh('a_having'),
       pgt_test.drefresh('a_scalar'), pgt_test.drefresh('a_distinct'), pgt_test.drefresh('a_hidden_key');
SELECT count(*) FROM a_groups;
SELECT * FROM a_scalar;
INSERT INTO a_sale VALUES (1, 's1', 'i1', 4, 10, '2026-05-05');
SELECT pgt_test.drefresh('a_scalar'), pgt_test.drefresh('a_groups'), pgt_test.drefresh('a_expr'),
       pgt_test.drefresh('a_having'), pgt_test.drefresh('a_distinct'), pgt_test.drefresh('a_hidden_key');
SELECT n, total, mean, first_day, top FROM a_scalar;

-- the delta reaches a large source only through its index
CREATE TABLE a_big (id int PRIMARY KEY, grp int, v int);
INSERT INTO a_big SELECT g, g % 1000, g % 97 FROM generate_series(1, 100000) g;
CREATE INDEX ON a_big (grp);
CREATE TABLE a_dim (grp int PRIMARY KEY, label text);
INSERT INTO a_dim SELECT g, 'l' || (g % 10) FROM generate_series(0, 999) g;
ANALYZE a_big, a_dim;
SELECT pgtrickle.create_stream_table('a_join_agg',
	'SELECT d.label, count(*) AS n, sum(b.v) AS total, avg(b.v) AS mean FROM a_big b JOIN a_dim d ON d.grp = b.grp GROUP BY d.label',
	'1m', 'DIFFERENTIAL');
UPDATE a_big SET v = v + 1 WHERE id IN (5, 500, 5000);
UPDATE a_dim SET label = 'moved' WHERE grp = 7;
CREATE FUNCTION pgt_test.seq_scans(st text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	-- as a refresh plans it (src/refresh/README.md)
	PERFORM set_config('random_page_cost', '1.1', true);
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || (SELECT value FROM pgtrickle.explain_st(st)
	                                      WHERE property = 'differential_refresh_sql') INTO plan;
	RETURN QUERY SELECT DISTINCT n->>'Relation Name'
	  FROM jsonb_path_query(plan::jsonb, 'strict $.**') AS p(n)
	 WHERE jsonb_typeof(n) = 'object' AND n->>'Node Type' = 'Seq Scan' ORDER BY 1;
END $$;
-- no sequential scan of the large table in the delta
SELECT count(*) AS seq_scans_of_a_big FROM pgt_test.seq_scans('a_join_agg') s WHERE s = 'a_big';
SELECT pgt_test.drefresh('a_join_agg');

-- explain_st tells the mode and shows the statement
SELECT property, value IS NOT NULL AS has_value FROM pgtrickle.explain_st('a_groups')
 WHERE property IN ('refresh_mode', 'differential_supported', 'differential_refresh_sql');

SELECT * FROM pgt_test.check_all();
