#!/usr/bin/env bash
# Check 6: plain HTTP to details from a pod outside the mesh is refused under STRICT and served otherwise.
# Environment: KUBE_CONTEXT, CHECK_NAME, EXPECTED_MTLS, MESH_NAMESPACE, OUTSIDE_NAMESPACE.
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
need EXPECTED_MTLS
need MESH_NAMESPACE
need OUTSIDE_NAMESPACE
url="http://details.$MESH_NAMESPACE:9080/details/0"
seen=""
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local rc=0
    exec_curl "$OUTSIDE_NAMESPACE" deploy/curl curl "$url" || rc=$?
    if [ "$rc" -eq 0 ]; then
        seen="served (HTTP $curl_code)"
        [ "$EXPECTED_MTLS" != STRICT ] && [ "$curl_code" = 200 ]
        return
    fi
    if refused_by_peer "$rc"; then
        seen="refused (curl exit $rc)"
        [ "$EXPECTED_MTLS" = STRICT ]
        return
    fi
    seen="curl could not make the request (exit $rc): $curl_error"
    return 1
}
if [ "$EXPECTED_MTLS" = STRICT ]; then
    expected="plain text from $OUTSIDE_NAMESPACE to $url refused"
else
    expected="plain text from $OUTSIDE_NAMESPACE to $url served with HTTP 200 ($EXPECTED_MTLS)"
fi
retry probe || fail "$expected" "$seen" \
    "kubectl --context=$KUBE_CONTEXT -n $OUTSIDE_NAMESPACE get pods; kubectl -n istio-system get peerauthentication default -o yaml"
pass "from outside the mesh: $seen"
