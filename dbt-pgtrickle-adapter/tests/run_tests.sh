#!/usr/bin/env bash
# Tests of the dbt adapter dbt-pgtrickle (profile type: pgtrickle), for each
# dbt-core version of the matrix below: install dbt-core, dbt-postgres,
# dbt-tests-adapter and this adapter into a virtualenv, then against one
# throwaway PostgreSQL cluster with pg_trickle preloaded (a fresh database
# with the extension for each version):
#   1. pytest tests/: dbt's own adapter test suite (test_basic.py) and the
#      adapter's own tests (test_pgtrickle.py);
#   2. dbt-pgtrickle/integration_tests/scenarios.py, unchanged, with its
#      profiles switched to type: pgtrickle (nothing the macro package does
#      is lost under the adapter), on the newest dbt (every one with
#      --all-scenarios);
#   3. the example project of README.md (example/).
# Prints one line per test ("ok ..." / "FAILED ...: why") and ends with
# "N passed, M failed"; exits non-zero when anything failed.
#
#   dbt-pgtrickle-adapter/tests/run_tests.sh [--workdir DIR] [--all-scenarios] [VERSION...]
#
# VERSION is a dbt-core version of the matrix (default: all).  The work
# directory (default: a new /tmp/pgt-dbt-adapter.XXXXXX, removed after a
# run that passed) holds the virtualenvs, reused when --workdir names the
# same directory again.  PG_CONFIG, PG_MAJOR and PGT_OS_USER as in
# scripts/lib.sh; PGT_PYTHON is the Python that makes the virtualenvs.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
adapter=$(cd "$here/.." && pwd -P)
root=$(cd "$adapter/.." && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$root/scripts/lib.sh"
# shellcheck source=../../scripts/results.sh
source "$root/scripts/results.sh"

# dbt-core, dbt-postgres, dbt-tests-adapter; whether scenarios.py runs, its
# main target, its other target and whether it checks native freshness (as
# in dbt-pgtrickle/integration_tests/run_tests.sh).  1.8 is the oldest
# dbt-core the adapter supports (the first with dbt-adapters split out);
# 1.11 the newest that installs from PyPI alone.  scenarios.py (2.5 to 3
# minutes) runs on the newest only, to keep the whole run under 5 minutes:
# it checks that the macro package loses nothing under the adapter, which
# does not depend on the dbt version (the package's own runner covers the
# versions under dbt-postgres), while the adapter's own tests and dbt's
# adapter suite run on both.  --all-scenarios runs it on every version.
matrix=(
	"1.8.10 1.8.2 1.8.0 newest-only default - no"
	"1.11.16 1.11.0 1.19.7 yes autocommit default yes"
)

workdir='' keep_work=0 all_scenarios=0
wanted=()
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	--all-scenarios) all_scenarios=1 ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) wanted+=("$1") ;;
	esac
	shift
done

check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"
bindir=$("$PG_CONFIG" --bindir)

workdir=$(work_dir "$workdir" pgt-dbt-adapter)
cluster=$workdir/cluster
rm -rf "$cluster"
mkdir -p "$cluster"
give_to_server_user "$cluster"

cleanup() {
	local rc=$?
	stop_test_cluster "$cluster"
	keep_or_remove_work "dbt adapter" "$rc" "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_admin() { "$bindir/psql" -X -q -d postgres -v ON_ERROR_STOP=1 "$@"; }

section "dbt adapter: starting a PostgreSQL cluster in $cluster"
start_test_cluster "$cluster" 57400 "pg_trickle.enabled = off"
export PATH=$bindir:$PATH
psql_admin -c "create role pgt_reader"

for entry in "${matrix[@]}"; do
	read -r core_version postgres_version tests_version scenarios target other_target native_freshness <<<"$entry"
	label=adapter-${core_version%.*}
	if ((${#wanted[@]})); then
		want=0
		for w in "${wanted[@]}"; do [[ $w == "$core_version" || $w == "${core_version%.*}" ]] && want=1; done
		((want)) || continue
	fi
	section "dbt $core_version (dbt-postgres $postgres_version, dbt-tests-adapter $tests_version) with the pgtrickle adapter"

	venv=$workdir/venv-$core_version
	if ! python_venv "$venv" "$core_version-$postgres_version-$tests_version" \
		"dbt-core==$core_version" "dbt-postgres==$postgres_version" \
		"dbt-tests-adapter==$tests_version" "pytest>=7,<9" "setuptools>=64" wheel; then
		failed "$label" "could not install dbt $core_version"
		continue
	fi
	# this adapter, from a copy (pip builds in the source tree)
	src=$workdir/adapter-src
	rm -rf "$src"
	mkdir -p "$src"
	(cd "$adapter" && tar cf - --exclude=build --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache .) |
		(cd "$src" && tar xf -)
	if ! env PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install -q --no-deps --no-build-isolation \
		--force-reinstall "$src" >"$workdir/$label-pip.log" 2>&1; then
		cat "$workdir/$label-pip.log"
		failed "$label" "could not install the adapter"
		continue
	fi
	"$venv/bin/dbt" --version | grep -E 'installed|postgres|pgtrickle' | sed 's/^/    /'

	database=pgt_${label//[.-]/_}
	PGOPTIONS="-c client_min_messages=warning" psql_admin \
		-c "drop database if exists $database" -c "create database $database"
	"$bindir/psql" -X -q -d "$database" -v ON_ERROR_STOP=1 -c "create extension pg_trickle"
	export PGDATABASE=$database DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1

	# a copy of the macro package: scenarios edit model files; also used by
	# the pytest tests of the materialization and by the example
	copy=$workdir/pkg-$core_version
	rm -rf "$copy"
	mkdir -p "$copy/dbt-pgtrickle"
	(cd "$root/dbt-pgtrickle" && tar cf - --exclude=target --exclude=logs --exclude=dbt_packages --exclude=package-lock.yml .) |
		(cd "$copy/dbt-pgtrickle" && tar xf -)
	export PGT_DBT_PACKAGE=$copy/dbt-pgtrickle

	# 1. pytest: one line per test
	out=$workdir/$label-pytest.out
	set +e
	(cd "$src" && "$venv/bin/python" -m pytest -p no:cacheprovider -q -rA tests) >"$out.raw" 2>&1
	set -e
	awk -v label="$label" '
		/^PASSED /  { n = $2; sub(/^tests\//, "", n); gsub(/::/, ".", n); print "ok " label "/" n; p++ }
		/^(FAILED|ERROR) / { n = $2; sub(/^tests\//, "", n); gsub(/::/, ".", n); $1 = ""; $2 = ""; print "FAILED " label "/" n ":" $0; f++ }
		END { print p + 0 " passed, " f + 0 " failed" }' "$out.raw" | tee "$out"
	if grep -q '^FAILED ' "$out"; then
		tail -n 60 "$out.raw" | sed 's/^/    /'
	fi
	add_summary "$out" "$label/pytest"

	# 2. scenarios.py of the macro package, unchanged, under type: pgtrickle
	profiles=$workdir/profiles-$core_version
	mkdir -p "$profiles"
	sed 's/^\( *type: \)postgres$/\1pgtrickle/' "$copy/dbt-pgtrickle/integration_tests/profiles.yml" >"$profiles/profiles.yml"
	grep -q 'type: pgtrickle' "$profiles/profiles.yml" || die "profiles.yml of the integration tests has no 'type: postgres' to switch"
	if [[ $scenarios == yes ]] || ((all_scenarios)); then
		scen_db=${database}_scenarios
		PGOPTIONS="-c client_min_messages=warning" psql_admin \
			-c "drop database if exists $scen_db" -c "create database $scen_db"
		"$bindir/psql" -X -q -d "$scen_db" -v ON_ERROR_STOP=1 -c "create extension pg_trickle"
		args=(--dbt "$venv/bin/dbt" --project "$copy/dbt-pgtrickle/integration_tests"
			--label "$label" --target "$target")
		[[ $other_target == - ]] || args+=(--other-target "$other_target")
		[[ $native_freshness == yes ]] && args+=(--native-freshness)
		out=$workdir/$label-scenarios.out
		set +e
		PGDATABASE=$scen_db DBT_PROFILES_DIR=$profiles \
			"$venv/bin/python" "$copy/dbt-pgtrickle/integration_tests/scenarios.py" "${args[@]}" 2>&1 | tee "$out"
		set -e
		add_summary "$out" "$label/scenarios"
	fi

	# 3. the example project of README.md, as a user runs it
	ex=$workdir/example-$core_version
	rm -rf "$ex"
	mkdir -p "$ex/dbt-pgtrickle-adapter"
	cp -R "$adapter/example" "$ex/dbt-pgtrickle-adapter/"
	cp -R "$copy/dbt-pgtrickle" "$ex/"
	ex_db=${database}_example
	PGOPTIONS="-c client_min_messages=warning" psql_admin \
		-c "drop database if exists $ex_db" -c "create database $ex_db"
	"$bindir/psql" -X -q -d "$ex_db" -v ON_ERROR_STOP=1 -c "create extension pg_trickle"
	out=$workdir/$label-example.out
	: >"$out"
	ex_ok=0 ex_failed=0
	for cmd in "deps" "build" "source freshness" "docs generate"; do
		# shellcheck disable=SC2086
		if (cd "$ex/dbt-pgtrickle-adapter/example" && PGDATABASE=$ex_db DBT_PROFILES_DIR=. \
			"$venv/bin/dbt" --no-use-colors $cmd) >"$out.${cmd// /_}" 2>&1; then
			echo "ok $label/example/dbt ${cmd}" | tee -a "$out"
			ex_ok=$((ex_ok + 1))
		else
			echo "FAILED $label/example/dbt ${cmd}: $(tail -n 5 "$out.${cmd// /_}" | tr '\n' ' ')" | tee -a "$out"
			ex_failed=$((ex_failed + 1))
		fi
	done
	echo "$ex_ok passed, $ex_failed failed" >>"$out"
	add_summary "$out" "$label/example"
done

section "dbt adapter: summary"
if ((failed)); then
	note "server log: $cluster/server.log"
fi
results_end
