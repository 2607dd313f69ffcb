#!/usr/bin/env bash
# Tests of the migration-tool integrations (integrations/, docs/integrations/)
# against a throwaway PostgreSQL cluster with pg_trickle preloaded:
#  * `mvn verify` of liquibase-pgtrickle: the jar, and its JUnit 5 tests
#    (the change types through Liquibase 4.33, the guides' Flyway
#    migrations through Flyway 13), given the cluster's JDBC URL;
#  * the jar in the lib/ folder of a Liquibase CLI installation laid out as
#    the distribution's (docs/integrations/liquibase/cli.sh, as written);
#  * the jar as a dependency of the Liquibase Maven plugin
#    (docs/integrations/liquibase/maven/pom.xml, as written).
# Prints surefire's summary, one line per test ("ok NAME" / "FAILED NAME:
# why") and ends with "N passed, M failed"; exits non-zero when anything
# failed or was skipped.
#
#   integrations/run_tests.sh [--workdir DIR]
#
# The work directory (default: a new /tmp/pgt-migrations.XXXXXX, removed
# after a run that passed) holds the Maven repository (m2/, reused when
# --workdir names the same directory again: the first run downloads the
# artefacts from Maven Central), the cluster and the copies the tests run in.
# Needs java (17) and mvn (scripts/deps.sh installs them).  PG_CONFIG,
# PG_MAJOR and PGT_OS_USER as in scripts/lib.sh.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../scripts/lib.sh
source "$here/../scripts/lib.sh"
# shellcheck source=../scripts/results.sh
source "$here/../scripts/results.sh"
module=$here/liquibase-pgtrickle
guides=$(cd "$here/../docs/integrations" && pwd -P)

workdir='' keep_work=0
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

command -v java >/dev/null && command -v mvn >/dev/null || die "java and mvn are needed (run scripts/deps.sh)"
check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"

workdir=$(work_dir "$workdir" pgt-migrations)
run=$workdir/run
rm -rf "$run"
mkdir -p "$run/cluster"
give_to_server_user "$run/cluster"
m2=$workdir/m2
mvn_opts=(-B -ntp "-Dmaven.repo.local=$m2")

cleanup() {
	local rc=$?
	stop_test_cluster "$run/cluster"
	keep_or_remove_work migrations "$rc" "$workdir" "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# JDBC over TCP on the loopback (the cluster also keeps its unix socket)
start_test_cluster "$run/cluster" 57600 "listen_addresses = '127.0.0.1'"
server_url="jdbc:postgresql://127.0.0.1:$PGPORT/postgres?user=postgres"
psql_db() { "$("$PG_CONFIG" --bindir)/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# fresh_db NAME: a new empty database; prints its JDBC URL.
fresh_db() {
	psql_db postgres "DROP DATABASE IF EXISTS $1" >/dev/null
	psql_db postgres "CREATE DATABASE $1" >/dev/null
	echo "jdbc:postgresql://127.0.0.1:$PGPORT/$1?user=postgres"
}

# --- mvn verify: build the jar, JUnit 5 tests -------------------------------------
section "migrations: mvn verify (liquibase-pgtrickle, Liquibase and Flyway tests)"
src=$run/src
mkdir -p "$src/integrations" "$src/docs"
cp -R "$module" "$src/integrations/"
cp -R "$guides" "$src/docs/"
rm -rf "$src/integrations/liquibase-pgtrickle/target"
jar=$src/integrations/liquibase-pgtrickle/target/liquibase-pgtrickle-0.1.0.jar
# the build command of docs/integrations/liquibase.md, without a server;
# then install (and so verify): the Maven plugin test below takes the jar
# from the repository
if (cd "$src/integrations/liquibase-pgtrickle" && mvn "${mvn_opts[@]}" package -DskipTests &&
	[[ -f $jar ]] && rm -rf target &&
	mvn "${mvn_opts[@]}" install "-Dpgtrickle.jdbcUrl=$server_url") >"$run/mvn-verify.log" 2>&1; then
	verify_ok=1
else
	verify_ok=0
fi
grep -E '^\[(INFO|WARNING|ERROR)\] Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' "$run/mvn-verify.log" | tail -n 1 | sed 's/^\[[A-Z]*\] /surefire: /' || true
reports=$src/integrations/liquibase-pgtrickle/target/surefire-reports
n_cases=0
for xml in "$reports"/TEST-*.xml; do
	[[ -f $xml ]] || continue
	while IFS=$'\t' read -r status name why; do
		n_cases=$((n_cases + 1))
		if [[ $status == ok ]]; then ok "$name"; else failed "$name" "$why"; fi
	done < <(python3 - "$xml" <<-'PY'
		import sys, xml.etree.ElementTree as ET
		for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
		    cls = tc.get("classname").rsplit(".", 1)[-1]
		    name = "%s.%s" % (cls, tc.get("name").replace(" ", "_").replace("\t", "_"))
		    bad = [c for c in tc if c.tag in ("failure", "error", "skipped")]
		    if not bad:
		        print("ok\t%s\t" % name)
		    else:
		        why = bad[0].tag + ": " + (bad[0].get("message") or "").replace("\n", " ")[:300]
		        print("FAILED\t%s\t%s" % (name, why))
		PY
	)
done
if ((!verify_ok)) || ((n_cases == 0)); then
	failed migrations-mvn-verify "mvn install failed or ran no test ($n_cases test cases); see $run/mvn-verify.log: $(grep -E '^\[ERROR\]' "$run/mvn-verify.log" | head -n 5 | tr '\n' ' ' | cut -c1-600)"
fi

# --- the Liquibase CLI with the jar in lib/ ---------------------------------------------
# A Liquibase 4.33 installation laid out as the distribution's: liquibase-core
# and its libraries in internal/lib, the user's jars (JDBC driver, extensions)
# in lib/, and a `liquibase` command that starts LiquibaseLauncher, which
# builds the class path from both folders, as the distribution's script does.
section "migrations: Liquibase CLI (docs/integrations/liquibase/cli.sh)"
cli_check() {
	local home=$run/liquibase-home dir=$run/cli url
	mkdir -p "$home/internal/lib" "$home/lib" "$home/bin" "$dir"
	(cd "$src/integrations/liquibase-pgtrickle" &&
		mvn "${mvn_opts[@]}" -q dependency:copy-dependencies -DincludeScope=provided \
			"-DoutputDirectory=$home/internal/lib" &&
		mvn "${mvn_opts[@]}" -q dependency:copy -Dartifact=info.picocli:picocli:4.7.7 \
			"-DoutputDirectory=$home/internal/lib" &&
		mvn "${mvn_opts[@]}" -q dependency:copy -Dartifact=org.postgresql:postgresql:42.7.14 \
			"-DoutputDirectory=$home/lib") >"$run/cli-setup.log" 2>&1 || { cat "$run/cli-setup.log"; return 1; }
	mv "$home"/internal/lib/liquibase-core-*.jar "$home/internal/lib/liquibase-core.jar"
	cat >"$home/bin/liquibase" <<-'SH'
		#!/bin/sh
		exec java -cp "$LIQUIBASE_HOME/internal/lib/liquibase-core.jar" liquibase.integration.commandline.LiquibaseLauncher "$@"
	SH
	chmod +x "$home/bin/liquibase"
	cp -R "$guides/liquibase/." "$dir/"
	cp "$jar" "$dir/"
	url=$(fresh_db lb_cli)
	(cd "$dir" && env LIQUIBASE_HOME="$home" JDBC_URL="$url" PATH="$home/bin:$PATH" sh ./cli.sh) || return 1
	# the changelog ran through the CLI, the rollback of two changesets too, then again
	[[ $(psql_db lb_cli "SELECT schedule || ' ' || is_populated FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'order_totals'") == "10m true" ]] ||
		{ echo "order_totals is not as changelog.xml makes it"; return 1; }
	[[ $(psql_db lb_cli "SELECT count(*) FROM databasechangelog") == 4 ]] || { echo "databasechangelog does not have 4 rows"; return 1; }
}
if [[ -f $jar ]]; then
	if out=$(cli_check 2>&1); then ok migrations-liquibase-cli-lib; else failed migrations-liquibase-cli-lib "$(one_line "$(grep -v '^\s*$' <<<"$out" | tail -n 15)")"; fi
else
	failed migrations-liquibase-cli-lib "no jar (mvn install failed)"
fi

# --- the Liquibase Maven plugin with the jar as its dependency --------------------------
section "migrations: Liquibase Maven plugin (docs/integrations/liquibase/maven/pom.xml)"
plugin_check() {
	local dir=$run/plugin url
	mkdir -p "$dir"
	cp -R "$guides/liquibase/." "$dir/"
	url=$(fresh_db lb_plugin)
	(cd "$dir/maven" &&
		mvn "${mvn_opts[@]}" -q liquibase:update "-Dliquibase.url=$url" &&
		[[ $(psql_db lb_plugin "SELECT schedule FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'order_totals'") == 10m ]] &&
		mvn "${mvn_opts[@]}" -q liquibase:rollback "-Dliquibase.url=$url" -Dliquibase.rollbackCount=3 &&
		[[ $(psql_db lb_plugin "SELECT count(*) FROM pgtrickle.pgt_stream_tables") == 0 ]])
}
if [[ -f $jar ]]; then
	if out=$(plugin_check 2>&1); then ok migrations-liquibase-maven-plugin; else failed migrations-liquibase-maven-plugin "$(one_line "$(grep -v '^\s*$' <<<"$out" | tail -n 15)")"; fi
else
	failed migrations-liquibase-maven-plugin "no jar (mvn install failed)"
fi

results_end
