// Pure preparation of Istio's sample manifests before they are applied (and, for manual namespaces,
// before `istioctl kube-inject`).
import * as YAML from "yaml";
import { SampleName } from "../config";

/** Where each sample lives inside the release: sleep's current replacement is curl (samples/curl, Istio 1.24+). */
export const SAMPLE_FILES: Record<SampleName, string[]> = {
    sleep: ["curl", "curl.yaml"],
    bookinfo: ["bookinfo", "platform", "kube", "bookinfo.yaml"],
};

/** The `app` labels of each sample's pods (samples/curl/curl.yaml; samples/bookinfo/platform/kube/bookinfo.yaml). */
export const SAMPLE_APPS: Record<SampleName, string[]> = {
    sleep: ["curl"],
    bookinfo: ["details", "productpage", "ratings", "reviews"],
};

/** Where the proxy writes the workload's certificates, so the blog's curl commands work unchanged. */
export const CERTS_DIR = "/etc/certs";
/** How long a sample Deployment may take to become ready before `pulumi up` fails naming it. */
export const READY_TIMEOUT_SECONDS = 300;

/**
 * Annotations that make istio-agent write key.pem, cert-chain.pem and root-cert.pem to /etc/certs
 * (proxy metadata OUTPUT_CERTS: pilot/cmd/pilot-agent/options/options.go; security/pkg/nodeagent/util/util.go)
 * on a memory emptyDir mounted into istio-proxy, whose root file system is read-only. The volume
 * annotations are JSON objects keyed by volume name, as the 1.30.3 injection template ranges over them
 * (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
 */
export const OUTPUT_CERTS_ANNOTATIONS: Record<string, string> = {
    "proxy.istio.io/config": JSON.stringify({ proxyMetadata: { OUTPUT_CERTS: CERTS_DIR } }),
    "sidecar.istio.io/userVolume": JSON.stringify({ "istio-certs": { emptyDir: { medium: "Memory" } } }),
    "sidecar.istio.io/userVolumeMount": JSON.stringify({ "istio-certs": { mountPath: CERTS_DIR } }),
};

type K8sObject = { apiVersion?: string; kind?: string; metadata?: Record<string, any>; spec?: Record<string, any> } & Record<string, unknown>;

export interface PrepareOptions {
    namespace: string;
    /** Added to every Deployment's pod template: a change rolls the workloads (a new root CA, say). */
    podAnnotations?: Record<string, string>;
    /** Name of the Deployment whose proxy writes its certificates to /etc/certs (productpage-v1). */
    outputCertsDeployment?: string;
}

function parseObjects(manifest: string): K8sObject[] {
    return YAML.parseAllDocuments(manifest)
        .map((doc) => {
            if (doc.errors.length > 0) throw new Error(`sample manifest does not parse: ${doc.errors[0].message}`);
            return doc.toJS() as K8sObject | null;
        })
        .filter((obj): obj is K8sObject => obj !== null && typeof obj === "object" && typeof obj.kind === "string");
}

function withPodAnnotations(obj: K8sObject, annotations: Record<string, string>): void {
    if (obj.kind !== "Deployment" || Object.keys(annotations).length === 0) return;
    const template = (obj.spec!.template ??= {});
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.annotations = { ...(template.metadata.annotations ?? {}), ...annotations };
}

/**
 * How long a rolled sample's new pod is Ready before its old one is taken down, and how long the old one
 * keeps serving once it is. Every rotation step rolls the samples (their certificates annotation), and a roll
 * must drop no request between sidecars (docs/trust.md): the peers' Envoys learn of a new endpoint, and of an
 * old one going, from istiod's next push of endpoints (a debounce of 100 ms, then the push to every proxy),
 * which takes a second or two on a busy laptop. Without these, the old pod's app exits on SIGTERM at once,
 * while peers still send to it (the real tier measured failed requests in a rotation step).
 */
export const ROLL_OVERLAP_SECONDS = 5;

/** minReadySeconds, and a preStop sleep for each container that has no hook and time for it (its grace period). */
function withLosslessRoll(deployment: K8sObject): void {
    const spec = (deployment.spec ??= {});
    spec.minReadySeconds ??= ROLL_OVERLAP_SECONDS;
    const podSpec = spec.template?.spec;
    if (!podSpec) return;
    const grace = podSpec.terminationGracePeriodSeconds ?? 30;
    if (grace <= ROLL_OVERLAP_SECONDS) return; // the curl sample's 0 s: it serves nothing, and dies at once
    for (const container of podSpec.containers ?? []) {
        container.lifecycle ??= {};
        container.lifecycle.preStop ??= { sleep: { seconds: ROLL_OVERLAP_SECONDS } };
    }
}

/**
 * Parses a multi-document manifest, places every object in `namespace`, bounds readiness, keeps a roll from
 * dropping requests (withLosslessRoll), adds the cert annotations.
 */
export function prepareSampleObjects(manifest: string, options: PrepareOptions): K8sObject[] {
    return parseObjects(manifest).map((original) => {
        const obj = structuredClone(original);
        obj.metadata = { ...(obj.metadata ?? {}), namespace: options.namespace };
        if (obj.kind === "Deployment") {
            obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), "pulumi.com/timeoutSeconds": String(READY_TIMEOUT_SECONDS) };
            withLosslessRoll(obj);
            withPodAnnotations(obj, {
                ...(options.podAnnotations ?? {}),
                ...(obj.metadata.name === options.outputCertsDeployment ? OUTPUT_CERTS_ANNOTATIONS : {}),
            });
        }
        return obj;
    });
}

/**
 * One of the release's dashboards (samples/addons/<name>.yaml) as it is, each object in the namespace the
 * file gives it (istio-system), with only the readiness bound added to its Deployments.
 */
export function prepareAddonObjects(manifest: string): K8sObject[] {
    return parseObjects(manifest).map((original) => {
        const obj = structuredClone(original);
        if (obj.kind === "Deployment") {
            obj.metadata = { ...(obj.metadata ?? {}) };
            obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), "pulumi.com/timeoutSeconds": String(READY_TIMEOUT_SECONDS) };
        }
        return obj;
    });
}

/**
 * Adds annotations to every Deployment's pod template of a manifest, leaving the rest as it is: for a
 * manifest `istioctl kube-inject` has already injected.
 */
export function addPodAnnotations(manifest: string, annotations: Record<string, string>): string {
    const objects = parseObjects(manifest);
    for (const obj of objects) withPodAnnotations(obj, annotations);
    return toManifest(objects);
}

export function toManifest(objects: K8sObject[]): string {
    return objects.map((obj) => YAML.stringify(obj)).join("---\n");
}
