-- The NULL-extended rows of an outer join: a row of the preserved side
-- that a change of the other side touches is probed only when its number
-- of matches changed, and then once (src/delta/README.md, "Outer joins",
-- Cost).  Counted by the statistics of the other side: how often a
-- refresh reads it (sequential and index scans, rescans included).
\pset format unaligned
CREATE TABLE pr_k (id int PRIMARY KEY, name text);
CREATE TABLE pr_n (id int PRIMARY KEY, kid int, note text);
CREATE INDEX ON pr_n (kid);
INSERT INTO pr_k SELECT g, 'k' || g FROM generate_series(1, 60) g;
INSERT INTO pr_n SELECT g, 1 + g % 50, 'n' || g FROM generate_series(1, 200) g;   -- 51..60 unmatched
ANALYZE pr_k, pr_n;
SELECT pgtrickle.create_stream_table('pr_left',
	'SELECT k.id, k.name, n.note FROM pr_k k LEFT JOIN pr_n n ON n.kid = k.id', '1m', 'DIFFERENTIAL');

CREATE FUNCTION pr_reads() RETURNS bigint LANGUAGE sql AS $$
	SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relid = 'pr_n'::regclass
$$;
CREATE TABLE pr_mark (reads bigint);

-- every row of pr_n updated, join keys kept: each of the 50 touched rows of
-- pr_k keeps its number of matches, so nothing reads pr_n (before: one
-- count of its matches per touched row, twice)
UPDATE pr_n SET note = note || '+';
SELECT pg_stat_force_next_flush();
INSERT INTO pr_mark SELECT pr_reads();
SELECT pgtrickle.refresh_stream_table('pr_left');
SELECT pg_stat_force_next_flush();
SELECT pr_reads() - reads AS reads_of_pr_n FROM pr_mark;
SELECT pgt_test.drefresh('pr_left');

-- matches that come and go: every branch (d < 0, d > 0, d = 0), with
-- duplicates and rows that cancel in one change set
DELETE FROM pr_n WHERE kid IN (1, 2);                  -- 1, 2 lose every match
UPDATE pr_n SET kid = 51 WHERE id = 3;                 -- 4 loses one of four, 51 finds its first
INSERT INTO pr_n VALUES (1001, 52, 'a'), (1002, 52, 'b');   -- 52 finds two
INSERT INTO pr_n VALUES (1003, 53, 'c');
DELETE FROM pr_n WHERE id = 1003;                      -- cancels: 53 stays NULL-extended
UPDATE pr_n SET kid = 54 WHERE kid = 4;                -- 4 loses the other three, 54 gets them
SELECT pgt_test.drefresh('pr_left');
SELECT count(*) FILTER (WHERE note IS NULL) AS null_extended, count(*) AS n_rows FROM pr_left;
INSERT INTO pr_n VALUES (1004, 1, 'back');             -- 1 finds a match again
DELETE FROM pr_n WHERE kid = 51;                       -- 51 loses its only one
SELECT pgt_test.drefresh('pr_left');

SELECT pgtrickle.drop_stream_table('pr_left');
DROP FUNCTION pr_reads();
DROP TABLE pr_mark, pr_n, pr_k;
