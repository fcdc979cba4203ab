#!/usr/bin/env bash
# Injects the sidecar into the manifest on stdin with the local copies of the injector and mesh config
# (the blog's `istioctl kube-inject --injectConfigFile --meshConfigFile`), and prints the result. With all
# three files, istioctl does not ask the cluster (istioctl/pkg/kubeinject/kubeinject.go at 1.30.3).
# Environment: ISTIOCTL, INJECT_CONFIG_FILE, INJECT_VALUES_FILE, MESH_CONFIG_FILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in ISTIOCTL INJECT_CONFIG_FILE INJECT_VALUES_FILE MESH_CONFIG_FILE; do
    need "$name"
done
"$ISTIOCTL" kube-inject \
    --injectConfigFile="$INJECT_CONFIG_FILE" \
    --valuesFile="$INJECT_VALUES_FILE" \
    --meshConfigFile="$MESH_CONFIG_FILE" \
    --filename=-
