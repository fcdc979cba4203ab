#!/usr/bin/env bash
# npm run up [-- STACK] [-- pulumi up flags]: installs the program's packages, creates the stack if it is new,
# brings its minikube profile back when it is stopped (a reboot, `minikube stop`) or its context is stale,
# and runs `pulumi up` for it (dev when no stack is named), with the flags given after the stack (e.g.
# `npm run up -- dev --yes` where there is no terminal to confirm on). The program itself checks the host's
# tools first.
# The profile is started here, not in the program, because `pulumi up` begins with a preview, and a
# preview must change nothing (components/cluster/minikubeCluster.ts resumeProfile).
# What an interrupted run left is recovered here too (docs/stacks.md#after-an-interruption): a lock its killed
# process left is removed (never a live run's), and the creates it left pending are cleared once this `up`
# has created or taken over each of them.
set -euo pipefail
cd "$(dirname "$0")/.."
. components/scripts/lib.sh
. scripts/stack-state.sh
parse_stack_and_flags up "$@"
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
require_answerable_confirmation up "${pulumi_flags[@]}"
check_stack_lock "$stack" "npm run up"
[ -d node_modules ] || npm ci --no-audit --no-fund
pulumi stack select --create "$stack"

# The profile the stack's state holds (scripts/deployed-cluster.js); before the first `up` succeeded, the
# one its config names (scripts/stack-cluster.ts), which may exist already from an interrupted start.
read_deployed_cluster "$stack"
kind=$deployed_kind
profile=$deployed_name
from=state
if [ -z "$kind" ]; then
    from=config
    configured=$(npx --no-install tsx scripts/stack-cluster.ts "$stack" 2>/dev/null) || configured=""
    { read -r kind || true; read -r profile || true; } <<<"$configured"
fi
if [ "$kind" = minikube ] && command -v minikube >/dev/null 2>&1; then
    require_profile_name "$stack" "$profile"
    found=$(MINIKUBE_PROFILE=$profile bash components/scripts/minikube-resume.sh) ||
        die "could not bring back minikube profile '$profile' (see minikube's output above); run 'minikube start -p $profile' by hand, then npm run up -- $stack"
    # Missing is expected before the first `up` and while a replaced cluster waits for its new start.
    if [ "$found" = missing ] && [ "$from" = state ] && [ "$deployed_replacing" != replacing ]; then
        die "stack '$stack' holds minikube profile '$profile', which no longer exists (deleted by hand?)." \
            "Run npm run destroy -- $stack, which drops the stack's objects from state since their cluster is gone," \
            "then npm run up -- $stack to build it all again."
    fi
fi
note_pending_operations "$stack" up
# An object whose create was interrupted may exist in the cluster, made by the killed run but in no state:
# pulumi-kubernetes 4.29 and later refuse to create it again ("already exists") unless the provider upserts.
# Its plugin reads PULUMI_K8S_UPSERT_EXISTING_OBJECTS where the provider's config does not set it
# (provider.go Configure; the program keeps it out of that config, components/cluster/kubernetesProvider.ts),
# so this one run takes such objects over, under the stack's field manager (components/fieldManager.ts).
if [ "$pending_operations" = kubernetes ] && [ -z "${PULUMI_K8S_UPSERT_EXISTING_OBJECTS+set}" ]; then
    export PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true
fi
share_compile_cache
status=0
run_pulumi "npm run up" up --stack "$stack" "${pulumi_flags[@]}" || status=$?
if [ "$status" = 0 ] && [ "$pending_operations" != none ]; then
    settle_pending_operations up "$stack" "$profile" "$kind"
fi
exit "$status"
