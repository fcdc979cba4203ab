#!/usr/bin/env bash
# Brings an existing minikube profile back before Pulumi talks to it: starts it when it is stopped (a
# reboot, `minikube stop`) and rewrites its kubeconfig context when it is stale (the docker driver publishes
# the API server on a new host port at every start). Does nothing for a running or a missing profile.
# The start is a bare `minikube start --profile`: minikube restarts the profile with the settings it was
# created with (its config.json), so a changed stack setting cannot make the restart fail; `pulumi up`
# then applies the change (a changed minikube setting replaces the cluster).
# Prints the state it found (minikube-state.sh's word) on stdout, first, so a caller knows it even when
# the start fails.
# Environment: MINIKUBE_PROFILE; MINIKUBE_RESUME_STOPPED, "start" (the default) or "report": a preview
# only learns that the profile is stopped and starts nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need MINIKUBE_PROFILE
profile=$MINIKUBE_PROFILE
stopped_action=${MINIKUBE_RESUME_STOPPED:-start}
case "$stopped_action" in
    start | report) ;;
    *) die "MINIKUBE_RESUME_STOPPED must be start or report, not '$stopped_action'" ;;
esac
state=$(bash "$(dirname "$0")/minikube-state.sh")
printf '%s\n' "$state"
case "$state" in
    stopped)
        if [ "$stopped_action" = start ]; then
            log "minikube profile '$profile' is stopped; starting it."
            minikube start --profile="$profile" --wait=all --interactive=false >&2
        fi
        ;;
    stale) update_stale_context "$profile" ;;
esac
