-- The writers scenario: one of a mix of single-row writes on bench.t per
-- transaction (pgbench -f, with -D rows=<size of t> -D dims=<size of dims>):
-- 60 % updates (30 % of them move the row to another group and dimension
-- row), 20 % inserts (new keys from bench.t_new_id), 20 % deletes.
\set id random(1, :rows)
\set r random(1, 100)
\set g random(0, 9999)
\set d random(1, :dims)
\if :r <= 18
UPDATE bench.t SET val = val + 1, grp = :g, dim = :d WHERE id = :id;
\elif :r <= 60
UPDATE bench.t SET val = val + 1, note = 'w ' || :id WHERE id = :id;
\elif :r <= 80
INSERT INTO bench.t VALUES (nextval('bench.t_new_id'), :d, :g, :r, 'w new');
\else
DELETE FROM bench.t WHERE id = :id;
\endif
