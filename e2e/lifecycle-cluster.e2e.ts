// The whole lifecycle of an existing-cluster stack (a name with '_') under the real Pulumi engine, against a
// real Kubernetes control plane with a kwok node and a real istiod, in the tier's network namespace.
//
// Real: the Pulumi CLI v3.248.0 and its engine, the kubernetes provider (a January 2026 commit, just
// before v4.25.0: the only one the Go module proxy serves), kube-apiserver, controller manager and scheduler
// v1.35.4 with etcd v3.6.16, kwok v0.8.0, istiod and istioctl from Istio's release-1.30 branch, the release
// archive's download and checksum, and the program's own scripts. Ours, because the proxy does not serve
// the real ones: the nodejs language host and the command provider (e2e/tools/language-host,
// e2e/tools/command-provider). Not here: Envoy, so the three curl checks are skipped by config.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { backendText, exportState, figuresLine, plainPrivateKeys, run, setStackConfigValue, noopPreviewSeconds, noopUpSeconds, noopSamplesLine } from "./harness/pulumiStack";
import { runWorkloadAgent } from "./harness/agent";
import { createPod, DATA_PLANE_CHECKS, deploymentAvailable, gatewayPods, getJson, objectNames, offlinePlanOf, plannedResources, podContainers, RELEASE_URL, stackOutputs, startWorld, stopWorld, unexpectedDeletes, World } from "./harness/lifecycle";
import { OWNER_LABEL, ownerLabelValue } from "../components/istio/existingIstio";

jest.setTimeout(20 * 60_000);

const STACK = "real_cluster";
const CONTEXT = "real-local";
const OWNER = ownerLabelValue("istio-minikube", STACK);
const figures: Record<string, number> = {};
let noopSamples: { preview: number[]; up: number[] } = { preview: [], up: [] };
let world: World;

const config = (kubeContext: string): ConfigMap => ({
    "istio-minikube:cluster": { value: "existing" },
    "istio-minikube:kubeContext": { value: kubeContext },
    "istio-minikube:istio.releaseUrl": { value: RELEASE_URL },
    "istio-minikube:injection.auto[0]": { value: "default" },
    "istio-minikube:injection.manual[0]": { value: "manual-inject" },
    // As Pulumi.cluster.yaml: the gateway behind a load balancer, which this cluster does not have.
    "istio-minikube:gateway.serviceType": { value: "LoadBalancer" },
    ...Object.fromEntries(DATA_PLANE_CHECKS.map((check, i) => [`istio-minikube:skipChecks[${i}]`, { value: check }])),
});

const outputs = () => stackOutputs(world);

function caBundles(): Record<string, string[]> {
    const mutating = getJson(world, ["get", "mutatingwebhookconfiguration", "istio-sidecar-injector"]) as any;
    const validating = getJson(world, ["get", "validatingwebhookconfigurations", "--selector=app.kubernetes.io/managed-by=istio-minikube"]).items;
    return {
        "istio-sidecar-injector": mutating.webhooks.map((w: any) => Buffer.from(w.clientConfig.caBundle, "base64").toString()),
        ...Object.fromEntries(validating.map((v: any) => [v.metadata.name, v.webhooks.map((w: any) => Buffer.from(w.clientConfig.caBundle, "base64").toString())])),
    };
}

const secretData = (name: string) => (getJson(world, ["get", "secret", name, "--namespace=istio-system"]) as any).data as Record<string, string>;

beforeAll(async () => {
    world = await startWorld(STACK, CONTEXT);
}, 10 * 60_000);

afterAll(async () => {
    if (world && Object.keys(figures).length > 0) process.stdout.write(`${figuresLine(STACK, figures)}\n`);
    if (noopSamples.preview.length > 0) process.stdout.write(`${noopSamplesLine(STACK, noopSamples)}\n`);
    await stopWorld(world);
});

describe(`stack ${STACK} on an existing cluster`, () => {
    test("a kubeContext missing from the kubeconfig stops the first preview before anything, naming it, the file and the contexts there", async () => {
        await world.harness.stack.setAllConfig(config("no-such-context"), true);
        await expect(run(world.harness, "preview (missing context)", (o) => world.harness.stack.preview(o))).rejects.toThrow(
            new RegExp(`The kubeconfig context 'no-such-context' \\(config kubeContext\\) is not in ${world.kubeconfig}.*The contexts there are: ${CONTEXT}`),
        );
        expect(objectNames(world, "namespaces")).not.toContain("istio-system");
        await world.harness.stack.setAllConfig(config(CONTEXT), true);
    });

    test("the first preview plans exactly the resources the offline plan gives", async () => {
        const { seconds } = await run(world.harness, "preview", (o) => world.harness.stack.preview(o));
        figures.preview = seconds;
        const offline = await offlinePlanOf(world);
        expect(plannedResources(world.harness)).toEqual(offline.resources.map((r) => `${r.type}::${r.name}`).sort());
    });

    test("up: the mesh is in the API server; the real istiod injects through the program's webhook; checks 1 to 3 pass", async () => {
        const { seconds } = await run(world.harness, "up", (o) => world.harness.stack.up(o));
        figures.up = seconds;
        const out = await outputs();
        const root = out.rootCertificate as string;

        // The objects, by kind.
        expect(objectNames(world, "namespaces")).toEqual(expect.arrayContaining(["istio-system", "manual-inject", "outside-mesh"]));
        const istioSystem = getJson(world, ["get", "namespace", "istio-system"]) as any;
        expect(istioSystem.metadata.labels[OWNER_LABEL]).toBe(OWNER);
        const crds = objectNames(world, "customresourcedefinitions").filter((n) => n.endsWith(".istio.io"));
        expect(crds.length).toBeGreaterThanOrEqual(14);
        expect(objectNames(world, "customresourcedefinitions", [`--selector=${OWNER_LABEL}=${OWNER}`])).toEqual(crds);
        expect(objectNames(world, "secrets", ["--namespace=istio-system"]).filter((n) => ["istio-system/cacerts", "istio-system/istiod-tls"].includes(n))).toHaveLength(2);
        for (const [name, bundles] of Object.entries(caBundles())) for (const bundle of bundles) expect({ name, bundle }).toEqual({ name, bundle: root });
        expect(Object.keys(caBundles()).sort()).toEqual(["istio-sidecar-injector", "istio-validator-istio-system", "istiod-default-validator"]);
        expect(objectNames(world, "deployments")).toEqual(
            expect.arrayContaining(["istio-system/istiod", "default/curl", "default/productpage-v1", "manual-inject/curl", "manual-inject/details-v1", "outside-mesh/curl"]),
        );
        expect((getJson(world, ["get", "namespace", "default"]) as any).metadata.labels["istio-injection"]).toBe("enabled");

        // Injection: by the real istiod through the webhook in default, by istioctl kube-inject in manual-inject.
        for (const namespace of ["default", "manual-inject"]) {
            const pods = podContainers(world, namespace);
            expect(Object.keys(pods).length).toBeGreaterThanOrEqual(7);
            for (const [pod, containers] of Object.entries(pods)) expect({ pod, containers }).toEqual({ pod, containers: expect.arrayContaining(["istio-proxy"]) });
        }
        for (const containers of Object.values(podContainers(world, "outside-mesh"))) expect(containers).not.toContain("istio-proxy");
        expect(createPod(world, "default", "probe-after-up")).toEqual({ containers: expect.arrayContaining(["istio-proxy", "app"]) });

        // The checks that need no data plane ran for real; the others are reported skipped.
        const results = out.verificationResults as { check: string; status: string }[];
        expect(results.map((r) => [r.check, r.status])).toEqual([
            ["control-plane-ready", "pass"],
            ["mtls-mode", "pass"],
            ["sidecars-injected", "pass"],
            ...DATA_PLANE_CHECKS.map((c) => [c, "skipped"]),
        ]);

        // The gateway, injected with the gateway template; no load balancer answers here, so `up` did not
        // wait for an address and the URL output says how to get one.
        expect(deploymentAvailable(world, "istio-ingress", "istio-ingressgateway")).toBe(true);
        for (const pod of gatewayPods(world)) expect(pod.proxyArgs.slice(0, 2)).toEqual(["proxy", "router"]);
        expect(out.bookinfoUrl).toMatch(/^pending: Service istio-ingress\/istio-ingressgateway has no load balancer address yet; the cluster has no load balancer controller answering/);
        // The project's default dashboards (this stack sets no addons).
        for (const name of ["prometheus", "kiali"]) expect({ name, available: deploymentAvailable(world, "istio-system", name) }).toEqual({ name, available: true });
    });

    test("nothing changed: three previews, three more ups and a refresh each change nothing", async () => {
        const previews = await noopPreviewSeconds(world.harness);
        figures["noop-preview"] = previews.median;
        const ups = await noopUpSeconds(world.harness);
        figures["noop-up"] = ups.median;
        noopSamples = { preview: previews.samples, up: ups.samples };
        figures.refresh = (await run(world.harness, "refresh", (o) => world.harness.stack.refresh({ ...o, expectNoChanges: true }))).seconds;
    });

    test("Istio's real agent, Envoy off, gets each of two injected sample pods a workload certificate from the real istiod: the pod's SPIFFE identity, signed by the stack's intermediate, three files that verify against the stack's root with openssl", async () => {
        const root = new crypto.X509Certificate((await outputs()).rootCertificate as string);
        const intermediate = new crypto.X509Certificate(Buffer.from(secretData("cacerts")["ca-cert.pem"], "base64").toString());
        const distributed = (getJson(world, ["get", "configmap", "istio-ca-root-cert", "--namespace=default"]) as any).data["root-cert.pem"] as string;
        const pods = getJson(world, ["get", "pods", "--namespace=default"]).items.filter((p: any) => !p.metadata.deletionTimestamp);
        // The stack's certificates are node-forge's PEM, with CRLF line ends.
        const pemCerts = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
        const fingerprints = (pem: string) => pemCerts(pem).map((c) => new crypto.X509Certificate(c).fingerprint256);
        const identities: string[] = [];
        // Two samples, each pod with its own service account: curl (sleep) and bookinfo's productpage.
        for (const app of ["curl", "productpage"]) {
            const pod = pods.find((p: any) => p.metadata.labels?.app === app);
            expect({ app, pod: pod?.metadata.name }).toEqual({ app, pod: expect.any(String) });
            const outDir = fs.mkdtempSync(path.join(world.root, `certs-${app}-`));
            const got = await runWorkloadAgent(world.cluster, world.bin, { namespace: "default", name: pod.metadata.name }, outDir);
            expect(got.files).toEqual(["cert-chain.pem", "key.pem", "root-cert.pem"]);

            const chain = pemCerts(got.certChainPem);
            const leaf = new crypto.X509Certificate(chain[0]);
            const identity = `spiffe://cluster.local/ns/default/sa/${pod.spec.serviceAccountName}`;
            expect(leaf.subjectAltName).toBe(`URI:${identity}`);
            identities.push(identity);
            expect(leaf.issuer).toBe(intermediate.subject);
            expect(leaf.verify(intermediate.publicKey)).toBe(true);
            expect(new crypto.X509Certificate(chain[1]).fingerprint256).toBe(intermediate.fingerprint256);
            expect(new crypto.X509Certificate(chain[chain.length - 1]).fingerprint256).toBe(root.fingerprint256);
            expect(leaf.checkPrivateKey(crypto.createPrivateKey(got.keyPem))).toBe(true);
            // The same certificate as the ConfigMap, not the same bytes: istiod fills the ConfigMap from its
            // --caCertFile, istiod-tls's ca.crt (pilot/pkg/bootstrap/certcontroller.go initFileCertificateWatches).
            expect(fingerprints(got.rootCertPem)).toEqual([root.fingerprint256]);
            expect(fingerprints(got.rootCertPem)).toEqual(fingerprints(distributed));

            // openssl, on the agent's own files: the leaf, through the rest of its chain, to root-cert.pem.
            const leafFile = path.join(outDir, "leaf.pem");
            const restFile = path.join(outDir, "chain-rest.pem");
            fs.writeFileSync(leafFile, `${chain[0]}\n`);
            fs.writeFileSync(restFile, `${chain.slice(1).join("\n")}\n`);
            const verified = execFileSync("openssl", ["verify", "-CAfile", path.join(outDir, "root-cert.pem"), "-untrusted", restFile, leafFile], { encoding: "utf8" });
            expect(verified.trim()).toBe(`${leafFile}: OK`);
        }
        expect(new Set(identities).size).toBe(2);
    });

    test("rotation: its preview deletes nothing the update keeps; the update puts every caBundle and Secret on the new root, and istiod restarted on them injects", async () => {
        const before = { root: (await outputs()).rootCertificate as string, cacerts: secretData("cacerts"), tls: secretData("istiod-tls") };
        const startsBefore = world.istiod.starts.length;
        await world.harness.stack.setConfig("istio-minikube:certificates.rotation", { value: "1" }, true);

        await run(world.harness, "preview (rotation)", (o) => world.harness.stack.preview(o));
        // Only the certificates and the checks (which run again) are replaced; no chart or sample object is deleted.
        expect(unexpectedDeletes(world.harness)).toEqual([]);
        const updated = world.harness.steps.filter((s) => s.op === "update").map((s) => s.urn.split("::").pop());
        expect(updated).toEqual(expect.arrayContaining(["cacerts", "istiod-tls", "istio-sidecar-injector", "istiod-default-validator", "istio-validator-istio-system"]));

        const up = await run(world.harness, "up (rotation)", (o) => world.harness.stack.up(o));
        figures.rotation = up.seconds;
        expect(Object.keys(up.result.summary.resourceChanges ?? {}).filter((op) => op === "delete")).toEqual([]);
        const root = (await outputs()).rootCertificate as string;
        expect(root).not.toBe(before.root);
        for (const [name, bundles] of Object.entries(caBundles())) for (const bundle of bundles) expect({ name, bundle }).toEqual({ name, bundle: root });
        expect(secretData("cacerts")["root-cert.pem"]).not.toBe(before.cacerts["root-cert.pem"]);
        expect(Buffer.from(secretData("istiod-tls")["ca.crt"], "base64").toString()).toBe(root);

        // istiod was started again on the new Secrets, and the API server accepts it through the new caBundle.
        expect(world.istiod.starts.length).toBeGreaterThan(startsBefore);
        expect(createPod(world, "default", "probe-after-rotation")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
        // The old serving certificate is not trusted any more: the new root did not sign it.
        const oldServing = new crypto.X509Certificate(Buffer.from(before.tls["tls.crt"], "base64").toString());
        expect(oldServing.verify(new crypto.X509Certificate(root).publicKey)).toBe(false);
        expect(new crypto.X509Certificate(Buffer.from(secretData("istiod-tls")["tls.crt"], "base64").toString()).verify(new crypto.X509Certificate(root).publicKey)).toBe(true);

        await run(world.harness, "preview (after rotation)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
    });

    test("the state holds no private key in plain text, in the export or in the backend's files", async () => {
        const exported = exportState(world.harness);
        expect(exported).toContain("mesh-certificates");
        // The keys are there, as ciphertext.
        expect(exported).toMatch(/"intermediateKeyPem":\s*\{\s*"4dabf18193072939515e22adb298388d":\s*"1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/);
        expect(plainPrivateKeys(exported)).toEqual([]);
        expect(plainPrivateKeys(backendText(world.harness))).toEqual([]);
    });

    test("destroy leaves none of the stack's objects but the documented ones", async () => {
        figures.destroy = (await run(world.harness, "destroy", (o) => world.harness.stack.destroy(o))).seconds;
        expect(objectNames(world, "namespaces").filter((n) => ["istio-system", "istio-ingress", "manual-inject", "outside-mesh"].includes(n))).toEqual([]);
        expect(objectNames(world, "mutatingwebhookconfigurations")).toEqual([]);
        expect(objectNames(world, "validatingwebhookconfigurations")).toEqual([]);
        expect([...objectNames(world, "clusterroles"), ...objectNames(world, "clusterrolebindings")].filter((n) => /istio|kiali|prometheus/.test(n))).toEqual([]);
        expect(objectNames(world, "deployments", ["--namespace=default"])).toEqual([]);
        expect((getJson(world, ["get", "namespace", "default"]) as any).metadata.labels?.["istio-injection"]).toBeUndefined();
        // Documented to stay (docs/teardown.md: On an existing cluster): the CRDs, labelled as this stack's, and
        // istiod's ConfigMaps in the namespaces that outlive the stack, never in kube-public or kube-node-lease
        // (istiod's namespace controller skips them: pilot/pkg/serviceregistry/kube/controller/namespacecontroller.go).
        const crds = objectNames(world, "customresourcedefinitions").filter((n) => n.endsWith(".istio.io"));
        expect(objectNames(world, "customresourcedefinitions", [`--selector=${OWNER_LABEL}=${OWNER}`])).toEqual(crds);
        const left = objectNames(world, "configmaps").filter((n) => /istio/.test(n));
        expect(left.every((n) => /\/istio-ca-(root-cert|crl)$/.test(n))).toBe(true);
        expect(left).toContain("default/istio-ca-root-cert");
        expect([...new Set(left.map((n) => n.split("/")[0]))].filter((ns) => !["default", "kube-system"].includes(ns))).toEqual([]);
    });

    test("up again on the same cluster: its own kept CRDs are not in the way; with istiod not answering it fails naming the webhook, and converges once istiod is back", async () => {
        // Without samples and the gateway, so no pod waits out its readiness timeout while the update fails.
        setStackConfigValue(world.harness, "istio-minikube:samples", []);
        setStackConfigValue(world.harness, "istio-minikube:gateway", { enabled: false });
        world.istiod.down = true;
        await expect(run(world.harness, "up (istiod not answering)", (o) => world.harness.stack.up(o))).rejects.toThrow(/failed calling webhook "validation\.istio\.io"/);
        world.istiod.down = false;
        await run(world.harness, "up (istiod back)", (o) => world.harness.stack.up(o));
        expect(createPod(world, "default", "probe-after-recovery")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
        await run(world.harness, "preview (converged)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
        await run(world.harness, "destroy (end)", (o) => world.harness.stack.destroy(o));
    });
});
