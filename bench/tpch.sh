#!/usr/bin/env bash
# TPC-H refresh benchmark: for each of the 22 TPC-H queries of
# test/tpch/queries/, DIFFERENTIAL refresh after a 0.1 % and a 1 % change
# against FULL refresh and REFRESH MATERIALIZED VIEW of the same query, side
# by side in one run (bench/tpch.py measures; see bench/README.md, "TPC-H").
#
#   bench/tpch.sh [--scale SF] [--reps N] [--only q01,q03] [--keep]
#                 [--no-deps] [--no-build]
#
# Run as root from the checkout, like bench/run.sh: it installs the
# extension into PG_CONFIG's PostgreSQL (unless --no-build), starts a
# throwaway server with bench/run.sh's settings (PostgreSQL's defaults but
# for WAL sizing and synchronous_commit) in /tmp/pg_trickle-bench-tpch.*,
# generates the data with tpchgen-cli (pinned in test/tpch/requirements.txt,
# in a virtualenv in that directory), and writes the report to
# bench/results/tpch.md, with the auto_explain plans of one DIFFERENTIAL
# refresh per query after a change of each size in bench/results/tpch-explain/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
BENCH=$PGT_ROOT/bench
export LC_ALL=C LANG=C
unset PGOPTIONS PGDATABASE PGHOST PGPORT PGUSER

usage() {
	cat <<'EOT'
usage: bench/tpch.sh [--scale SF] [--reps N] [--only q01,q03] [--keep]
                     [--no-deps] [--no-build]

  --scale SF    TPC-H scale factor (default 0.1; 1 takes about ten times longer)
  --reps N      rounds per change size; the median is reported (default 3)
  --only LIST   only these queries (comma-separated, q01 ... q22)
  --keep        keep the server running and its directory (prints how to connect)
  --no-deps     do not run scripts/deps.sh
  --no-build    do not run make / make install (benchmark what is installed)
EOT
}

scale=0.1 reps=3 only='' keep=0 do_deps=1 do_build=1
while (($#)); do
	case $1 in
	--scale | --reps | --only)
		(($# >= 2)) || die "$1 needs an argument"
		case $1 in --scale) scale=$2 ;; --reps) reps=$2 ;; --only) only=$2 ;; esac
		shift
		;;
	--keep) keep=1 ;;
	--no-deps) do_deps=0 ;;
	--no-build) do_build=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
	shift
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps needs a positive integer, not '$reps'"
[[ $scale =~ ^[0-9]*\.?[0-9]+$ ]] || die "--scale needs a number, not '$scale'"

is_root || die "run bench/tpch.sh as root (it installs the extension and runs the server as '$PGT_OS_USER')"
if ((do_deps)); then
	section "Checking dependencies (scripts/deps.sh)"
	"$PGT_ROOT/scripts/deps.sh"
fi
check_pg_config
((do_build)) && build_and_install
extension_installed || die "pg_trickle is not installed (run without --no-build)"

work=$(mktemp -d /tmp/pg_trickle-bench-tpch.XXXXXX)
chmod 755 "$work"
give_to_server_user "$work"
server_started=0
on_exit() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $work/server.log ]]; then
		warn "server log ($work/server.log):"
		tail -n 15 "$work/server.log" >&2
	fi
	if ((keep)); then
		section "Kept (--keep)"
		note "connect: $(pg_bin psql) -h $work -p ${port:-?} -U postgres tpch"
		note "stop:    runuser -u $PGT_OS_USER -- $(pg_bin pg_ctl) stop -D $work/data; then rm -rf $work"
		return
	fi
	((server_started)) && as_server_user "$work" "$(pg_bin pg_ctl)" stop -D "$work/data" -m fast -w >/dev/null 2>&1
	# only ever delete the directory this run created
	[[ $work == /tmp/pg_trickle-bench-tpch.* && -d $work ]] && rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

section "Python virtualenv with tpchgen-cli and psycopg (test/tpch/requirements.txt)"
python3 -m venv "$work/venv"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/pip" install -q -r "$PGT_ROOT/test/tpch/requirements.txt"

section "Starting a throwaway PostgreSQL server in $work"
port=$(free_port 55800 "$work")
as_server_user "$work" "$(pg_bin initdb)" -D "$work/data" -U postgres --no-locale -E UTF8 >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; die "initdb failed"; }
# bench/run.sh's settings (bench/README.md, "Server"): defaults but for WAL
# sizing and durability
as_server_user "$work" tee -a "$work/data/postgresql.conf" >/dev/null <<EOF
port = $port
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'pg_trickle'
pg_trickle.enabled = off
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off
lc_messages = 'C'
timezone = 'UTC'
log_min_messages = warning
EOF
as_server_user "$work" "$(pg_bin pg_ctl)" start -D "$work/data" -l "$work/server.log" -w -t 120 >/dev/null ||
	die "the server did not start"
server_started=1

mkdir -p "$BENCH/results"
as_server_user "$work" "$(pg_bin createdb)" -h "$work" -p "$port" -U postgres tpch
"$work/venv/bin/python" "$BENCH/tpch.py" --dsn "host=$work port=$port user=postgres dbname=tpch" \
	--scale "$scale" --reps "$reps" ${only:+--only "$only"} --datadir "$work/data-sf$scale" \
	--report "$BENCH/results/tpch.md" --explain "$BENCH/results/tpch-explain"
