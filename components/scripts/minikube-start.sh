#!/usr/bin/env bash
# Starts the stack's minikube profile; does nothing when it is already running.
# Environment: MINIKUBE_PROFILE, MINIKUBE_DRIVER, MINIKUBE_CPUS, MINIKUBE_MEMORY_MB, MINIKUBE_KUBERNETES_VERSION,
#              MINIKUBE_EXTRA_CONFIG (one component.key=value per line, may be empty).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in MINIKUBE_PROFILE MINIKUBE_DRIVER MINIKUBE_CPUS MINIKUBE_MEMORY_MB MINIKUBE_KUBERNETES_VERSION; do
    need "$name"
done
profile=$MINIKUBE_PROFILE

# `minikube start` on a running profile is not a no-op: it restarts the node's container runtime and, on VM
# drivers, re-runs kubeadm phases (minikube v1.38.1 pkg/minikube/machine/fix.go fixHost,
# bootstrapper/kubeadm restartPrimaryControlPlane). So ask first (minikube-state.sh reads `minikube status`).
case "$(bash "$(dirname "$0")/minikube-state.sh")" in
    running)
        log "minikube profile '$profile' is already running; nothing to do."
        exit 0
        ;;
    stale)
        update_stale_context "$profile"
        exit 0
        ;;
esac

args=(
    start
    --profile="$profile"
    --driver="$MINIKUBE_DRIVER"
    --cpus="$MINIKUBE_CPUS"
    --memory="$MINIKUBE_MEMORY_MB"
    --kubernetes-version="$MINIKUBE_KUBERNETES_VERSION"
    --wait=all
    --interactive=false
)
# --extra-config is a repeatable flag, one option each; commas stay inside the value
# (pkg/minikube/config/extra_options.go ExtraOptionSlice.Set).
while IFS= read -r option; do
    [ -n "$option" ] && args+=("--extra-config=$option")
done <<<"${MINIKUBE_EXTRA_CONFIG:-}"

log "Starting minikube profile '$profile' (driver $MINIKUBE_DRIVER, $MINIKUBE_CPUS CPUs, $MINIKUBE_MEMORY_MB MB, Kubernetes $MINIKUBE_KUBERNETES_VERSION)."
minikube "${args[@]}" >&2
