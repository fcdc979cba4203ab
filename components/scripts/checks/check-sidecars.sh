#!/usr/bin/env bash
# Check 3: every pod in the injected namespaces runs the istio-proxy sidecar (the blog's READY 2/2). On
# Kubernetes 1.33+ istiod injects it as a native sidecar, an init container with restartPolicy Always
# (pkg/kube/inject/webhook.go DetectNativeSidecar at 1.30.3), so both lists are looked at.
# Environment: KUBE_CONTEXT, CHECK_NAME, INJECTED_NAMESPACES (space-separated), POD_SELECTOR (the samples'
# pods, e.g. "app in (curl,details)": other pods of the namespace are not this program's).
set -euo pipefail
. "$(dirname "$0")/check-lib.sh"
need INJECTED_NAMESPACES
need POD_SELECTOR
seen=""
# shellcheck disable=SC2317 # probe runs through `retry probe`, which shellcheck 0.9 cannot follow
probe() {
    local ns listing without=() count=0 pod containers
    for ns in $INJECTED_NAMESPACES; do
        listing=$(k --namespace="$ns" get pods --selector="$POD_SELECTOR" \
            --output='jsonpath={range .items[*]}{.metadata.name}{" "}{range .spec.containers[*]}{.name}{","}{end}{range .spec.initContainers[*]}{.name}{","}{end}{"\n"}{end}' 2>&1) || {
            seen="kubectl: $listing"
            return 1
        }
        while read -r pod containers; do
            [ -n "$pod" ] || continue
            count=$((count + 1))
            case ",$containers" in
                *,istio-proxy,*) ;;
                *) without+=("$ns/$pod") ;;
            esac
        done <<<"$listing"
    done
    if [ "$count" -eq 0 ]; then
        seen="no pods matching '$POD_SELECTOR' in $INJECTED_NAMESPACES"
        return 1
    fi
    if [ "${#without[@]}" -gt 0 ]; then
        seen="pods without istio-proxy: ${without[*]}"
        return 1
    fi
    seen="$count pod(s), all with istio-proxy"
}
retry probe || fail "every pod matching '$POD_SELECTOR' in $INJECTED_NAMESPACES runs an istio-proxy container" "$seen" \
    "kubectl --context=$KUBE_CONTEXT get namespace --show-labels (auto namespaces need istio-injection=enabled); delete the pod so it is injected again"
pass "$seen"
