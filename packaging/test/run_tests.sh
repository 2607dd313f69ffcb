#!/usr/bin/env bash
# Tests of packaging/: every package is built from the `make dist` archive
# (git archive of HEAD), checked by its ecosystem's lint tool and, where this
# machine allows, installed and exercised against a real server:
#
#   versions   one version in the control file, META.json, the SQL script,
#              the Debian changelog, the RPM spec, the image, CHANGELOG.md
#   vpath      an out-of-tree build (make -f SRC/Makefile VPATH=SRC, -Werror)
#   dist       the archive holds exactly the committed files
#   pgxn       pgxn_meta and project checks of META.json; the zip unpacked,
#              installed with pgxnclient into a private copy of PostgreSQL,
#              and its `make installcheck` (temporary server, preloaded)
#   image      hadolint; the Dockerfile's own configuration steps applied to
#              a real server (check_image.py); actionlint of the workflow
#   deb        dpkg-buildpackage (its build runs the regression tests under
#              pg_virtualenv), lintian --fail-on warning, the contents; as
#              root: apt-get install, debian/tests/smoke, apt-get purge, and
#              the files the package replaced put back as they were
#   rpm        rpmbuild -bb, rpmlint with packaging/rpm/rpmlint.toml, rpm -qlp
#   homebrew   ruby -c, rubocop, the formula under a stub DSL (install into a
#              scratch prefix, its test block against the server)
#   docs       docs/install.md shows the commands run here
#
# Prints "ok NAME" / "FAILED NAME: why" per test and ends with "N passed, M
# failed"; exits non-zero when anything failed.
#
#   packaging/test/run_tests.sh [--workdir DIR] [--no-install] [--podman]
#
# Run as root (apt, dpkg-buildpackage); the servers run as PGT_OS_USER.
# --no-install (or PGT_PACKAGING_INSTALL=off) skips installing the .deb into
# the system's PostgreSQL.  PG_CONFIG: the PostgreSQL (with pg_trickle
# installed) for the vpath, PGXN, image and Homebrew tests; the .deb and the
# .rpm are built with Debian's PostgreSQL 15.  Tools: packaging/deps.sh.
# --podman (or PGT_PACKAGING_PODMAN=on) adds test/podman_image.sh: a real
# podman build of the Dockerfile on a stand-in base, its files run by chroot
# (about 1 minute, 2 the first time; packaging/deps.sh installs podman with
# the same variable).
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"
# shellcheck source=../../scripts/results.sh
source "$here/../../scripts/results.sh"
pkg=$PGT_ROOT/packaging
cd "$PGT_ROOT"

workdir='' install=1 podman=0
[[ ${PGT_PACKAGING_INSTALL:-on} != off ]] || install=0
[[ ${PGT_PACKAGING_PODMAN:-off} != on ]] || podman=1
while (($#)); do
	case $1 in
	--workdir) workdir=$2; shift ;;
	--no-install) install=0 ;;
	--podman) podman=1 ;;
	-h | --help) sed -n '2,37p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

is_root || die "run as root (apt-get, dpkg-buildpackage)"
check_pg_config
PGT_TOOLS_HOME=${PGT_TOOLS_HOME:-/opt/pg_trickle-tools}
tools=$PGT_TOOLS_HOME
for t in "$tools/bin/pgxn_meta" "$tools/bin/actionlint" "$tools/venv/bin/hadolint" dpkg-buildpackage lintian \
	rpmbuild rpmlint pgxn ruby rubocop; do
	command -v "$t" >/dev/null || die "$t not found (run packaging/deps.sh)"
done
deb_pg_config=$(default_pg_config 15)
[[ -x $deb_pg_config ]] || die "Debian's PostgreSQL 15 is needed for the .deb and the .rpm (scripts/deps.sh)"

work=$(work_dir "$workdir" pgt-packaging)
rm -rf "$work/run"
run=$work/run out=$work/run/out
mkdir -p "$out"
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" pg_trickle.control)
name=pg_trickle-$version
backup='' purge_pkg=''

cleanup() {
	local rc=$?
	# never leave the package installed or the replaced files missing
	if [[ -n $purge_pkg ]]; then
		apt-get purge -y -qq "$purge_pkg" >/dev/null 2>&1 || true
	fi
	if [[ -n $backup && -f $backup ]]; then
		tar -xpf "$backup" -C / || true
	fi
	if ((rc == 0 && failed == 0)); then
		rm -rf "$run"
		[[ -n $workdir ]] || rm -rf "$work"
	else
		echo "packaging test work directory kept: $work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# checker NAME CMD...: run a checker that prints "ok ..." / "FAILED ..."
# lines and count them; an exit status other than 0 without a FAILED line
# (a crash) is one more failure
checker() {
	local name=$1 log=$run/checker-${1// /_}.log rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	count_results < <(grep -E '^(ok|FAILED) ' "$log" || true)
	if ((rc != 0)) && ! grep -q '^FAILED ' "$log"; then
		failed "$name" "exit status $rc without a result (end of $log below)"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
}
# step NAME LOG CMD...: run CMD with its output in LOG; ok, or FAILED with
# the end of LOG
step() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		ok "$name"
	else
		failed "$name" "exit status $? (end of $log below)"
		tail -n 25 "$log" | sed 's/^/    /'
		return 1
	fi
}
# the commands docs/install.md must show, as this script runs them
doc_commands=()

# --- versions -------------------------------------------------------------------
checker versions python3 "$here/check_versions.py" "$PGT_ROOT"

# --- dist -----------------------------------------------------------------------
archive=$out/$name.tar.gz zip=$out/$name.zip
if step "dist (make -C packaging dist)" "$run/dist.log" make -C packaging dist OUT="$out"; then
	git -c safe.directory="$PGT_ROOT" ls-tree -r --name-only HEAD | sed "s:^:$name/:" | sort >"$run/committed"
	tar -tzf "$archive" | grep -v '/$' | sort >"$run/in-tar"
	unzip -Z1 "$zip" | grep -v '/$' | sort >"$run/in-zip"
	if cmp -s "$run/committed" "$run/in-tar" && cmp -s "$run/committed" "$run/in-zip"; then
		ok "dist archives hold the committed files ($(wc -l <"$run/committed") files)"
	else
		failed "dist archives" "$(diff "$run/committed" "$run/in-tar" | head -n 5)"
	fi
fi

# --- vpath ----------------------------------------------------------------------
# From the unpacked archive, as pg_buildext builds: a source tree holding
# objects of an in-tree build would let VPATH find them up to date there.
mkdir -p "$run/vpath" "$run/vpath-src"
if [[ ! -f $archive ]]; then
	failed "vpath build" "no archive from make dist to build from"
elif tar -xzf "$archive" -C "$run/vpath-src" &&
	step "vpath build (make -f Makefile VPATH=..., -Werror)" "$run/vpath.log" \
		make -C "$run/vpath" -f "$run/vpath-src/$name/Makefile" VPATH="$run/vpath-src/$name" \
		PG_CONFIG="$PG_CONFIG" -j"$(nproc)"; then
	if [[ -f $run/vpath/pg_trickle.so && -f $run/vpath/src/api/names.o ]]; then
		ok "vpath objects and pg_trickle.so in the build directory"
	else
		failed "vpath build directory" "no pg_trickle.so or src/api/names.o in $run/vpath"
	fi
fi

# --- PGXN -----------------------------------------------------------------------
step "pgxn pgxn_meta META.json" "$run/pgxn_meta.log" "$tools/bin/pgxn_meta" META.json || true
checker meta python3 "$here/check_meta.py" "$PGT_ROOT"
if [[ -f $zip ]]; then
	# pgxnclient installs the zip into a private copy of PostgreSQL (a scratch
	# prefix: the real installation is not touched)
	pgxn_pg=$(copy_pg_tree "$run/pgxn-pg")
	pgxn_config=$pgxn_pg/bin/pg_config
	# without the copied pg_trickle: what is there afterwards, pgxn put there
	rm -rf "$("$pgxn_config" --pkglibdir)"/pg_trickle.so "$("$pgxn_config" --pkglibdir)"/bitcode/pg_trickle* \
		"$("$pgxn_config" --sharedir)"/extension/pg_trickle[.-]*
	# pgxnclient wants the library directory writable (the copy has none)
	mkdir -p "$("$pgxn_config" --libdir)"
	doc_commands+=("pgxn install --pg_config $(default_pg_config 15) ./$name.zip")
	if step "pgxn install (pgxnclient) from the zip into a scratch prefix" "$run/pgxn-install.log" \
		pgxn install --pg_config "$pgxn_config" "$zip"; then
		if [[ -f $("$pgxn_config" --pkglibdir)/pg_trickle.so &&
			-f $("$pgxn_config" --sharedir)/extension/pg_trickle--$version.sql ]]; then
			ok "pgxn install put the library and the scripts into the prefix"
		else
			failed "pgxn install" "no pg_trickle.so / pg_trickle--$version.sql in $pgxn_pg"
		fi
	fi
	# the unpacked zip: make, make installcheck (a temporary server that
	# preloads the library), as a PGXN user runs them
	mkdir -p "$run/pgxn-src"
	unzip -q "$zip" -d "$run/pgxn-src"
	give_to_server_user "$run/pgxn-src" "$run/pgxn-pg"
	doc_commands+=("make installcheck")
	if step "pgxn zip: make" "$run/pgxn-make.log" \
		as_server_user "$run/pgxn-src/$name" make -j"$(nproc)" PG_CONFIG="$pgxn_config" &&
		step "pgxn zip: make installcheck" "$run/pgxn-installcheck.log" \
			as_server_user "$run/pgxn-src/$name" make installcheck PG_CONFIG="$pgxn_config"; then
		ntests=$(find "$run/pgxn-src/$name/test/sql" -name '*.sql' | wc -l)
		if grep -q "All $ntests tests passed" "$run/pgxn-installcheck.log"; then
			ok "pgxn zip: installcheck ran all $ntests regression tests"
		else
			failed "pgxn zip: installcheck" "did not report 'All $ntests tests passed'"
		fi
	fi
fi

# --- image ----------------------------------------------------------------------
step "image hadolint (--failure-threshold warning)" "$run/hadolint.log" \
	"$tools/venv/bin/hadolint" --config packaging/docker/.hadolint.yaml --failure-threshold warning \
	packaging/docker/Dockerfile || true
checker image "$tools/venv/bin/python" "$here/check_image.py" --pg-config "$PG_CONFIG" \
	--workdir "$run/image" --user "$PGT_OS_USER"
step "image workflow actionlint (.github/workflows/image.yml)" "$run/actionlint.log" \
	"$tools/bin/actionlint" .github/workflows/image.yml || true
if ((podman)); then
	if [[ -f $archive ]]; then
		checker podman "$here/podman_image.sh" --archive "$archive" --workdir "$run/podman"
	else
		failed "podman" "no archive (make dist failed)"
	fi
fi

# --- Debian ---------------------------------------------------------------------
deb=$out/deb/postgresql-15-pg-trickle_${version}-1_$(dpkg --print-architecture).deb
doc_commands+=("make -C packaging deb" "apt-get install ./${deb##*/}")
if step "deb dpkg-buildpackage (make -C packaging deb, regression tests under pg_virtualenv)" "$run/deb.log" \
	make -C packaging deb OUT="$out" && [[ -f $deb ]]; then
	step "deb lintian --fail-on warning" "$run/lintian.log" lintian --fail-on warning "$deb" || true
	dpkg-deb -c "$deb" | awk '{print $6}' | sed 's:^\./:/:' >"$run/deb-files"
	want=(/usr/lib/postgresql/15/lib/pg_trickle.so /usr/share/postgresql/15/extension/pg_trickle.control
		/usr/lib/postgresql/15/lib/bitcode/pg_trickle.index.bc /usr/share/doc/postgresql-15-pg-trickle/copyright)
	for f in sql/*.sql; do want+=("/usr/share/postgresql/15/extension/${f#sql/}"); done
	lacking=()
	for f in "${want[@]}"; do grep -qxF "$f" "$run/deb-files" || lacking+=("$f"); done
	if ((${#lacking[@]} == 0)); then ok "deb contents"; else failed "deb contents" "lacks ${lacking[*]}"; fi

	if ((install)); then
		# Back up what the package will replace (a `make install` of the
		# other tests), install, exercise, purge, put the backup back.
		backup=$run/replaced.tar
		existing=()
		while IFS= read -r f; do
			[[ -f $f && $f != /usr/share/doc/* ]] && existing+=("$f")
		done < <(grep -v '/$' "$run/deb-files")
		tar -cpf "$backup" -C / --files-from=/dev/null
		: >"$run/replaced.sha256"
		if ((${#existing[@]})); then
			tar -cpf "$backup" -C / "${existing[@]#/}"
			sha256sum "${existing[@]}" >"$run/replaced.sha256"
		fi
		purge_pkg=postgresql-15-pg-trickle
		if step "deb apt-get install ./${deb##*/}" "$run/apt-install.log" \
			env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb"; then
			if [[ $(dpkg-query -W -f='${Version}' postgresql-15-pg-trickle) == "$version-1" ]]; then
				ok "deb installed: postgresql-15-pg-trickle $version-1"
			else
				failed "deb installed" "dpkg-query says $(dpkg-query -W -f='${Version}' postgresql-15-pg-trickle)"
			fi
			cp "$pkg/debian/tests/smoke" "$run/smoke"
			chmod 755 "$run" "$run/smoke"
			doc_commands+=("pg_virtualenv -o shared_preload_libraries=pg_trickle")
			if env PG_VERSIONS=15 AUTOPKGTEST_TMP="$run" "$run/smoke" >"$run/smoke.log" 2>&1; then
				count_results < <(grep '^ok ' "$run/smoke.log" | sed 's/^ok /ok deb autopkgtest smoke: /')
			else
				failed "deb autopkgtest smoke (pg_virtualenv -o shared_preload_libraries=pg_trickle)" \
					"$(grep -v '^ok ' "$run/smoke.log" | tail -n 5)"
			fi
		fi
		doc_commands+=("apt-get purge postgresql-15-pg-trickle")
		if step "deb apt-get purge postgresql-15-pg-trickle" "$run/apt-purge.log" \
			env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q postgresql-15-pg-trickle; then
			purge_pkg=''
			if [[ ! -e /usr/share/postgresql/15/extension/pg_trickle--$version.sql ]]; then
				ok "deb purged: its files are gone"
			else
				failed "deb purged" "pg_trickle--$version.sql is still there"
			fi
		fi
		tar -xpf "$backup" -C /
		backup=''
		if sha256sum --quiet -c "$run/replaced.sha256" >"$run/restore.log" 2>&1; then
			ok "deb: the ${#existing[@]} files the package replaced are back as they were"
		else
			failed "deb restore" "$(head -n 3 "$run/restore.log")"
		fi
	fi
fi

# --- RPM ------------------------------------------------------------------------
rpmdir=$out/rpm/RPMS/$(rpm --eval '%{_arch}')
doc_commands+=("make -C packaging rpm")
if step "rpm rpmbuild -bb (make -C packaging rpm)" "$run/rpm.log" \
	make -C packaging rpm OUT="$out" PG_CONFIG="$deb_pg_config"; then
	step "rpm rpmlint -c packaging/rpm/rpmlint.toml" "$run/rpmlint.log" \
		rpmlint -c packaging/rpm/rpmlint.toml "$rpmdir"/*.rpm packaging/rpm/pg_trickle.spec || true
	main_rpm=$rpmdir/pg_trickle_15-$version-1PGDG.$(rpm --eval '%{_arch}').rpm
	jit_rpm=$rpmdir/pg_trickle_15-llvmjit-$version-1PGDG.$(rpm --eval '%{_arch}').rpm
	libdir=$("$deb_pg_config" --pkglibdir) sharedir=$("$deb_pg_config" --sharedir)
	{
		echo "$libdir/pg_trickle.so"
		echo "$sharedir/extension/pg_trickle.control"
		for f in sql/*.sql; do echo "$sharedir/extension/${f#sql/}"; done
		echo "/usr/share/licenses/pg_trickle_15-$version/LICENSE"
		for f in README.md CHANGELOG.md install.md sql-reference.md; do
			echo "/usr/share/doc/pg_trickle_15-$version/$f"
		done
	} | sort >"$run/rpm-want"
	rpm -qlp "$main_rpm" 2>/dev/null | grep -v -e '^/usr/lib/\.build-id' -e '/$' |
		grep -vxF -e "/usr/share/doc/pg_trickle_15-$version" -e "/usr/share/licenses/pg_trickle_15-$version" |
		sort >"$run/rpm-got" || true
	if cmp -s "$run/rpm-want" "$run/rpm-got"; then
		ok "rpm -qlp pg_trickle_15: $(wc -l <"$run/rpm-got") files"
	else
		failed "rpm -qlp pg_trickle_15" "$(diff "$run/rpm-want" "$run/rpm-got" | grep '^[<>]' | head -n 5 | tr '\n' ' ')"
	fi
	grep -oE '^\s+src/[a-z_/]+\.o' Makefile | sed -E "s:^\s+:$libdir/bitcode/pg_trickle/:; s:\.o\$:.bc:" |
		sort >"$run/rpm-jit-want"
	rpm -qlp "$jit_rpm" >"$run/rpm-jit-list" 2>/dev/null || true
	grep '\.bc$' "$run/rpm-jit-list" | grep -v '\.index\.bc$' | sort >"$run/rpm-jit-got" || true
	if cmp -s "$run/rpm-jit-want" "$run/rpm-jit-got" &&
		grep -qxF "$libdir/bitcode/pg_trickle.index.bc" "$run/rpm-jit-list"; then
		ok "rpm -qlp pg_trickle_15-llvmjit: the bitcode of every object"
	else
		failed "rpm -qlp pg_trickle_15-llvmjit" "$(diff "$run/rpm-jit-want" "$run/rpm-jit-got" | head -n 5 | tr '\n' ' ')"
	fi
fi

# --- Homebrew -------------------------------------------------------------------
formula=$out/Formula/pg_trickle.rb
if step "homebrew formula (make -C packaging formula)" "$run/formula.log" make -C packaging formula OUT="$out"; then
	step "homebrew ruby -c" "$run/ruby-c.log" ruby -c "$formula" || true
	step "homebrew rubocop" "$run/rubocop.log" rubocop -c packaging/homebrew/.rubocop.yml \
		"$formula" "$here/formula_test.rb" || true
	mkdir -p "$run/brew"
	tar -xzf "$archive" -C "$run/brew"
	cp "$formula" "$archive" "$here/formula_test.rb" "$run/brew/"
	give_to_server_user "$run/brew"
	checker homebrew as_server_user "$run/brew" ruby formula_test.rb "$run/brew/pg_trickle.rb" \
		"$run/brew/$name.tar.gz" "$run/brew/$name" "$PG_CONFIG" "$run/brew/prefix" --run-test
fi

# --- docs -----------------------------------------------------------------------
missing_docs=()
for c in "${doc_commands[@]}"; do
	grep -qF -- "$c" docs/install.md || missing_docs+=("$c")
done
if ((${#missing_docs[@]} == 0)); then
	ok "docs/install.md shows the ${#doc_commands[@]} commands run here"
else
	failed "docs/install.md" "does not show: ${missing_docs[*]}"
fi
if grep -q '(docs/install.md)' README.md; then
	ok "README.md links docs/install.md"
else
	failed "README.md" "no link to docs/install.md"
fi

results_end
