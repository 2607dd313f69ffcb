-- The dimension sources of the refresh targets (and of the scaling join):
-- zones and dims.  psql variables: n_zones, n_dims.  Ordinary (logged)
-- tables; keys and indexes are built after loading.
\set ON_ERROR_STOP 1
SELECT setseed(0.42);

CREATE TABLE bench.zones (
    id   int  NOT NULL,
    name text NOT NULL
);
INSERT INTO bench.zones SELECT g, 'zone ' || g FROM generate_series(1, :n_zones) g;

CREATE TABLE bench.dims (
    id   int  NOT NULL,
    cat  int  NOT NULL,
    name text NOT NULL,
    zone int  NOT NULL
);
INSERT INTO bench.dims
SELECT g, g % 20, 'dim ' || g, 1 + floor(random() * :n_zones)::int
  FROM generate_series(1, :n_dims) g;

INSERT INTO bench.sizes VALUES ('zones', :n_zones), ('dims', :n_dims);

ALTER TABLE bench.zones ADD PRIMARY KEY (id);
ALTER TABLE bench.dims ADD PRIMARY KEY (id);
VACUUM ANALYZE bench.zones, bench.dims;
