#!/usr/bin/env bash
# Checks that the host tools a stack needs are installed, and says how to get each one that is missing.
# Environment: PREFLIGHT_TOOLS, space-separated names from the table below.
# Exit 0 when all are there; 1 with one line per missing tool otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need PREFLIGHT_TOOLS

how_to_get() {
    case "$1" in
        pulumi) echo "the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/" ;;
        node) echo "Node.js 20 or 22: https://nodejs.org/ (or your package manager)" ;;
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

missing=()
for tool in $PREFLIGHT_TOOLS; do
    hint=$(how_to_get "$tool") || die "preflight does not know the tool '$tool'"
    if ! command -v "$tool" >/dev/null 2>&1; then
        missing+=("$tool: not found; install $hint")
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
