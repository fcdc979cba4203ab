#!/usr/bin/env bash
# Brings an existing minikube profile back before Pulumi talks to it: starts it when it is stopped (a
# reboot, `minikube stop`) and rewrites its kubeconfig context when it is stale (the docker driver publishes
# the API server on a new host port at every start). Does nothing for a running or a missing profile.
# The start is a bare `minikube start --profile`: minikube restarts the profile with the settings it was
# created with (its config.json), so a changed stack setting cannot make the restart fail; `pulumi up`
# then applies the change (a changed minikube setting replaces the cluster).
# Prints the state it found (minikube-state.sh's word) on stdout.
# Environment: MINIKUBE_PROFILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need MINIKUBE_PROFILE
profile=$MINIKUBE_PROFILE
state=$(bash "$(dirname "$0")/minikube-state.sh")
printf '%s\n' "$state"
case "$state" in
    stopped)
        log "minikube profile '$profile' is stopped; starting it."
        minikube start --profile="$profile" --wait=all --interactive=false >&2
        ;;
    stale) update_stale_context "$profile" ;;
esac
