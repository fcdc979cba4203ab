#!/usr/bin/env bash
# Deletes the stack's minikube profile. Succeeds when the profile is already gone.
# Environment: MINIKUBE_PROFILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need MINIKUBE_PROFILE
profile=$MINIKUBE_PROFILE

# `minikube delete` of a missing profile says so and exits 0 (cmd/minikube/cmd/delete.go runDelete); we still
# look first, so an already deleted cluster is reported plainly and a real failure is not hidden.
status=0
minikube status --profile="$profile" --output=json >/dev/null 2>&1 || status=$?
if [ "$status" -eq 85 ]; then
    log "minikube profile '$profile' does not exist; nothing to delete."
    exit 0
fi
log "Deleting minikube profile '$profile'."
minikube delete --profile="$profile" >&2
