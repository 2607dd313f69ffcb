-- Single-row UPDATE by primary key (pgbench -f, with -D rows=<table size>).
\set id random(1, :rows)
UPDATE bench.cap SET v = v + 1 WHERE id = :id;
