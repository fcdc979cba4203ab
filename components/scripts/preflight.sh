#!/usr/bin/env bash
# Checks that the host tools a stack needs are installed, new enough where a floor matters, and says how
# to get each one that is missing or too old.
# Environment: PREFLIGHT_TOOLS, space-separated names from the table below; PREFLIGHT_KUBERNETES_VERSION,
# the cluster's Kubernetes version when the stack knows it (a minikube stack), for kubectl's minimum.
# Exit 0 when all are there; 1 with one line per missing or too old tool otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need PREFLIGHT_TOOLS

how_to_get() {
    case "$1" in
        pulumi) echo "the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/" ;;
        node) echo "Node.js $(node_lines_text): https://nodejs.org/ (or your package manager)" ;;
        npm) echo "npm, which comes with Node.js" ;;
        minikube) echo "minikube: https://minikube.sigs.k8s.io/docs/start/" ;;
        kubectl) echo "kubectl: https://kubernetes.io/docs/tasks/tools/" ;;
        docker) echo "Docker Engine or Docker Desktop: https://docs.docker.com/engine/install/ (and add your user to the 'docker' group)" ;;
        virsh) echo "libvirt and KVM for the kvm2 driver: 'sudo apt install qemu-kvm libvirt-daemon-system libvirt-clients' and add your user to the 'libvirt' group" ;;
        podman) echo "Podman: https://podman.io/docs/installation" ;;
        qemu-system-x86_64) echo "QEMU for the qemu2 driver: 'sudo apt install qemu-system-x86' or 'brew install qemu'" ;;
        VBoxManage) echo "VirtualBox: https://www.virtualbox.org/wiki/Downloads" ;;
        vfkit) echo "vfkit for the vfkit driver: 'brew install vfkit'" ;;
        curl | tar) echo "$1, from your system's package manager" ;;
        xz) echo "xz: 'sudo apt install xz-utils' or 'brew install xz'" ;;
        sha256sum) echo "sha256sum (GNU coreutils): 'sudo apt install coreutils'" ;;
        shasum) echo "shasum, which comes with macOS (perl)" ;;
        *) return 1 ;;
    esac
}

# The Node.js lines this program supports: those not past their end of life (odd lines never reach long-term
# support) that @pulumi/pulumi supports, the oldest from 22.8, the release that brought
# module.enableCompileCache, which every run of the program uses (components/pulumiRuntime.cjs); no runtime
# dependency asks for a newer 22 (@pulumi/pulumi: ">=22"). package.json's engines, README and CI's
# .ci/node-versions say the same (tests/node-lines.test.ts).
supported_node_lines="22 24 26"
oldest_node=22.8.0

node_lines_text() { # "22 (22.8 or newer), 24 or 26"
    local -a lines
    read -r -a lines <<<"$supported_node_lines"
    local text="${lines[0]} (${oldest_node%.0} or newer)" i
    for ((i = 1; i < ${#lines[@]}; i++)); do
        if ((i == ${#lines[@]} - 1)); then text+=" or ${lines[i]}"; else text+=", ${lines[i]}"; fi
    done
    echo "$text"
}

# minimum_version TOOL: the oldest version this program works with, and why; nothing for tools without one.
minimum_version() {
    case "$1" in
        # Pulumi.yaml declares object-typed config keys (minikube, istio, ...), which CLIs before 3.187
        # cannot load at all.
        pulumi) echo "3.187.0 (older CLIs cannot load Pulumi.yaml's object-typed config keys)" ;;
        # The release whose source the program was checked against: profile names, `status` exit codes,
        # `image load`/`image ls`, and v1.35.1 as a known Kubernetes version.
        minikube) echo "1.38.1 (the release this program was checked against)" ;;
        # kubectl is supported within one minor version of the API server (Kubernetes version skew policy).
        # A minikube stack knows its cluster's version; an existing cluster runs at least Kubernetes 1.32,
        # the oldest Istio 1.30 supports.
        kubectl)
            if [[ "${PREFLIGHT_KUBERNETES_VERSION:-}" =~ ^v?([0-9]+)\.([0-9]+)\. ]] && [ "${BASH_REMATCH[2]}" -gt 0 ]; then
                echo "${BASH_REMATCH[1]}.$((BASH_REMATCH[2] - 1)).0 (kubectl supports API servers one minor version away, and this stack runs Kubernetes $PREFLIGHT_KUBERNETES_VERSION)"
            else
                echo "1.31.0 (Istio 1.30 needs Kubernetes 1.32 or newer, and kubectl supports API servers one minor version away)"
            fi
            ;;
    esac
}

# installed_version TOOL: the tool's own version as X.Y.Z, or nothing when it does not say.
installed_version() {
    local out=""
    case "$1" in
        pulumi) out=$(pulumi version 2>/dev/null) || true ;;
        minikube) out=$(minikube version --short 2>/dev/null) || true ;;
        kubectl) out=$(kubectl version --client 2>/dev/null) || true ;;
        node) out=$(node --version 2>/dev/null) || true ;;
    esac
    if [[ "$out" =~ v?([0-9]+)\.([0-9]+)\.([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
    fi
}

# older_than A B: A < B, both X.Y.Z (bash arithmetic only: sort -V is not on every macOS).
older_than() {
    local -a a b
    IFS=. read -r -a a <<<"$1"
    IFS=. read -r -a b <<<"$2"
    local i
    for i in 0 1 2; do
        ((10#${a[i]} < 10#${b[i]})) && return 0
        ((10#${a[i]} > 10#${b[i]})) && return 1
    done
    return 1
}

missing=()
for tool in $PREFLIGHT_TOOLS; do
    hint=$(how_to_get "$tool") || die "preflight does not know the tool '$tool'"
    floor=$(minimum_version "$tool")
    need_version=${floor%% *}
    why=${floor#* }
    if ! command -v "$tool" >/dev/null 2>&1; then
        missing+=("$tool: not found; install $hint${floor:+ (version $need_version or newer)}")
    elif [ -n "$floor" ]; then
        have=$(installed_version "$tool")
        if [ -z "$have" ]; then
            missing+=("$tool: installed, but it did not say its version; $need_version or newer is needed $why; install $hint")
        elif older_than "$have" "$need_version"; then
            missing+=("$tool: version $have is too old; $need_version or newer is needed $why; install $hint")
        fi
    elif [ "$tool" = node ]; then
        have=$(installed_version node)
        # Not one of the lines (or no version at all), or a release of the oldest line before oldest_node.
        [[ " $supported_node_lines " == *" ${have%%.*} "* ]] && ! older_than "$have" "$oldest_node" ||
            missing+=("node: version ${have:-unknown} is not supported; install Node.js $(node_lines_text) (the lines not past their end of life): https://nodejs.org/")
    elif [ "$tool" = docker ] && ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        missing+=("docker: installed, but the Docker daemon does not answer; start it, or add your user to the 'docker' group")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "Missing prerequisites (nothing was created):"
    for line in "${missing[@]}"; do
        echo "  - $line"
    done
    exit 1
fi
echo "All prerequisites found: $PREFLIGHT_TOOLS"
