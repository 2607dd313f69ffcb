# shellcheck shell=bash
# Shared helpers for scripts/*.sh.  Source it; it does not run anything itself.
#
# Settings that can be overridden from the environment:
#   PG_MAJOR   PostgreSQL major version to build against (default 15)
#   PG_CONFIG  pg_config to use (default /usr/lib/postgresql/$PG_MAJOR/bin/pg_config;
#              Debian's /usr/bin/pg_config picks the newest installed version)
#   PGT_OS_USER OS user that runs initdb and the servers when the scripts run
#              as root (default postgres, created by the postgresql-common package)

PGT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
PGT_OS_USER=${PGT_OS_USER:-postgres}

if [[ -t 1 ]]; then
	_pgt_bold=$'\e[1m' _pgt_red=$'\e[31m' _pgt_reset=$'\e[0m'
else
	_pgt_bold='' _pgt_red='' _pgt_reset=''
fi

# section TEXT: a visible heading in the output.
section() { printf '\n%s==> %s%s\n' "$_pgt_bold" "$*" "$_pgt_reset"; }
# note TEXT: an indented remark.
note() { printf '    %s\n' "$*"; }
# warn TEXT / die TEXT: to stderr; die exits 1.
warn() { printf '%swarning:%s %s\n' "$_pgt_red" "$_pgt_reset" "$*" >&2; }
die() { printf '%serror:%s %s\n' "$_pgt_red" "$_pgt_reset" "$*" >&2; exit 1; }

# is_root: true when running as root.
is_root() { [[ $(id -u) -eq 0 ]]; }

# as_root CMD...: run CMD with root rights (sudo when not root).
as_root() {
	if is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root rights for: $* (run as root or install sudo)"
	fi
}

# server_user: the OS user that runs initdb, the servers and the tests.
# PostgreSQL refuses to run as root, so root hands over to $PGT_OS_USER;
# anyone else runs the servers as themselves.
server_user() {
	if is_root; then echo "$PGT_OS_USER"; else id -un; fi
}

# as_server_user DIR CMD...: run CMD in directory DIR as server_user.  DIR
# must be reachable by that user (the servers complain about an unreadable
# working directory otherwise).  Environment variables are passed on; use
# `env NAME=value ...` as CMD to add some.
as_server_user() {
	local dir=$1
	shift
	if is_root; then
		id "$PGT_OS_USER" >/dev/null 2>&1 ||
			die "OS user '$PGT_OS_USER' does not exist (it comes with postgresql-common; run scripts/deps.sh)"
		(cd "$dir" && "$(command -v runuser || echo /usr/sbin/runuser)" -u "$PGT_OS_USER" -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

# give_to_server_user PATH...: make PATHs (recursively) owned by server_user.
give_to_server_user() {
	if is_root; then
		chown -R "$PGT_OS_USER:" "$@"
	fi
}

# server_user_can_write DIR: true when server_user can reach and write DIR.
server_user_can_write() {
	as_server_user / test -d "$1" -a -w "$1" -a -x "$1" 2>/dev/null
}

# pg_bin NAME: path of a PostgreSQL program of the version we build against.
pg_bin() { echo "$("$PG_CONFIG" --bindir)/$1"; }

# check_pg_config: fail clearly when the wanted PostgreSQL is not installed.
check_pg_config() {
	[[ -x $PG_CONFIG ]] ||
		die "$PG_CONFIG not found: PostgreSQL $PG_MAJOR server development files are missing (run scripts/deps.sh)"
}

# port_in_use PORT: true when something answers on PORT, over TCP on the
# loopback addresses or on a unix socket in the usual directories.
port_in_use() {
	local port=$1 host dir
	for host in 127.0.0.1 ::1; do
		# A connect succeeds only when something listens; pure bash, no tools.
		if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
			return 0
		fi
	done
	for dir in /tmp /var/run/postgresql "$@"; do
		[[ -e $dir/.s.PGSQL.$port || -e $dir/.s.PGSQL.$port.lock ]] && return 0
	done
	if "$(pg_bin pg_isready)" -q -h localhost -p "$port" -t 2 >/dev/null 2>&1; then
		return 0
	fi
	return 1
}

# free_port START [SOCKETDIR...]: print the first port from START upward
# (100 tries) that nothing uses.
free_port() {
	local port=$1 last=$(($1 + 100))
	shift
	while ((port < last)); do
		if ! port_in_use "$port" "$@"; then
			echo "$port"
			return 0
		fi
		port=$((port + 1))
	done
	die "no free port between $1 and $last"
}

# build_and_install: make, then make install, against $PG_CONFIG.  The
# Makefile compiles with -Wall -Wextra -Werror, so a warning fails here.
build_and_install() {
	check_pg_config
	section "Building pg_trickle (make PG_CONFIG=$PG_CONFIG)"
	make -C "$PGT_ROOT" -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
	section "Installing pg_trickle (make install)"
	as_root make -C "$PGT_ROOT" PG_CONFIG="$PG_CONFIG" install
}

# extension_installed: true when the library is in PostgreSQL's pkglibdir.
extension_installed() {
	[[ -f "$("$PG_CONFIG" --pkglibdir)/pg_trickle.so" ]]
}

# start_test_cluster DIR PORT_BASE [CONF_LINE...]: initdb a throwaway
# cluster in DIR/data (DIR must exist and be writable by the server user),
# listening only on a unix socket in DIR at the first free port from
# PORT_BASE, with pg_trickle preloaded, durability off and UTC/C messages;
# CONF_LINEs are appended to postgresql.conf.  Starts it (log in
# DIR/server.log) and exports PGHOST, PGPORT and PGUSER=postgres for it.
start_test_cluster() {
	local dir=$1 port_base=$2 bindir line
	shift 2
	bindir=$("$PG_CONFIG" --bindir)
	as_server_user "$dir" "$bindir/initdb" -D "$dir/data" -A trust -U postgres \
		--no-locale -E UTF8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; die "initdb failed"; }
	PGPORT=$(free_port "$port_base" "$dir")
	{
		cat <<-EOT
			port = $PGPORT
			listen_addresses = ''
			unix_socket_directories = '$dir'
			shared_preload_libraries = 'pg_trickle'
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			timezone = 'UTC'
			log_timezone = 'UTC'
			lc_messages = 'C'
		EOT
		for line in "$@"; do printf '%s\n' "$line"; done
	} >>"$dir/data/postgresql.conf"
	as_server_user "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
		{ tail -n 30 "$dir/server.log"; die "the server did not start"; }
	export PGHOST=$dir PGPORT PGUSER=postgres
}

# stop_test_cluster DIR: stop the cluster start_test_cluster started in DIR
# (nothing when it does not run).
stop_test_cluster() {
	[[ -f $1/data/postmaster.pid ]] || return 0
	as_server_user "$1" "$("$PG_CONFIG" --bindir)/pg_ctl" stop -m fast -D "$1/data" >/dev/null 2>&1 || true
}

# work_dir DIR PREFIX: print the absolute path of the work directory of a
# test runner: DIR (created when missing) or, when DIR is empty, a new
# /tmp/PREFIX.XXXXXX.  It is made readable by all, so that the server user
# reaches the clusters inside.
work_dir() {
	local dir=$1
	[[ -n $dir ]] || dir=$(mktemp -d "/tmp/$2.XXXXXX")
	mkdir -p "$dir"
	chmod 755 "$dir"
	(cd "$dir" && pwd -P)
}
