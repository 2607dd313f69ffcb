-- Issue 15 item 8: what the differential engine does not maintain yet is
-- refused precisely: DIFFERENTIAL fails with 0A000 and a DETAIL naming the
-- construct, wherever it stands (top level, subquery in FROM, CTE, UNION ALL
-- branch, EXISTS subquery); AUTO falls back to FULL with that same reason
-- (explain_st's fallback_reason and the refresh history).
\pset format unaligned
CREATE TABLE rf_t (id int PRIMARY KEY, grp int, v int, arr int[]);
CREATE TABLE rf_u (id int PRIMARY KEY, grp int);
INSERT INTO rf_t VALUES (1, 1, 10, '{1,2}'), (2, 1, 20, '{3}'), (3, 2, 30, NULL), (4, NULL, NULL, '{}');
INSERT INTO rf_u VALUES (1, 1), (2, 2), (3, NULL);

-- rf_probe(sql): the refusal of DIFFERENTIAL, then what AUTO does with the
-- same query: its mode, fallback_reason, and the reason its first refresh
-- records; the stream table is dropped again.
CREATE FUNCTION pgt_test.rf_probe(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	refused text;
	mode text;
	fallback text;
	why text;
BEGIN
	refused := pgt_test.err(format('SELECT pgtrickle.create_stream_table(%L, %L, %L, %L)',
								   'rf_st', sql, '1m', 'DIFFERENTIAL'));
	SET LOCAL client_min_messages = warning;
	PERFORM pgtrickle.create_stream_table('rf_st', sql, '1m', 'AUTO');
	SELECT value INTO mode FROM pgtrickle.explain_st('rf_st') WHERE property = 'refresh_mode';
	SELECT value INTO fallback FROM pgtrickle.explain_st('rf_st') WHERE property = 'fallback_reason';
	PERFORM pgtrickle.refresh_stream_table('rf_st');
	SELECT r.reason INTO why
	  FROM pgtrickle.get_refresh_history('rf_st', 1) h
	  JOIN pgtrickle.pgt_refresh_history r USING (refresh_id);
	PERFORM pgtrickle.drop_stream_table('rf_st');
	RETURN split_part(refused, E'\n', 1) || E'\n' || split_part(refused, E'\n', 2)
		|| E'\nAUTO: ' || mode || ', fallback_reason: ' || fallback || ', refresh: ' || why;
END
$$;

-- window functions
SELECT pgt_test.rf_probe('SELECT id, sum(v) OVER (PARTITION BY grp) AS s FROM rf_t');
SELECT pgt_test.rf_probe('SELECT id, r FROM (SELECT id, row_number() OVER (ORDER BY v) AS r FROM rf_t) s WHERE r < 3');
SELECT pgt_test.rf_probe('WITH c AS (SELECT id, rank() OVER (ORDER BY v) AS r FROM rf_t) SELECT id, r FROM c');
SELECT pgt_test.rf_probe('SELECT id, 0::bigint AS r FROM rf_u UNION ALL SELECT id, row_number() OVER () FROM rf_t');
SELECT pgt_test.rf_probe('SELECT id FROM rf_u WHERE EXISTS (SELECT 1 FROM (SELECT grp, lag(v) OVER (ORDER BY id) AS l FROM rf_t) s WHERE s.grp = rf_u.grp)');

-- TopK: ORDER BY ... LIMIT, OFFSET, FETCH FIRST
SELECT pgt_test.rf_probe('SELECT id, v FROM rf_t ORDER BY v DESC LIMIT 2');
SELECT pgt_test.rf_probe('SELECT id, v FROM (SELECT id, v FROM rf_t ORDER BY v LIMIT 2) s');
SELECT pgt_test.rf_probe('WITH c AS (SELECT id FROM rf_t ORDER BY id FETCH FIRST 1 ROWS ONLY) SELECT id FROM c');
SELECT pgt_test.rf_probe('SELECT id FROM rf_u UNION ALL (SELECT id FROM rf_t ORDER BY id OFFSET 1)');
SELECT pgt_test.rf_probe('SELECT id FROM rf_u WHERE id IN (SELECT id FROM rf_t ORDER BY v LIMIT 1)');

-- set-returning functions in FROM (LATERAL: reading an earlier FROM item,
-- with or without the keyword) and in the select list; a plain function in FROM
SELECT pgt_test.rf_probe('SELECT id, u FROM rf_t, LATERAL unnest(arr) AS u');
SELECT pgt_test.rf_probe('SELECT id, u FROM rf_t, unnest(rf_t.arr) WITH ORDINALITY AS o(u, n)');
SELECT pgt_test.rf_probe('SELECT id, u FROM (SELECT id, u FROM rf_t CROSS JOIN LATERAL unnest(arr) u) s');
SELECT pgt_test.rf_probe('WITH c AS (SELECT id, g FROM rf_t, generate_series(1, rf_t.v) g) SELECT id, g FROM c');
SELECT pgt_test.rf_probe('SELECT id, 0 AS u FROM rf_u UNION ALL SELECT id, u FROM rf_t, LATERAL unnest(arr) u');
SELECT pgt_test.rf_probe('SELECT id, g FROM rf_t, generate_series(1, 3) g');
SELECT pgt_test.rf_probe('SELECT id, unnest(arr) AS u FROM rf_t');
SELECT pgt_test.rf_probe('SELECT id, x FROM rf_t, abs(-3) AS f(x)');

-- WITH RECURSIVE
SELECT pgt_test.rf_probe('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT rf_t.id, r.n FROM rf_t, r');
SELECT pgt_test.rf_probe('SELECT n FROM (WITH RECURSIVE r(n) AS (SELECT id FROM rf_t UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r) s');
SELECT pgt_test.rf_probe('SELECT id FROM rf_u UNION ALL SELECT n FROM (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r) s');

-- GROUPING SETS, ROLLUP, CUBE, and GROUPING() under a plain GROUP BY
SELECT pgt_test.rf_probe('SELECT grp, v, count(*) AS n FROM rf_t GROUP BY GROUPING SETS ((grp), (v))');
SELECT pgt_test.rf_probe('SELECT grp, sum(v) AS s FROM rf_t GROUP BY ROLLUP (grp)');
SELECT pgt_test.rf_probe('WITH c AS (SELECT grp, v, count(*) AS n FROM rf_t GROUP BY CUBE (grp, v)) SELECT grp, v, n FROM c');
SELECT pgt_test.rf_probe('SELECT grp, n FROM (SELECT grp, count(*) AS n FROM rf_t GROUP BY ROLLUP (grp)) s');
SELECT pgt_test.rf_probe('SELECT grp, 0::bigint AS n FROM rf_u UNION ALL SELECT grp, count(*) FROM rf_t GROUP BY GROUPING SETS ((grp), ())');
SELECT pgt_test.rf_probe('SELECT grp, count(*) AS n FROM rf_t GROUP BY GROUPING SETS ((grp), (grp))');
SELECT pgt_test.rf_probe('SELECT grp, GROUPING(grp) AS g, count(*) AS n FROM rf_t GROUP BY grp');
-- a single grouping set is a plain GROUP BY: maintained
SELECT pgtrickle.create_stream_table('rf_one_set', 'SELECT grp, count(*) AS n FROM rf_t GROUP BY GROUPING SETS ((grp))', '1m', 'DIFFERENTIAL');
INSERT INTO rf_t VALUES (5, 2, 50, NULL);
SELECT pgt_test.drefresh('rf_one_set');
SELECT pgt_test.check('rf_one_set');
SELECT pgtrickle.drop_stream_table('rf_one_set');

-- a text constant that reads as the engine's key hint (src/delta/README.md,
-- "The key hint"), here in a view a reader's grouped subquery reads: only
-- hints the engine makes are taken for one
CREATE VIEW rf_hinted AS SELECT grp, v FROM rf_t WHERE 'pg_trickle key hint: SELECT 1'::text IS NOT NULL;
SELECT pgt_test.rf_probe('SELECT grp, (SELECT sum(h.v) FROM rf_hinted h WHERE h.grp = u.grp) AS s FROM rf_u u');
DROP VIEW rf_hinted;

DROP FUNCTION pgt_test.rf_probe(text);
DROP TABLE rf_t, rf_u;
