#!/usr/bin/env bash
# Prints the state of the stack's minikube profile as one word on stdout:
#   running   the cluster answers and its kubeconfig context is current
#   stale     running, but the kubeconfig context points at an old address (docker driver after a restart)
#   stopped   the profile exists and is not running (after `minikube stop` or a reboot)
#   missing   no such profile
#   unavailable  minikube is not installed
# The program asks this on every run, so `pulumi up` can start a stopped profile and refresh a stale context.
# Environment: MINIKUBE_PROFILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need MINIKUBE_PROFILE
if ! command -v minikube >/dev/null 2>&1; then
    echo unavailable
    exit 0
fi
# The exit code is a bitmask: 1 host, 2 cluster, 4 kubeconfig not OK; 85 no such profile
# (minikube v1.38.1 cmd/minikube/cmd/status.go exitCode). The one place that reads them: minikube-start.sh,
# minikube-resume.sh (which the program and scripts/up.sh run) and scripts/destroy.sh ask this script.
status=0
minikube status --profile="$MINIKUBE_PROFILE" --output=json >/dev/null 2>&1 || status=$?
case "$status" in
    0) echo running ;;
    4) echo stale ;;
    85) echo missing ;;
    *) echo stopped ;;
esac
