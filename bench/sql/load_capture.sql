-- The table of the capture-overhead measurements.  psql variable: n.
\set ON_ERROR_STOP 1
CREATE TABLE bench.cap (
    id   bigint        NOT NULL,
    grp  int           NOT NULL,
    v    numeric(12,2) NOT NULL,
    note text          NOT NULL
);
INSERT INTO bench.cap SELECT g, g % 1000, g % 97, 'row ' || g FROM generate_series(1, :n) g;
ALTER TABLE bench.cap ADD PRIMARY KEY (id);
VACUUM ANALYZE bench.cap;
