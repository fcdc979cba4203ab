#!/usr/bin/env bash
# Removes one preloaded image from the minikube profile; its archive stays for offline reuse.
# Succeeds when the image or the whole profile is already gone.
# Environment: PRELOAD_IMAGE, MINIKUBE_PROFILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need PRELOAD_IMAGE
need MINIKUBE_PROFILE

status=0
minikube status --profile="$MINIKUBE_PROFILE" --output=json >/dev/null 2>&1 || status=$?
if [ "$status" -eq 85 ]; then
    log "minikube profile '$MINIKUBE_PROFILE' is gone, and $PRELOAD_IMAGE with it."
    exit 0
fi
if [ $((status & 1)) -ne 0 ]; then
    log "minikube profile '$MINIKUBE_PROFILE' is not running; $PRELOAD_IMAGE is left in its stopped node."
    exit 0
fi
# `image rm` of an absent image only warns and exits 0 (cmd/minikube/cmd/image.go, RemoveImages).
minikube image rm --profile="$MINIKUBE_PROFILE" "$PRELOAD_IMAGE" >&2
log "Removed $PRELOAD_IMAGE from minikube profile '$MINIKUBE_PROFILE'."
