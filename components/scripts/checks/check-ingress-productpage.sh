#!/usr/bin/env bash
# Check 7: bookinfo's product page answers from the host through the ingress gateway: HTTP 200 and the
# page's title, at the URL components/scripts/ingress-url.sh finds (the stack output bookinfoUrl).
# Environment: KUBE_CONTEXT, CHECK_NAME, GATEWAY_NAMESPACE, GATEWAY_SERVICE, GATEWAY_SERVICE_TYPE,
# MINIKUBE_PROFILE (empty on an existing cluster), EXPECTED_TITLE.
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
need EXPECTED_TITLE
url=""
seen=""
body=$(mktemp)
trap 'rm -f "$body"' EXIT
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local output code rc=0
    output=$(bash "$(dirname "$0")/../ingress-url.sh" 2>&1) || {
        seen="no URL for the gateway: ${output##*istio-minikube: }"
        return 1
    }
    url=$output
    code=$(curl --silent --show-error --max-time 10 --output "$body" --write-out '%{http_code}' "$url" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        seen="$url did not answer (curl exit $rc: $code)"
        return 1
    fi
    if [ "$code" != 200 ]; then
        seen="$url answered HTTP $code"
        return 1
    fi
    if ! grep -qF "<title>$EXPECTED_TITLE</title>" "$body"; then
        seen="$url answered HTTP 200 without the title '$EXPECTED_TITLE'"
        return 1
    fi
    seen="$url answered HTTP 200 with '$EXPECTED_TITLE'"
}
retry probe || fail "HTTP 200 and the title '$EXPECTED_TITLE' from bookinfo's product page through the ingress gateway" "$seen" \
    "kubectl --context=$KUBE_CONTEXT -n $GATEWAY_NAMESPACE get pods,service; kubectl --context=$KUBE_CONTEXT get gateway,virtualservice --all-namespaces"
pass "$seen"
