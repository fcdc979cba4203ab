#!/usr/bin/env bash
# npm run up [-- STACK]: installs the program's packages, creates the stack if it is new, and runs
# `pulumi up` for it (dev when no stack is named). The program itself checks the host's tools first.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-dev}
if ! [[ "$stack" =~ ^[A-Za-z0-9._-]+$ ]] || [ ! -f "Pulumi.$stack.yaml" ]; then
    stacks=()
    for file in Pulumi.*.yaml; do
        name=${file#Pulumi.}
        stacks+=("${name%.yaml}")
    done
    echo "istio-minikube: no stack file Pulumi.$stack.yaml; the stacks are: ${stacks[*]}" >&2
    exit 2
fi
command -v pulumi >/dev/null 2>&1 || { ./preflight; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund
pulumi stack select --create "$stack"
pulumi up --stack "$stack"
