#!/usr/bin/env bash
# Check 1: the control plane (Deployment istio-system/istiod) has an available replica.
# The blog: kubectl get deploy -l istio=istio-ca -n istio-system
# Environment: KUBE_CONTEXT, CHECK_NAME (+ CHECK_ATTEMPTS, CHECK_DELAY_SECONDS).
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
seen=""
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local available
    available=$(k --namespace=istio-system get deployment istiod --output='jsonpath={.status.availableReplicas}' 2>&1) || {
        seen="kubectl: $available"
        return 1
    }
    seen="${available:-0} available replica(s)"
    [[ "$available" =~ ^[0-9]+$ ]] && [ "$available" -ge 1 ]
}
retry probe || fail "Deployment istio-system/istiod with at least 1 available replica" "$seen" \
    "kubectl --context=$KUBE_CONTEXT -n istio-system describe deployment istiod; kubectl -n istio-system logs deploy/istiod"
pass "istiod: $seen"
