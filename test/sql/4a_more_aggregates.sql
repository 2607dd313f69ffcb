-- More aggregates in DIFFERENTIAL refresh (src/delta/moreagg.c):
-- bool_and/bool_or/every merged from counts; DISTINCT aggregates, ORDER BY
-- inside aggregates, ordered-set aggregates, string_agg, array_agg,
-- json(b)_agg, json(b)_object_agg, variance/stddev/corr/regr, sum/avg over
-- floats and intervals recomputed for the groups a change touches.  Every
-- refresh is checked by the oracle and verify_stream_table
-- (pgt_test.drefresh), which also asserts that it ran DIFFERENTIAL.  Float
-- values are sums of powers of two small enough that every summation
-- order gives the same result, so the oracle compares them exactly (see
-- docs/differential.md, "Floating point").
SET client_min_messages = warning;
CREATE SCHEMA ma;
SET search_path = ma, public;

-- keyless (duplicates allowed), NULLs in every column
CREATE TABLE t (id int, g int, x int, b bool, f float8, r real, s text, n numeric, d date);
CREATE TABLE u (g int PRIMARY KEY, label text);
INSERT INTO t VALUES
	(1, 1, 1, true, 1.5, 0.25, 'a', 1.10, '2020-01-01'),
	(2, 1, 1, true, 2.5, 0.5, 'b', 2.20, '2020-01-02'),
	(3, 1, 2, false, -0.75, 1, 'b', NULL, NULL),
	(4, 2, 3, NULL, NULL, NULL, NULL, 3.00, '2021-06-30'),
	(5, 2, 3, true, 8, 2, 'c', 3.00, '2021-06-30'),
	(6, NULL, 5, false, 0.125, 4, 'd', 5, '1999-12-31'),
	(7, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO u VALUES (1, 'one'), (2, 'two'), (3, 'two');


-- DISTINCT aggregates: duplicates arriving and leaving
SELECT pgtrickle.create_stream_table('ma.dist', 'SELECT g, count(DISTINCT x) AS cd, sum(DISTINCT x) AS sd, avg(DISTINCT x) AS ad, count(*) AS n, min(DISTINCT s) AS ms FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- bool_and/bool_or/every (algebraic), with FILTER
SELECT pgtrickle.create_stream_table('ma.bools', 'SELECT g, bool_and(b) AS ba, bool_or(b) AS bo, every(b) AS ev, bool_or(b) FILTER (WHERE x > 1) AS bof, bool_and(x > 0) AS pos FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- variance over integers (algebraic: n, sum, sum of squares, PostgreSQL's
-- own formula and scales), stddev and over numeric (recomputed), over
-- floats rounded in the query (their value depends on the summation order)
SELECT pgtrickle.create_stream_table('ma.var', 'SELECT g, var_samp(x) AS vs, var_pop(x) AS vp, variance(x) FILTER (WHERE b) AS vf, var_pop(x * 1000003::int8) AS vbig, var_samp(x::int2) AS v2, stddev(x) AS sd, stddev_pop(n) AS sdn, variance(n) AS vn, round(stddev_samp(f)::numeric, 9) AS sdf, round(corr(f, x)::numeric, 9) AS c, round(covar_pop(f, x)::numeric, 9) AS cp, round(regr_slope(f, x)::numeric, 9) AS rs, regr_count(f, x) AS rc FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- sum/avg over double precision, real and interval; NaN and infinities
SELECT pgtrickle.create_stream_table('ma.fsum', 'SELECT g, sum(f) AS sf, avg(f) AS af, sum(r) AS sr, avg(r) AS ar, min(f) AS mf, sum(x * interval ''1 hour'') AS si FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- string_agg, array_agg with ORDER BY (ASC, DESC, NULLS FIRST, USING a
-- non-default operator), DISTINCT with ORDER BY
SELECT pgtrickle.create_stream_table('ma.strs', 'SELECT g, string_agg(s, '','' ORDER BY s, id) AS sa, string_agg(DISTINCT s, ''|'' ORDER BY s DESC) AS sd, array_agg(x ORDER BY x NULLS FIRST, id) AS ax, array_agg(s ORDER BY s USING ~>~, id) AS ap, array_agg(DISTINCT d ORDER BY d) AS ad FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- json aggregates over types whose JSON text is fixed
SELECT pgtrickle.create_stream_table('ma.js', 'SELECT g, json_agg(x ORDER BY id) AS jx, jsonb_agg(s ORDER BY id) AS js, jsonb_agg(d ORDER BY id) FILTER (WHERE d IS NOT NULL) AS jd, jsonb_object_agg(id, n) AS jo, json_object_agg(id, b ORDER BY id) AS jb FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- ordered-set aggregates
SELECT pgtrickle.create_stream_table('ma.osa', 'SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS med, percentile_disc(0.25) WITHIN GROUP (ORDER BY x DESC) AS q, mode() WITHIN GROUP (ORDER BY s) AS m, percentile_cont(ARRAY[0.1, 0.9]) WITHIN GROUP (ORDER BY f) AS pf FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
-- without GROUP BY: one row, also over no rows
SELECT pgtrickle.create_stream_table('ma.scalar', 'SELECT count(DISTINCT x) AS cd, bool_or(b) AS bo, string_agg(s, '','' ORDER BY s, id) AS sa, sum(f) AS sf, array_agg(DISTINCT x) AS ax FROM t', '1m', 'DIFFERENTIAL');
-- HAVING over a recomputed aggregate, FILTER, over a join, a group key
-- that is not in the select list, expressions over the aggregates
SELECT pgtrickle.create_stream_table('ma.having', 'SELECT g, count(DISTINCT x) AS cd FROM t GROUP BY g HAVING count(DISTINCT x) > 1 OR bool_or(b)', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ma.filter', 'SELECT g, count(DISTINCT x) FILTER (WHERE b) AS cdb, array_agg(x ORDER BY x, id) FILTER (WHERE x > 1) AS big FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ma.joined', 'SELECT u.label, count(DISTINCT t.x) AS cd, array_agg(DISTINCT t.s) AS sa, coalesce(sum(t.f), 0) * 2 AS f2 FROM t JOIN u ON u.g = t.g GROUP BY u.label', '1m', 'DIFFERENTIAL');
SELECT pgtrickle.create_stream_table('ma.hidden_key', 'SELECT string_agg(s, '';'' ORDER BY s, id) AS sa, bool_and(b) AS ba FROM t GROUP BY g', '1m', 'DIFFERENTIAL');
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT g, cd, sd, ad, n, ms FROM ma.dist ORDER BY g;
SELECT g, ba, bo, ev, bof, pos FROM ma.bools ORDER BY g;
SELECT g, sa, sd, ax, ap FROM ma.strs ORDER BY g;
SELECT g, med, q, m FROM ma.osa ORDER BY g;

-- explain_st says how each aggregate is maintained
SELECT value FROM pgtrickle.explain_st('ma.dist') WHERE property = 'aggregate_maintenance';
SELECT value FROM pgtrickle.explain_st('ma.bools') WHERE property = 'aggregate_maintenance';
SELECT value FROM pgtrickle.explain_st('ma.having') WHERE property = 'aggregate_maintenance';
SELECT value FROM pgtrickle.explain_st('ma.var') WHERE property = 'aggregate_maintenance';
SELECT g, vs, vp, vf, vbig, v2, sd FROM ma.var ORDER BY g;

-- duplicates of existing values arrive (distinct counts unchanged), new
-- values, NULLs
INSERT INTO t VALUES (8, 1, 1, true, 1.5, 0.25, 'a', 1.10, '2020-01-01'), (9, 1, 7, NULL, 0.5, 8, 'z', 7, '2020-01-05'),
	(10, 2, NULL, false, NULL, NULL, 'c', NULL, NULL);
SELECT * FROM pgt_test.drefresh_schema('ma');
-- one copy of a duplicate leaves (distinct values unchanged), then the last
DELETE FROM t WHERE id = 8;
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT g, cd, sd, n FROM ma.dist ORDER BY g;
DELETE FROM t WHERE id = 2;
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT g, cd, sd, n FROM ma.dist ORDER BY g;
-- group keys updated: rows move between groups, to NULL and back
UPDATE t SET g = 2 WHERE id IN (1, 9);
UPDATE t SET g = NULL WHERE id = 4;
UPDATE t SET g = 1 WHERE id = 6;
SELECT * FROM pgt_test.drefresh_schema('ma');
UPDATE t SET b = NOT b, s = upper(s) WHERE g = 2;
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT g, ba, bo, ev, bof, pos FROM ma.bools ORDER BY g;
SELECT g, vs, vp, vf, vbig, v2, sd FROM ma.var ORDER BY g;

-- NaN and infinities arrive in float sums and leave again
INSERT INTO t VALUES (11, 1, 1, true, 'NaN', 'Infinity', 'n', 'NaN', NULL), (12, 2, 2, true, 'Infinity', '-Infinity', 'i', 'Infinity', NULL),
	(13, 2, 2, true, '-Infinity', 1, 'j', 1, NULL);
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT g, sf, af, sr, ar, mf FROM ma.fsum ORDER BY g;
DELETE FROM t WHERE id IN (11, 12);
SELECT * FROM pgt_test.drefresh_schema('ma');
DELETE FROM t WHERE id = 13;
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT g, sf, af, sr, ar, mf FROM ma.fsum ORDER BY g;

-- a group's last row leaves; a change inside one refresh that cancels
DELETE FROM t WHERE g = 3;
INSERT INTO t VALUES (14, 1, 100, true, 1, 1, 'q', 1, NULL);
DELETE FROM t WHERE id = 14;
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT count(*) FROM ma.dist WHERE g = 3;

-- the join's other side changes: groups move between labels
UPDATE u SET label = 'one' WHERE g = 2;
SELECT * FROM pgt_test.drefresh_schema('ma');

-- empty input, then rows again
DELETE FROM t;
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT cd, bo, sa, sf, ax FROM ma.scalar;
SELECT count(*) FROM ma.dist;
INSERT INTO t VALUES (20, 5, 2, false, 0.5, 0.5, 'x', 2, '2022-02-02'), (21, 5, 2, true, 0.5, 0.5, 'x', 2, '2022-02-02');
SELECT * FROM pgt_test.drefresh_schema('ma');
SELECT cd, bo, sa, sf, ax FROM ma.scalar;

-- AUTO chooses DIFFERENTIAL for them now
SELECT pgtrickle.create_stream_table('ma.auto', 'SELECT g, count(DISTINCT x) AS cd FROM t GROUP BY g', '1m', 'AUTO');
SELECT refresh_mode FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'auto';

-- what stays refused names it precisely
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ma.x1', 'SELECT g, json_agg(f) AS j FROM t GROUP BY g', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ma.x2', 'SELECT g, jsonb_object_agg(s, x * interval ''1 hour'') AS j FROM t GROUP BY g', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ma.x3', 'SELECT g, percentile_cont(g / 10.0) WITHIN GROUP (ORDER BY x) AS p FROM t GROUP BY g', '1m', 'DIFFERENTIAL')$$);
SELECT pgt_test.err($$SELECT pgtrickle.create_stream_table('ma.x4', 'SELECT g, string_agg(s || now()::text, '','') AS s FROM t GROUP BY g', '1m', 'DIFFERENTIAL')$$);

SELECT pgtrickle.drop_stream_table('ma.' || pgt_name) FROM pgtrickle.pgt_stream_tables WHERE pgt_schema = 'ma' ORDER BY pgt_name;
DROP SCHEMA ma CASCADE;
