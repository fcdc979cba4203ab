#!/usr/bin/env bash
# Injects the sidecar into the manifest on stdin with the local copies of the injector and mesh config
# (the blog's `istioctl kube-inject --injectConfigFile --meshConfigFile`), and prints the result. With all
# three files and a revision, istioctl reads nothing from a cluster (istioctl/pkg/kubeinject/kubeinject.go;
# without --revision, cli/context.go RevisionOrDefault asks the current kubeconfig context and can wait
# forever); --context pins any other look-up to the stack's cluster.
# Environment: ISTIOCTL, INJECT_CONFIG_FILE, INJECT_VALUES_FILE, MESH_CONFIG_FILE, KUBE_CONTEXT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in ISTIOCTL INJECT_CONFIG_FILE INJECT_VALUES_FILE MESH_CONFIG_FILE KUBE_CONTEXT; do
    need "$name"
done
"$ISTIOCTL" kube-inject \
    --context="$KUBE_CONTEXT" \
    --revision=default \
    --injectConfigFile="$INJECT_CONFIG_FILE" \
    --valuesFile="$INJECT_VALUES_FILE" \
    --meshConfigFile="$MESH_CONFIG_FILE" \
    --filename=-
