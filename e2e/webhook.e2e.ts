// The real tier: the program's trust model and injection webhook against a real kube-apiserver v1.35.4
// (with etcd v3.6.16), built from the Go module proxy by e2e/build-tools.sh and run in a network namespace
// of the test's own.
//
// What is real: the API server, its admission chain and its webhook client (Service resolution, TLS
// verification against the caBundle, namespace and object selectors, failurePolicy), the
// MutatingWebhookConfiguration exactly as components/mesh/sidecarInjector.ts renders it, the namespace labels of
// components/mesh/meshNamespaces.ts, and the certificates of components/trust/meshCertificates.ts for a stack whose name
// holds a '_'. What stands in: istiod's /inject, answered by e2e/tools/injector-standin with the program's
// own serving certificate and key (istiod cannot be built here at Istio 1.30.3), and the Service `istiod`,
// created here with the chart's 443 -> 15017 port instead of by the chart.
import * as fs from "fs";
import * as path from "path";
import { generateMeshCertificates, meshCertificateInputs, MeshCertificatesOutputs } from "../components/trust/meshCertificates";
import { INJECTOR_WEBHOOK_NAME, sidecarInjectorWebhooks } from "../components/mesh/sidecarInjector";
import { injectionLabels } from "../components/mesh/meshNamespaces";
import { parseSettings } from "../components/config";
import { verificationChecks, verificationInputsOf } from "../components/verify/verification";
import { LocalCluster, realTierBin } from "./harness/localCluster";

let BIN: string;
const ISTIOD_CLUSTER_IP = "10.96.0.50";
const STACK = "real_tier";

let cluster: LocalCluster;
let injector: ReturnType<LocalCluster["startProcess"]> | undefined;
let certificates: MeshCertificatesOutputs;

function newCertificates(rotation: number): MeshCertificatesOutputs {
    // What index.ts gives MeshCertificates for a stack named STACK.
    return generateMeshCertificates(meshCertificateInputs(STACK, { validityDays: 365, rotation }));
}

function webhookConfiguration(rootCertPem: string) {
    // As SidecarInjector registers it: the same name and webhooks, caBundle = base64 of the root's PEM.
    return {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "MutatingWebhookConfiguration",
        metadata: { name: INJECTOR_WEBHOOK_NAME, labels: { app: "sidecar-injector", "app.kubernetes.io/managed-by": "istio-minikube" } },
        webhooks: sidecarInjectorWebhooks(Buffer.from(rootCertPem).toString("base64")),
    };
}

const apply = (object: object) => cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(object) });

/** Serves /inject on the istiod Service's address with the given serving certificate. */
async function serveInjector(certs: MeshCertificatesOutputs): Promise<void> {
    if (injector) await cluster.stopProcess(injector);
    injector = await cluster.startStandin(certs, ISTIOD_CLUSTER_IP, path.join(cluster.dir, "calls.log"));
}

/** Creates a pod; returns its container names, or the API server's refusal. */
function createPod(namespace: string, name: string, labels: Record<string, string> = {}): { containers?: string[]; error?: string } {
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels },
        spec: { containers: [{ name: "app", image: "docker.io/curlimages/curl:8.16.0" }] },
    };
    const result = cluster.kubectl(["create", "-f", "-", "-o", "json"], { input: JSON.stringify(pod), allowFail: true });
    if (result.status !== 0) return { error: result.stderr };
    return { containers: (JSON.parse(result.stdout) as { spec: { containers: { name: string }[] } }).spec.containers.map((c) => c.name) };
}

const calls = () => {
    const file = path.join(cluster.dir, "calls.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
};

function namespace(name: string, labels: Record<string, string>): void {
    apply({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    // No controller manager runs, so nothing makes the default ServiceAccount the ServiceAccount admission plugin asks for.
    apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: name } });
}

beforeAll(async () => {
    BIN = realTierBin("kube-apiserver");
    cluster = new LocalCluster(BIN);
    await cluster.start();
    certificates = newCertificates(0);
    namespace("istio-system", {});
    apply({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "istiod", namespace: "istio-system" },
        // The istiod chart's https-webhook port (istio-discovery templates/service.yaml).
        spec: { clusterIP: ISTIOD_CLUSTER_IP, ports: [{ name: "https-webhook", port: 443, targetPort: 15017 }], selector: { app: "istiod" } },
    });
    await serveInjector(certificates);
    apply(webhookConfiguration(certificates.rootCertPem));
    namespace("mesh-auto", injectionLabels("auto"));
    namespace("mesh-manual", injectionLabels("manual"));
    namespace("plain", {});
}, 180_000);

afterAll(async () => {
    if (cluster) await cluster.stop();
});

describe("the program's MutatingWebhookConfiguration in a real API server", () => {
    test("is stored exactly as the program renders it: a refresh would find nothing to change", () => {
        const stored = JSON.parse(cluster.kubectl(["get", "mutatingwebhookconfiguration", INJECTOR_WEBHOOK_NAME, "-o", "json"]).stdout) as { webhooks: object[] };
        expect(stored.webhooks).toEqual(webhookConfiguration(certificates.rootCertPem).webhooks);
    });

    test("a pod in an injection.auto namespace gets istio-proxy: the API server found istiod's Service and trusted its certificate through the caBundle", () => {
        const before = calls().length;
        expect(createPod("mesh-auto", "sleep")).toEqual({ containers: ["app", "istio-proxy"] });
        expect(calls().slice(before)).toEqual(["mesh-auto sleep"]);
    });

    test("a pod that opts out (sidecar.istio.io/inject=false) is never sent to the webhook", () => {
        const before = calls().length;
        expect(createPod("mesh-auto", "opted-out", { "sidecar.istio.io/inject": "false" })).toEqual({ containers: ["app"] });
        expect(calls().slice(before)).toEqual([]);
    });

    test("injection.manual (istio-injection=disabled) and unlabelled namespaces are left alone", () => {
        const before = calls().length;
        expect(createPod("mesh-manual", "by-hand")).toEqual({ containers: ["app"] });
        expect(createPod("plain", "outside")).toEqual({ containers: ["app"] });
        expect(calls().slice(before)).toEqual([]);
    });

    test("in an unlabelled namespace, a pod labelled sidecar.istio.io/inject=true is injected (the object selector)", () => {
        expect(createPod("plain", "asks-for-it", { "sidecar.istio.io/inject": "true" })).toEqual({ containers: ["app", "istio-proxy"] });
    });
});

describe("check 3 (sidecars-injected): the real check script and the real kubectl against the real API server", () => {
    // The checks of a stack on this cluster, as index.ts builds them: one attempt each, no wait.
    const settings = parseSettings(
        {
            "istio-minikube:cluster": "existing",
            "istio-minikube:kubeContext": "real-tier",
            "istio-minikube:injection": JSON.stringify({ auto: ["mesh-auto"], manual: [] }),
            "istio-minikube:samples": JSON.stringify(["sleep"]),
        },
        STACK,
        { homeDir: "/nonexistent", projectDir: path.resolve(__dirname, "..") },
    );
    const sidecarsCheck = verificationChecks(verificationInputsOf(settings, { attempts: 1, delaySeconds: 0 })).find((c) => c.name === "sidecars-injected")!;
    const runCheck = () =>
        cluster.exec("bash", [path.resolve(__dirname, "..", sidecarsCheck.script)], {
            allowFail: true,
            // HOME: kubectl's discovery cache goes to the test's folder, not the user's ~/.kube.
            env: { ...sidecarsCheck.environment, KUBECONFIG: cluster.writeKubeconfig("real-tier"), HOME: cluster.dir, PATH: `${BIN}:/usr/bin:/bin` },
        });
    // The sample's pod as its Deployment makes it: the labels the check selects on.
    const samplePodLabels = () => {
        const selector = /^app in \(([^)]*)\)$/.exec(sidecarsCheck.environment.POD_SELECTOR);
        expect(selector).not.toBeNull();
        return { app: selector![1].split(",")[0].trim() };
    };

    test("passes once the sample's pods are injected, and names the pod that is not", () => {
        expect(createPod("mesh-auto", "sample-1", samplePodLabels()).containers).toContain("istio-proxy");
        const passed = runCheck();
        expect(passed.status).toBe(0);
        expect(JSON.parse(passed.stdout)).toEqual({ check: "sidecars-injected", status: "pass", detail: "1 pod(s), all with istio-proxy" });

        expect(createPod("mesh-auto", "sample-opted-out", { ...samplePodLabels(), "sidecar.istio.io/inject": "false" }).containers).toEqual(["app"]);
        const failed = runCheck();
        expect(failed.status).toBe(1);
        expect(failed.stderr).toContain("seen:     pods without istio-proxy: mesh-auto/sample-opted-out");
        cluster.kubectl(["delete", "pod", "--namespace=mesh-auto", "sample-opted-out", "--wait=false"]);
    });
});

describe("a rotation, as the real API server sees it", () => {
    test("a caBundle of the new root refuses the old serving certificate (failurePolicy Fail), and accepts the new one", async () => {
        const rotated = newCertificates(1);
        expect(rotated.rootCertPem).not.toBe(certificates.rootCertPem);
        apply(webhookConfiguration(rotated.rootCertPem));
        // istiod still serving with the old certificate: the API server must not trust it. The API server
        // picks up a changed webhook configuration a moment after storing it, so allow it a few tries.
        let refused = createPod("mesh-auto", "during-rotation-0");
        for (let i = 1; i < 20 && !refused.error; i++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            refused = createPod("mesh-auto", `during-rotation-${i}`);
        }
        expect(refused.error).toMatch(/failed calling webhook "namespace\.sidecar-injector\.istio\.io".*x509: certificate signed by unknown authority/s);
        // istiod restarted with the new Secret, as the program's rotation rolls it.
        await serveInjector(rotated);
        expect(createPod("mesh-auto", "after-rotation")).toEqual({ containers: ["app", "istio-proxy"] });
        certificates = rotated;
    });
});
