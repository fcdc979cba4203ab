#!/usr/bin/env bash
# Check 5: the same request without the certificates is refused under STRICT (no client certificate, no
# handshake). A curl that cannot run at all (no pod, no name) is an error of the check, not a pass.
# Environment: KUBE_CONTEXT, CHECK_NAME, EXPECTED_MTLS, MESH_NAMESPACE.
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
need EXPECTED_MTLS
need MESH_NAMESPACE
[ "$EXPECTED_MTLS" = STRICT ] || skip "mutual TLS is $EXPECTED_MTLS; only STRICT requires a client certificate"
seen=""
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local pod rc=0
    productpage_pod || return 1
    exec_curl "$MESH_NAMESPACE" "$pod" istio-proxy https://details:9080/details/0 -k || rc=$?
    if [ "$rc" -eq 0 ]; then
        seen="served without a client certificate (HTTP $curl_code)"
        return 1
    fi
    if refused_by_peer "$rc"; then
        seen="refused (curl exit $rc)"
        return 0
    fi
    seen="curl could not make the request (exit $rc): $curl_error"
    return 1
}
retry probe || fail "the TLS handshake to details:9080 refused without a client certificate" "$seen" \
    "kubectl --context=$KUBE_CONTEXT -n istio-system get peerauthentication -A; istioctl x describe pod <details pod>"
pass "without certificates: $seen"
