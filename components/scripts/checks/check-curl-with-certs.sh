#!/usr/bin/env bash
# Check 4, the blog's test: from productpage's istio-proxy, curl details over mutual TLS with the workload
# certificates the proxy wrote to /etc/certs. Only STRICT terminates plain TLS without Istio's ALPN on an
# inbound port (pilot/pkg/networking/core/filterchain_options.go at 1.30.3), so other modes skip it.
# Environment: KUBE_CONTEXT, CHECK_NAME, EXPECTED_MTLS, MESH_NAMESPACE.
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
need EXPECTED_MTLS
need MESH_NAMESPACE
[ "$EXPECTED_MTLS" = STRICT ] || skip "mutual TLS is $EXPECTED_MTLS; a plain TLS client is only terminated under STRICT"
seen=""
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local pod rc=0
    productpage_pod || return 1
    exec_curl "$MESH_NAMESPACE" "$pod" istio-proxy https://details:9080/details/0 \
        --key /etc/certs/key.pem --cert /etc/certs/cert-chain.pem --cacert /etc/certs/root-cert.pem -k || rc=$?
    seen="curl exit $rc, HTTP ${curl_code:-none}"
    [ -n "$curl_error" ] && seen="$seen: $curl_error"
    [ "$rc" -eq 0 ] && [ "$curl_code" = 200 ]
}
retry probe || fail "HTTP 200 from https://details:9080/details/0 with the certificates in /etc/certs" "$seen" \
    "kubectl --context=$KUBE_CONTEXT -n $MESH_NAMESPACE exec deploy/productpage-v1 -c istio-proxy -- ls /etc/certs (OUTPUT_CERTS annotations); istioctl proxy-status"
pass "with certificates: $seen"
