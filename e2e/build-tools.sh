#!/usr/bin/env bash
# Builds the real tier's tools from the Go module proxy, once per version, and prints their folder as
# `bin=<folder>` on stdout: etcd v3.6.16, kube-apiserver and kubectl v1.35.4, Helm's renderer at v3.20.2,
# our injector stand-in (e2e/tools/*), and Istio's base and istiod charts in charts/, from the istio.io/istio
# module version in e2e/tools/istio-charts.version (the proxy serves no 1.30.3; that commit is on the
# release-1.30 branch). The folder is keyed by a hash of e2e/tools and the Go version, under
# ${ISTIO_MINIKUBE_E2E_CACHE:-~/.cache/istio-minikube/e2e}; a complete folder is reused as it is, and a
# build that fails or is interrupted leaves none behind. Nothing is downloaded but Go modules.
# Progress and the wall time of each build go to stderr.
set -euo pipefail
cd "$(dirname "$0")/tools"
# -buildvcs=false: nothing asks git about the checkout (a clone owned by another user would fail the build).
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
tools=(etcd kube-apiserver kubectl injector-standin helm-render)

# The key covers what decides the tools: the Go version, the modules in e2e/tools and this script (its flags).
key=$({ go version; { find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name '*.version' \); echo ../build-tools.sh; } | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
cache=${ISTIO_MINIKUBE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/istio-minikube/e2e}
bin="$cache/$key/bin"
if [ -f "$bin/.complete" ]; then
    echo "real tier: tools cached in $bin" >&2
    echo "bin=$bin"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
build() { # build NAME MODULE_DIR PACKAGE [go build flags...]
    local name=$1 dir=$2 package=$3 from
    shift 3
    from=$(date +%s)
    echo "real tier: building $name" >&2
    (cd "$dir" && go build -trimpath "$@" -o "$work/$name" "$package")
    echo "real tier: built $name in $(($(date +%s) - from)) s" >&2
}
build etcd etcd .
# The version the binaries report, as Kubernetes' own release build stamps it (hack/lib/version.sh).
k8s_version=(-ldflags "-X k8s.io/component-base/version.gitVersion=v1.35.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35 -X k8s.io/client-go/pkg/version.gitVersion=v1.35.4")
build kube-apiserver k8s k8s.io/kubernetes/cmd/kube-apiserver "${k8s_version[@]}"
build kubectl k8s k8s.io/kubernetes/cmd/kubectl "${k8s_version[@]}"
build injector-standin injector-standin .
build helm-render helm-render .

# The charts: the module's manifests/charts, as a release archive has them.
istio_module=$(tr -d '[:space:]' <istio-charts.version)
echo "real tier: fetching the charts of $istio_module" >&2
istio_dir=$(go mod download -json "$istio_module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$istio_dir/manifests/charts/base" ] || { echo "real tier: $istio_module has no manifests/charts/base" >&2; exit 1; }
mkdir "$work/charts"
cp -R "$istio_dir/manifests/charts/base" "$work/charts/base"
cp -R "$istio_dir/manifests/charts/istio-control/istio-discovery" "$work/charts/istio-discovery"
chmod -R u+w "$work/charts"
for tool in "${tools[@]}"; do [ -x "$work/$tool" ] || { echo "real tier: $tool was not built" >&2; exit 1; }; done
echo "real tier: all tools built in $(($(date +%s) - started)) s" >&2
: >"$work/.complete"
mkdir -p "$cache/$key"
rm -rf "$bin"
mv "$work" "$bin"
trap - EXIT
echo "bin=$bin"
