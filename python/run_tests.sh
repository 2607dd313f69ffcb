#!/usr/bin/env bash
# Tests of the Python integrations (python/*): builds the four wheels with
# `python -m build` (pgtrickle-core, sqlalchemy-pgtrickle, django-pgtrickle,
# airflow-provider-pgtrickle), installs them into virtualenvs made from the
# pinned python/envs/*/constraints.txt, and runs each package's pytest suite
# with the real frameworks against one throwaway PostgreSQL cluster with
# pg_trickle preloaded:
#
#   sqlalchemy  SQLAlchemy 2.1 (orm-new) and 2.0 (orm-old), Alembic,
#               psycopg 3 and psycopg2
#   django      Django 5.2 with django-health-check 4.x (orm-new), Django 4.2
#               (orm-old)
#   airflow     Airflow 2.11.2 and 3.3.2, one pytest process each
#
# Prints one line per test ("ok NAME" / "FAILED NAME: why"; building a wheel
# counts as a test) and ends with "N passed, M failed"; exits non-zero when
# anything failed.
#
#   python/run_tests.sh [--workdir DIR] [SUITE...]
#
# The work directory (default: a new /tmp/pgt-python.XXXXXX, removed after a
# run that passed) keeps the virtualenvs (remade when their constraints
# change) and the Airflow homes between runs when --workdir names it again.
# PG_CONFIG, PG_MAJOR and PGT_OS_USER as in scripts/lib.sh; PGT_PYTHON is the
# Python that makes the virtualenvs (3.10 or later).
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
source "$root/scripts/lib.sh"
# shellcheck source=../scripts/results.sh
source "$root/scripts/results.sh"

# suite: "environment package" pairs, one pytest process each
declare -A runs=(
	[sqlalchemy]="orm-new:sqlalchemy-pgtrickle orm-old:sqlalchemy-pgtrickle"
	[django]="orm-new:django-pgtrickle orm-old:django-pgtrickle"
	[airflow]="airflow-2.11:airflow-provider-pgtrickle airflow-3.3:airflow-provider-pgtrickle"
)
suites_all=(sqlalchemy django airflow)

workdir='' keep_work=0
wanted=()
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	-h | --help) sed -n '2,29p' "$0"; exit 0 ;;
	-*) die "unknown option: $1" ;;
	*) [[ -n ${runs[$1]:-} ]] || die "unknown suite '$1' (${suites_all[*]})"; wanted+=("$1") ;;
	esac
	shift
done
((${#wanted[@]})) || wanted=("${suites_all[@]}")

check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"
python=${PGT_PYTHON:-/usr/bin/python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

workdir=$(work_dir "$workdir" pgt-python)
cluster=$workdir/cluster
rm -rf "$cluster"
mkdir -p "$cluster"
give_to_server_user "$cluster"

cleanup() {
	local rc=$?
	stop_test_cluster "$cluster"
	keep_or_remove_work python "$rc" "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# venv ENV: make (or reuse) $workdir/venv-ENV from python/envs/ENV, pinned by
# its constraints.txt; prints its path.  Remade when the files change.
venv() {
	local env=$1 dir=$workdir/venv-$1 stamp
	stamp=$(cat "$here/envs/$env/requirements.txt" "$here/envs/$env/constraints.txt" | sha256sum | cut -c1-16)
	[[ -f $dir/.pgt-installed-$stamp ]] || section "python: installing virtualenv $env (python/envs/$env)" >&2
	python_venv "$dir" "$stamp" -c "$here/envs/$env/constraints.txt" \
		-r "$here/envs/$env/requirements.txt" >&2 || return 1
	echo "$dir"
}

t0=$SECONDS
section "python: starting a PostgreSQL cluster in $cluster"
# Deterministic tests refresh by hand: the scheduler refreshes nothing.
start_test_cluster "$cluster" 57400 "pg_trickle.enabled = off"

# --- wheels -------------------------------------------------------------------
wheels=$workdir/wheels
rm -rf "$wheels" "$workdir/src"
mkdir -p "$wheels"
# build from a copy: builds must not write into the checkout
cp -R "$here" "$workdir/src"
section "python: building the wheels (python -m build)"
if build=$(venv build); then
	for dist in pgtrickle-core sqlalchemy-pgtrickle django-pgtrickle airflow-provider-pgtrickle; do
		if out=$("$build/bin/python" -m build --wheel --no-isolation --outdir "$wheels" \
			"$workdir/src/$dist" 2>&1); then
			ok "build/$dist"
		else
			printf '%s\n' "$out" | tail -n 20
			failed "build/$dist" "python -m build failed"
		fi
	done
else
	failed build "could not install the build virtualenv"
fi

# --- test runs ----------------------------------------------------------------

# report JUNIT LABEL: one line per test case of a pytest JUnit XML file.
report() {
	"$python" - "$1" "$2" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for case in root.iter("testcase"):
    name = "%s/%s/%s" % (sys.argv[2], case.get("classname", "").split(".")[-1], case.get("name"))
    bad = case.find("failure")
    if bad is None:
        bad = case.find("error")
    skipped = case.find("skipped")
    if bad is not None:
        why = (bad.get("message") or "failed").splitlines()[0][:160]
        print("FAILED %s: %s" % (name, why))
    elif skipped is not None:
        print("ok %s # skip %s" % (name, (skipped.get("message") or "")[:120]))
    else:
        print("ok %s" % name)
PY
}

for suite in "${wanted[@]}"; do
	for pair in ${runs[$suite]}; do
		env=${pair%%:*} dist=${pair#*:} label=$suite-${pair%%:*}
		section "python: $dist in $env"
		if ! v=$(venv "$env"); then
			failed "$label" "could not install python/envs/$env"
			continue
		fi
		# the freshly built wheels; dependencies must already be satisfied by
		# the pinned environment (no index: pip resolves against what is there)
		"$v/bin/pip" uninstall -q -y pgtrickle-core "$dist" >/dev/null 2>&1 || true
		if ! "$v/bin/pip" install -q --no-index --find-links "$wheels" "$dist" ||
			! "$v/bin/pip" check >/dev/null; then
			failed "$label" "the $dist wheel does not install into python/envs/$env"
			continue
		fi
		envvars=(PGT_DOCS_DIR="$root/docs/integrations")
		if [[ $suite == airflow ]]; then
			home=$workdir/airflow-home-$env
			envvars+=(AIRFLOW_HOME="$home" AIRFLOW__CORE__LOAD_EXAMPLES=False)
			if [[ ! -f $home/.migrated ]]; then
				mkdir -p "$home"
				if env "${envvars[@]}" "$v/bin/airflow" db migrate >"$home/migrate.log" 2>&1; then
					touch "$home/.migrated"
				else
					tail -n 20 "$home/migrate.log"
					failed "$label" "airflow db migrate failed"
					continue
				fi
			fi
		fi
		junit=$workdir/$label.xml
		rm -f "$junit"
		set +e
		(cd "$workdir/src/$dist" && env "${envvars[@]}" "$v/bin/python" -m pytest -q \
			-p no:cacheprovider --junitxml="$junit" -o junit_family=xunit1 tests) \
			>"$workdir/$label.log" 2>&1
		rc=$?
		set -e
		if [[ ! -s $junit ]]; then
			tail -n 40 "$workdir/$label.log"
			failed "$label" "pytest exited with $rc without results"
			continue
		fi
		count_results < <(report "$junit" "$label")
		if ((rc != 0)); then
			grep -E '^(E |FAILED|ERROR)' "$workdir/$label.log" | head -n 40 || true
			echo "    (pytest output: $workdir/$label.log)"
		fi
	done
done

section "python: summary ($((SECONDS - t0)) s)"
results_end
