#!/usr/bin/env bash
# Prints the URL of bookinfo's product page through the ingress gateway, asking the cluster, never guessing:
# - NodePort: the node port Kubernetes gave the gateway Service's http2 port, on the address minikube gives
#   for the profile (`minikube ip`), or on an existing cluster the first node's ExternalIP, else InternalIP;
# - LoadBalancer: the address in the Service's status (port 80).
# Environment: KUBE_CONTEXT, GATEWAY_NAMESPACE, GATEWAY_SERVICE, GATEWAY_SERVICE_TYPE (NodePort or
# LoadBalancer), MINIKUBE_PROFILE (empty on an existing cluster), INGRESS_URL_PATH (default /productpage).
# A load balancer with no address yet: with INGRESS_URL_PENDING=report the line says how to get one and
# the script exits 0 (the stack output); otherwise it says so on stderr and exits 3 (the check retries).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
need KUBE_CONTEXT
need GATEWAY_NAMESPACE
need GATEWAY_SERVICE
need GATEWAY_SERVICE_TYPE
url_path=${INGRESS_URL_PATH:-/productpage}
service="$GATEWAY_NAMESPACE/$GATEWAY_SERVICE"
k() { kubectl --context="$KUBE_CONTEXT" --namespace="$GATEWAY_NAMESPACE" "$@"; }

case "$GATEWAY_SERVICE_TYPE" in
    NodePort)
        port=$(k get service "$GATEWAY_SERVICE" --output='jsonpath={.spec.ports[?(@.name=="http2")].nodePort}') ||
            die "could not read Service $service (kubectl --context=$KUBE_CONTEXT)"
        [[ "$port" =~ ^[0-9]+$ ]] || die "Service $service has no node port for its http2 port (saw '$port'); is its type NodePort?"
        if [ -n "${MINIKUBE_PROFILE:-}" ]; then
            host=$(minikube ip --profile="$MINIKUBE_PROFILE") || die "minikube ip --profile=$MINIKUBE_PROFILE failed"
        else
            host=$(kubectl --context="$KUBE_CONTEXT" get nodes \
                --output='jsonpath={.items[0].status.addresses[?(@.type=="ExternalIP")].address}') || die "could not list the nodes"
            [ -n "$host" ] || host=$(kubectl --context="$KUBE_CONTEXT" get nodes \
                --output='jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}') || die "could not list the nodes"
        fi
        host=${host%%[[:space:]]*}
        [[ "$host" =~ ^[A-Za-z0-9.:-]+$ ]] || die "no node address to reach Service $service on (saw '$host')"
        [[ "$host" == *:* ]] && host="[$host]" # IPv6
        printf 'http://%s:%s%s\n' "$host" "$port" "$url_path"
        ;;
    LoadBalancer)
        address=$(k get service "$GATEWAY_SERVICE" \
            --output='jsonpath={.status.loadBalancer.ingress[0].ip}{" "}{.status.loadBalancer.ingress[0].hostname}') ||
            die "could not read Service $service (kubectl --context=$KUBE_CONTEXT)"
        read -r host _ <<<"$address" || true
        if [ -z "${host:-}" ]; then
            if [ -n "${MINIKUBE_PROFILE:-}" ]; then
                how="run 'minikube tunnel --profile=$MINIKUBE_PROFILE' in another terminal"
            else
                how="the cluster has no load balancer controller answering; set gateway.serviceType NodePort, or install one"
            fi
            if [ "${INGRESS_URL_PENDING:-}" = report ]; then
                printf 'pending: Service %s has no load balancer address yet; %s; then run pulumi up --replace on the bookinfo-url command (docs/see-it.md)\n' "$service" "$how"
                exit 0
            fi
            log "Service $service has no load balancer address yet; $how."
            exit 3
        fi
        [[ "$host" =~ ^[A-Za-z0-9.:-]+$ ]] || die "Service $service has an unreadable load balancer address '$host'"
        [[ "$host" == *:* ]] && host="[$host]"
        printf 'http://%s%s\n' "$host" "$url_path"
        ;;
    *) die "GATEWAY_SERVICE_TYPE must be NodePort or LoadBalancer, not '$GATEWAY_SERVICE_TYPE'" ;;
esac
