// Stand-ins for what cannot run here: minikube (no VM, no container runtime), docker (no engine) and virsh
// (the kvm2 driver's tool, which the preflight looks for). They are small bash scripts, written by the test
// into a folder it puts first on PATH. The minikube stand-in keeps its profiles in a state folder: `start`
// points the profile's kubeconfig context at the tier's local API server (as minikube writes the context
// of the cluster it started), `ip` gives the node's address as the API server has it (minikube prints the
// address of the profile's node), `status` answers with minikube's exit codes (0 running, 85 no such profile:
// cmd/minikube/cmd/status.go), `delete` removes the profile and its context, and `image load`/`ls`/`rm`
// keep the list of loaded images, read from the archive's manifest.json as a runtime would. Every call is
// recorded in calls.log.
import * as fs from "fs";
import * as path from "path";

const MINIKUBE = `#!/usr/bin/env bash
# Stand-in for minikube in the real tier (e2e/harness/standins.ts).
set -euo pipefail
state=\${MINIKUBE_STANDIN_STATE:?}
printf '%s\\n' "$*" >>"$state/calls.log"
command=$1
shift
sub=""
if [ "$command" = image ]; then sub=$1; shift; fi
profile=minikube
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile=*) profile=\${1#--profile=} ;;
        -p | --profile) profile=$2; shift ;;
        --*) ;;
        *) args+=("$1") ;;
    esac
    shift
done
dir="$state/profiles/$profile"
kube() { "$MINIKUBE_STANDIN_KUBECTL" --kubeconfig="$KUBECONFIG" "$@" >/dev/null; }
case "$command" in
    version) echo "v1.38.1" ;;
    status)
        [ -d "$dir" ] || exit 85
        [ -f "$dir/running" ] || exit 7
        echo '{"Name":"'"$profile"'","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured"}'
        ;;
    start)
        mkdir -p "$dir"
        : >"$dir/running"
        touch "$dir/images"
        kube config set-cluster "$profile" --server="$MINIKUBE_STANDIN_SERVER" --insecure-skip-tls-verify=true
        kube config set-credentials "$profile" --token="$MINIKUBE_STANDIN_TOKEN"
        kube config set-context "$profile" --cluster="$profile" --user="$profile"
        echo "stand-in minikube: started profile $profile" >&2
        ;;
    update-context) ;;
    ip)
        [ -f "$dir/running" ] || { echo "stand-in minikube: profile $profile is not running" >&2; exit 1; }
        "$MINIKUBE_STANDIN_KUBECTL" --kubeconfig="$KUBECONFIG" --context="$profile" get nodes \
            --output='jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}'
        echo
        ;;
    delete)
        rm -rf "$dir"
        kube config delete-context "$profile" || true
        kube config delete-cluster "$profile" || true
        kube config delete-user "$profile" || true
        ;;
    image)
        [ -f "$dir/running" ] || { echo "stand-in minikube: profile $profile is not running" >&2; exit 1; }
        # Loads and removes run side by side (one command per image): one at a time on the list.
        exec 9>"$dir/images.lock"
        flock 9
        case "$sub" in
            load) tar -xOf "\${args[0]}" manifest.json | tr ',' '\\n' | sed -n 's/.*"RepoTags":\\["\\([^"]*\\)"\\].*/\\1/p' >>"$dir/images" ;;
            ls) cat "$dir/images" ;;
            rm) { grep -vxF -e "\${args[0]}" "$dir/images" || true; } >"$dir/images.new"; mv "$dir/images.new" "$dir/images" ;;
            *) echo "stand-in minikube: image $sub is not stood in for" >&2; exit 2 ;;
        esac
        ;;
    *) echo "stand-in minikube: $command is not stood in for" >&2; exit 2 ;;
esac
`;

const DOCKER = `#!/usr/bin/env bash
# Stand-in for the docker client in the real tier (e2e/harness/standins.ts): no engine runs here.
set -euo pipefail
state=\${MINIKUBE_STANDIN_STATE:?}
printf 'docker %s\\n' "$*" >>"$state/calls.log"
case "$1" in
    version) echo "28.2.2" ;;
    pull) echo "stand-in docker: pulled $2" >&2 ;;
    save)
        work=$(mktemp -d)
        printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":[]}]\\n' "$2" >"$work/manifest.json"
        echo '{}' >"$work/config.json"
        tar -cf - -C "$work" manifest.json config.json
        rm -rf "$work"
        ;;
    *) echo "stand-in docker: $1 is not stood in for" >&2; exit 2 ;;
esac
`;

const VIRSH = `#!/usr/bin/env bash
# Stand-in for virsh (the kvm2 driver's tool) in the real tier: only its presence is asked.
exit 0
`;

export interface Standins {
    /** The folder to put first on PATH. */
    dir: string;
    /** MINIKUBE_STANDIN_STATE: profiles and calls.log. */
    stateDir: string;
    /** The environment the stand-ins read. */
    env: Record<string, string>;
    calls(): string[];
    profileExists(profile: string): boolean;
    loadedImages(profile: string): string[];
}

export function writeStandins(root: string, opts: { kubectl: string; server: string; token: string }): Standins {
    const dir = path.join(root, "standin-bin");
    const stateDir = path.join(root, "standin-state");
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(stateDir, "profiles"), { recursive: true });
    for (const [name, body] of Object.entries({ minikube: MINIKUBE, docker: DOCKER, virsh: VIRSH })) {
        fs.writeFileSync(path.join(dir, name), body, { mode: 0o755 });
    }
    const callsFile = path.join(stateDir, "calls.log");
    return {
        dir,
        stateDir,
        env: { MINIKUBE_STANDIN_STATE: stateDir, MINIKUBE_STANDIN_KUBECTL: opts.kubectl, MINIKUBE_STANDIN_SERVER: opts.server, MINIKUBE_STANDIN_TOKEN: opts.token },
        calls: () => (fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").split("\n").filter(Boolean) : []),
        profileExists: (profile) => fs.existsSync(path.join(stateDir, "profiles", profile)),
        loadedImages: (profile) => {
            const file = path.join(stateDir, "profiles", profile, "images");
            return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
        },
    };
}
