#!/usr/bin/env bash
# Show pg_trickle at work: install what is needed, build and install the
# extension, start a throwaway PostgreSQL 15 server in .demo/ (git-ignored)
# and run a short narrated psql session with stream tables.  The server
# keeps running afterwards so you can connect and try things.
#
#   scripts/demo.sh [--no-deps] [--no-build]   fresh demo (replaces an old one)
#   scripts/demo.sh stop                       stop the demo server
#   scripts/demo.sh clean                      stop it and delete its files
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOT'
usage: scripts/demo.sh [--no-deps] [--no-build]
       scripts/demo.sh stop | clean

  (no command)  install deps, build, install, start a fresh demo server, run the demo
  stop          stop the demo server (its files stay until the next run)
  clean         stop the demo server and delete its files
  --no-deps     do not check/install Debian packages (scripts/deps.sh)
  --no-build    do not run make / make install
EOT
}

# .demo/ in the checkout holds the cluster.  When the server user cannot
# reach the checkout (for example a checkout under /root), the cluster goes
# to /tmp instead and .demo/location says where.
state=$PGT_ROOT/.demo

cluster_dir() {
	if [[ -f $state/location ]]; then cat "$state/location"; else echo "$state"; fi
}

stop_server() {
	local dir
	dir=$(cluster_dir)
	if [[ -f $dir/data/postmaster.pid ]]; then
		section "Stopping the demo server in $dir"
		as_server_user "$dir" "$(pg_bin pg_ctl)" stop -D "$dir/data" -m fast -w >/dev/null ||
			warn "could not stop the server in $dir (see $dir/server.log)"
	fi
}

remove_cluster() {
	local dir
	dir=$(cluster_dir)
	# Only ever delete what this script created.
	if [[ $dir == /tmp/pg_trickle-demo.* && -d $dir ]]; then
		rm -rf "$dir"
	fi
	rm -rf "$state"
}

do_deps=1 do_build=1 cmd=start
while (($#)); do
	case $1 in
	stop | clean) cmd=$1 ;;
	--no-deps) do_deps=0 ;;
	--no-build) do_build=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
	shift
done

cd "$PGT_ROOT"

case $cmd in
stop)
	check_pg_config
	stop_server
	echo "demo server stopped; scripts/demo.sh starts a fresh one"
	exit 0
	;;
clean)
	check_pg_config
	stop_server
	remove_cluster
	echo "demo files removed"
	exit 0
	;;
esac

# --- prepare --------------------------------------------------------------

if ((do_deps)); then
	section "Checking dependencies (scripts/deps.sh)"
	scripts/deps.sh
fi
check_pg_config
if ((do_build)); then
	build_and_install
fi
extension_installed || die "pg_trickle is not installed (run without --no-build)"

# An old demo server is stopped and its cluster removed: each run starts fresh.
stop_server
remove_cluster

section "Creating a throwaway cluster"
mkdir -p "$state"
chmod 700 "$state"
give_to_server_user "$state"
dir=$state
# A unix socket path must fit in 107 bytes: "<dir>/.s.PGSQL.NNNNN".
if ! server_user_can_write "$dir" || ((${#dir} > 80)); then
	dir=$(mktemp -d /tmp/pg_trickle-demo.XXXXXX)
	give_to_server_user "$dir"
	echo "$dir" >"$state/location"
	note "the checkout is not usable by the '$(server_user)' OS user (or its path is too long for a socket),"
	note "so the cluster lives in $dir instead"
fi

port=$(free_port 55432 "$dir")
note "directory: $dir"
note "port:      $port (unix socket in the directory; TCP on localhost only)"

if ! as_server_user "$dir" "$(pg_bin initdb)" -D "$dir/data" -U postgres \
	--auth-local=trust --auth-host=scram-sha-256 --no-locale -E UTF8 \
	>"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	die "initdb failed"
fi

# Settings on top of initdb's defaults.  Local connections through the socket
# (in a directory only the server user and root can enter) need no password;
# TCP connections need one, and none is set.
sq_dir=${dir//\'/\'\'}
cat >>"$dir/data/postgresql.conf" <<EOF

# --- pg_trickle demo (scripts/demo.sh) ---
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$sq_dir'
shared_preload_libraries = 'pg_trickle'
lc_messages = 'C'
EOF

section "Starting the server"
if ! as_server_user "$dir" "$(pg_bin pg_ctl)" start -D "$dir/data" -l "$dir/server.log" -w -t 60 >/dev/null; then
	tail -n 30 "$dir/server.log" >&2 || true
	die "the demo server did not start (log: $dir/server.log)"
fi
note "running (log: $dir/server.log)"

# --- the narrated session ---------------------------------------------------

section "Demo session (psql; each statement is shown before its result)"
# Steps 1-13 refresh by hand (schedules of a minute keep the scheduler out of
# the way, so the history shown is exactly what the steps did); step 14
# shortens the schedules and lets the scheduler keep the tables fresh.
if ! "$(pg_bin psql)" -X -h "$dir" -p "$port" -U postgres -d postgres \
	-v ON_ERROR_STOP=1 -P pager=off --echo-queries <<'SQL'; then
\set VERBOSITY default
\echo
\echo '### 1. Two ordinary tables: customers and their orders'
CREATE TABLE customers (
    id     int PRIMARY KEY,
    name   text NOT NULL,
    region text NOT NULL
);
CREATE TABLE orders (
    id          int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers,
    amount      numeric(10,2) NOT NULL
);
\echo '    An index on the join key: differential refreshes look orders up by customer.'
CREATE INDEX ON orders (customer_id);
INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Grace', 'US'), (3, 'Linus', 'EU');
INSERT INTO orders VALUES (1, 1, 120.00), (2, 1, 35.50), (3, 2, 99.99), (4, 3, 10.00);

\echo
\echo '### 2. Load the extension (its library is in shared_preload_libraries)'
CREATE EXTENSION pg_trickle;

\echo
\echo '### 3. A stream table: a table defined by a query, filled when it is created.'
\echo '    Its refresh mode is DIFFERENTIAL, the default: from now on pg_trickle captures'
\echo '    the changes of customers and orders, and a refresh applies only those.'
SELECT pgtrickle.create_stream_table(
    'customer_totals',
    $$SELECT c.id AS customer_id, c.name, c.region,
             count(*) AS order_count, sum(o.amount) AS revenue
        FROM customers c JOIN orders o ON o.customer_id = c.id
       GROUP BY c.id, c.name, c.region$$,
    schedule => '1m');
SELECT customer_id, name, region, order_count, revenue FROM customer_totals ORDER BY customer_id;
\echo '    It also has hidden __pgt_* columns (row identity, aggregate state), so name the'
\echo '    columns you select rather than using *:'
SELECT string_agg(attname, ', ' ORDER BY attnum) AS all_columns
  FROM pg_attribute
 WHERE attrelid = 'customer_totals'::regclass AND attnum > 0 AND NOT attisdropped;

\echo
\echo '### 4. A stream table that reads another stream table, DIFFERENTIAL as well:'
\echo '    what a refresh of customer_totals applies is captured like any change.'
SELECT pgtrickle.create_stream_table(
    'region_totals',
    $$SELECT region, count(*) AS customers,
             sum(order_count) AS orders, sum(revenue) AS revenue
        FROM customer_totals
       GROUP BY region$$,
    schedule => '1m');
SELECT region, customers, orders, revenue FROM region_totals ORDER BY region;

\echo
\echo '### 5. Not every query can be maintained differentially.  Counting customers without'
\echo '    orders too (an outer join) can be; ranking them (a window function) is refused in'
\echo '    DIFFERENTIAL mode, naming why ...'
DO $$
DECLARE
    detail text;
    hint text;
BEGIN
    PERFORM pgtrickle.create_stream_table(
        'customer_activity',
        $q$SELECT c.id AS customer_id, c.name, count(o.id) AS order_count,
                  rank() OVER (ORDER BY count(o.id) DESC) AS activity_rank
             FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
            GROUP BY c.id, c.name$q$);
    RAISE EXCEPTION 'a window function was accepted for DIFFERENTIAL refresh';
EXCEPTION WHEN feature_not_supported THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'refused (SQLSTATE %): %', SQLSTATE, SQLERRM
        USING DETAIL = detail, HINT = hint;
END $$;
\echo '    ... and with refresh_mode => AUTO it becomes a FULL stream table, with a NOTICE.'
\echo '    It is recomputed at every refresh: the contrast to the two above.'
SELECT pgtrickle.create_stream_table(
    'customer_activity',
    $$SELECT c.id AS customer_id, c.name, count(o.id) AS order_count,
             rank() OVER (ORDER BY count(o.id) DESC) AS activity_rank
        FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
       GROUP BY c.id, c.name$$,
    schedule     => '1m',
    refresh_mode => 'AUTO');
SELECT pgt_name, refresh_mode, requested_refresh_mode, fallback_reason
  FROM pgtrickle.pgt_stream_tables ORDER BY pgt_id;

\echo
\echo '### 6. Change the sources: a new customer, new orders, an update, a delete'
INSERT INTO customers VALUES (4, 'Barbara', 'US');
INSERT INTO orders VALUES (5, 4, 250.00), (6, 2, 15.00);
UPDATE orders SET amount = 40.00 WHERE id = 2;
DELETE FROM orders WHERE id = 4;
\echo '    Triggers copied the changed rows into change buffers, one per source'
\echo '    (an UPDATE is captured as its old and its new row):'
SELECT string_agg(format('SELECT %L AS source, count(*) AS captured_changes FROM pgtrickle_changes.%I',
                         c.relname, 'changes_' || c.oid), ' UNION ALL ' ORDER BY c.relname)
  FROM pg_class c WHERE c.oid IN ('customers'::regclass, 'orders'::regclass) \gexec
\echo '    The stream tables still hold the result of their last refresh:'
SELECT customer_id, name, region, order_count, revenue FROM customer_totals ORDER BY customer_id;

\echo
\echo '### 7. Refresh by hand, upstream table first.  (The background scheduler does this'
\echo '    on each table''s schedule: see step 14.)'
SELECT pgtrickle.refresh_stream_table('customer_totals');
SELECT pgtrickle.refresh_stream_table('region_totals');
SELECT pgtrickle.refresh_stream_table('customer_activity');
SELECT customer_id, name, region, order_count, revenue FROM customer_totals ORDER BY customer_id;
SELECT region, customers, orders, revenue FROM region_totals ORDER BY region;
SELECT customer_id, name, order_count FROM customer_activity ORDER BY customer_id;

\echo
\echo '### 8. The refresh history says what each refresh did and why: the DIFFERENTIAL'
\echo '    tables applied their pending changes (a changed row counts as one deleted and'
\echo '    one inserted), the FULL one recomputed everything.  The 6 changes of region_totals'
\echo '    applied are the rows the refresh of customer_totals deleted and inserted.'
SELECT h.refresh_id, s.pgt_name, h.action, h.reason, h.rows_inserted, h.rows_deleted
  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 ORDER BY h.refresh_id;

\echo
\echo '### 9. Refresh again with nothing changed: NO_DATA, nothing to apply.'
SELECT pgtrickle.refresh_stream_table('customer_totals');
SELECT pgtrickle.refresh_stream_table('region_totals');
SELECT h.refresh_id, s.pgt_name, h.action, h.reason, h.rows_inserted, h.rows_deleted
  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 ORDER BY h.refresh_id DESC LIMIT 2;

\echo
\echo '### 10. Verify: refresh, then compare with the query.  No rows = consistent.'
SELECT * FROM pgtrickle.verify_stream_table('customer_totals');
SELECT * FROM pgtrickle.verify_stream_table('region_totals');
SELECT * FROM pgtrickle.verify_stream_table('customer_activity');

\echo
\echo '### 11. Stream tables are read-only, and their sources are protected'
DO $$
BEGIN
    DELETE FROM customer_totals;
    RAISE EXCEPTION 'the stream table accepted a DELETE';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE NOTICE 'DELETE refused (SQLSTATE %): %', SQLSTATE, SQLERRM;
END $$;
DO $$
DECLARE
    detail text;
BEGIN
    DROP TABLE orders;
    RAISE EXCEPTION 'a source table was dropped';
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'DROP TABLE refused (SQLSTATE %): %', SQLSTATE, SQLERRM
        USING DETAIL = detail;
END $$;

\echo
\echo '### 12. How each table is refreshed: explain_st.  (Its differential_refresh_sql is'
\echo '    the statement a differential refresh runs; EXPLAIN it to check index use.)'
SELECT t.name, e.property, e.value
  FROM (VALUES (1, 'region_totals'), (2, 'customer_activity')) AS t(n, name),
       LATERAL pgtrickle.explain_st(t.name) WITH ORDINALITY AS e(property, value, i)
 WHERE e.property IN ('refresh_mode', 'requested_refresh_mode', 'sources',
                      'differential_supported', 'fallback_reason')
 ORDER BY t.n, e.i;

\echo
\echo '### 13. Monitoring: statistics per stream table, and overall health'
SELECT pgt_name, refresh_mode, status, last_action, total_refreshes,
       total_rows_inserted, total_rows_deleted, stale
  FROM pgtrickle.pg_stat_stream_tables ORDER BY pgt_id;
SELECT * FROM pgtrickle.quick_health;

\echo
\echo '### 14. Stream tables that keep themselves fresh.  The background scheduler (a'
\echo '    launcher, one scheduler per database, refresh workers) refreshes each table'
\echo '    on its schedule, upstream first.  Refresh region_totals every 2 seconds, and'
\echo '    let customer_totals, which it reads, follow its reader''s pace (CALCULATED):'
SELECT pgtrickle.alter_stream_table('region_totals', schedule => '2s');
SELECT pgtrickle.alter_stream_table('customer_totals', schedule => 'calculated');
SELECT pgt_name, schedule, effective_schedule
  FROM pgtrickle.stream_tables_info ORDER BY pgt_id;
\echo '    A big order arrives; nobody calls refresh_stream_table.'
INSERT INTO orders VALUES (7, 3, 500.00);
SELECT set_config('demo.changed_at', clock_timestamp()::text, false) IS NOT NULL AS noted;
\echo '    Wait (at most 30 seconds) until region_totals is fresh as of a moment after it:'
DO $$
BEGIN
    FOR i IN 1 .. 300 LOOP
        EXIT WHEN (SELECT data_timestamp FROM pgtrickle.pgt_stream_tables
                    WHERE pgt_name = 'region_totals')
                  > current_setting('demo.changed_at')::timestamptz;
        PERFORM pg_sleep(0.1);
    END LOOP;
    IF (SELECT data_timestamp FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'region_totals')
       <= current_setting('demo.changed_at')::timestamptz THEN
        RAISE EXCEPTION 'region_totals did not catch up within 30 seconds: is the scheduler running?';
    END IF;
    RAISE NOTICE 'region_totals caught up % after the change',
        date_trunc('milliseconds', clock_timestamp() - current_setting('demo.changed_at')::timestamptz);
END $$;
SELECT region, customers, orders, revenue FROM region_totals ORDER BY region;
\echo '    The scheduler''s refreshes in the history (initiated_by SCHEDULER):'
SELECT h.refresh_id, s.pgt_name, h.action, h.reason, h.initiated_by
  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
 WHERE h.initiated_by = 'SCHEDULER'
 ORDER BY h.refresh_id LIMIT 6;
\echo '    The workers doing it, and overall health:'
SELECT backend_type, count(*) FROM pg_stat_activity
 WHERE backend_type LIKE 'pg_trickle%' GROUP BY backend_type ORDER BY backend_type;
SELECT pgt_name, status, staleness < interval '10 seconds' AS fresh, stale
  FROM pgtrickle.stream_tables_info ORDER BY pgt_id;
SELECT * FROM pgtrickle.quick_health;
SQL
	warn "the demo session stopped at an error (above); the server is still running"
	note "connect: psql -h $dir -p $port -U postgres    stop: scripts/demo.sh stop"
	exit 1
fi

section "The same from a shell: the pgtrickle command-line tool (cli/)"
make -s -C cli -j"$(nproc)" || die "building cli/pgtrickle failed"
pgtrickle=(cli/pgtrickle -h "$dir" -p "$port" -U postgres -d postgres)
for args in list "status region_totals" "history region_totals --limit 3" health; do
	printf '\n%s$ pgtrickle %s%s\n' "$_pgt_bold" "$args" "$_pgt_reset"
	# shellcheck disable=SC2086 # args holds several words
	"${pgtrickle[@]}" $args || die "pgtrickle $args failed"
done

section "Done: the demo server keeps running"
cat <<EOF
    connect:  psql -h $dir -p $port -U postgres
    watch:    cli/pgtrickle -h $dir -p $port -U postgres watch    (q quits)
    stop:     scripts/demo.sh stop
    again:    scripts/demo.sh         (starts a fresh cluster; the old one is removed)
    remove:   scripts/demo.sh clean

    Over TCP (localhost:$port) a password is needed; set one first with
    ALTER ROLE postgres PASSWORD '...';
EOF
