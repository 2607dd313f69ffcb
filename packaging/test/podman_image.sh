#!/usr/bin/env bash
# Optional, heavy (run_tests.sh --podman): a real build of
# packaging/docker/Dockerfile with podman, then the image's files run.
# There is no Docker engine and no registry to pull postgres:<major>-bookworm
# from here, so the base is a stand-in made by this script: Debian 12
# (debootstrap, Debian's postgresql-15) with the official image's
# conventions the Dockerfile relies on (postgresql.conf.sample diverted to
# /usr/share/postgresql/, /docker-entrypoint-initdb.d/, PATH, PGDATA),
# tagged docker.io/library/postgres:15-bookworm in a podman store of its own;
# built in Docker's format (OCI images have no HEALTHCHECK).
# `podman run` does not work in this sandbox (crun/runc cannot set rlimits),
# so the built image is mounted and its programs run by chroot: initdb with
# the image's sample, the init scripts, the server, the HEALTHCHECK script.
#
#   podman_image.sh --archive pg_trickle-VERSION.tar.gz --workdir DIR [--cache DIR]
#
# The base (about 2 minutes to make, 1.5 GB) is kept in --cache (default
# /var/cache/pg_trickle-podman) and reused.  Prints "ok podman ..." /
# "FAILED podman ...: why"; needs root, podman, buildah, debootstrap
# (apt-get install podman buildah crun runc fuse-overlayfs uidmap debootstrap).
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"

archive='' workdir='' cache=/var/cache/pg_trickle-podman
while (($#)); do
	case $1 in
	--archive) archive=$2; shift ;;
	--workdir) workdir=$2; shift ;;
	--cache) cache=$2; shift ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done
[[ -f $archive && -n $workdir ]] || die "usage: podman_image.sh --archive ARCHIVE --workdir DIR [--cache DIR]"
is_root || die "run as root"
for t in podman debootstrap; do command -v "$t" >/dev/null || die "$t not found"; done

major=15
name=$(basename "$archive" .tar.gz)
version=${name#pg_trickle-}
base=docker.io/library/postgres:$major-bookworm
image=localhost/pg_trickle:$major-$version
mkdir -p "$cache" "$workdir"
pm() { podman --root "$cache/storage" --runroot "$cache/run" --storage-driver overlay --cgroup-manager cgroupfs "$@"; }
ok() { echo "ok podman $1"; }
failed() { echo "FAILED podman $1: $2"; }

# --- the stand-in base image -----------------------------------------------------
if ! pm image exists "$base"; then
	rootfs=$cache/rootfs
	rm -rf "$rootfs"
	if ! debootstrap --variant=minbase --include=postgresql-$major,ca-certificates bookworm "$rootfs" \
		http://deb.debian.org/debian >"$workdir/debootstrap.log" 2>&1; then
		failed "base image (debootstrap)" "$(tail -n 3 "$workdir/debootstrap.log")"
		exit 1
	fi
	# what the official image does to its PostgreSQL (our own steps)
	chroot "$rootfs" sh -euc "
		dpkg-divert --add --rename --divert /usr/share/postgresql/postgresql.conf.sample \
			/usr/share/postgresql/$major/postgresql.conf.sample
		ln -s ../postgresql.conf.sample /usr/share/postgresql/$major/
		sed -ri \"s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'!\" /usr/share/postgresql/postgresql.conf.sample
		mkdir -p /docker-entrypoint-initdb.d /var/lib/postgresql/data
		chown postgres:postgres /var/lib/postgresql/data
		apt-get clean
		rm -rf /var/lib/apt/lists/*" >"$workdir/base.log" 2>&1
	tar -C "$rootfs" -cf - . | pm import \
		--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/$major/bin" \
		--change "ENV PGDATA=/var/lib/postgresql/data" --change "ENV PG_MAJOR=$major" \
		- "$base" >>"$workdir/base.log" 2>&1 || { failed "base image (import)" "$(tail -n 3 "$workdir/base.log")"; exit 1; }
	rm -rf "$rootfs"
fi
ok "stand-in base image $base"

# --- build -------------------------------------------------------------------------
ctx=$workdir/context
rm -rf "$ctx"
mkdir -p "$ctx"
tar -xzf "$archive" -C "$ctx"
if pm build --format docker --isolation chroot --pull=never -f "$ctx/$name/packaging/docker/Dockerfile" \
	--build-arg PG_MAJOR=$major -t "$image" "$ctx/$name" >"$workdir/build.log" 2>&1; then
	ok "podman build of packaging/docker/Dockerfile ($image)"
else
	failed "podman build" "$(tail -n 5 "$workdir/build.log")"
	exit 1
fi
cfg=$(pm image inspect --format '{{.Config.User}}|{{index .Config.Labels "org.opencontainers.image.version"}}|{{.Config.Healthcheck.Test}}' "$image" 2>&1 || true)
if [[ $cfg == "postgres|$version|[CMD pg_trickle-healthcheck]" ]]; then
	ok "image config: USER postgres, version label $version, HEALTHCHECK"
else
	failed "image config" "$cfg"
fi

# --- run its files by chroot ---------------------------------------------------------------
cid=$(pm create "$image" postgres)
mnt=$(pm mount "$cid")
cleanup() {
	chroot "$mnt" runuser -u postgres -- pg_ctl -D /tmp/pgt/data stop -m immediate >/dev/null 2>&1 || true
	umount "$mnt/proc" 2>/dev/null || true
	pm umount "$cid" >/dev/null 2>&1 || true
	pm rm -f "$cid" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mount -t proc proc "$mnt/proc"
port=$(free_port 57500)
cat >"$mnt/tmp/run.sh" <<EOT
set -eu
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/lib/postgresql/$major/bin PGHOST=/tmp/pgt PGPORT=$port
mkdir -p /tmp/pgt
initdb -D /tmp/pgt/data -U postgres -A trust >/tmp/pgt/initdb.log
opts="-c listen_addresses= -c unix_socket_directories=/tmp/pgt -c port=$port"
pg_ctl -D /tmp/pgt/data -l /tmp/pgt/server.log -w -o "\$opts" start >/dev/null
for f in \$(ls /docker-entrypoint-initdb.d/*.sql | sort); do
	psql -v ON_ERROR_STOP=1 --username postgres --no-password --no-psqlrc --dbname postgres -q -f "\$f"
done
pg_ctl -D /tmp/pgt/data -w stop -m fast >/dev/null
pg_ctl -D /tmp/pgt/data -l /tmp/pgt/server.log -w -o "\$opts" start >/dev/null
echo "preload=\$(psql -XAtc 'SHOW shared_preload_libraries')"
echo "extension=\$(psql -XAtc "SELECT extversion FROM pg_extension WHERE extname = 'pg_trickle'")"
psql -XAtq -c "CREATE TABLE t (k int PRIMARY KEY, v int)" -c "INSERT INTO t VALUES (1, 1)" \
	-c "SELECT pgtrickle.create_stream_table('t_sum', 'SELECT sum(v) AS s FROM t', '1s')" -c "INSERT INTO t VALUES (2, 2)"
i=0
until [ "\$(psql -XAtc 'SELECT s FROM t_sum')" = 3 ] || [ \$i -ge 600 ]; do i=\$((i + 1)); sleep 0.1; done
echo "refreshed=\$(psql -XAtc 'SELECT s FROM t_sum')"
pg_trickle-healthcheck && echo healthcheck=ok
EOT
chmod 755 "$mnt/tmp/run.sh"
out=$(chroot "$mnt" runuser -u postgres -- sh /tmp/run.sh 2>&1) || true
echo "$out" >"$workdir/run.log"
grep -qx "preload=pg_trickle" <<<"$out" && ok "the image's server preloads pg_trickle" ||
	failed "preload" "$(tail -n 5 <<<"$out")"
grep -qx "extension=$version" <<<"$out" && ok "the image's init script created pg_trickle $version" ||
	failed "extension" "$(tail -n 5 <<<"$out")"
grep -qx "refreshed=3" <<<"$out" && ok "the image's scheduler refreshes a stream table" ||
	failed "scheduler" "$(tail -n 5 <<<"$out")"
grep -qx "healthcheck=ok" <<<"$out" && ok "the image's HEALTHCHECK passes" ||
	failed "healthcheck" "$(tail -n 5 <<<"$out")"
