#!/usr/bin/env bash
# Reads the sidecar injector's config and values (ConfigMap istio-sidecar-injector, keys config and values)
# and the mesh config (ConfigMap istio, key mesh) from the cluster into local files: what
# `istioctl kube-inject --injectConfigFile --valuesFile --meshConfigFile` takes
# (istio/istio 1.30.3 istioctl/pkg/kubeinject/kubeinject.go).
# Environment: KUBE_CONTEXT, INJECT_CONFIG_FILE, INJECT_VALUES_FILE, MESH_CONFIG_FILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in KUBE_CONTEXT INJECT_CONFIG_FILE INJECT_VALUES_FILE MESH_CONFIG_FILE; do
    need "$name"
done

read_key() { # configmap key file
    local tmp
    tmp=$(mktemp "$3.XXXXXX")
    if ! kubectl --context="$KUBE_CONTEXT" --namespace=istio-system get configmap "$1" --output="jsonpath={.data.$2}" >"$tmp"; then
        rm -f "$tmp"
        die "could not read key $2 of ConfigMap istio-system/$1"
    fi
    if [ ! -s "$tmp" ]; then
        rm -f "$tmp"
        die "ConfigMap istio-system/$1 has no key $2; is istiod installed?"
    fi
    mv "$tmp" "$3"
}

mkdir -p "$(dirname "$INJECT_CONFIG_FILE")" "$(dirname "$INJECT_VALUES_FILE")" "$(dirname "$MESH_CONFIG_FILE")"
read_key istio-sidecar-injector config "$INJECT_CONFIG_FILE"
read_key istio-sidecar-injector values "$INJECT_VALUES_FILE"
read_key istio mesh "$MESH_CONFIG_FILE"
log "Wrote $INJECT_CONFIG_FILE, $INJECT_VALUES_FILE and $MESH_CONFIG_FILE."
printf '%s\n' "$INJECT_CONFIG_FILE" "$INJECT_VALUES_FILE" "$MESH_CONFIG_FILE"
