#!/usr/bin/env bash
# npm run destroy [-- STACK]: `pulumi destroy` for the stack (dev when none is named). When the cluster is
# already gone, the Kubernetes provider drops its objects from state instead of failing: the provider
# reads PULUMI_K8S_DELETE_UNREACHABLE when its stored config does not set deleteUnreachable
# (pulumi-kubernetes provider.go Configure), and the program leaves it unset so a refresh never does this.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-dev}
[[ "$stack" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "istio-minikube: '$stack' is not a stack name" >&2; exit 2; }
PULUMI_K8S_DELETE_UNREACHABLE=true pulumi destroy --stack "$stack"
