# Sourced by scripts/up.sh and scripts/destroy.sh, after components/scripts/lib.sh (die); run from the project folder.
# shellcheck shell=bash

# read_deployed_cluster STACK: the cluster the stack's state says it deployed to (scripts/deployed-cluster.js
# over `pulumi stack export`). Sets deployed_kind (minikube, existing, or empty when nothing is deployed),
# deployed_name (the minikube profile or the kubeconfig context) and deployed_replacing ("replacing" while
# a replaced profile waits for its new start, else empty).
read_deployed_cluster() {
    local exported lines
    exported=$(pulumi stack export --stack "$1") || die "could not read the state of stack '$1' (see above)"
    lines=$(node scripts/deployed-cluster.js <<<"$exported") || die "could not read the state of stack '$1'"
    deployed_kind=""
    deployed_name=""
    deployed_replacing=""
    # shellcheck disable=SC2034 # read by the scripts that source this file
    { read -r deployed_kind || true; read -r deployed_name || true; read -r deployed_replacing || true; } <<<"$lines"
}

# require_profile_name STACK PROFILE: stops unless PROFILE is a name minikube accepts, before it reaches minikube.
require_profile_name() {
    [[ "$2" =~ ^[a-zA-Z0-9][a-zA-Z0-9._-]{1,62}$ ]] || die "stack '$1' names the minikube profile '$2', which is not a profile name"
}
