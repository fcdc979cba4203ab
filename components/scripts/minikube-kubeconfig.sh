#!/usr/bin/env bash
# Prints a self-contained kubeconfig (certificates inlined) for the stack's minikube profile on stdout.
# The Pulumi program keeps it as a secret. minikube names the cluster, context and user after the profile
# (pkg/minikube/kubeconfig/settings.go PopulateFromSettings).
# Environment: MINIKUBE_PROFILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need MINIKUBE_PROFILE
kubectl config view --raw --flatten --minify --context="$MINIKUBE_PROFILE"
