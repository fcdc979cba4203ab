#!/usr/bin/env bash
# npm run destroy [-- STACK] [-- pulumi destroy flags]: `pulumi destroy` for the stack (dev when none is
# named), with the flags given after the stack (e.g. `npm run destroy -- dev --yes` where there is no
# terminal to confirm on).
#
# Where the stack's cluster is really gone (a minikube stack whose profile no longer exists), the
# Kubernetes provider is told to drop its objects from state instead of failing: it reads
# PULUMI_K8S_DELETE_UNREACHABLE when its stored config does not set deleteUnreachable (pulumi-kubernetes
# provider.go Configure), and the program leaves that unset so a refresh never does this. Anywhere else
# (an existing cluster, a minikube profile that still exists) a cluster that does not answer is an error
# with advice: dropping the objects there would leave istiod, the injection webhook (failurePolicy: Fail)
# and the namespace labels behind, and pods in those namespaces could no longer be created.
#
# What was deployed comes from the stack's state (scripts/deployed-cluster.js), not from its config file,
# which may have changed since, nor from its outputs, which a first `up` that failed half-way never wrote.
#
# What an interrupted run left is handled as in scripts/up.sh (docs/stacks.md#after-an-interruption): a lock its
# killed process left is removed, never a live run's; after a destroy that succeeded, the creates it left
# pending (which Pulumi keeps through destroy) are cleared when nothing of them can be left (the minikube
# profile went with the destroy), and otherwise named with what to check.
set -euo pipefail
cd "$(dirname "$0")/.."
. components/scripts/lib.sh
. scripts/stack-state.sh
parse_stack_and_flags destroy "$@"
# This script decides where objects may be dropped from state; a value exported in the shell does not.
unset PULUMI_K8S_DELETE_UNREACHABLE
[[ "$stack" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "istio-minikube: '$stack' is not a stack name" >&2; exit 2; }
require_answerable_confirmation destroy "${pulumi_flags[@]}"
check_stack_lock "$stack" "npm run destroy"
share_compile_cache

read_deployed_cluster "$stack"
kind=$deployed_kind
context=$deployed_name
# (While a profile is being replaced, a missing one is just as gone for destroy.)

advice() {
    log ""
    log "istio-minikube: 'pulumi destroy' of stack '$stack' did not finish; nothing was dropped from state."
    log "  Pulumi's own error above says why. Where it is the cluster that did not answer:"
    if [ "$kind" = existing ]; then
        log "  the cluster behind kubeconfig context '$context' did not answer, or refused the credentials. Fix access"
        log "  first (try: kubectl --context '$context' get namespaces), then run npm run destroy -- $stack again."
        log "  Only if that cluster is gone for good: PULUMI_K8S_DELETE_UNREACHABLE=true pulumi destroy --stack $stack"
        log "  drops its objects from state. On a cluster that still exists that leaves istiod, the injection webhook"
        log "  (failurePolicy: Fail) and the namespace labels behind, and pods in those namespaces cannot be created."
    elif [ "$kind" = minikube ]; then
        log "  check the minikube profile (minikube status -p '$context'), then run npm run destroy -- $stack again."
    fi
}

destroy() {
    run_pulumi "npm run destroy" destroy --stack "$stack" "${pulumi_flags[@]}" || { advice; exit 1; }
}

# settle: the pending operations, once the destroy succeeded (a preview changes nothing, so nothing to settle).
settle() {
    local flag
    [ "$pending_operations" != none ] || return 0
    for flag in "${pulumi_flags[@]}"; do
        case "$flag" in --preview-only | --preview-only=true) return 0 ;; esac
    done
    settle_pending_operations destroy "$stack" "$context" "$kind"
}
note_pending_operations "$stack" destroy

case "$kind" in
    minikube)
        require_profile_name "$stack" "$context"
        state=$(MINIKUBE_PROFILE=$context bash components/scripts/minikube-state.sh)
        case "$state" in
            missing)
                log "minikube profile '$context' no longer exists: the stack's Kubernetes objects went with it and are dropped from state."
                PULUMI_K8S_DELETE_UNREACHABLE=true run_pulumi "npm run destroy" destroy --stack "$stack" "${pulumi_flags[@]}"
                ;;
            running)
                destroy
                ;;
            stale)
                update_stale_context "$context"
                destroy
                ;;
            stopped)
                die "minikube profile '$context' exists but is stopped, so its Kubernetes objects cannot be deleted." \
                    "Start it (minikube start -p $context) and run npm run destroy -- $stack again;" \
                    "or delete it (minikube delete -p $context), after which npm run destroy -- $stack removes the rest."
                ;;
            *)
                die "minikube is not installed, so the state of profile '$context' is unknown; install it (./preflight) and run npm run destroy -- $stack again"
                ;;
        esac
        ;;
    *)
        # An existing cluster, or a stack with nothing deployed yet.
        destroy
        ;;
esac
settle
