# shellcheck shell=bash
# Shared helpers for the scripts the Pulumi commands run. Sourced, not executed.
# Every value arrives through the environment; nothing is ever pasted into a command string.

# die MESSAGE...: print to stderr and stop.
die() {
    printf 'istio-minikube: %s\n' "$*" >&2
    exit 1
}

# need NAME: the environment variable NAME must be set and not empty.
need() {
    [ -n "${!1:-}" ] || die "$1 is not set (the Pulumi program passes it; run this script through 'pulumi up')"
}

# log MESSAGE...: progress for the Pulumi console; stdout is reserved for the command's result.
log() {
    printf '%s\n' "$*" >&2
}

# update_stale_context PROFILE: the profile runs, but its kubeconfig context points at an old address (the
# docker driver publishes the API server on a new host port at every start); minikube rewrites it.
update_stale_context() {
    log "minikube profile '$1' runs, but its kubeconfig context is stale; updating it."
    minikube update-context --profile="$1" >&2
}
