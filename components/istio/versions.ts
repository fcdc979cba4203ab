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

/** Where Istio's release images live (release-builder rewrites the chart hub to this in the tarball). */
export const ISTIO_HUB = "docker.io/istio";

/**
 * Images the samples of an Istio minor use, read from its release (tag 1.30.3):
 * samples/curl/curl.yaml and samples/sleep/sleep.yaml use docker.io/curlimages/curl:8.16.0;
 * samples/bookinfo/platform/kube/bookinfo.yaml uses registry.istio.io/release/examples-bookinfo-*:1.20.3.
 * Another Istio version falls back to these; a wrong guess only means the kubelet pulls the real one.
 */
const SAMPLE_IMAGES: Record<string, Record<"sleep" | "bookinfo", readonly string[]>> = {
    "1.30": {
        sleep: ["docker.io/curlimages/curl:8.16.0"],
        bookinfo: ["details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"].map(
            (app) => `registry.istio.io/release/examples-bookinfo-${app}:1.20.3`,
        ),
    },
};

export function sampleImages(istioVersion: string, sample: "sleep" | "bookinfo"): readonly string[] {
    const minor = istioVersion.split(".").slice(0, 2).join(".");
    return (SAMPLE_IMAGES[minor] ?? SAMPLE_IMAGES["1.30"])[sample];
}

/**
 * The control plane runs `pilot`; every sidecar and its init container run `proxyv2` (chart values
 * global.proxy.image and global.proxy_init.image are both proxyv2 at 1.30.3).
 */
export function controlPlaneImages(istioVersion: string): { pilot: string; proxy: string } {
    return { pilot: `${ISTIO_HUB}/pilot:${istioVersion}`, proxy: `${ISTIO_HUB}/proxyv2:${istioVersion}` };
}

/**
 * Images of the release's dashboards (samples/addons/<name>.yaml on Istio's release-1.30 branch, the
 * module commit of e2e/tools/istio-charts.version; the real tier compares this table with the release
 * archive's manifests). Another Istio minor falls back to these; a wrong guess only means a pull.
 */
const ADDON_IMAGES: Record<string, Record<"prometheus" | "kiali" | "grafana" | "jaeger", readonly string[]>> = {
    "1.30": {
        prometheus: ["ghcr.io/prometheus-operator/prometheus-config-reloader:v0.89.0", "docker.io/prom/prometheus:v3.10.0"],
        kiali: ["quay.io/kiali/kiali:v2.26"],
        grafana: ["docker.io/grafana/grafana:12.0.1"],
        jaeger: ["docker.io/jaegertracing/jaeger:2.14.0"],
    },
};

export function addonImages(istioVersion: string, addon: "prometheus" | "kiali" | "grafana" | "jaeger"): readonly string[] {
    const minor = istioVersion.split(".").slice(0, 2).join(".");
    return (ADDON_IMAGES[minor] ?? ADDON_IMAGES["1.30"])[addon];
}
