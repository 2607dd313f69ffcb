-- The fact table: bench.t (refresh targets, writers) or bench.sc_t
-- (scaling).  psql variables: tbl, n.  dim references bench.dims (random),
-- grp has 10k distinct values.  Keys and the indexes on dim and grp are
-- built after loading: dim is the join key, grp the grouping key of the
-- group query, whose min/max re-read a group by it (docs/differential.md,
-- "What to index").
\set ON_ERROR_STOP 1
SELECT setseed(0.17);
DROP TABLE IF EXISTS :tbl;
CREATE TABLE :tbl (
    id   bigint        NOT NULL,
    dim  int           NOT NULL,
    grp  int           NOT NULL,
    val  numeric(12,2) NOT NULL,
    note text          NOT NULL
);
INSERT INTO :tbl
SELECT g, 1 + floor(random() * bench.size('dims'))::int, floor(random() * 10000)::int,
       round((random() * 1000)::numeric, 2), 'row ' || g
  FROM generate_series(1, :n) g;
ALTER TABLE :tbl ADD PRIMARY KEY (id);
CREATE INDEX ON :tbl (dim);
CREATE INDEX ON :tbl (grp);
VACUUM ANALYZE :tbl;
INSERT INTO bench.sizes VALUES (regexp_replace(:'tbl', '^bench\.', ''), :n)
ON CONFLICT (name) DO UPDATE SET n = excluded.n;
