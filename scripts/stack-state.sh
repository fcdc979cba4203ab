# Sourced by scripts/up.sh and scripts/destroy.sh, after components/scripts/lib.sh (die); run from the project folder.
# shellcheck shell=bash

# read_deployed_cluster STACK: the cluster the stack's state says it deployed to (scripts/deployed-cluster.js
# over `pulumi stack export`). Sets deployed_kind (minikube, existing, or empty when nothing is deployed),
# deployed_name (the minikube profile or the kubeconfig context), deployed_replacing ("replacing" while
# a replaced profile waits for its new start, else empty) and stack_export (the export itself).
read_deployed_cluster() {
    local lines
    stack_export=$(pulumi stack export --stack "$1") || die "could not read the state of stack '$1' (see above)"
    lines=$(node scripts/deployed-cluster.js <<<"$stack_export") || die "could not read the state of stack '$1'"
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

# parse_stack_and_flags COMMAND ARGS...: `npm run COMMAND -- [STACK] [pulumi flags...]` (up, destroy): the first argument
# is the stack unless it is a flag; dev when none is named. Sets stack and the array pulumi_flags, which go to
# `pulumi up`/`pulumi destroy` as arguments of their own (never through a shell string). A flag that picks
# another stack or folder is refused: the script decides from this stack's state (which profile to start,
# whether objects may be dropped from state), and Pulumi would act on the last --stack given.
parse_stack_and_flags() {
    local command=$1
    shift
    stack=dev
    if [ "$#" -gt 0 ] && [[ "$1" != -* ]]; then
        stack=$1
        shift
    fi
    local flag
    for flag in "$@"; do
        case "$flag" in
            --stack | --stack=* | -s | -s?* | --cwd | --cwd=* | -C | -C?*)
                die "'$flag' is not passed on to pulumi: name the stack as the first argument (npm run $command -- STACK [flags])." ;;
        esac
    done
    # shellcheck disable=SC2034 # read by the scripts that source this file
    pulumi_flags=("$@")
}

# Pulumi's CLI takes a run as non-interactive when these say it is a CI system, terminal or not, unless
# PULUMI_DISABLE_CI_DETECTION is set (Pulumi v3.248.0 sdk/go/common/util/ciutil/detect.go).
PULUMI_CI_VARIABLES=(PULUMI_CI_SYSTEM APPVEYOR CODEBUILD_BUILD_ARN bamboo_planKey BITBUCKET_COMMIT TF_BUILD BUILDKITE
    CIRCLECI CF_BUILD_URL DRONE GITHUB_ACTIONS GITLAB_CI GO_PIPELINE_LABEL HUDSON_URL JENKINS_URL MAGNUM SEMAPHORE
    SPACELIFT_MAX_REQUESTS_BURST TF_VAR_spacelift_run_trigger SPACELIFT_STORE_HOOKS_ENV_VARS
    TF_VAR_spacelift_commit_branch SPACELIFT_WORKER_TRACING_ENABLED TASK_ID RUN_ID TEAMCITY_VERSION TRAVIS)

# require_answerable_confirmation COMMAND FLAGS...: `pulumi up` and `pulumi destroy` ask "Do you want to
# perform this update?" and, with no one to ask, stop with "--yes or --skip-preview or --preview-only must be
# passed in to proceed when running in non-interactive mode" (Pulumi v3.248.0 pkg/cmd/pulumi/operations/up.go
# and destroy.go). Pulumi asks only when standard input and output are terminals, TERM is not dumb, no
# --non-interactive was given and no CI system is detected (sdk/go/common/util/cmdutil/console.go
# Interactive). Say so here, before anything runs, with the way to run it unattended, rather than after a
# destroy's advice about the cluster. PULUMI_SKIP_CONFIRMATIONS (1 or true) counts as --yes there
# (sdk/go/common/env/env.go SkipConfirmations); --preview-only is destroy's only.
require_answerable_confirmation() {
    local command=$1 flag variable interactive=yes
    shift
    for flag in "$@"; do
        case "$flag" in
            --yes | -y | --yes=true | --skip-preview | -f | --skip-preview=true) return 0 ;;
            --preview-only | --preview-only=true) [ "$command" = destroy ] && return 0 ;;
            --non-interactive) interactive="" ;;
        esac
    done
    case "${PULUMI_SKIP_CONFIRMATIONS:-}" in 1 | [Tt][Rr][Uu][Ee]) return 0 ;; esac
    [ -t 0 ] && [ -t 1 ] && [ "${TERM:-}" != dumb ] || interactive=""
    if [ -z "${PULUMI_DISABLE_CI_DETECTION:-}" ]; then
        for variable in "${PULUMI_CI_VARIABLES[@]}"; do [ -n "${!variable:-}" ] && interactive=""; done
        [ "${CI_NAME:-}" = codeship ] && interactive=""
    fi
    [ -n "$interactive" ] && return 0
    die "'pulumi $command' asks for a confirmation, and there is no one to ask (standard input or output is not" \
        "a terminal, or Pulumi sees a CI system: a script, CI, an editor's task), so Pulumi would stop before doing" \
        "anything. Nothing was run. To run it unattended, say yes up front: npm run $command -- $stack --yes" \
        "(or set PULUMI_SKIP_CONFIRMATIONS=1)."
}

# share_compile_cache: Node's module compile cache for every node process Pulumi starts, not only the
# program (whose preload, components/pulumiRuntime.cjs, turns it on for itself): the dynamic provider that
# makes the certificates is started by the engine with the CLI's environment, which the program cannot
# change, and Node (22.1 and newer) reads NODE_COMPILE_CACHE when it starts. The same folder as the
# preload's; a value the user set wins, and NODE_DISABLE_COMPILE_CACHE still turns it off.
share_compile_cache() {
    export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/istio-minikube/node-compile-cache}"
}

# check_stack_lock STACK VIA: a lock a killed run left (its process gone) is named and removed; a live run's,
# another machine's or an unreadable one stops here, naming it and what to do (scripts/stack-locks.js). Pulumi
# itself would stop with "the stack is currently locked by 1 lock(s)" and advise `pulumi cancel`, which
# removes every lock of the stack, a live run's too.
check_stack_lock() {
    node scripts/stack-locks.js check "$1" "$2" || exit 1
}

# run_pulumi VIA ARGS...: `pulumi ARGS` for the stack in $stack, leaving a record of the run first (its command
# line, VIA and the time, keyed by its pid: the subshell becomes pulumi through exec) so that a lock a kill
# leaves can be named with the command that took it; the record goes when the run is over. Returns pulumi's
# status.
run_pulumi() {
    local via=$1 status=0
    shift
    (
        node scripts/stack-locks.js record "$stack" "$via" "$BASHPID" pulumi "$@" || true
        exec pulumi "$@"
    ) || status=$?
    node scripts/stack-locks.js forget "$stack" || true
    return "$status"
}

# note_pending_operations STACK up|destroy: what the state's pending operations (scripts/pending-operations.js)
# mean for the run about to start, said before Pulumi's own warning. Sets pending_operations: none, pending,
# or kubernetes (creates of Kubernetes objects among them, which may exist in the cluster already).
note_pending_operations() {
    # shellcheck disable=SC2034 # read by the scripts that source this file
    pending_operations=$(node scripts/pending-operations.js before "$1" "$2" <<<"$stack_export") || pending_operations=none
}

# settle_pending_operations up|destroy STACK CONTEXT KIND: after a run that succeeded, the pending operations an
# interrupted run left are reconciled with the state: settled ones are cleared with `pulumi stack import` of
# the state without them; one that is not is named with what to check, and the state is kept. Never fails
# the run, which did succeed.
settle_pending_operations() {
    local exported outcome file
    exported=$(pulumi stack export --stack "$2") || { log "istio-minikube: could not read the state of stack '$2' to clear its pending operations; the next npm run $1 -- $2 tries again."; return 0; }
    file=$(mktemp "${TMPDIR:-/tmp}/istio-minikube-state.XXXXXX")
    outcome=$(node scripts/pending-operations.js after "$1" "$2" "$3" "$4" "$file" <<<"$exported") || outcome=keep
    if [ "$outcome" = import ]; then
        run_pulumi "npm run $1" stack import --stack "$2" --file "$file" ||
            log "istio-minikube: clearing the pending operations did not work (see above); the next npm run $1 -- $2 tries again."
    fi
    rm -f "$file"
}
