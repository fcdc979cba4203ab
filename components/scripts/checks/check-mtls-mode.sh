#!/usr/bin/env bash
# Check 2: the mesh-wide PeerAuthentication istio-system/default has the configured mode.
# The blog: kubectl get configmap istio -o yaml -n istio-system | grep authPolicy
# Environment: KUBE_CONTEXT, CHECK_NAME, EXPECTED_MTLS.
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
need EXPECTED_MTLS
seen=""
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local mode
    mode=$(k --namespace=istio-system get peerauthentications.security.istio.io default --output='jsonpath={.spec.mtls.mode}' 2>&1) || {
        seen="kubectl: $mode"
        return 1
    }
    seen="mode ${mode:-(none)}"
    [ "$mode" = "$EXPECTED_MTLS" ]
}
retry probe || fail "PeerAuthentication istio-system/default with mtls.mode $EXPECTED_MTLS" "$seen" \
    "kubectl --context=$KUBE_CONTEXT -n istio-system get peerauthentication default -o yaml; run pulumi up again"
pass "PeerAuthentication istio-system/default: $seen"
