#!/usr/bin/env bash
# Integration tests of the dbt-pgtrickle package with real dbt: for each
# pinned dbt version, install dbt-core and dbt-postgres from PyPI into a
# virtualenv, then run scenarios.py (every scenario against a fresh database
# of one throwaway PostgreSQL cluster with pg_trickle preloaded).
# Prints one line per scenario ("ok ..." / "FAILED ...") and ends with
# "N passed, M failed"; exits non-zero when anything failed.
#
#   dbt-pgtrickle/integration_tests/run_tests.sh [--workdir DIR] [VERSION...]
#
# VERSION is a dbt-core version of the matrix below (default: all).  The
# work directory (default: a new /tmp/pgt-dbt.XXXXXX, removed after a run
# that passed) holds the virtualenvs, which are reused when --workdir names
# the same directory again, the cluster, and a copy of the package (the
# scenarios edit model files).  PG_CONFIG, PG_MAJOR and PGT_OS_USER as in
# scripts/lib.sh; PGT_PYTHON is the Python that makes the virtualenvs.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"
# shellcheck source=../../scripts/results.sh
source "$here/../../scripts/results.sh"

# dbt-core version, dbt-postgres version, main target, other target (for
# the scenario that checks the other connection mode), native freshness.
# 1.7 is the oldest the package claims (require-dbt-version); 1.11 is the
# newest that installs without network access beyond PyPI (dbt-core 1.12
# downloads a parser wheel from GitHub while installing).  dbt-postgres 1.9
# and later have the `autocommit` profile setting, so 1.11 runs everything in
# autocommit mode and checks the default mode once.
matrix=(
	"1.7.19 1.7.19 default - no"
	"1.11.16 1.11.0 autocommit default yes"
)

workdir='' keep_work=0
wanted=()
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) wanted+=("$1") ;;
	esac
	shift
done

check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"
bindir=$("$PG_CONFIG" --bindir)

workdir=$(work_dir "$workdir" pgt-dbt)
cluster=$workdir/cluster
rm -rf "$cluster"
mkdir -p "$cluster"
give_to_server_user "$cluster"

cleanup() {
	local rc=$?
	stop_test_cluster "$cluster"
	keep_or_remove_work dbt "$rc" "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "dbt: starting a PostgreSQL cluster in $cluster"
# Deterministic checks refresh by hand; the scheduler scenario turns it on.
start_test_cluster "$cluster" 57300 "pg_trickle.enabled = off"
# psql of the server's version for scripts/wait_for_populated.sh
export PATH=$bindir:$PATH
"$bindir/psql" -X -q -d postgres -v ON_ERROR_STOP=1 -c "create role pgt_reader"

for entry in "${matrix[@]}"; do
	read -r core_version postgres_version target other_target native_freshness <<<"$entry"
	label=dbt-${core_version%.*}
	if ((${#wanted[@]})); then
		want=0
		for w in "${wanted[@]}"; do [[ $w == "$core_version" || $w == "${core_version%.*}" ]] && want=1; done
		((want)) || continue
	fi
	section "dbt $core_version (dbt-postgres $postgres_version), target $target"

	venv=$workdir/venv-$core_version
	if ! python_venv "$venv" "$core_version-$postgres_version" \
		"dbt-core==$core_version" "dbt-postgres==$postgres_version"; then
		failed "$label" "could not install dbt-core $core_version / dbt-postgres $postgres_version"
		continue
	fi
	"$venv/bin/dbt" --version | sed -n '1,12p' | grep -E 'installed|postgres' | sed 's/^/    /'

	# A copy of the package: scenarios edit model files, and dbt writes
	# target/, logs/ and dbt_packages/ next to the project.
	copy=$workdir/pkg-$core_version
	rm -rf "$copy"
	mkdir -p "$copy/dbt-pgtrickle"
	(cd "$here/.." && tar cf - --exclude=target --exclude=logs --exclude=dbt_packages --exclude=package-lock.yml . ) |
		(cd "$copy/dbt-pgtrickle" && tar xf -)

	database=pgt_${label//[.-]/_}
	PGOPTIONS="-c client_min_messages=warning" "$bindir/psql" -X -q -d postgres -v ON_ERROR_STOP=1 \
		-c "drop database if exists $database" -c "create database $database"
	"$bindir/psql" -X -q -d "$database" -v ON_ERROR_STOP=1 -c "create extension pg_trickle"

	args=(--dbt "$venv/bin/dbt" --project "$copy/dbt-pgtrickle/integration_tests"
		--label "$label" --target "$target")
	[[ $other_target == - ]] || args+=(--other-target "$other_target")
	[[ $native_freshness == yes ]] && args+=(--native-freshness)
	out=$workdir/$label.out
	set +e
	PGDATABASE=$database DBT_PROFILES_DIR=$copy/dbt-pgtrickle/integration_tests \
		DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1 \
		"$venv/bin/python" "$copy/dbt-pgtrickle/integration_tests/scenarios.py" "${args[@]}" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	add_summary "$out" "$label (scenarios.py, exit status $rc)"
done

section "dbt: summary"
if ((failed)); then
	note "server log: $cluster/server.log"
fi
results_end
