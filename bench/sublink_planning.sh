#!/usr/bin/env bash
# Planning time of the differential delta statement of queries with
# rewritten sublinks (IN as a value, scalar subqueries without an
# aggregate; src/delta/sublink.c, scalar.c), on tiny tables: what a new
# session pays for its first refresh of each (docs/performance.md,
# "Planning the delta statement of rewritten sublinks").
#
#   PG_CONFIG=... bench/sublink_planning.sh [REPS]
#
# Benchmarks what is installed into PG_CONFIG's tree (no build).  Starts a
# throwaway server in a fresh /tmp/pg_trickle-sublinkbench.XXXXXX (removed
# at the end), creates the stream tables of test/sql/4m_sublinks_anywhere
# that have IN as a value or a scalar subquery without an aggregate, plus
# "two" (two scalar subqueries over the same rows), "mixed" (an IN as a
# value and a scalar subquery) and, with BENCH_FIVE=1, "five": three
# IN-as-value and two scalar subqueries at one level (its delta statement
# is exponential in the number of joins: see docs/performance.md), makes
# a change on every source, and prints per stream table: the time of
# create_stream_table (parse, check, first fill), the length of the delta
# statement, its LEFT JOINs, and the planner's time for it (EXPLAIN
# (SUMMARY), best of REPS, each in a new session so no plan is cached).
set -euo pipefail
export LC_ALL=C
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
reps=${1:-3}
dir=$(mktemp -d /tmp/pg_trickle-sublinkbench.XXXXXX)
chmod 755 "$dir"
give_to_server_user "$dir"
trap 'stop_test_cluster "$dir"; rm -rf "$dir"' EXIT
start_test_cluster "$dir" 55800 "pg_trickle.enabled = off" "jit = off"
psql=("$("$PG_CONFIG" --bindir)/psql" -X -q -v ON_ERROR_STOP=1 -d postgres)

"${psql[@]}" <<'EOT'
SET client_min_messages = warning;
CREATE EXTENSION pg_trickle;
CREATE SCHEMA sa;
SET search_path = sa, public;
CREATE TABLE o (id int PRIMARY KEY, k int, cid int, flag bool);
CREATE TABLE n (k int, v int);
CREATE TABLE cust (id int, name text, vip bool);
CREATE TABLE m (k int, v int);
CREATE TABLE p (id int, price int);
CREATE INDEX ON n (k);
CREATE INDEX ON cust (id);
CREATE INDEX ON m (k);
CREATE INDEX ON p (id);
INSERT INTO o VALUES (1, 1, 1, false), (2, 2, 2, true), (3, 3, NULL, false), (4, NULL, 3, false),
                     (5, 1, 4, NULL), (6, 7, 1, false);
INSERT INTO n VALUES (1, 10), (1, 10), (2, 7), (NULL, 3), (5, NULL), (3, 1);
INSERT INTO cust VALUES (1, 'ann', true), (2, 'bob', false), (3, NULL, NULL), (9, 'x', true);
INSERT INTO m VALUES (1, 1), (2, NULL), (3, 3);
INSERT INTO p VALUES (1, 10), (2, 20), (3, 30);
CREATE FUNCTION plan_ms(sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
	EXECUTE 'EXPLAIN (SUMMARY ON, FORMAT JSON) ' || sql INTO j;
	RETURN (j -> 0 ->> 'Planning Time')::float8;
END $$;
CREATE TABLE bench_queries (name text PRIMARY KEY, q text);
INSERT INTO bench_queries VALUES
 ('in_sel', 'SELECT o.id, o.k IN (SELECT n.v FROM n WHERE n.k = o.cid) AS i FROM o'),
 ('notin_sel', 'SELECT o.id, o.k NOT IN (SELECT n.v FROM n) AS ni FROM o'),
 ('any_sel', 'SELECT o.id, o.k = ANY (SELECT n.k FROM n WHERE n.v > 5) AS a FROM o'),
 ('name', 'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name FROM o'),
 ('vip', 'SELECT o.id FROM o WHERE (SELECT c.vip FROM cust c WHERE c.id = o.cid) OR o.flag'),
 ('two', 'SELECT o.id, (SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, '
         '(SELECT c.vip FROM cust c WHERE c.id = o.cid) AS vip FROM o'),
 ('mixed', 'SELECT o.id, o.k IN (SELECT n.v FROM n WHERE n.k = o.cid) AS i, '
           '(SELECT c.name FROM cust c WHERE c.id = o.cid) AS name FROM o'),
 ('five', 'SELECT o.id, o.k IN (SELECT n.v FROM n WHERE n.k = o.cid) AS i1, '
          'o.cid NOT IN (SELECT m.v FROM m) AS i2, '
          'o.k IN (SELECT p.price / 10 FROM p WHERE p.id = o.cid) AS i3, '
          '(SELECT c.name FROM cust c WHERE c.id = o.cid) AS name, '
          '(SELECT p.price FROM p WHERE p.id = o.k) AS price FROM o');
EOT

printf '%-10s %10s %8s %6s %12s\n' name create_ms sql_len joins plan_ms
for name in in_sel notin_sel any_sel name vip two mixed ${BENCH_FIVE:+five}; do
	create_ms=$("${psql[@]}" -At 2>/dev/null <<EOT | tail -1
SET client_min_messages = warning;
SET search_path = sa, public;
SET statement_timeout = '30s';
SELECT clock_timestamp() AS t0 \gset
SELECT pgtrickle.create_stream_table('sa.$name', (SELECT q FROM sa.bench_queries WHERE name = '$name'), '1m', 'DIFFERENTIAL');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000);
EOT
) || create_ms='>30000'
	if [[ $create_ms == '>30000' ]]; then
		printf '%-10s %10s\n' "$name" "$create_ms"
		continue
	fi
	# a change on every source, so that every delta term is in the statement
	"${psql[@]}" -c "INSERT INTO sa.o VALUES (100 + (SELECT count(*) FROM sa.o), 1, 1, true);
		INSERT INTO sa.n VALUES (1, 1); INSERT INTO sa.cust VALUES (5 + (SELECT count(*) FROM sa.cust), 'c', true);
		INSERT INTO sa.m VALUES (4, 4); INSERT INTO sa.p VALUES (4, 40);"
	best=''
	for ((r = 0; r < reps; r++)); do
		out=$("${psql[@]}" -At <<EOT
SELECT value AS sql FROM pgtrickle.explain_st('sa.$name') WHERE property = 'differential_refresh_sql' \gset
SELECT length(:'sql'), (SELECT count(*) FROM regexp_matches(:'sql', 'LEFT JOIN', 'g'));
SELECT sa.plan_ms(:'sql');
EOT
)
		len=$(sed -n 1p <<<"$out" | cut -d'|' -f1)
		joins=$(sed -n 1p <<<"$out" | cut -d'|' -f2)
		ms=$(sed -n 2p <<<"$out")
		if [[ -z $best ]] || awk "BEGIN{exit !($ms < $best)}"; then best=$ms; fi
	done
	printf '%-10s %10s %8s %6s %12s\n' "$name" "$create_ms" "$len" "$joins" "$best"
	"${psql[@]}" -c "SELECT pgtrickle.refresh_stream_table('sa.$name')" >/dev/null
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
