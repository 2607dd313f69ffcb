#!/usr/bin/env bash
# Tests of monitoring/: the alert rules (promtool), the Grafana dashboard
# (@grafana/schema and strict checks), the docker-compose demo (static), and
# the real postgres_exporter and Prometheus against a throwaway PostgreSQL
# cluster whose stream tables are put in every state (ACTIVE, stale,
# INITIALIZING and never refreshed, PAUSED with pending changes, ERROR,
# SUSPENDED, broken change capture).
# Prints one line per test ("ok NAME" / "FAILED NAME: why") and ends with
# "N passed, M failed"; exits non-zero when anything failed.
#
#   monitoring/test/run_tests.sh [--workdir DIR]
#
# The work directory (default: a new /tmp/pgt-monitoring.XXXXXX, removed
# after a run that passed) holds the npm packages (reused when --workdir
# names the same directory again), the cluster and the servers' files.
# Needs promtool, prometheus, prometheus-postgres-exporter, node and npm
# (scripts/deps.sh installs them), and the npm registry for the first run.
# PG_CONFIG, PG_MAJOR and PGT_OS_USER as in scripts/lib.sh.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"
# shellcheck source=../../scripts/results.sh
source "$here/../../scripts/results.sh"
mon=$(cd "$here/.." && pwd -P)

workdir='' keep_work=0
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

exporter_bin=${PGT_POSTGRES_EXPORTER:-/usr/bin/prometheus-postgres-exporter}
prometheus_bin=${PGT_PROMETHEUS:-/usr/bin/prometheus}
promtool_bin=${PGT_PROMTOOL:-/usr/bin/promtool}
for b in "$exporter_bin" "$prometheus_bin" "$promtool_bin"; do
	[[ -x $b ]] || die "$b not found (run scripts/deps.sh)"
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	die "node and npm are needed (run scripts/deps.sh)"
fi
check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

workdir=$(work_dir "$workdir" pgt-monitoring)
run=$workdir/run
rm -rf "$run"
mkdir -p "$run/cluster"
give_to_server_user "$run/cluster"

pids=()

cleanup() {
	local rc=$? pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	stop_test_cluster "$run/cluster"
	keep_or_remove_work monitoring "$rc" "$workdir" "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# poll DEADLINE_SECONDS CMD...: run CMD until it succeeds; false at the deadline.
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.3
	done
}

section "monitoring: static checks"

# --- promtool ---------------------------------------------------------------------
check monitoring-promtool-check-rules "$promtool_bin" check rules "$mon/prometheus/alerts.yml"
check monitoring-promtool-test-rules "$promtool_bin" test rules "$mon/prometheus/alerts_test.yml"
check monitoring-promtool-check-config "$promtool_bin" check config "$mon/prometheus/prometheus.yml"

# every alert has a runbook page whose URL it links, and a unit test that fires it
runbook_check() {
	local alerts docs=$mon/../docs/runbooks a bad=0
	alerts=$(sed -n 's/^ *- alert: *//p' "$mon/prometheus/alerts.yml")
	[[ -n $alerts ]] || { echo "no alerts found"; return 1; }
	for a in $alerts; do
		grep -q "runbook_url: https://github.com/pg-trickle/pg_trickle/blob/main/docs/runbooks/$a.md\$" "$mon/prometheus/alerts.yml" ||
			{ echo "$a: runbook_url is not .../docs/runbooks/$a.md"; bad=1; }
		grep -q "runbook_url: https://github.com/pg-trickle/pg_trickle/blob/main/docs/runbooks/$a.md\$" "$mon/prometheus/alerts_test.yml" ||
			{ echo "$a: alerts_test.yml has no case where it fires"; bad=1; }
		grep -q "^| \[\`$a\`\]" "$mon/README.md" || { echo "$a: not in the README alert reference"; bad=1; }
		# the runbooks live in docs/ of the repository (scripts/test.sh copies them too)
		[[ -f $docs/$a.md ]] || { echo "$a: docs/runbooks/$a.md missing"; bad=1; }
		grep -q "($a.md)" "$docs/README.md" 2>/dev/null || { echo "$a: not in docs/runbooks/README.md"; bad=1; }
	done
	return $bad
}
check monitoring-alerts-documented runbook_check

# --- npm: @grafana/schema, typescript, yaml ------------------------------------------
node_dir=$workdir/node
mkdir -p "$node_dir"
npm_ready=1
if ! cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" || [[ ! -d $node_dir/node_modules ]]; then
	cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
	if ! (cd "$node_dir" && npm_config_cache=$workdir/npm-cache npm ci --no-audit --no-fund --loglevel=error >"$workdir/npm.log" 2>&1); then
		npm_ready=0
		failed monitoring-npm-ci "npm ci failed, see $workdir/npm.log"
		rm -f "$node_dir/package-lock.json"
	fi
fi
cp "$here/check_dashboard.mjs" "$here/check_compose.mjs" "$node_dir/"
queries=$run/dashboard-queries.jsonl
if ((npm_ready)); then
	checks monitoring-dashboard node "$node_dir/check_dashboard.mjs" "$mon/grafana/pgtrickle-dashboard.json" "$run/tsc" --queries "$queries"
	exporter_version=$("$exporter_bin" --version 2>&1 | sed -n 's/^postgres_exporter, version \([0-9.]*\).*/\1/p')
	prometheus_version=$("$prometheus_bin" --version 2>&1 | sed -n 's/^prometheus, version \([0-9.]*\).*/\1/p')
	checks monitoring-compose node "$node_dir/check_compose.mjs" "$mon" "$exporter_version" "$prometheus_version"
fi

# --- a cluster with stream tables in every state ---------------------------------------
section "monitoring: PostgreSQL with stream tables in every state"
# The scheduler starts disabled, so that the tables that must never be
# refreshed can be claimed first; max 2 errors so SUSPENDED comes quickly.
start_test_cluster "$run/cluster" 57500 \
	"pg_trickle.enabled = off" \
	"pg_trickle.scheduler_interval_ms = 200" \
	"pg_trickle.max_consecutive_errors = 2"
db=pgt_mon
dsn="host=$PGHOST port=$PGPORT dbname=$db user=postgres"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$dsn" "$@"; }
is_true() { [[ $(sql -c "$1") == t ]]; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" \
	-c "ALTER DATABASE $db SET lock_timeout = '200ms'" >/dev/null
sql >/dev/null <<'EOF'
CREATE EXTENSION pg_trickle;
-- the exporter's role as README.md documents it, and one with nothing at all
CREATE ROLE pgtrickle_monitor LOGIN;
GRANT pg_monitor TO pgtrickle_monitor;
CREATE ROLE pgtrickle_plain LOGIN;

CREATE SCHEMA other;
CREATE TABLE src (id int PRIMARY KEY, v int);
INSERT INTO src SELECT g, g FROM generate_series(1, 20) g;
-- ACTIVE, refreshed every 3 seconds (stale only after 6 seconds without a
-- refresh, so a busy machine does not make them stale); the same name in two schemas
SELECT pgtrickle.create_stream_table('public.fresh_st', 'SELECT id % 3 AS k, count(*) AS n FROM src GROUP BY id % 3', '3s');
SELECT pgtrickle.create_stream_table('other.fresh_st', 'SELECT id, v FROM src WHERE v > 10', '3s');
-- INITIALIZING, never refreshed (held by a session, see below)
CREATE TABLE init_src (v int);
SELECT pgtrickle.create_stream_table('init_st', 'SELECT count(*) AS n FROM init_src', '1s', initialize => false);
-- ACTIVE but stale (its refreshes are skipped: a session holds it)
CREATE TABLE stale_src (v int);
SELECT pgtrickle.create_stream_table('stale_st', 'SELECT count(*) AS n FROM stale_src', '1s');
-- PAUSED, with changes pending in the change buffer
CREATE TABLE paused_src (v int);
SELECT pgtrickle.create_stream_table('paused_st', 'SELECT count(*) AS n, sum(v) AS s FROM paused_src', '1s');
SELECT pgtrickle.pause_stream_table('paused_st');
INSERT INTO paused_src VALUES (1), (2), (3);
-- ERROR: its next refresh divides by zero
CREATE TABLE div_src (x int);
INSERT INTO div_src VALUES (1);
SELECT pgtrickle.create_stream_table('error_st', 'SELECT 10 / x AS r FROM div_src', '1s', 'FULL');
INSERT INTO div_src VALUES (0);
-- SUSPENDED: its source is locked (lock_timeout of the database); a change
-- is pending, so its refresh must read the source (a table with nothing
-- pending is confirmed fresh without reading it)
CREATE TABLE lock_src (v int);
SELECT pgtrickle.create_stream_table('suspended_st', 'SELECT count(*) AS n FROM lock_src', '1s');
INSERT INTO lock_src VALUES (1);
-- change capture broken: a capture trigger disabled
CREATE TABLE cdc_src (v int);
SELECT pgtrickle.create_stream_table('cdc_st', 'SELECT count(*) AS n FROM cdc_src', '3s');
ALTER TABLE cdc_src DISABLE TRIGGER pgt_capture_ins;
EOF

# open_session NAME: a psql session that stays open; feed it with `say NAME SQL`.
declare -A session_fd
open_session() {
	local fifo=$run/$1.fifo fd
	mkfifo "$fifo"
	psql -X -q -v ON_ERROR_STOP=1 -d "$dsn" -v "application_name=$1" -f "$fifo" >"$run/$1.log" 2>&1 &
	pids+=($!)
	exec {fd}>"$fifo"
	session_fd[$1]=$fd
}
say() { printf '%s\n' "$2" >&"${session_fd[$1]}"; }

# holder: refreshes init_st and stale_st in a transaction it never ends, so
# the scheduler skips both ("another session holds the stream table")
open_session holder
say holder "SET application_name = 'pgt_holder'; BEGIN; SELECT pgtrickle.refresh_stream_table('init_st'); SELECT pgtrickle.refresh_stream_table('stale_st'); SELECT 'held';"
# blocker: an ACCESS EXCLUSIVE lock on lock_src
open_session blocker
say blocker "SET application_name = 'pgt_blocker'; SET lock_timeout = 0; BEGIN; LOCK TABLE lock_src IN ACCESS EXCLUSIVE MODE;"
scenario_ok=1
poll 30 is_true "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name IN ('pgt_holder', 'pgt_blocker') AND state = 'idle in transaction'" ||
	{ scenario_ok=0; failed monitoring-scenario-setup "the holding sessions did not start: $(cat "$run"/holder.log "$run"/blocker.log)"; }

enabled_at=$(sql -c "SELECT now()")
sql -c "ALTER SYSTEM SET pg_trickle.enabled = on" -c "SELECT pg_reload_conf()" >/dev/null
# the others: kept fresh by the scheduler since it was enabled (refreshed,
# or confirmed fresh without a refresh when nothing changed)
if ((scenario_ok)) && poll 60 is_true "
	SELECT bool_and(CASE pgt_name
	         WHEN 'error_st' THEN status = 'ERROR'
	         WHEN 'suspended_st' THEN status = 'SUSPENDED'
	         WHEN 'stale_st' THEN status = 'ACTIVE' AND stale
	         WHEN 'init_st' THEN status = 'INITIALIZING' AND last_status = 'SKIPPED'
	         WHEN 'paused_st' THEN status = 'PAUSED'
	         ELSE status = 'ACTIVE' AND successful_refreshes >= 1
	              AND data_timestamp > '$enabled_at' END)
	  FROM pgtrickle.pg_stat_stream_tables" &&
	poll 30 is_true "SELECT count(*) FILTER (WHERE pgt_name = 'paused_st' AND alert = 'warning') = 1
	                    AND count(*) FILTER (WHERE pgt_name = 'cdc_st' AND alert = 'critical') = 1
	                   FROM pgtrickle.check_cdc_health()"; then
	ok monitoring-scenario-setup
else
	scenario_ok=0
	failed monitoring-scenario-setup "the stream tables did not reach their states: $(sql -c "SELECT string_agg(pgt_name || '=' || status || coalesce(' ' || last_status, ''), ', ') FROM pgtrickle.pg_stat_stream_tables")"
fi
# the lock did its work (SUSPENDED stays); release it
say blocker "ROLLBACK;"

cat >"$run/expect.json" <<'EOF'
{
  "tables": {
    "public.fresh_st": {"status": "ACTIVE", "stale": 0, "is_populated": 1, "consecutive_errors": 0},
    "other.fresh_st": {"status": "ACTIVE", "stale": 0, "is_populated": 1, "consecutive_errors": 0},
    "public.init_st": {"status": "INITIALIZING", "stale": 0, "is_populated": 0, "staleness": "absent"},
    "public.stale_st": {"status": "ACTIVE", "stale": 1, "is_populated": 1, "staleness_above": 2},
    "public.paused_st": {"status": "PAUSED", "stale": 0, "staleness_above": 2},
    "public.error_st": {"status": "ERROR", "stale": 0, "consecutive_errors": 1, "min_failed": 1, "staleness_above": 2},
    "public.suspended_st": {"status": "SUSPENDED", "stale": 0, "consecutive_errors": 2, "min_failed": 2},
    "public.cdc_st": {"status": "ACTIVE", "stale": 0}
  },
  "cdc": {
    "public.paused_st": {"alert": "warning", "min_buffer_rows": 3},
    "public.cdc_st": {"alert": "critical"}
  },
  "absent": ["pgtrickle_cdc_lag_bytes"],
  "health": {"stream_tables": 8, "error_tables": 2, "paused_tables": 1, "stale_tables": 1,
             "scheduler_running": 1, "status": "CRITICAL"}
}
EOF

# --- postgres_exporter -----------------------------------------------------------------
section "monitoring: postgres_exporter $("$exporter_bin" --version 2>&1 | head -n 1 | cut -d' ' -f3)"
# start_exporter NAME ROLE ARGS...: the real exporter with pgtrickle_queries.yml,
# connected as ROLE over the cluster's unix socket; sets <NAME>_url.
start_exporter() {
	local name=$1 role=$2 port
	shift 2
	port=$(free_port 59187)
	DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=$role dbname=$db sslmode=disable" \
		"$exporter_bin" --web.listen-address="127.0.0.1:$port" \
		--extend.query-path="$mon/prometheus/pgtrickle_queries.yml" "$@" >"$run/exporter-$name.log" 2>&1 &
	pids+=($!)
	printf -v "${name}_url" 'http://127.0.0.1:%s/metrics' "$port"
	printf -v "${name}_port" '%s' "$port"
	poll 30 python3 "$here/check_metrics.py" get "http://127.0.0.1:$port/metrics" ||
		{ failed "monitoring-exporter-start-$name" "$(tail -n 5 "$run/exporter-$name.log")"; return 1; }
}

exporters_ok=0
# shellcheck disable=SC2154 # <name>_url are set by start_exporter
if ((scenario_ok)) && start_exporter monitor pgtrickle_monitor; then
	exporters_ok=1
	checks monitoring-exporter python3 "$here/check_metrics.py" exporter "$monitor_url" "$mon/README.md" "$dsn" "$run/expect.json"
	# the pgtrickle queries need no grant: a role with nothing but LOGIN gets the
	# same series; and pg_monitor is what makes the default metrics see other
	# roles' sessions (the holder session, postgres, idle in transaction)
	if start_exporter plain pgtrickle_plain; then
		checks monitoring-exporter-plain-role python3 "$here/check_metrics.py" same-series monitoring-exporter-plain-role-same-series "$monitor_url" "$plain_url"
		idle_in_tx() { python3 "$here/check_metrics.py" get "$1" | grep -E "^pg_stat_activity_count\{datname=\"$db\",.*state=\"idle in transaction\"\} [1-9]"; }
		if idle_in_tx "$monitor_url" >/dev/null && ! idle_in_tx "$plain_url" >/dev/null; then
			ok monitoring-role-pg-monitor-needed-for-default-metrics
		else
			failed monitoring-role-pg-monitor-needed-for-default-metrics "pgtrickle_monitor sees $(idle_in_tx "$monitor_url" || echo nothing), the plain role sees $(idle_in_tx "$plain_url" || echo nothing)"
		fi
	fi
	if start_exporter minimal pgtrickle_monitor --disable-default-metrics --disable-settings-metrics; then
		checks monitoring-exporter-minimal python3 "$here/check_metrics.py" same-series monitoring-exporter-without-default-metrics "$monitor_url" "$minimal_url"
	fi
	# with --auto-discover-databases the queries (master: true) still run only in
	# the database of DATA_SOURCE_NAME: no error from databases without pg_trickle
	if start_exporter discover pgtrickle_monitor --auto-discover-databases; then
		checks monitoring-exporter-discover python3 "$here/check_metrics.py" same-series monitoring-exporter-auto-discover-databases "$monitor_url" "$discover_url"
	fi
fi

# --- Prometheus --------------------------------------------------------------------------
# shellcheck disable=SC2154 # monitor_port is set by start_exporter
if ((exporters_ok)); then
	section "monitoring: Prometheus $("$prometheus_bin" --version 2>&1 | head -n 1 | cut -d' ' -f3)"
	prom_dir=$run/prometheus
	mkdir -p "$prom_dir/data"
	cp "$mon/prometheus/alerts.yml" "$prom_dir/alerts.yml"
	# a copy of the rules that fire at once, labelled rules_copy="live"
	sed -e 's/^\( *\)for: .*/\1for: 0s/' -e 's/^\( *\)- name: pgtrickle-/\1- name: live-pgtrickle-/' \
		-e 's/^\( *\)severity: \(.*\)$/&\n\1rules_copy: live/' "$mon/prometheus/alerts.yml" >"$prom_dir/alerts_live.yml"
	prom_port=$(free_port 59090)
	cat >"$prom_dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		rule_files: [alerts.yml, alerts_live.yml]
		scrape_configs:
		  - job_name: pgtrickle
		    static_configs:
		      - targets: ["127.0.0.1:$monitor_port"]
	EOF
	"$prometheus_bin" --config.file="$prom_dir/prometheus.yml" --storage.tsdb.path="$prom_dir/data" \
		--web.listen-address="127.0.0.1:$prom_port" >"$prom_dir/prometheus.log" 2>&1 &
	pids+=($!)
	prom_url=http://127.0.0.1:$prom_port
	# three scrapes at least, so that rate() has points
	if poll 60 python3 "$here/check_metrics.py" promql "$prom_url" 'count_over_time(pgtrickle_refreshes_total{pgt_name="fresh_st"}[1m]) >= 3'; then
		ok monitoring-prometheus-scrapes-exporter
		if ((npm_ready)); then
			checks monitoring-prometheus python3 "$here/check_metrics.py" prometheus "$prom_url" "$queries" 'pgtrickle_cdc_lag_bytes'
		fi
		checks monitoring-prometheus-rules python3 "$here/check_metrics.py" rules "$prom_url" 30
		cat >"$run/alerts-expect.json" <<-'EOF'
			{"firing": [
			  ["PgTrickleStreamTableError", "public", "error_st"],
			  ["PgTrickleStreamTableSuspended", "public", "suspended_st"],
			  ["PgTrickleStreamTableStale", "public", "stale_st"],
			  ["PgTrickleCdcUnhealthy", "public", "cdc_st"],
			  ["PgTrickleCdcChangesPilingUp", "public", "paused_st"],
			  ["PgTrickleCdcChangesPilingUp", "public", "suspended_st"]
			]}
		EOF
		checks monitoring-prometheus-alerts python3 "$here/check_metrics.py" alerts "$prom_url" "$run/alerts-expect.json" 30
	else
		failed monitoring-prometheus-scrapes-exporter "no pg_trickle series in Prometheus: $(tail -n 5 "$prom_dir/prometheus.log")"
	fi
fi

results_end
