# shellcheck shell=bash
# scripts/results.sh: the counting every component test runner shares.
#
# A runner (dbt-pgtrickle/integration_tests/run_tests.sh, python/run_tests.sh,
# ...) prints "ok NAME" or "FAILED NAME: why" per test and ends with
# "N passed, M failed" (results_end); scripts/test.sh counts those lines.
# Source it after scripts/lib.sh; it keeps the totals in the globals passed,
# failed and failures (the names of the failed tests, for the summary).

passed=0 failed=0
failures=()

# ok NAME / failed NAME WHY: one test's result.
ok() { echo "ok $1"; passed=$((passed + 1)); }
failed() {
	echo "FAILED $1: $2"
	failed=$((failed + 1))
	failures+=("$1")
}

# one_line TEXT [WIDTH]: TEXT folded onto one line and cut, for a reason.
one_line() { printf '%s' "$1" | tr '\n' ' ' | cut -c1-"${2:-800}"; }

# check NAME CMD...: one test, passed when CMD succeeds; its output is the
# reason when it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else failed "$name" "$(one_line "$out")"; fi
}

# count_results: count the "ok ..." / "FAILED ..." lines on stdin (echoed),
# as a checker that reports its own tests prints them; other lines are
# indented.  Prints nothing else; sets count_failed to the FAILED lines seen.
count_results() {
	local line
	count_failed=0
	while IFS= read -r line; do
		case $line in
		ok\ *) echo "$line"; passed=$((passed + 1)) ;;
		FAILED\ *)
			echo "$line"
			failed=$((failed + 1)) count_failed=$((count_failed + 1))
			line=${line#FAILED }
			failures+=("${line%%:*}")
			;;
		'') ;;
		*) echo "    $line" ;;
		esac
	done
}

# checks GROUP CMD...: CMD prints "ok NAME" / "FAILED NAME: why" lines
# itself; they are counted, and an exit status other than 0 without a FAILED
# line (a crash) fails GROUP.
checks() {
	local group=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	count_results <<<"$out"
	if ((rc != 0 && count_failed == 0)); then
		failed "$group" "exit status $rc"
	fi
}

# add_summary FILE LABEL: add the closing "N passed, M failed" of another
# runner's output FILE to the totals (a missing summary is one failure).
add_summary() {
	local summary n_failed line
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1 || true)
	if [[ -z $summary ]]; then
		failed=$((failed + 1))
		failures+=("$2 (no summary)")
		return
	fi
	passed=$((passed + ${summary%% passed*}))
	n_failed=${summary#*, }
	failed=$((failed + ${n_failed%% failed}))
	while IFS= read -r line; do
		line=${line#FAILED }
		failures+=("${line%%:*}")
	done < <(grep -E '^FAILED ' "$1" || true)
}

# results_end: the names of the failed tests, then the closing line; true
# when something ran and nothing failed.
results_end() {
	local f
	for f in "${failures[@]}"; do
		note "FAILED $f"
	done
	echo "$passed passed, $failed failed"
	((failed == 0 && passed > 0))
}

# keep_or_remove_work LABEL STATUS WORKDIR [RUN]: after a run that exited
# with STATUS, remove what it made when everything passed — only RUN (or
# nothing) when the caller gave the --workdir (keep_work=1: it keeps its
# virtualenvs and caches for next time), all of WORKDIR otherwise; keep it
# and say where it is when something failed.
keep_or_remove_work() {
	local label=$1 status=$2 dir=$3 run=${4:-}
	if ((status == 0 && failed == 0)); then
		if ((${keep_work:-0})); then
			[[ -z $run ]] || rm -rf "$run"
		else
			rm -rf "$dir"
		fi
	else
		echo "$label test work directory kept: $dir"
	fi
}
