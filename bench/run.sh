#!/usr/bin/env bash
# pg_trickle benchmarks: one command, one throwaway cluster, one results table.
#
#   bench/run.sh [--quick] [--only NAME[,NAME...]] [--keep] [--reps N]
#                [--no-deps] [--no-build]
#
# Run as root from the checkout.  Installs the Debian packages the project
# needs (scripts/deps.sh), builds and installs the extension (make install),
# starts a PostgreSQL 15 server with the default planner, executor and memory
# settings (only durability and WAL sizing differ) in a fresh
# /tmp/pg_trickle-bench.XXXXXX directory as the postgres OS user, loads the
# data, measures, prints a markdown table and writes it to
# bench/results/latest.md (git-ignored).  The server is stopped and the
# directory removed at the end unless --keep.  PG_CONFIG (scripts/lib.sh)
# chooses the PostgreSQL installation, as everywhere.  See bench/README.md.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH=$PGT_ROOT/bench
ALL_SCENARIOS=(refresh nodata capture scaling writers latency idle)
# psql prints "Time: ..." in the client's language; parse the C locale.
export LC_ALL=C LANG=C
unset PGOPTIONS PGDATABASE PGHOST PGPORT PGUSER

usage() {
	cat <<'EOT'
usage: bench/run.sh [--quick] [--only NAME[,NAME...]] [--keep] [--reps N]
                    [--no-deps] [--no-build]

  --quick       10x smaller data, shorter pgbench runs, 20 latency changes,
                15-second CPU windows (a smoke test, about 5 min)
  --only NAME   run only these scenarios (repeatable or comma-separated):
                  refresh  DIFFERENTIAL vs FULL vs REFRESH MATERIALIZED VIEW
                           (group, join_agg, join3; 1,000 rows, 1 % and 10 % of t)
                  nodata   cost of a refresh with no pending change
                  capture  DML cost with vs without a DIFFERENTIAL stream table
                  scaling  refresh of a fixed change as the source grows
                  writers  pgbench TPS (4 clients) with vs without 5 scheduled stream tables
                  latency  commit-to-visible time through the scheduler (schedule '1s')
                  idle     CPU of the scheduler with 100 idle stream tables
  --keep        keep the cluster running and its directory (prints how to connect)
  --reps N      repetitions per measurement, the median is reported (default 3)
  --no-deps     do not run scripts/deps.sh
  --no-build    do not run make / make install (benchmark what is installed)
EOT
}

quick=0 keep=0 do_deps=1 do_build=1 reps=3 only=()
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--keep) keep=1 ;;
	--only | --reps)
		(($# >= 2)) || die "$1 needs an argument"
		if [[ $1 == --only ]]; then IFS=, read -ra names <<<"$2"; only+=("${names[@]}"); else reps=$2; fi
		shift
		;;
	--only=*) IFS=, read -ra names <<<"${1#--only=}"; only+=("${names[@]}") ;;
	--reps=*) reps=${1#--reps=} ;;
	--no-deps) do_deps=0 ;;
	--no-build) do_build=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
	shift
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps needs a positive integer, not '$reps'"
for name in "${only[@]}"; do
	[[ " ${ALL_SCENARIOS[*]} " == *" $name "* ]] || die "unknown scenario '$name' (known: ${ALL_SCENARIOS[*]})"
done
selected() {
	((${#only[@]} == 0)) && return 0
	[[ " ${only[*]} " == *" $1 "* ]]
}

# --- sizes ----------------------------------------------------------------------
# --quick divides every size by 10 (and shortens the pgbench runs).
if ((quick)); then
	n_zones=50 n_dims=10000 n_t=100000
	cap_rows=10000 pgbench_secs=3 writers_secs=8
	scale_sizes=(10000 100000 500000) scale_change=100
else
	n_zones=50 n_dims=100000 n_t=1000000
	cap_rows=100000 pgbench_secs=15 writers_secs=30
	scale_sizes=(100000 1000000 5000000) scale_change=1000
fi
# change sizes of the refresh scenario, % of t (0.1 % of 1M = 1,000 rows;
# dims changes a twentieth as many rows: 50)
pcts=(0.1 1 10)
# writers: pgbench clients; the stream tables the scheduler refreshes
writers_clients=4 writers_catchup=120
writers_queries=(group join_agg join3 dim_agg zone_agg)
nodata_reps=200
# Scheduler scenarios: changes timed for latency (at each interval), idle
# stream tables and the length of each CPU window (--quick: fewer changes,
# shorter windows).
if ((quick)); then lat_changes=20 idle_secs=15; else lat_changes=100 idle_secs=60; fi
lat_poll_ms=10 lat_timeout_s=10 idle_n=100
# latency: the default scheduler interval, and a shorter one for contrast
lat_intervals=(1000 100)
# Capture overheads are small against the noise of a shared machine: more
# alternating runs there (at least 5 of each variant).
cap_reps=$((reps < 5 ? 5 : reps))
queries=(group join_agg join3 outer_join)
declare -A qlabel=([group]="group: GROUP BY grp (10k groups)" [join_agg]="join_agg: t ⋈ dims, GROUP BY cat"
	[join3]="join3: t ⋈ dims ⋈ zones" [outer_join]="outer_join: dims ⟕ t (a third of dims NULL-extended)" [dim_agg]="dim_agg: GROUP BY dim, filtered" [zone_agg]="zone_agg: t ⋈ dims ⋈ zones, GROUP BY zone")
# targets of issue 12 (outer_join: issue 15) : MV ÷ DIFFERENTIAL at 0.1 % (1,000 rows of 1M), 1 %, 10 %
declare -A target_01=([group]=25 [join_agg]=50 [join3]=25 [outer_join]=10)
target_1=3 target_10=1 max_vs_mv=1.2
scale_queries=(group join_agg)

# human N: 100000 -> 100k, 10000000 -> 10M.
human() {
	local n=$1
	if ((n >= 1000000 && n % 1000000 == 0)); then echo "$((n / 1000000))M"
	elif ((n >= 1000 && n % 1000 == 0)); then echo "$((n / 1000))k"
	else echo "$n"; fi
}

# --- prepare ------------------------------------------------------------------------
is_root || die "run bench/run.sh as root (it installs the extension and runs the server as '$PGT_OS_USER')"
t_start=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if ((do_deps)); then
	section "Checking dependencies (scripts/deps.sh)"
	"$PGT_ROOT/scripts/deps.sh"
fi
check_pg_config
if ((do_build)); then
	build_and_install
fi
extension_installed || die "pg_trickle is not installed (run without --no-build)"

section "Starting a throwaway PostgreSQL server for benchmarking"
work=$(mktemp -d /tmp/pg_trickle-bench.XXXXXX)
chmod 700 "$work"
mkdir -p "$work/logs" "$work/scripts"
give_to_server_user "$work"
raw=$work/raw.tsv metaf=$work/meta.tsv
: >"$raw"
server_started=0 current_log=

on_exit() {
	local rc=$?
	set +e
	if ((rc != 0)); then
		if [[ -n $current_log && -f $current_log ]]; then
			warn "last output ($current_log):"
			tail -n 25 "$current_log" >&2
		fi
		if [[ -f $work/server.log ]]; then
			warn "server log ($work/server.log):"
			tail -n 15 "$work/server.log" >&2
		fi
	fi
	if ((keep)); then
		if ((server_started)); then
			section "Kept the server running (--keep)"
			note "connect: $(pg_bin psql) -h $work -p $port -U postgres bench"
			note "stop:    runuser -u $PGT_OS_USER -- $(pg_bin pg_ctl) stop -D $work/data"
			note "remove:  rm -rf $work   (after stopping)"
		else
			note "work directory kept: $work"
		fi
		return
	fi
	if ((server_started)); then
		as_server_user "$work" "$(pg_bin pg_ctl)" stop -D "$work/data" -m fast -w >/dev/null 2>&1 ||
			warn "could not stop the server in $work"
	fi
	# Only ever delete the directory this run created.
	if [[ $work == /tmp/pg_trickle-bench.* && -d $work ]]; then
		rm -rf "$work"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

port=$(free_port 55700 "$work")
if ! as_server_user "$work" "$(pg_bin initdb)" -D "$work/data" -U postgres \
	--auth-local=trust --auth-host=reject --no-locale -E UTF8 >"$work/initdb.log" 2>&1; then
	cat "$work/initdb.log" >&2
	die "initdb failed"
fi
cat >>"$work/data/postgresql.conf" <<EOF

# --- pg_trickle benchmark (bench/run.sh); see bench/README.md ---
port = $port
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'pg_trickle'
pg_trickle.enabled = off            # only the benchmark refreshes (scheduler scenarios turn it on)
# Planner, executor and memory settings stay at the server's defaults (JIT
# on, work_mem 4MB, shared_buffers 128MB, autovacuum on, ...): what users
# get.  Only WAL sizing and durability differ:
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off            # fsync stays on; commits do not wait for the WAL flush
lc_messages = 'C'
timezone = 'UTC'
log_min_messages = warning
EOF
# The server loads the library once, at start: describe that one.
lib=$("$PG_CONFIG" --pkglibdir)/pg_trickle.so
lib_time=$(date -u -r "$lib" '+%Y-%m-%d %H:%M:%S UTC')
if ! as_server_user "$work" "$(pg_bin pg_ctl)" start -D "$work/data" -l "$work/server.log" -w -t 120 >/dev/null; then
	die "the server did not start"
fi
server_started=1
note "directory: $work, port $port (unix socket only)"

PSQL=("$(pg_bin psql)" -X -h "$work" -p "$port" -U postgres -v ON_ERROR_STOP=1)

# sql TEXT: run TEXT in the bench database, print the result unaligned.
sql() {
	local out
	if ! out=$(PGOPTIONS='-c client_min_messages=warning' "${PSQL[@]}" -d bench -qAt -c "$1" 2>&1); then
		printf '%s\n' "$out" >&2
		die "SQL failed: $1"
	fi
	[[ -z $out ]] || printf '%s\n' "$out"
}

# run_file NAME FILE [psql args]: run FILE untimed, output to logs/NAME.out.
run_file() {
	local name=$1 file=$2
	shift 2
	current_log=$work/logs/$name.out
	"${PSQL[@]}" -d bench -q -f "$file" "$@" >"$current_log" 2>&1 || die "$name failed (see above)"
}

# timed NAME FILE: run a generated script in one session and keep its
# timings.  Each timed statement follows a line `\echo @@ KEY`; psql's
# \timing prints the client-side wall time of every statement, and the first
# "Time:" after a marker is the one of its statement.
timed() {
	local name=$1 file=$2
	current_log=$work/logs/$name.out
	"${PSQL[@]}" -d bench -q -f "$file" >"$current_log" 2>&1 || die "$name failed (see above)"
	awk '/^@@ / { k = $2; next }
	     /^Time: / { if (k != "") { print k "\t" $2; k = "" } }' "$current_log" >>"$raw"
}

# script NAME: start a generated script; echo its path.
script() {
	local f=$work/scripts/$1.sql
	printf '%s\n' '\set ON_ERROR_STOP 1' '\o /dev/null' '\timing on' >"$f"
	echo "$f"
}

# refresh_stmt SET METHOD: the statement that refreshes one member of a set.
refresh_stmt() {
	case $2 in
	diff) echo "SELECT pgtrickle.refresh_stream_table('bench.st_$1_diff');" ;;
	full) echo "SELECT pgtrickle.refresh_stream_table('bench.st_$1_full');" ;;
	mv) echo "REFRESH MATERIALIZED VIEW bench.mv_$1;" ;;
	esac
}

declare -A have_diff=()
# create_set SET QUERY FACT: materialized view, FULL stream table, and the
# DIFFERENTIAL one when the engine accepts it; FACT is the fact table.
create_set() {
	local set=$1 q=$2 fact=$3
	sql "SELECT bench.create_mv('$set', '$q', '$fact')"
	sql "SELECT bench.create_full('$set', '$q', '$fact')"
	have_diff[$set]=$(sql "SELECT bench.try_create_diff('$set', '$q', '$fact')")
	sql "SELECT bench.note('rows/$set', (SELECT count(*) FROM bench.mv_$set)::text)"
	if [[ ${have_diff[$set]} == t ]]; then
		note "$set: materialized view, FULL and DIFFERENTIAL stream tables"
	else
		note "$set: materialized view and FULL stream table; DIFFERENTIAL refused: $(sql "SELECT value FROM bench.meta WHERE key = 'diff/$set'")"
	fi
}

# probe_diffs CHANGE_SQL SETS...: after CHANGE_SQL (a small change to the
# sources), refresh each DIFFERENTIAL member once; one that fails is dropped
# and reported as n/a with its error.
probe_diffs() {
	local change=$1 set any=0
	shift
	for set in "$@"; do [[ ${have_diff[$set]:-f} == t ]] && any=1; done
	((any)) || return 0
	sql "$change" >/dev/null
	for set in "$@"; do
		[[ ${have_diff[$set]:-f} == t ]] || continue
		if [[ $(sql "SELECT bench.probe_diff('$set')") != t ]]; then
			sql "SELECT bench.drop_diff('$set')" >/dev/null
			have_diff[$set]=f
			note "$set: DIFFERENTIAL stream table dropped, its refresh failed: $(sql "SELECT value FROM bench.meta WHERE key = 'diff/$set'")"
		fi
	done
}

# methods SET ROTATION: the refresh methods of a set, rotated so that no
# method always runs first after a change (cache effects even out).
methods() {
	local all=(diff full mv) m=() i n
	[[ ${have_diff[$1]:-f} == t ]] || all=(full mv)
	n=${#all[@]}
	for ((i = 0; i < n; i++)); do m+=("${all[$(((i + $2) % n))]}"); done
	echo "${m[@]}"
}

# emit_round FILE KEYPREFIX SETS...: refresh every member of every set once,
# timed, rotation by the round number in $round.
emit_round() {
	local f=$1 prefix=$2 set m qi=0
	shift 2
	for set in "$@"; do
		for m in $(methods "$set" $((round + qi))); do
			printf '\\echo @@ %s/%s/%s\n%s\n' "$prefix" "${set#sc_}" "$m" "$(refresh_stmt "$set" "$m")" >>"$f"
		done
		qi=$((qi + 1))
	done
}

# emit_vacuum FILE SETS...: VACUUM what a round rewrites whole, the FULL
# stream tables (their refresh deletes every row).  Not the sources nor the
# DIFFERENTIAL tables: a VACUUM of a relation updates its statistics in
# pg_class, and PostgreSQL then re-plans every kept plan that reads it, so a
# VACUUM of everything made every timed DIFFERENTIAL refresh re-plan its
# delta statement, which the scheduler pays only after autovacuum or
# ANALYZE of a source (bench/README.md, "Steady state").
emit_vacuum() {
	local f=$1 set
	shift
	for set in "$@"; do
		echo "VACUUM bench.st_${set}_full;" >>"$f"
	done
}

# emit_warmup FILE SETS...: one small change refreshed differentially,
# untimed, so that timed differential refreshes run with cached plans (as in
# the long-lived scheduler).
emit_warmup() {
	local f=$1 fact=$2 set any=0
	shift 2
	for set in "$@"; do [[ ${have_diff[$set]:-f} == t ]] && any=1; done
	((any)) || return 0
	echo "SELECT bench.apply_changes('$fact', 't', 10);" >>"$f"
	for set in "$@"; do
		[[ ${have_diff[$set]:-f} == t ]] && refresh_stmt "$set" diff >>"$f"
	done
	emit_vacuum "$f" "$@"
}

loaded_dims=0 loaded_t=0
ensure_dims() {
	((loaded_dims)) && return 0
	note "loading zones ($(human $n_zones)) and dims ($(human $n_dims))"
	run_file load_main "$BENCH/sql/load_main.sql" -v n_zones=$n_zones -v n_dims=$n_dims
	loaded_dims=1
}
ensure_t() {
	ensure_dims
	((loaded_t)) && return 0
	note "loading t ($(human $n_t))"
	run_file load_t "$BENCH/sql/load_t.sql" -v tbl=bench.t -v n=$n_t
	loaded_t=1
}

declare -A elapsed=()

"${PSQL[@]}" -d postgres -qAt -c "CREATE DATABASE bench" >/dev/null
run_file functions "$BENCH/sql/functions.sql"
pg_version=$(sql "SELECT current_setting('server_version')")
# For the report: every setting that differs from PostgreSQL's built-in
# default (the configuration file, including what initdb wrote there), and
# the planner / executor / memory settings that matter most, as they are.
server_settings=$(sql "SELECT string_agg(format('\`%s = %s\`', name, current_setting(name)), ', ' ORDER BY name)
                         FROM pg_settings
                        WHERE source NOT IN ('default', 'override', 'client', 'session')
                          AND setting IS DISTINCT FROM boot_val")
default_settings=$(sql "SELECT string_agg(format('%s %s', name, current_setting(name)), ', ' ORDER BY name)
                          FROM pg_settings
                         WHERE name IN ('jit', 'work_mem', 'maintenance_work_mem', 'shared_buffers', 'random_page_cost',
                                        'effective_cache_size', 'autovacuum', 'max_parallel_workers_per_gather', 'fsync')")

# --- 1. refresh: DIFFERENTIAL vs FULL vs REFRESH MATERIALIZED VIEW ---------------------
scenario_refresh() {
	section "1. Refresh after a change: DIFFERENTIAL vs FULL vs REFRESH MATERIALIZED VIEW"
	ensure_t
	local q f pct
	for q in "${queries[@]}"; do create_set "$q" "$q" bench.t; done
	probe_diffs "SELECT bench.change_round(0.01)" "${queries[@]}"
	sql "VACUUM ANALYZE"
	sql "CHECKPOINT"
	f=$(script refresh)
	emit_warmup "$f" bench.t "${queries[@]}"
	for pct in "${pcts[@]}"; do
		for ((round = 1; round <= reps; round++)); do
			echo "SELECT bench.change_round($pct);" >>"$f"
			emit_round "$f" "refresh/$pct" "${queries[@]}"
			emit_vacuum "$f" "${queries[@]}"
		done
		for q in "${queries[@]}"; do echo "SELECT bench.check_set('$q', 'refresh-$pct', $reps);" >>"$f"; done
	done
	note "measuring: ${#pcts[@]} change sizes x $reps rounds"
	timed refresh "$f"
	for q in "${queries[@]}"; do sql "SELECT bench.drop_set('$q')"; done
	sql "VACUUM"
}

# --- 4. NO_DATA refresh -------------------------------------------------------------------
scenario_nodata() {
	section "4. Refresh with no pending change ($nodata_reps repetitions)"
	ensure_t
	local f i
	sql "SELECT pgtrickle.create_stream_table('bench.st_tiny_full',
	       'SELECT id, name FROM bench.zones WHERE id <= 10', schedule => '1d', refresh_mode => 'FULL')"
	have_diff[nd]=$(sql "SELECT bench.try_create_diff('nd', 'group', 'bench.t')")
	probe_diffs "SELECT bench.apply_changes('bench.t', 't', 10)" nd
	sql "VACUUM ANALYZE"
	f=$(script nodata)
	for i in 1 2 3; do
		[[ ${have_diff[nd]} == t ]] && refresh_stmt nd diff >>"$f"
		echo "SELECT pgtrickle.refresh_stream_table('bench.st_tiny_full');" >>"$f"
	done
	for ((i = 1; i <= nodata_reps; i++)); do
		if [[ ${have_diff[nd]} == t ]]; then
			printf '\\echo @@ nodata/diff\n%s\n' "$(refresh_stmt nd diff)" >>"$f"
		fi
		printf '\\echo @@ nodata/tiny_full\n%s\n' "SELECT pgtrickle.refresh_stream_table('bench.st_tiny_full');" >>"$f"
		# the fixed cost of any statement: round trip, parse, commit
		printf '\\echo @@ nodata/select1\n%s\n' "SELECT 1;" >>"$f"
	done
	if [[ ${have_diff[nd]} == t ]]; then
		echo "SELECT bench.note('nodata/actions', bench.recent_actions('st_nd_diff', $nodata_reps));" >>"$f"
	fi
	timed nodata "$f"
	if [[ ${have_diff[nd]} == t ]]; then
		# Inside the server: a manual refresh's history row spans from after
		# the lock and snapshot to just before the history write and commit.
		"${PSQL[@]}" -d bench -qAt -F $'\t' -c "
			SELECT 'nodata/diff_server', extract(epoch FROM end_time - start_time) * 1000
			  FROM (SELECT h.start_time, h.end_time
			          FROM pgtrickle.pgt_refresh_history h
			          JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
			         WHERE s.pgt_schema = 'bench' AND s.pgt_name = 'st_nd_diff' AND h.action = 'NO_DATA'
			         ORDER BY h.refresh_id DESC LIMIT $nodata_reps) x" >>"$raw"
	fi
	sql "SELECT bench.drop_set('nd')"
	sql "SELECT pgtrickle.drop_stream_table('bench.st_tiny_full')"
}

# --- 2. capture overhead ----------------------------------------------------------------------
cap_state=without
cap_set_state() {
	[[ $1 == "$cap_state" ]] && return 0
	if [[ $1 == with ]]; then
		[[ $(sql "SELECT bench.try_create_diff('cap', 'cap')") == t ]] || die "could not create bench.st_cap_diff again"
	else
		sql "SELECT bench.drop_set('cap')"
	fi
	cap_state=$1
}
cap_after() {
	[[ $cap_state == with ]] && sql "SELECT pgtrickle.refresh_stream_table('bench.st_cap_diff')"
	sql "VACUUM"
}

scenario_capture() {
	section "2. Capture overhead: DML with vs without a DIFFERENTIAL stream table"
	note "loading bench.cap ($(human $cap_rows) rows)"
	run_file load_capture "$BENCH/sql/load_capture.sql" -v n=$cap_rows
	have_diff[cap]=$(sql "SELECT bench.try_create_diff('cap', 'cap')")
	probe_diffs "INSERT INTO bench.cap VALUES (0, 0, 0, 'probe'); DELETE FROM bench.cap WHERE id = 0" cap
	if [[ ${have_diff[cap]} == t ]]; then
		cap_state=with
	else
		note "DIFFERENTIAL refused: measuring without a stream table only"
	fi
	sql "CHECKPOINT"
	local r v f order tps out
	# Bulk DML, alternating which variant goes first.
	for ((r = 1; r <= cap_reps; r++)); do
		if ((r % 2)); then order=(without with); else order=(with without); fi
		for v in "${order[@]}"; do
			[[ $v == with && ${have_diff[cap]} != t ]] && continue
			cap_set_state "$v"
			f=$(script "capture-$r-$v")
			cat >>"$f" <<EOF
INSERT INTO bench.cap VALUES (0, 0, 0, 'warm-up');
DELETE FROM bench.cap WHERE id = 0;
\\echo @@ capture/insert/$v
INSERT INTO bench.cap SELECT $cap_rows + g, g % 1000, g % 97, 'new ' || g FROM generate_series(1, $cap_rows) g;
\\echo @@ capture/update/$v
UPDATE bench.cap SET v = v + 1 WHERE id > $cap_rows;
\\echo @@ capture/delete/$v
DELETE FROM bench.cap WHERE id > $cap_rows;
EOF
			timed "capture-$r-$v" "$f"
			cap_after
		done
	done
	# Single-row updates with pgbench, alternating the same way.
	for ((r = 1; r <= cap_reps; r++)); do
		if ((r % 2)); then order=(without with); else order=(with without); fi
		for v in "${order[@]}"; do
			[[ $v == with && ${have_diff[cap]} != t ]] && continue
			cap_set_state "$v"
			current_log=$work/logs/pgbench-$r-$v.out
			"$(pg_bin pgbench)" -n -h "$work" -p "$port" -U postgres -c 1 -T "$pgbench_secs" \
				-f "$BENCH/sql/pgbench_update.sql" -D rows=$cap_rows bench >"$current_log" 2>&1 ||
				die "pgbench failed"
			tps=$(awk '/^tps = / { print $3; exit }' "$current_log")
			[[ -n $tps ]] || die "no tps in pgbench output"
			printf 'capture/pgbench/%s\t%s\n' "$v" "$tps" >>"$raw"
			cap_after
		done
	done
	cap_set_state without
}

# --- 3. scaling ---------------------------------------------------------------------------------
scenario_scaling() {
	section "3. Scaling: a change of $(human $scale_change) rows as the source grows ($(for n in "${scale_sizes[@]}"; do human "$n"; done | paste -sd ' '))"
	ensure_dims
	local n q f t0
	for n in "${scale_sizes[@]}"; do
		t0=$SECONDS
		note "loading bench.sc_t ($(human "$n") rows)"
		run_file "load_sc_$n" "$BENCH/sql/load_t.sql" -v tbl=bench.sc_t -v n="$n"
		for q in "${scale_queries[@]}"; do create_set "sc_$q" "$q" bench.sc_t; done
		probe_diffs "SELECT bench.apply_changes('bench.sc_t', 't', 10)" "${scale_queries[@]/#/sc_}"
		sql "VACUUM ANALYZE"
		sql "CHECKPOINT"
		note "loaded and created in $((SECONDS - t0)) s; measuring"
		f=$(script "scaling-$n")
		emit_warmup "$f" bench.sc_t "${scale_queries[@]/#/sc_}"
		for ((round = 1; round <= reps; round++)); do
			echo "SELECT bench.apply_changes('bench.sc_t', 't', $scale_change);" >>"$f"
			emit_round "$f" "scaling/$n" "${scale_queries[@]/#/sc_}"
			emit_vacuum "$f" "${scale_queries[@]/#/sc_}"
		done
		for q in "${scale_queries[@]}"; do echo "SELECT bench.check_set('sc_$q', 'scaling-$n', $reps);" >>"$f"; done
		timed "scaling-$n" "$f"
		for q in "${scale_queries[@]}"; do sql "SELECT bench.drop_set('sc_$q')"; done
		sql "DROP TABLE bench.sc_t"
		sql "VACUUM"
		note "$(human "$n") done in $((SECONDS - t0)) s"
	done
}

# --- 5, 6, 7. Scheduler scenarios: writers, latency and idle -------------------------------
# Only these run with the scheduler refreshing: pg_trickle.enabled = on
# through ALTER SYSTEM and a reload, undone afterwards.  The other
# scenarios' stream tables are dropped at their end, so nothing else is due.
sched_loaded=0 sched_pid='' launcher_pid=''
clk_tck=$(getconf CLK_TCK)

# wait_for SQL SECONDS: poll SQL (a boolean) every 0.2 s, at most SECONDS;
# false when it never became true.
wait_for() {
	local i end=$((SECONDS + $2))
	for ((i = 0; SECONDS < end; i++)); do
		[[ $(sql "$1") == t ]] && return 0
		sleep 0.2
	done
	return 1
}
# wait_until SQL SECONDS WHAT: wait_for, or die saying WHAT.
wait_until() { wait_for "$1" "$2" || die "$3 (waited $2 s)"; }
worker_pid() { sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_trickle $1' ${2:-} ORDER BY backend_start LIMIT 1"; }

sched_on() {
	if ((!sched_loaded)); then
		run_file scheduler "$BENCH/sql/scheduler.sql"
		sql "VACUUM ANALYZE bench.lat_src, bench.idle_src"
		sched_loaded=1
	fi
	sql "ALTER SYSTEM SET pg_trickle.enabled = on"
	sql "SELECT pg_reload_conf()" >/dev/null
	# a database's scheduler runs only while it has work (src/scheduler/README.md):
	# the launcher is what must be there; creating a stream table wakes it
	wait_until "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle launcher'" 30 \
		"no pg_trickle launcher runs"
	launcher_pid=$(worker_pid launcher)
	# the launcher reads the new setting at the reload; a scheduler at its next round
	sleep 2
}
sched_off() {
	sql "ALTER SYSTEM RESET pg_trickle.enabled"
	sql "SELECT pg_reload_conf()" >/dev/null
}

# run_pgbench_writers KEY: one pgbench run of the writers mix on bench.t;
# its TPS goes to the raw samples under KEY.
run_pgbench_writers() {
	local key=$1 tps
	current_log=$work/logs/${key//\//-}.out
	"$(pg_bin pgbench)" -n -h "$work" -p "$port" -U postgres -c "$writers_clients" -j 2 -T "$writers_secs" \
		-f "$BENCH/sql/pgbench_writers.sql" -D rows="$n_t" -D dims="$n_dims" bench >"$current_log" 2>&1 ||
		die "pgbench failed (writers)"
	tps=$(awk '/^tps = / { print $3; exit }' "$current_log")
	[[ -n $tps ]] || die "no tps in pgbench output"
	printf '%s\t%s\n' "$key" "$tps" >>"$raw"
	note "$key: $(printf '%.0f' "$tps") TPS"
}

scenario_writers() {
	section "7. Writers: pgbench ($writers_clients clients, ${writers_secs} s) with vs without ${#writers_queries[@]} stream tables refreshed by the scheduler every second"
	ensure_t
	sched_on
	local q mark0 mark1 t_end qs
	sql "CREATE SEQUENCE IF NOT EXISTS bench.t_new_id START $((n_t * 10))"
	sql "VACUUM ANALYZE bench.t"
	# without, with, with, without: the order effects cancel, and the stream
	# tables are created and dropped only once.
	run_pgbench_writers writers/without
	sql "VACUUM bench.t"
	note "creating ${#writers_queries[@]} stream tables with schedule '1s'"
	for q in "${writers_queries[@]}"; do
		sql "SELECT bench.note('writers/mode/$q', bench.create_scheduled('w_$q', '$q', '1s'))"
	done
	sql "VACUUM ANALYZE"
	sleep 3
	mark0=$(sql "SELECT bench.history_mark()")
	run_pgbench_writers writers/with
	sql "VACUUM bench.t"
	run_pgbench_writers writers/with
	t_end=$(sql "SELECT clock_timestamp()")
	mark1=$(sql "SELECT bench.history_mark()")
	qs=$(printf "'st_w_%s'," "${writers_queries[@]}")
	qs=${qs%,}
	# the writers have stopped: every stream table catches up, then it must
	# equal its query
	# equal to its query (a stream table the scheduler has not brought up
	# to date within writers_catchup seconds is reported as such)
	note "waiting (at most $writers_catchup s) for the scheduler to bring the stream tables up to date"
	wait_for "SELECT bool_and(EXISTS (SELECT FROM pgtrickle.pgt_refresh_history h
	                   WHERE h.pgt_id = s.pgt_id AND h.status = 'COMPLETED' AND h.data_timestamp > '$t_end'))
	          FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_schema = 'bench' AND s.pgt_name IN ($qs)" "$writers_catchup" || true
	sql "SELECT bench.note('writers/catchup', '$(sql "SELECT round(extract(epoch FROM clock_timestamp() - '$t_end'))")')"
	for q in "${writers_queries[@]}"; do
		sql "SELECT bench.note('check/writers/$q',
		       CASE WHEN EXISTS (SELECT FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		                          WHERE s.pgt_schema = 'bench' AND s.pgt_name = 'st_w_$q'
		                            AND h.status = 'COMPLETED' AND h.data_timestamp > '$t_end')
		            THEN bench.check_query('st_w_$q', bench.query_text('$q'))
		            ELSE 'not up to date $writers_catchup s after the writers stopped' END)"
	done
	"${PSQL[@]}" -d bench -qAt -F $'\t' -c "SELECT * FROM bench.sched_summary($mark0, $mark1)" >"$work/writers_history.tsv"
	# a refresh still running would block the drops: the scheduler stops
	# starting new ones, and the running ones of this server are cancelled
	sched_off
	sql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	      WHERE backend_type = 'pg_trickle refresh worker' AND datname = 'bench'" >/dev/null
	sched_on
	for q in "${writers_queries[@]}"; do sql "SELECT pgtrickle.drop_stream_table('bench.st_w_$q')" >/dev/null; done
	sql "VACUUM bench.t"
	run_pgbench_writers writers/without
	sched_off
	sql "VACUUM"
}

scenario_latency() {
	section "5. Commit-to-visible latency through the scheduler (schedule '1s'; scheduler_interval_ms ${lat_intervals[*]}; $lat_changes changes each)"
	sched_on
	sql "SELECT pgtrickle.create_stream_table('bench.st_lat', 'SELECT id, grp, v FROM bench.lat_src',
	       schedule => '1s', refresh_mode => 'DIFFERENTIAL')" >/dev/null
	local iv mark period k
	for iv in "${lat_intervals[@]}"; do
		sql "ALTER SYSTEM SET pg_trickle.scheduler_interval_ms = $iv"
		sql "SELECT pg_reload_conf()" >/dev/null
		# the scheduler reads it when it next wakes; then a few refreshes at
		# the new pace give the period it keeps
		sleep 2
		# nothing changes yet: the scheduler confirms the table fresh each
		# period (idle rounds move data_timestamp, no history row)
		period=$(sql "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY g))::int FROM bench.confirm_gaps('st_lat', 6) g")
		[[ -n $period ]] || die "the scheduler does not keep bench.st_lat fresh"
		# A pause uniform over one period puts the commits at uniformly
		# random points of the scheduler's cycle (a pause shorter than the
		# period would not: the previous change became visible right after
		# a refresh).
		sql "SELECT bench.note('latency/$iv/pause', '$period')"
		note "interval $iv ms: the scheduler refreshes the '1s' table every $period ms; measuring $lat_changes changes, each after a random pause of 0-$period ms, polled every $lat_poll_ms ms"
		sql "TRUNCATE bench.lat_obs"
		mark=$(sql "SELECT bench.history_mark()")
		sql "CALL bench.measure_latency($lat_changes, $lat_poll_ms, $period, $lat_timeout_s)"
		k=latency/$iv
		"${PSQL[@]}" -d bench -qAt -F $'\t' -c "
			SELECT '$k/visible', extract(epoch FROM visible_at - committed_at) * 1000
			  FROM bench.lat_obs WHERE visible_at IS NOT NULL
			UNION ALL SELECT '$k/refresh_start', to_start_ms FROM bench.lat_refreshes()
			UNION ALL SELECT '$k/refresh_end', to_end_ms FROM bench.lat_refreshes()
			UNION ALL SELECT '$k/gap', g FROM bench.refresh_gaps('st_lat', $mark) g
			UNION ALL SELECT '$k/duration', d FROM bench.refresh_durations('st_lat', $mark) d" >>"$raw"
		sql "SELECT bench.note('$k/timeouts', count(*)::text) FROM bench.lat_obs WHERE visible_at IS NULL"
		sql "SELECT bench.note('$k/actions', string_agg(action || ' ×' || c, ', ' ORDER BY c DESC))
		       FROM (SELECT action, count(*) AS c FROM bench.lat_refreshes() GROUP BY action) x"
		sql "SELECT bench.note('$k/polls', round(avg(polls), 1)::text) FROM bench.lat_obs"
	done
	sql "ALTER SYSTEM RESET pg_trickle.scheduler_interval_ms"
	sql "SELECT pgtrickle.drop_stream_table('bench.st_lat')" >/dev/null
	sched_off
}

# proc_cpu PID: user + system CPU time of one process so far, in clock ticks.
proc_cpu() {
	local line st
	read -r line <"/proc/$1/stat" || die "process $1 is gone"
	# after "pid (comm) ": state ppid ... utime stime (fields 14 and 15)
	read -r -a st <<<"${line##*) }"
	echo $((st[11] + st[12]))
}
# server_cpu: CPU of the whole server so far, in clock ticks: the postmaster
# (its own and that of the children it reaped: cutime, cstime) and every
# live child.
server_cpu() {
	local pm f line st t=0
	read -r pm <"$work/data/postmaster.pid"
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		read -r -a st <<<"${line##*) }"
		if [[ ${line%% *} == "$pm" ]]; then
			t=$((t + st[11] + st[12] + st[13] + st[14]))
		elif [[ ${st[1]} == "$pm" ]]; then
			t=$((t + st[11] + st[12]))
		fi
	done
	echo "$t"
}
# pct TICKS SECONDS: CPU time as % of one core.
cpu_pct() { awk -v t="$1" -v s="$2" -v hz="$clk_tck" 'BEGIN { printf "%.4f", t / hz / s * 100 }'; }

# cpu_window KEY: measure idle_secs seconds of CPU of the scheduler, the
# launcher and the whole server, with no client connected, and what the
# scheduler refreshed meanwhile (from the refresh history).
cpu_window() {
	local key=$1 t0 t1 s0 s1 l0 l1 a0 a1 secs win n acts med p90
	note "$key: measuring $idle_secs s"
	sql "SELECT bench.note('$key/load', '$(cut -d' ' -f1 /proc/loadavg)')"
	# the scheduler of database bench, if one runs (it exits when there is
	# nothing to do for a while): its CPU counts when the same one runs from
	# start to end of the window, else 0 here (the whole server counts all)
	sched_pid=$(worker_pid scheduler "AND datname = 'bench'")
	s0=0
	[[ -n $sched_pid ]] && s0=$(proc_cpu "$sched_pid")
	l0=$(proc_cpu "$launcher_pid") a0=$(server_cpu) t0=$(date +%s.%N)
	sleep "$idle_secs"
	s1=$s0
	if [[ -n $sched_pid && $(worker_pid scheduler "AND datname = 'bench'") == "$sched_pid" ]]; then
		s1=$(proc_cpu "$sched_pid")
	fi
	l1=$(proc_cpu "$launcher_pid") a1=$(server_cpu) t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	printf '%s/scheduler\t%s\n%s/launcher\t%s\n%s/server\t%s\n%s/scheduler_ms\t%s\n' \
		"$key" "$(cpu_pct $((s1 - s0)) "$secs")" "$key" "$(cpu_pct $((l1 - l0)) "$secs")" \
		"$key" "$(cpu_pct $((a1 - a0)) "$secs")" "$key" $(((s1 - s0) * 1000 / clk_tck)) >>"$raw"
	win=$(sql "SELECT bench.sched_window($t0, $t1)")
	IFS=$'\t' read -r n acts med p90 <<<"$win"
	printf '%s/refreshes\t%s\n' "$key" "$n" >>"$raw"
	[[ -n $med ]] && printf '%s/refresh_med\t%s\n%s/refresh_p90\t%s\n' "$key" "$med" "$key" "$p90" >>"$raw"
	sql "SELECT bench.note('$key/actions', '$acts')"
	note "$key: scheduler $(cpu_pct $((s1 - s0)) "$secs") % of one core, $n scheduled refreshes ($acts)"
}

scenario_idle() {
	section "6. Scheduler CPU: no stream table, then $idle_n idle ones (schedule '1m', then '1s'); windows of $idle_secs s"
	sched_on
	cpu_window idle/none
	note "creating $idle_n DIFFERENTIAL stream tables (schedule '1m')"
	sql "SELECT bench.create_idle($idle_n, '1m')" >/dev/null
	sql "VACUUM ANALYZE"
	sleep 2
	cpu_window idle/1m
	sql "SELECT pgtrickle.alter_stream_table(st, schedule => '1s') FROM bench.idle_tables() st" >/dev/null
	sleep 3
	cpu_window idle/1s
	sql "SELECT pgtrickle.drop_stream_table(st) FROM bench.idle_tables() st" >/dev/null
	sched_off
}

for s in "${ALL_SCENARIOS[@]}"; do
	selected "$s" || continue
	t0=$SECONDS
	"scenario_$s"
	elapsed[$s]=$((SECONDS - t0))
done

"${PSQL[@]}" -d bench -qAt -F $'\t' -c "SELECT key, value FROM bench.meta ORDER BY key" >"$metaf"
current_log=

# --- report -----------------------------------------------------------------------------------------
# Medians (and p90) of the raw samples; cells with "n/a" when a sample is missing.
samples() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$raw" | sort -g; }
med() { samples "$1" | awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# pctl KEY P: the P-th percentile (nearest rank) of the samples.
pctl() { samples "$1" | awk -v p="$2" '{ a[NR] = $1 } END { if (NR == 0) exit; i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print a[i] }'; }
p90() { pctl "$1" 90; }
nsamples() { samples "$1" | wc -l; }
meta() { awk -F'\t' -v k="$1" '$1 == k { print $2; exit }' "$metaf"; }
ms() { if [[ -n $1 ]]; then awk -v x="$1" 'BEGIN { if (x < 10) printf "%.2f", x; else if (x < 1000) printf "%.1f", x; else printf "%.0f", x }'; fi; }
# ratio A B: A / B as "12.3×"; empty when either is missing.
ratio() {
	[[ -n $1 && -n $2 ]] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) exit; r = a / b; if (r >= 100) printf "%.0f×", r; else if (r >= 10) printf "%.1f×", r; else printf "%.2f×", r }'
}
ratio_value() { if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.6f", a / b }'; fi; }
# pr KEY_A KEY_B: median over rounds of A_i / B_i, where the i-th samples of
# both keys were measured in the same round, back to back (same data for the
# refresh methods, adjacent alternating runs for capture).  Pairing cancels
# drift of the machine better than a ratio of medians.  Empty when a side is
# missing.
pr() {
	paste <(awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$raw") \
		<(awk -F'\t' -v k="$2" '$1 == k { print $2 }' "$raw") |
		awk -F'\t' 'NF == 2 && $1 != "" && $2 > 0 { print $1 / $2 }' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf "%.6f", a[(NR + 1) / 2]; else printf "%.6f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# fmt_ratio X: "12.3×".
fmt_ratio() { if [[ -n $1 ]]; then awk -v r="$1" 'BEGIN { if (r >= 100) printf "%.0f×", r; else if (r >= 10) printf "%.1f×", r; else printf "%.2f×", r }'; fi; }
# pcell KEY_A KEY_B: the paired ratio, or n/a.
pcell() { local r; r=$(fmt_ratio "$(pr "$1" "$2")"); echo "${r:-n/a}"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# diff_na SET: the text of a cell whose DIFFERENTIAL value is missing.
diff_na() {
	local why
	why=$(meta "diff/$1")
	if [[ $why == *"differential engine is not part"* || -z $why ]]; then
		echo "n/a (differential engine not available)"
	elif [[ $why == "n/a: refresh failed: "* ]]; then
		echo "n/a (DIFFERENTIAL refresh failed: ${why#n/a: refresh failed: })"
	else
		echo "n/a (refused: ${why#n/a: })"
	fi
}
# check_summary "WHAT: RESULT"...: "yes (N checks)" or the ones that failed.
check_summary() {
	local c bad=()
	(($#)) || { echo "not checked"; return; }
	for c in "$@"; do [[ $c == *": ok" ]] || bad+=("$c"); done
	if ((${#bad[@]} == 0)); then echo "yes ($# of $# checks)"; else echo "**NO**: ${bad[*]/%/;}"; fi
}
cell() { if [[ -n $1 ]]; then ms "$1"; else echo "${2:-n/a}"; fi; }
# pct X: a CPU percentage.
pct() { if [[ -n $1 ]]; then awk -v x="$1" 'BEGIN { if (x < 10) printf "%.2f", x; else printf "%.1f", x }'; else echo n/a; fi; }
rcell() { local r; r=$(ratio "$1" "$2"); echo "${r:-n/a}"; }
tps_cell() { if [[ -n $1 ]]; then printf '%.0f' "$1"; else echo "${2:-n/a}"; fi; }

report=$work/report.md body=$work/body.md
targets=()
# the "never more than 1.2x slower than REFRESH MATERIALIZED VIEW" rule:
# every refresh cell checked, the violations listed
rule_cells=0 rule_viol=() rd="" rf=""
# rule_check VAR WHAT KEY_A KEY_MV: one cell of the rule (paired ratio A ÷
# MV); sets VAR to the ratio cell, flagged when it breaks the rule.  Not in
# a subshell: it counts the cells and collects the violations.
rule_check() {
	local -n out=$1
	local r
	r=$(pr "$3" "$4")
	if [[ -z $r ]]; then out=n/a; return; fi
	rule_cells=$((rule_cells + 1))
	if le "$r" "$max_vs_mv"; then
		out=$(fmt_ratio "$r")
	else
		rule_viol+=("$2 $(fmt_ratio "$r")")
		out="**$(fmt_ratio "$r")** ⚠"
	fi
}
# target_row TEXT VALUE OP BOUND [NA [SHOWN]]: a row of the Targets table;
# OP is ge, le or lt; VALUE empty = not measurable (NA says why); SHOWN is
# the value as displayed (default: VALUE as a ratio).
target_row() {
	local status shown=${6:-}
	if [[ -z $2 ]]; then status="not measurable${5:+: $5}"
	elif "$3" "$2" "$4"; then status="met"
	else status="**missed**"; fi
	[[ -n $shown || -z $2 ]] || shown=$(fmt_ratio "$2")
	targets+=("| $1 | $shown | $status |")
}
# pct_label PCT: "1k rows (0.1 %)".
pct_label() { echo "$(human "$(awk -v n="$n_t" -v p="$1" 'BEGIN { printf "%d", n * p / 100 }')") rows ($1 %)"; }
{
	if selected refresh; then
		echo "## 1. Refresh after a change (ms)"
		echo
		echo "Sources: t $(human $n_t) rows, dims $(human $n_dims), zones $(human $n_zones)." \
			"Each round changes the given share of t and a twentieth as many rows of dims (½ updates — 30 % of them moving to another group and dims row —, ¼ inserts, ¼ deletes)" \
			"in one transaction, then refreshes everything once, in a rotating order. Outputs: group $(meta rows/group) rows, join_agg $(meta rows/join_agg) rows, join3 $(meta rows/join3) rows." \
			"⚠ marks a refresh more than ${max_vs_mv}× slower than \`REFRESH MATERIALIZED VIEW\` of the same query."
		echo
		echo "| query | changed | DIFFERENTIAL | FULL | REFRESH MATERIALIZED VIEW | MV ÷ DIFF | DIFF ÷ MV | FULL ÷ MV |"
		echo "|---|---|---|---|---|---|---|---|"
		for pct in "${pcts[@]}"; do
			for q in "${queries[@]}"; do
				d=$(med "refresh/$pct/$q/diff") fu=$(med "refresh/$pct/$q/full") mv=$(med "refresh/$pct/$q/mv")
				na=$(diff_na "$q")
				k=refresh/$pct/$q
				rule_check rd "$q DIFFERENTIAL @$pct %" "$k/diff" "$k/mv"
				rule_check rf "$q FULL @$pct %" "$k/full" "$k/mv"
				echo "| ${qlabel[$q]} | $(pct_label "$pct") | $(cell "$d" "$na") | $(cell "$fu") | $(cell "$mv") | $(pcell "$k/mv" "$k/diff") | $rd | $rf |"
			done
		done
		echo
		for pct in "${pcts[@]}"; do echo "* changes per round at $pct %: $(meta "changes/$pct")"; done
		checks=()
		for pct in "${pcts[@]}"; do
			for q in "${queries[@]}"; do
				for k in full diff; do
					c=$(meta "check/refresh-$pct/$q/$k")
					[[ -n $c ]] && checks+=("$q $k @$pct %: $c")
				done
			done
		done
		echo "* stream tables equal to the materialized view after the last round of each change size: $(check_summary "${checks[@]}")"
		acts=()
		for pct in "${pcts[@]}"; do
			for q in "${queries[@]}"; do
				a=$(meta "actions/refresh-$pct/$q")
				[[ -n $a ]] && acts+=("$q @$pct %: $a")
			done
		done
		((${#acts[@]})) && echo "* what the timed DIFFERENTIAL refreshes recorded in the refresh history: $(printf '%s; ' "${acts[@]}" | sed 's/; $//')"
		echo
		for q in "${queries[@]}"; do
			target_row "${q}: DIFFERENTIAL ≥ ${target_01[$q]}× faster than REFRESH MATERIALIZED VIEW at $(pct_label 0.1) of $(human $n_t)" \
				"$(pr "refresh/0.1/$q/mv" "refresh/0.1/$q/diff")" ge "${target_01[$q]}" "$(diff_na "$q")"
		done
		for q in "${queries[@]}"; do
			target_row "${q}: DIFFERENTIAL ≥ ${target_1}× faster than REFRESH MATERIALIZED VIEW at $(pct_label 1)" \
				"$(pr "refresh/1/$q/mv" "refresh/1/$q/diff")" ge "$target_1" "$(diff_na "$q")"
		done
		for q in "${queries[@]}"; do
			target_row "${q}: DIFFERENTIAL never slower than REFRESH MATERIALIZED VIEW at $(pct_label 10) (MV ÷ DIFF ≥ 1×)" \
				"$(pr "refresh/10/$q/mv" "refresh/10/$q/diff")" ge "$target_10" "$(diff_na "$q")"
		done
	fi

	if selected capture; then
		echo "## 2. Capture overhead"
		echo
		echo "bench.cap: $(human $cap_rows) rows. \"with\" = a DIFFERENTIAL stream table (\`$(sql "SELECT bench.query_text('cap')" | tr -s ' \n' ' ' | sed 's/ *$//')\`) reads the table;" \
			"\"without\" = no stream table (created and dropped between runs). Medians of $cap_reps runs of each; runs alternate which variant goes first; after each run the stream table is refreshed and the table vacuumed (untimed)."
		echo
		echo "| operation | without | with DIFFERENTIAL stream table | overhead | target | noise: max ÷ min of the \"without\" runs |"
		echo "|---|---|---|---|---|---|"
		na=$(diff_na cap)
		for op in insert update delete; do
			a=$(med "capture/$op/without") b=$(med "capture/$op/with")
			echo "| bulk ${op^^} of $(human $cap_rows) rows (ms) | $(cell "$a") | $(cell "$b" "$na") | $(pcell "capture/$op/with" "capture/$op/without") (with ÷ without) | ≤ 1.5× | $(rcell "$(samples "capture/$op/without" | tail -n 1)" "$(samples "capture/$op/without" | head -n 1)") |"
			target_row "capture: bulk ${op^^} of $(human $cap_rows) rows with ÷ without a DIFFERENTIAL stream table ≤ 1.5×" \
				"$(pr "capture/$op/with" "capture/$op/without")" le 1.5 "$na"
		done
		a=$(med capture/pgbench/without) b=$(med capture/pgbench/with)
		echo "| single-row UPDATE by key, \`pgbench -c 1 -T $pgbench_secs\` (TPS) | $(tps_cell "$a") | $(tps_cell "$b" "$na") | $(pcell capture/pgbench/without capture/pgbench/with) (without ÷ with) | ≤ 1.2× | $(rcell "$(samples capture/pgbench/without | tail -n 1)" "$(samples capture/pgbench/without | head -n 1)") |"
		target_row "capture: single-row UPDATEs, pgbench TPS without ÷ with ≤ 1.2×" \
			"$(pr capture/pgbench/without capture/pgbench/with)" le 1.2 "$na"
		echo
	fi

	if selected scaling; then
		echo "## 3. Scaling: refresh of a change of $(human $scale_change) rows as the source grows (ms)"
		echo
		echo "bench.sc_t (as t) of each size (loaded with INSERT ... SELECT generate_series, logged, indexes built after loading, VACUUM ANALYZE)," \
			"joined with dims ($(human $n_dims)) for join_agg." \
			"Each round changes $(human $scale_change) rows of sc_t (½ updates, 30 % of them moving, ¼ inserts, ¼ deletes). ⚠ marks a refresh more than ${max_vs_mv}× slower than \`REFRESH MATERIALIZED VIEW\`."
		echo
		hdr="| source rows |" sep="|---|"
		for q in "${scale_queries[@]}"; do
			hdr+=" $q: DIFFERENTIAL | FULL | REFRESH MV | DIFF ÷ MV | FULL ÷ MV |"
			sep+="---|---|---|---|---|"
		done
		echo "$hdr"
		echo "$sep"
		for n in "${scale_sizes[@]}"; do
			line="| $(human "$n") |"
			for q in "${scale_queries[@]}"; do
				rule_check rd "scaling $q DIFFERENTIAL @$(human "$n")" "scaling/$n/$q/diff" "scaling/$n/$q/mv"
				rule_check rf "scaling $q FULL @$(human "$n")" "scaling/$n/$q/full" "scaling/$n/$q/mv"
				line+=" $(cell "$(med "scaling/$n/$q/diff")" "$(diff_na "sc_$q")") | $(cell "$(med "scaling/$n/$q/full")") | $(cell "$(med "scaling/$n/$q/mv")") | $rd | $rf |"
			done
			echo "$line"
		done
		first=${scale_sizes[0]} last=${scale_sizes[-1]}
		line="| growth $(human "$first") → $(human "$last") |"
		for q in "${scale_queries[@]}"; do
			line+=" $(rcell "$(med "scaling/$last/$q/diff")" "$(med "scaling/$first/$q/diff")") | $(rcell "$(med "scaling/$last/$q/full")" "$(med "scaling/$first/$q/full")") | $(rcell "$(med "scaling/$last/$q/mv")" "$(med "scaling/$first/$q/mv")") | | |"
			target_row "scaling $q: DIFFERENTIAL refresh of $(human $scale_change) changed rows grows < 1.3× from $(human "$first") to $(human "$last") source rows" \
				"$(ratio_value "$(med "scaling/$last/$q/diff")" "$(med "scaling/$first/$q/diff")")" lt 1.3 "$(diff_na "sc_$q")"
		done
		echo "$line"
		echo
		checks=()
		for n in "${scale_sizes[@]}"; do
			for q in "${scale_queries[@]}"; do
				for k in full diff; do
					c=$(meta "check/scaling-$n/sc_$q/$k")
					[[ -n $c ]] && checks+=("$q $k @$(human "$n"): $c")
				done
			done
		done
		echo "* stream tables equal to the materialized view after the last round of each source size: $(check_summary "${checks[@]}")"
		acts=()
		for n in "${scale_sizes[@]}"; do
			for q in "${scale_queries[@]}"; do
				a=$(meta "actions/scaling-$n/sc_$q")
				[[ -n $a ]] && acts+=("$q @$(human "$n"): $a")
			done
		done
		((${#acts[@]})) && echo "* what the timed DIFFERENTIAL refreshes recorded in the refresh history: $(printf '%s; ' "${acts[@]}" | sed 's/; $//')"
		echo
	fi

	if selected nodata; then
		echo "## 4. Refresh with no pending change ($nodata_reps runs, ms)"
		echo
		echo "The three statements alternate, one after the other, in one session. \"÷ SELECT 1\" is the median of the per-run ratios."
		echo
		echo "| refresh | median | p90 | runs | ÷ \`SELECT 1\` | actions recorded |"
		echo "|---|---|---|---|---|---|"
		d=$(med nodata/diff)
		if [[ -n $d ]]; then
			echo "| DIFFERENTIAL, group over t ($(human $n_t) rows), nothing pending: client-side | $(ms "$d") | $(ms "$(p90 nodata/diff)") | $(nsamples nodata/diff) | $(pcell nodata/diff nodata/select1) | $(meta nodata/actions) |"
			echo "| the same refreshes inside the server (history \`end_time - start_time\`: after lock and snapshot, before the history write and commit) | $(ms "$(med nodata/diff_server)") | $(ms "$(p90 nodata/diff_server)") | $(nsamples nodata/diff_server) | | |"
		else
			echo "| DIFFERENTIAL, group over t ($(human $n_t) rows), nothing pending | $(diff_na nd) | | | | |"
		fi
		echo "| FULL, 10-row stream table (reference: fixed cost of a refresh call) | $(ms "$(med nodata/tiny_full)") | $(ms "$(p90 nodata/tiny_full)") | $(nsamples nodata/tiny_full) | $(pcell nodata/tiny_full nodata/select1) | FULL |"
		echo "| \`SELECT 1\` (reference: round trip and commit of any statement) | $(ms "$(med nodata/select1)") | $(ms "$(p90 nodata/select1)") | $(nsamples nodata/select1) | 1× | |"
		echo
		d=$(med nodata/diff_server)
		target_row "nodata: NO_DATA refresh ≤ 0.3 ms of server time (history end_time - start_time, median)" \
			"$d" le 0.3 "$(diff_na nd)" "${d:+$(ms "$d") ms (client-side $(ms "$(med nodata/diff)") ms, \`SELECT 1\` $(ms "$(med nodata/select1)") ms)}"
	fi

	if selected latency; then
		echo "## 5. Commit-to-visible latency through the scheduler (ms)"
		echo
		echo "A DIFFERENTIAL stream table \`SELECT id, grp, v FROM bench.lat_src\` (1k rows) with schedule \`'1s'\`, refreshed only by the scheduler" \
			"(\`pg_trickle.enabled = on\`), with \`pg_trickle.scheduler_interval_ms\` at $(printf '%s, ' "${lat_intervals[@]}" | sed 's/, $//') ms in turn." \
			"$lat_changes changes at each, one at a time: a random pause of 0 to one refresh period (measured just before; so that commits fall anywhere in the scheduler's cycle), an INSERT of one row and its commit," \
			"then a new statement (a new snapshot, as any reader) every $lat_poll_ms ms until the row is in the stream table. Times are taken in the server (\`clock_timestamp()\` in a procedure), so no client round trip is included."
		echo
		echo "| interval | measure | p50 | p90 | p99 | max | n |"
		echo "|---|---|---|---|---|---|---|"
		for iv in "${lat_intervals[@]}"; do
			for k in visible refresh_start refresh_end duration gap; do
				case $k in
				visible) label="**commit → visible to a reader** (polled every $lat_poll_ms ms: late by at most that)" ;;
				refresh_start) label="commit → start of the scheduled refresh that brought the change (waiting for the scheduler)" ;;
				refresh_end) label="commit → end of that refresh (just before its commit)" ;;
				duration) label="a scheduled refresh of this table: history \`end_time - start_time\` (from its RUNNING announcement)" ;;
				gap) label="gap between the starts of consecutive scheduled refreshes of this table (the period kept)" ;;
				esac
				kk=latency/$iv/$k
				echo "| $iv ms | $label | $(cell "$(med "$kk")") | $(cell "$(pctl "$kk" 90)") | $(cell "$(pctl "$kk" 99)") | $(cell "$(pctl "$kk" 100)") | $(nsamples "$kk") |"
			done
		done
		echo
		for iv in "${lat_intervals[@]}"; do
			echo "* interval $iv ms: pauses of 0-$(meta "latency/$iv/pause") ms; changes not visible within $lat_timeout_s s: $(meta "latency/$iv/timeouts"); polls per change: $(meta "latency/$iv/polls") on average; the refreshes that brought the changes recorded: $(meta "latency/$iv/actions")"
		done
		echo
	fi

	if selected idle; then
		echo "## 6. Scheduler CPU with idle stream tables (% of one core)"
		echo
		echo "The scheduler of database bench with no stream table, then with $idle_n DIFFERENTIAL stream tables" \
			"(\`SELECT grp, count(*), sum(v) FROM bench.idle_src WHERE grp = k GROUP BY grp\`, 10k-row source) whose source never changes:" \
			"first with schedule \`'1m'\` (the default), then all altered to \`'1s'\` (each due every second, with nothing to refresh)." \
			"Each window lasts $idle_secs s with no client connected. CPU is user + system time from \`/proc/PID/stat\`:" \
			"the scheduler and the launcher; the whole server = the postmaster and all its children, including refresh workers and ones that exited during the window (the postmaster's cutime/cstime)." \
			"Refreshes and their durations are from the refresh history (\`initiated_by = 'SCHEDULER'\`, started in the window)."
		echo
		echo "| stream tables | scheduler | launcher | whole server | scheduled refreshes in the window | refresh duration, median / p90 (ms) | whole-server CPU per refresh, above the baseline (ms) | load average at start |"
		echo "|---|---|---|---|---|---|---|---|"
		base=$(med idle/none/server)
		for v in none 1m 1s; do
			case $v in
			none) label="none (baseline)" ;;
			*) label="$idle_n, schedule '$v'" ;;
			esac
			k=idle/$v n=$(med "idle/$v/refreshes")
			per=''
			if [[ -n $n && $n -gt 0 && -n $base ]]; then
				per=$(awk -v a="$(med "$k/server")" -v b="$base" -v s="$idle_secs" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / 100 * s * 1000 / n }')
			fi
			dur=''
			[[ -n $(med "$k/refresh_med") ]] && dur="$(ms "$(med "$k/refresh_med")") / $(ms "$(med "$k/refresh_p90")")"
			echo "| $label | $(pct "$(med "$k/scheduler")") | $(pct "$(med "$k/launcher")") | $(pct "$(med "$k/server")") | ${n:-n/a} ($(meta "$k/actions")) | ${dur:-} | ${per:-} | $(meta "$k/load") |"
		done
		echo
		a=$(med idle/1s/server)
		target_row "idle: $idle_n idle stream tables at schedule '1s' under 2 % of one core (whole server)" \
			"$a" lt 2 "" "${a:+$(pct "$a") % (scheduler alone $(pct "$(med idle/1s/scheduler)") %; at '1m' $(pct "$(med idle/1m/server)") %; no stream table $(pct "$base") %)}"
	fi

	if selected writers; then
		echo "## 7. Writers: pgbench TPS with vs without stream tables refreshed by the scheduler"
		echo
		echo "\`pgbench -n -c $writers_clients -j 2 -T $writers_secs\` with \`sql/pgbench_writers.sql\` on t ($(human $n_t) rows): one single-row write per transaction," \
			"60 % updates (30 % of them moving the row to another group and dims row), 20 % inserts, 20 % deletes." \
			"\"with\": ${#writers_queries[@]} stream tables over t and dims ($(printf '%s, ' "${writers_queries[@]}" | sed 's/, $//')) with schedule \`'1s'\`, refreshed by the scheduler (\`pg_trickle.enabled = on\`); \"without\": none." \
			"Runs in the order without, with, with, without (the scheduler is on in all four)."
		echo
		echo "| | TPS (median of 2 runs) | runs |"
		echo "|---|---|---|"
		echo "| without stream tables | $(tps_cell "$(med writers/without)") | $(samples writers/without | xargs -r printf '%.0f ') |"
		echo "| with ${#writers_queries[@]} stream tables, schedule '1s' | $(tps_cell "$(med writers/with)") | $(samples writers/with | xargs -r printf '%.0f ') |"
		echo
		echo "The scheduler's refreshes during the two \"with\" runs (refresh history, \`initiated_by = 'SCHEDULER'\`; numbers in the reasons replaced by N):"
		echo
		echo "| stream table | mode requested | refreshes | actions (reason) | duration median / p90 / max (ms) | equal to its query afterwards |"
		echo "|---|---|---|---|---|---|"
		if [[ -f $work/writers_history.tsv ]]; then
			for q in "${writers_queries[@]}"; do
				IFS=$'\t' read -r _ n acts m9 p9 mx < <(awk -F'\t' -v k="st_w_$q" '$1 == k' "$work/writers_history.tsv") || true
				echo "| $q | $(meta "writers/mode/$q") | ${n:-0} | ${acts:-none} | ${m9:-} / ${p9:-} / ${mx:-} | $(meta "check/writers/$q") |"
				n='' acts='' m9='' p9='' mx=''
			done
		fi
		echo
		w=$(ratio_value "$(med writers/with)" "$(med writers/without)")
		target_row "writers: TPS with ${#writers_queries[@]} stream tables refreshed every second ≥ 80 % of TPS without" \
			"$w" ge 0.8 "" "${w:+$(awk -v r="$w" 'BEGIN { printf "%.0f %%", r * 100 }')}"
		checks=()
		for q in "${writers_queries[@]}"; do checks+=("$q: $(meta "check/writers/$q")"); done
		echo "* stream tables equal to their query after the writers stopped and the scheduler caught up: $(check_summary "${checks[@]}")"
		echo "* time from the end of the last \"with\" run until every stream table had a completed refresh of a later snapshot (at most $writers_catchup s waited): $(meta writers/catchup) s"
		echo
	fi

	total=$((SECONDS - t_start))
	line="Run time: $((total / 60)) min $((total % 60)) s in total (build and load included)"
	for s in "${ALL_SCENARIOS[@]}"; do
		[[ -n ${elapsed[$s]:-} ]] && line+="; $s $((elapsed[$s] / 60)) min $((elapsed[$s] % 60)) s"
	done
	echo "$line."
} >"$body"

if selected refresh || selected scaling; then
	if ((${#rule_viol[@]})); then
		targets+=("| every refresh ≤ ${max_vs_mv}× the time of REFRESH MATERIALIZED VIEW of the same query ($rule_cells cells) | ${#rule_viol[@]} violations: $(printf '%s; ' "${rule_viol[@]}" | sed 's/; $//') | **missed** |")
	else
		targets+=("| every refresh ≤ ${max_vs_mv}× the time of REFRESH MATERIALIZED VIEW of the same query ($rule_cells cells) | no violation | $( ((rule_cells)) && echo met || echo "not measurable") |")
	fi
fi

{
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)
	commit=$(git -C "$PGT_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	branch=$(git -C "$PGT_ROOT" rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$PGT_ROOT" status --porcelain -- src sql Makefile 2>/dev/null) ]]; then commit="$commit + uncommitted changes"; fi
	echo "# pg_trickle benchmark results"
	echo
	echo "* date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores (${cpu:-unknown CPU}), $mem RAM"
	if ((do_build)); then
		echo "* PostgreSQL $pg_version ($PG_CONFIG); pg_trickle $commit on branch $branch (built and installed by this run)"
	else
		echo "* PostgreSQL $pg_version ($PG_CONFIG); pg_trickle as installed (--no-build; library installed $lib_time), checkout $commit on branch $branch"
	fi
	echo "* load average (1, 5, 15 min) at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg) — other work on the machine shows up as noise"
	if ((quick)); then
		echo "* run: \`bench/run.sh --quick$( ((${#only[@]})) && echo " --only ${only[*]}")$( ((reps != 3)) && echo " --reps $reps")\` — every size 10× smaller than the targets name; indicative only"
	else
		echo "* run: \`bench/run.sh$( ((${#only[@]})) && echo " --only ${only[*]}")$( ((reps != 3)) && echo " --reps $reps")\`"
	fi
	printf '%s %s\n' "* each time is the median of $reps runs (client-side wall time, psql \`\\timing\`), all measured in this run on the same data;" \
		"each ratio between methods is the median of the per-round ratios (both sides measured back to back in the same round)"
	echo "* server settings that differ from PostgreSQL's defaults (pg_settings, setting ≠ boot value, at the start): $server_settings"
	echo "* everything else at the defaults, in particular: $default_settings"
	echo "* only the scheduler scenarios (writers, latency, idle) run with \`pg_trickle.enabled = on\` (ALTER SYSTEM and a reload, reset afterwards); the others never have the scheduler refresh. An explicit \`VACUUM\` (untimed) of the FULL stream tables runs between rounds (not of the sources and DIFFERENTIAL tables: it would make every kept plan re-plan); autovacuum stays on"
	echo
	echo "## Targets"
	echo
	echo "| target | measured | result |"
	echo "|---|---|---|"
	((${#targets[@]})) && printf '%s\n' "${targets[@]}"
	echo
	cat "$body"
} >"$report"

mkdir -p "$BENCH/results"
cp "$report" "$BENCH/results/latest.md"
cp "$raw" "$BENCH/results/latest.raw.tsv"
cp "$metaf" "$BENCH/results/latest.meta.tsv"
section "Results (also in bench/results/latest.md)"
echo
cat "$report"
