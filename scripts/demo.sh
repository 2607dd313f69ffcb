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
# While there is no background scheduler, the demo refreshes by hand.  Once
# the scheduler exists, the demo waits for it instead.
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
INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Grace', 'US'), (3, 'Linus', 'EU');
INSERT INTO orders VALUES (1, 1, 120.00), (2, 1, 35.50), (3, 2, 99.99), (4, 3, 10.00);

\echo
\echo '### 2. Load the extension (its library is in shared_preload_libraries)'
CREATE EXTENSION pg_trickle;

\echo
\echo '### 3. A stream table: a table defined by a query, filled when it is created.'
\echo '    refresh_mode => FULL: the differential engine is not in this version yet.'
SELECT pgtrickle.create_stream_table(
    'customer_totals',
    $$SELECT c.id AS customer_id, c.name, c.region,
             count(o.id) AS order_count,
             coalesce(sum(o.amount), 0) AS revenue
        FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
       GROUP BY c.id, c.name, c.region$$,
    schedule     => '1m',
    refresh_mode => 'FULL');
SELECT * FROM customer_totals ORDER BY customer_id;

\echo
\echo '### 4. A stream table that reads another stream table'
SELECT pgtrickle.create_stream_table(
    'region_totals',
    $$SELECT region, count(*) AS customers,
             sum(order_count) AS orders, sum(revenue) AS revenue
        FROM customer_totals
       GROUP BY region$$,
    schedule     => '1m',
    refresh_mode => 'FULL');
SELECT * FROM region_totals ORDER BY region;

\echo
\echo '### 5. Change the sources: a new customer, new orders, an update, a delete'
INSERT INTO customers VALUES (4, 'Barbara', 'US');
INSERT INTO orders VALUES (5, 4, 250.00), (6, 2, 15.00);
UPDATE orders SET amount = 40.00 WHERE id = 2;
DELETE FROM orders WHERE id = 4;
\echo '    The stream tables still hold the result of their last refresh:'
SELECT * FROM customer_totals ORDER BY customer_id;

\echo
\echo '### 6. Refresh, upstream table first.  (The background scheduler that does this'
\echo '    on each table''s schedule comes in a later version.)'
SELECT pgtrickle.refresh_stream_table('customer_totals');
SELECT pgtrickle.refresh_stream_table('region_totals');
SELECT * FROM customer_totals ORDER BY customer_id;
SELECT * FROM region_totals ORDER BY region;

\echo
\echo '### 7. Verify: refresh, then compare with the query.  No rows = consistent.'
SELECT * FROM pgtrickle.verify_stream_table('customer_totals');
SELECT * FROM pgtrickle.verify_stream_table('region_totals');

\echo
\echo '### 8. Stream tables are read-only, and their sources are protected'
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
\echo '### 9. Monitoring: statistics, refresh history, overall health'
\echo '    (quick_health says WARNING: there is no scheduler running yet)'
SELECT * FROM pgtrickle.pg_stat_stream_tables ORDER BY pgt_id \gx
SELECT refresh_id, action, status, rows_inserted, rows_deleted, initiated_by
  FROM pgtrickle.get_refresh_history('customer_totals');
SELECT * FROM pgtrickle.quick_health;

\echo
\echo '### 10. How a stream table is refreshed'
SELECT * FROM pgtrickle.explain_st('region_totals');
SQL
	warn "the demo session stopped at an error (above); the server is still running"
	note "connect: psql -h $dir -p $port -U postgres    stop: scripts/demo.sh stop"
	exit 1
fi

section "Done: the demo server keeps running"
cat <<EOF
    connect:  psql -h $dir -p $port -U postgres
    stop:     scripts/demo.sh stop
    again:    scripts/demo.sh         (starts a fresh cluster; the old one is removed)
    remove:   scripts/demo.sh clean

    Over TCP (localhost:$port) a password is needed; set one first with
    ALTER ROLE postgres PASSWORD '...';
EOF
