-- verify_stream_table compares values with their own equality, not their
-- text: a numeric whose scale differs after a merge and float8 values
-- printed with extra_float_digits = 0 are judged by value (collations: see
-- 97_verify_icu); types without an equality operator (json) are compared by
-- text and shown as themselves.

-- a merged sum keeps the scale of its terms (1.5 - 1.5 = 0.0) while the
-- query's own sum of what is left is 0: equal values, not a difference
CREATE TABLE v_num (id int PRIMARY KEY, g int, v numeric);
INSERT INTO v_num VALUES (1, 1, 1.5), (2, 1, 0);
SELECT pgtrickle.create_stream_table('v_num_sum',
	'SELECT g, sum(v) AS s FROM v_num GROUP BY g', refresh_mode => 'DIFFERENTIAL');
DELETE FROM v_num WHERE id = 1;
SELECT pgtrickle.refresh_stream_table('v_num_sum');
SELECT s::text AS stored, (SELECT sum(v)::text FROM v_num) AS query FROM v_num_sum;
SELECT * FROM pgtrickle.verify_stream_table('v_num_sum');

-- distinct float8 values that print alike with extra_float_digits = 0 are
-- still distinct to verify: a stored value that differs is reported
CREATE TABLE v_f (id int PRIMARY KEY, x float8);
INSERT INTO v_f VALUES (1, 0.3);
SELECT pgtrickle.create_stream_table('v_f_rows', 'SELECT id, x FROM v_f',
	refresh_mode => 'DIFFERENTIAL');
-- tamper with the stored row the way only a superuser can
ALTER EVENT TRIGGER pgtrickle_guard_ddl_start DISABLE;
ALTER TABLE v_f_rows DISABLE TRIGGER ALL;
UPDATE v_f_rows SET x = 0.1::float8 + 0.2::float8;
ALTER TABLE v_f_rows ENABLE TRIGGER ALL;
ALTER EVENT TRIGGER pgtrickle_guard_ddl_start ENABLE;
SET extra_float_digits = 0;
SELECT x::text AS stored_prints_as FROM v_f_rows;
SELECT side, row_data->>'id' AS id FROM pgtrickle.verify_stream_table('v_f_rows') ORDER BY side;
RESET extra_float_digits;
SELECT side, row_data FROM pgtrickle.verify_stream_table('v_f_rows') ORDER BY side;

-- json has no equality operator (and no differential refresh): compared
-- by text, shown as json
CREATE TABLE v_doc (id int PRIMARY KEY, doc json, tags text[]);
INSERT INTO v_doc VALUES (1, '{"a": 1}', '{x,y}'), (2, '[1, 2]', NULL);
SELECT pgtrickle.create_stream_table('v_doc_rows', 'SELECT id, doc, tags FROM v_doc',
	refresh_mode => 'FULL');
UPDATE v_doc SET doc = '{"a": 2}' WHERE id = 1;
SELECT * FROM pgtrickle.verify_stream_table('v_doc_rows');
SELECT id, doc FROM v_doc_rows ORDER BY id;

-- a column named like the alias verify uses internally is still compared
CREATE TABLE v_alias (x int, d int, c1 int);
INSERT INTO v_alias VALUES (1, 2, 3);
SELECT pgtrickle.create_stream_table('v_alias_rows', 'SELECT x, d, c1 FROM v_alias',
	refresh_mode => 'DIFFERENTIAL');
SELECT * FROM pgtrickle.verify_stream_table('v_alias_rows');

SELECT pgtrickle.drop_stream_table(n) FROM unnest(ARRAY['v_num_sum',
	'v_f_rows', 'v_doc_rows', 'v_alias_rows']) n;
DROP TABLE v_num, v_f, v_doc, v_alias;
