// The pinned Istio release and the Kubernetes versions it supports.
//
// Istio 1.30.3 is the newest stable 1.30 tag checked here (istio/istio tag 1.30.3, 2026-07-16). Istio 1.30
// supports Kubernetes 1.32 to 1.36 (istio/istio.io data/compatibility/supportStatus.yml, version "1.30";
// istioctl/pkg/install/k8sversion/version.go MinK8SVersion = 32) and its CI runs on 1.35
// (common/scripts/kind_provisioner.sh DEFAULT_KIND_IMAGE kind-node:v1.35.0). Kubernetes v1.35.1 is the
// default of minikube v1.38.1 (pkg/minikube/constants/constants.go DefaultKubernetesVersion), so the pair
// is what a fresh laptop gets and what Istio tests.
export const DEFAULT_ISTIO_VERSION = "1.30.3";
export const DEFAULT_KUBERNETES_VERSION = "v1.35.1";

/** Kubernetes minor versions an Istio minor supports (istio.io supportStatus.yml); only what was checked. */
const SUPPORTED_KUBERNETES_MINORS: Record<string, readonly [number, number]> = {
    "1.30": [32, 36],
};

/** A problem sentence when the pair is known not to work; undefined when fine or not in the table. */
export function checkIstioSupportsKubernetes(istioVersion: string, kubernetesVersion: string): string | undefined {
    const istioMinor = istioVersion.split(".").slice(0, 2).join(".");
    const range = SUPPORTED_KUBERNETES_MINORS[istioMinor];
    if (!range) return undefined;
    const minor = Number(kubernetesVersion.replace(/^v/, "").split(".")[1]);
    const [low, high] = range;
    if (minor >= low && minor <= high) return undefined;
    return (
        `istio-minikube:minikube.kubernetesVersion = "${kubernetesVersion}" is not allowed with Istio ${istioVersion}: ` +
        `expected v1.${low}.x to v1.${high}.x (Istio's support table)`
    );
}
