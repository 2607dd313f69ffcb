-- verify_stream_table under a nondeterministic (ICU) collation: the stored
-- representative of a DISTINCT group and the query's may differ in case,
-- they are one value.  Servers built without ICU skip this file (the
-- alternative expected output 97_verify_icu_1.out).
SELECT count(*) > 0 AS has_icu FROM pg_collation WHERE collname = 'und-x-icu' \gset
\if :has_icu
-- under a nondeterministic collation 'Alice' and 'alice' are one value
CREATE COLLATION v_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE v_names (id int PRIMARY KEY, name text COLLATE v_ci);
INSERT INTO v_names VALUES (1, 'Alice'), (2, 'alice'), (3, 'Bob');
SELECT pgtrickle.create_stream_table('v_names_distinct',
	'SELECT DISTINCT name FROM v_names', refresh_mode => 'DIFFERENTIAL');
DELETE FROM v_names WHERE name = 'Alice' COLLATE "C";
SELECT pgtrickle.refresh_stream_table('v_names_distinct');
SELECT count(*) AS rows, count(*) FILTER (WHERE name = 'ALICE') AS alices FROM v_names_distinct;
SELECT * FROM pgtrickle.verify_stream_table('v_names_distinct');

SELECT pgtrickle.drop_stream_table('v_names_distinct');
DROP TABLE v_names;
DROP COLLATION v_ci;
\else
SELECT 'skipped: this server has no ICU' AS verify_icu;
\endif
