#!/usr/bin/env bash
# Tests of the Kubernetes deployment (cnpg/ and charts/pg-trickle-cluster/),
# without Kubernetes: every manifest and every rendered chart against strict
# JSON schemas generated from the CRDs of CloudNativePG, the Barman Cloud
# plugin, the Prometheus operator and Chainsaw and from Kubernetes' OpenAPI
# (kubeconform -strict); helm lint --strict; the chart's values.schema.json
# refusing bad values; the Chainsaw end-to-end tests' files; the operand
# images' Dockerfiles (hadolint, structure); the monitoring copies; and the
# configuration parity: a real PostgreSQL started with exactly the
# parameters each rendered Cluster gives, where pg_trickle must be accepted
# without a warning, be created, and refresh a stream table on schedule.
# Prints one line per test ("ok NAME" / "FAILED NAME: why") and ends with
# "N passed, M failed"; exits non-zero when anything failed.
#
#   cnpg/test/run_tests.sh [--workdir DIR]
#
# Needs the tools cnpg/deps.sh installs (scripts/deps.sh runs it) in
# $PGT_K8S_TOOLS (default /opt/pg_trickle-tools/k8s), promtool (Debian's
# prometheus, for the PrometheusRule's rules; skipped without it), and
# pg_trickle installed for PG_CONFIG.  The work directory (default: a new
# /tmp/pgt-kubernetes.XXXXXX, removed after a run that passed) holds the
# generated schemas, rendered charts and the throwaway clusters.
# PG_CONFIG, PG_MAJOR and PGT_OS_USER as in scripts/lib.sh.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"
# shellcheck source=../../scripts/results.sh
source "$here/../../scripts/results.sh"
root=$(cd "$here/../.." && pwd -P)
chart=$root/charts/pg-trickle-cluster

workdir='' keep_work=0
while (($#)); do
	case $1 in
	--workdir) workdir=$2; keep_work=1; shift ;;
	-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

tools=${PGT_K8S_TOOLS:-/opt/pg_trickle-tools/k8s}
helm=$tools/bin/helm
kubeconform=$tools/bin/kubeconform
py=$tools/venv/bin/python
hadolint=$tools/venv/bin/hadolint
for b in "$helm" "$kubeconform" "$py" "$hadolint"; do
	[[ -x $b ]] || die "$b not found (run cnpg/deps.sh, or scripts/deps.sh)"
done
promtool=${PGT_PROMTOOL:-/usr/bin/promtool}
check_pg_config
extension_installed || die "pg_trickle is not installed in $("$PG_CONFIG" --pkglibdir)"
bindir=$("$PG_CONFIG" --bindir)

workdir=$(work_dir "$workdir" pgt-kubernetes)
run=$workdir/run
rm -rf "$run"
mkdir -p "$run/schemas" "$run/rendered" "$run/parity"
give_to_server_user "$run/parity"

cleanup() {
	keep_or_remove_work kubernetes $? "$workdir" "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# expect_failure NAME EXPECTED CMD...: passed when CMD fails with EXPECTED in its output.
expect_failure() {
	local name=$1 expected=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		failed "$name" "succeeded; expected a failure with: $expected"
	elif [[ $out != *"$expected"* ]]; then
		failed "$name" "failed without '$expected': $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-600)"
	else
		ok "$name"
	fi
}

# expectation FILE: the "# expect: ..." first line of a fixture.
expectation() { sed -n '1s/^# expect: //p' "$1"; }

# The Kubernetes version the chart is rendered for (helm built by go
# install reports v1.20 by default, below the chart's kubeVersion).
kube_version=1.33.0

# kc FILE...: kubeconform -strict with the generated schemas only (no
# download, no missing schema tolerated).
kc() {
	"$kubeconform" -strict -summary \
		-schema-location "$run/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
		-schema-location "$run/schemas/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" "$@"
}

# render NAME [HELM ARGS...]: helm template of the chart into rendered/NAME.yaml.
render() {
	local name=$1
	shift
	"$helm" template pgt "$chart" --kube-version "$kube_version" "$@" >"$run/rendered/$name.yaml"
}

section "kubernetes: schemas"
check k8s-schemas "$py" "$here/schemas.py" "$tools" "$run/schemas"

# The schemas must be able to fail: misspelt fields of each source of schemas.
for f in "$here"/invalid/kubeconform-*.yaml; do
	expect_failure "kubeconform-rejects-$(basename "$f" .yaml | sed 's/^kubeconform-//')" "$(expectation "$f")" kc "$f"
done

section "kubernetes: plain manifests (cnpg/)"
for f in "$root"/cnpg/*.yaml; do
	check "kubeconform-cnpg-$(basename "$f" .yaml)" kc "$f"
done
check monitoring-copies-fresh "$py" "$root/cnpg/sync-monitoring.py" --check

section "kubernetes: Helm chart (charts/pg-trickle-cluster)"
values_files=(default)
for f in "$chart"/examples/*.yaml; do values_files+=("$(basename "$f" .yaml)"); done
for v in "${values_files[@]}"; do
	if [[ $v == default ]]; then args=(); else args=(-f "$chart/examples/$v.yaml"); fi
	check "helm-lint-$v" "$helm" lint --strict --kube-version "$kube_version" "$chart" "${args[@]}"
	if render "$v" "${args[@]}" 2>"$run/rendered/$v.err"; then
		check "helm-template-$v-kubeconform" kc "$run/rendered/$v.yaml"
	else
		failed "helm-template-$v" "$(tr '\n' ' ' <"$run/rendered/$v.err" | cut -c1-600)"
	fi
done
# every switch on at once
if render everything --set monitoring.enabled=true --set monitoring.passwordSecret=mon \
	--set pooler.enabled=true --set backup.enabled=true --set backup.destinationPath=s3://b/p \
	--set backup.s3Credentials.secretName=s3 --set walCdc.enabled=true --set walStorage.enabled=true \
	--set image.postgresqlMajor=18 2>"$run/rendered/everything.err"; then
	check helm-template-everything-kubeconform kc "$run/rendered/everything.yaml"
	values_files+=(everything)
else
	failed helm-template-everything "$(tr '\n' ' ' <"$run/rendered/everything.err" | cut -c1-600)"
fi
for f in "$chart"/bad-values/*.yaml; do
	expect_failure "helm-schema-rejects-$(basename "$f" .yaml)" "$(expectation "$f")" \
		"$helm" template pgt "$chart" --kube-version "$kube_version" -f "$f"
done
# a tag of another major than postgresqlMajor is refused by the template
expect_failure helm-rejects-tag-of-another-major "must start with image.postgresqlMajor" \
	"$helm" template pgt "$chart" --kube-version "$kube_version" --set image.tag=16-0.2.0

section "kubernetes: consistency"
check chart-consistency "$py" "$here/check_static.py" --root "$root" --rendered "$run/rendered" \
	--promtool "$promtool" --workdir "$run"

section "kubernetes: Chainsaw end-to-end tests (schemas only: they need a cluster)"
for d in "$chart"/test/*/; do
	t=$(basename "$d")
	# the Test itself and what it applies; *-assert.yaml are partial
	# resources by design (Chainsaw compares the fields they give)
	files=()
	for f in "$d"*.yaml; do
		case $(basename "$f") in
		*-assert.yaml | 00-values.yaml) ;;
		*) files+=("$f") ;;
		esac
	done
	check "chainsaw-$t-kubeconform" kc "${files[@]}"
	if [[ -f $d/00-values.yaml ]]; then
		if render "e2e-$t" -f "$d/00-values.yaml" 2>"$run/rendered/e2e-$t.err"; then
			check "chainsaw-$t-values-kubeconform" kc "$run/rendered/e2e-$t.yaml"
		else
			failed "chainsaw-$t-values" "$(tr '\n' ' ' <"$run/rendered/e2e-$t.err" | cut -c1-600)"
		fi
	fi
	check "chainsaw-$t-consistency" "$py" "$here/check_static.py" --root "$root" --chainsaw "$d" \
		--rendered "$run/rendered/e2e-$t.yaml"
done

section "kubernetes: operand images (cnpg/image/)"
for f in "$root"/cnpg/image/Dockerfile*; do
	check "hadolint-$(basename "$f")" "$hadolint" --config "$root/cnpg/image/.hadolint.yaml" \
		--failure-threshold warning "$f"
done
check image-structure "$py" "$here/check_static.py" --root "$root" --images

section "kubernetes: configuration parity on a real server ($("$PG_CONFIG" --version))"
port=$(free_port 58500 "$run/parity")
# parity PATH NAME [--gucs-out FILE]: parity.py on a manifest, as the server user.
parity() {
	local file=$1 name=$2
	shift 2
	as_server_user "$run/parity" "$py" "$here/parity.py" --bindir "$bindir" --workdir "$run/parity" \
		--port "$port" "$@" "$file"
}
for f in "$root"/cnpg/cluster-*.yaml; do
	[[ $f != *-pg18-image-volume.yaml ]] || continue # below, on PostgreSQL 18
	check "parity-cnpg-$(basename "$f" .yaml)" parity "$f" x
done
iv_renders=()
for v in "${values_files[@]}"; do
	[[ -f $run/rendered/$v.yaml ]] || continue
	if grep -q 'reference: ghcr.io/pg-trickle/pg_trickle-extension:' "$run/rendered/$v.yaml"; then
		iv_renders+=("$v") # image volumes: below, on PostgreSQL 18
		continue
	fi
	extra=()
	[[ $v != default ]] || extra=(--gucs-out "$run/parity/gucs.txt")
	# the rendered chart of major 18 sets nothing else: its parameters are checked here on this server
	check "parity-chart-$v" parity "$run/rendered/$v.yaml" "$v" "${extra[@]}"
done
# The parity test must be able to fail.
for f in "$here"/invalid/parity-*.yaml; do
	expect_failure "parity-rejects-$(basename "$f" .yaml | sed 's/^parity-//')" "$(expectation "$f")" parity "$f" x
done
# The chart's pgtrickle values are exactly the GUCs the extension defines.
if [[ -s $run/parity/gucs.txt ]]; then
	check chart-gucs-are-the-extensions "$py" "$here/check_static.py" --root "$root" \
		--rendered "$run/rendered/default.yaml" --gucs "$run/parity/gucs.txt"
else
	failed chart-gucs-are-the-extensions "no list of the server's pg_trickle.* parameters (parity-chart-default failed?)"
fi
# The e2e Job's script, run against a real server as the application owner.
check chainsaw-job-script-on-server as_server_user "$run/parity" "$py" "$here/check_static.py" --root "$root" \
	--job-script "$chart/test/stream-table/02-job.yaml" --bindir "$bindir" --workdir "$run/parity" --port "$port"

section "kubernetes: the extension-only image on PostgreSQL 18 (image volumes)"
# cnpg/cluster-pg18-image-volume.yaml and the chart's image-volume renders on a private copy of PostgreSQL 18
# without pg_trickle, the extension built for it and laid out as
# cnpg/image/Dockerfile.extension copies it (<pkglibdir>/ -> /lib/,
# <sharedir>/extension/ -> /share/extension/) in a directory standing for the
# image volume /extensions/pg-trickle, with the paths CloudNativePG sets.
pg18_config=$(default_pg_config 18)
iv=$run/image-volume
if [[ ! -x $pg18_config ]]; then
	failed parity-cnpg-cluster-pg18-image-volume "PostgreSQL 18 is not installed ($pg18_config; scripts/deps.sh installs it)"
	for v in "${iv_renders[@]}"; do failed "parity-chart-$v" "PostgreSQL 18 is not installed"; done
else
	mkdir -p "$iv"
	tree=$(PG_CONFIG=$pg18_config copy_pg_tree "$iv/pg")
	rm -f "$("$tree/bin/pg_config" --pkglibdir)"/pg_trickle.* "$("$tree/bin/pg_config" --sharedir)"/extension/pg_trickle*
	copy_sources "$iv/src"
	if make -C "$iv/src" -s -j"$(nproc)" PG_CONFIG="$tree/bin/pg_config" with_llvm=no >"$iv/build.log" 2>&1 &&
		make -C "$iv/src" -s PG_CONFIG="$tree/bin/pg_config" with_llvm=no install DESTDIR="$iv/dest" >>"$iv/build.log" 2>&1; then
		for layout in good flat; do
			mnt=$iv/extensions-$layout/pg-trickle
			mkdir -p "$mnt/lib" "$mnt/share/extension"
			cp -R "$iv/dest$("$tree/bin/pg_config" --pkglibdir)/." "$mnt/lib/"
			if [[ $layout == good ]]; then
				cp -R "$iv/dest$("$tree/bin/pg_config" --sharedir)/extension/." "$mnt/share/extension/"
			else
				# the control files beside share/extension/, not in it
				cp -R "$iv/dest$("$tree/bin/pg_config" --sharedir)/extension/." "$mnt/share/"
			fi
		done
		give_to_server_user "$iv"
		iv_parity() {
			as_server_user "$run/parity" "$py" "$here/parity.py" --bindir "$tree/bin" --workdir "$run/parity" \
				--port "$port" --extensions-dir "$1" "${2:-$root/cnpg/cluster-pg18-image-volume.yaml}"
		}
		check parity-cnpg-cluster-pg18-image-volume iv_parity "$iv/extensions-good"
		for v in "${iv_renders[@]}"; do
			check "parity-chart-$v" iv_parity "$iv/extensions-good" "$run/rendered/$v.yaml"
		done
		# the test must be able to fail: the same files in a layout PostgreSQL does not search
		expect_failure parity-rejects-image-volume-wrong-layout 'extension "pg_trickle" is not available' \
			iv_parity "$iv/extensions-flat"
	else
		failed parity-cnpg-cluster-pg18-image-volume "building pg_trickle for PostgreSQL 18 failed: $(tail -n 5 "$iv/build.log" | tr '\n' ' ')"
	fi
fi

section "kubernetes: summary"
results_end
