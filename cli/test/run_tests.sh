#!/usr/bin/env bash
# Tests of the pgtrickle command-line tool against a real server: build the
# tool from a copy of cli/, start a throwaway PostgreSQL cluster with
# pg_trickle preloaded, then run cli_tests.py (Python 3, standard library
# only) with the built binary.  Prints one line per test ("ok NAME" /
# "FAILED NAME: why") and ends with "N passed, M failed"; exits non-zero
# when anything failed.
#
#   cli/test/run_tests.sh [--workdir DIR] [--keep] [PATTERN...]
#
# PATTERN selects tests by name (shell patterns, e.g. 'cli-list-*'); default
# all.  The work directory (default: a new /tmp/pgt-cli.XXXXXX) holds the
# build, the cluster and one log per failed test; it is removed after a run
# that passed unless it was given with --workdir or --keep is set.
# PG_CONFIG, PG_MAJOR and PGT_OS_USER as in scripts/lib.sh; PGT_PYTHON is
# the Python that runs the driver (default /usr/bin/python3).
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"
cli_src=$(cd "$here/.." && pwd -P)

workdir='' keep_work=0
patterns=()
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	--keep) keep_work=1 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	-*) die "unknown option: $1 (see --help)" ;;
	*) patterns+=("$1") ;;
	esac
	shift
done

check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"
bindir=$("$PG_CONFIG" --bindir)
python=${PGT_PYTHON:-/usr/bin/python3}

workdir=$(work_dir "$workdir" pgt-cli)
cluster=$workdir/cluster
scratch=$workdir/scratch
build=$workdir/build
stop_test_cluster "$cluster"
rm -rf "$cluster" "$scratch" "$build" "$workdir/logs"
mkdir -p "$cluster" "$scratch" "$build"
give_to_server_user "$cluster"
chmod 755 "$scratch"

result=1
cleanup() {
	local rc=$?
	stop_test_cluster "$cluster"
	if ((rc == 0 && result == 0)); then
		# a --workdir is the caller's
		((keep_work)) || rm -rf "$workdir"
	else
		echo "cli test work directory kept: $workdir (logs/ has one file per failed test)"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build the tool from a copy (never write into the source tree) -----------

section "cli: building pgtrickle from a copy of $cli_src"
# The copy keeps the checkout's layout (BUILD/cli next to the files of the
# checkout's top level that the Makefile reads, when they are there).
mkdir -p "$build/cli"
(cd "$cli_src" && tar cf - --exclude=./test --exclude='*.o' --exclude=./pgtrickle .) | (cd "$build/cli" && tar xf -)
for f in pg_trickle.control; do
	if [[ -f $cli_src/../$f ]]; then cp "$cli_src/../$f" "$build/"; fi
done
tool=$build/cli/pgtrickle
if ! make -C "$build/cli" PG_CONFIG="$PG_CONFIG" >"$workdir/build.log" 2>&1 || [[ ! -x $tool ]]; then
	cat "$workdir/build.log"
	echo "FAILED cli-build: make -C cli did not produce cli/pgtrickle (log above)"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok cli-build"

# --- cluster ----------------------------------------------------------------

section "cli: starting a PostgreSQL cluster in $cluster"
# Deterministic checks refresh by hand; the tests that need the scheduler
# turn it on for a moment with ALTER SYSTEM and wait for the catalog.
start_test_cluster "$cluster" 57400 \
	"pg_trickle.enabled = off" \
	"max_worker_processes = 32" \
	"password_encryption = 'scram-sha-256'" \
	"datestyle = 'iso, mdy'"
export PATH=$bindir:$PATH

# --- tests ------------------------------------------------------------------

section "cli: tests (cli/test/cli_tests.py)"
set +e
"$python" "$here/cli_tests.py" \
	--tool "$tool" \
	--cli-dir "$build/cli" \
	--bindir "$bindir" \
	--datadir "$cluster/data" \
	--scratch "$scratch" \
	--already-passed 1 \
	"${patterns[@]}"
rc=$?
set -e
# The driver prints the summary line; --already-passed counts cli-build.
((rc == 0)) && result=0
exit "$rc"
