// The whole lifecycle of an existing-cluster stack (a name with '_') under the real Pulumi engine, against a
// real Kubernetes control plane whose node runs the pods the tier can run, in the tier's network namespace.
//
// Real: the Pulumi CLI v3.276.0 and its engine, the kubernetes provider (a January 2026 commit, just
// before v4.25.0: the only one the Go module proxy serves), kube-apiserver, controller manager, scheduler
// and kube-proxy v1.35.4 with etcd v3.6.16, kwok v0.8.0 for the node, CoreDNS v1.15.0, istiod, istioctl
// and Istio's agent from Istio's release-1.30 branch with upstream Envoy 1.40 as the sidecars' and the
// gateway's proxy, the release archive's download and checksum, and the program's own scripts and checks.
// Ours: the tier's kubelet (e2e/tools/kubelet), the nodejs language host and the command provider (the proxy
// does not serve the real ones), the bookinfo apps (e2e/tools/sample-app), the load balancer
// (tierServices.ts) and upstream Envoy's three settings (images.ts); docs/testing.md names each and why.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { backendText, exportState, figuresLine, plainPrivateKeys, run, setStackConfigValue, noopPreviewSeconds, noopUpSeconds, noopSamplesLine } from "./harness/pulumiStack";
import { probeLines, programRefusals, startPodProbe, underProbe, UNKNOWN_AUTHORITY } from "./harness/podProbe";
import { pauseIstiod, watchIstiod } from "./harness/istiod";
import { createWorkload, dataPlaneLine, rejectedConfigs, requestFrom, startDataPlaneProbe, workloadCertificates, WorkloadCertificates } from "./harness/dataPlane";
import { stepFindings } from "./harness/rotation";
import { LB_IP } from "./harness/tierServices";
import { generateMeshCertificates, meshCertificateInputs } from "../components/trust/meshCertificates";
import { ALL_CHECKS, createPod, deploymentAvailable, gatewayPods, getJson, objectNames, offlinePlanOf, plannedResources, podContainers, RELEASE_URL, stackOutputs, startWorld, stopWorld, World } from "./harness/lifecycle";
import { OWNER_LABEL, ownerLabelValue } from "../components/istio/existingIstio";

jest.setTimeout(20 * 60_000);

const STACK = "real_cluster";
const CONTEXT = "real-local";
const OWNER = ownerLabelValue("istio-minikube", STACK);
const figures: Record<string, number> = {};
/** Counts for the figures line: pods refused and requests failed during the trust (rotation), sign and retire steps. */
const counts: Record<string, number> = {};
let noopSamples: { preview: number[]; up: number[] } = { preview: [], up: [] };
let world: World;

const config = (kubeContext: string): ConfigMap => ({
    "istio-minikube:cluster": { value: "existing" },
    "istio-minikube:kubeContext": { value: kubeContext },
    "istio-minikube:istio.releaseUrl": { value: RELEASE_URL },
    "istio-minikube:injection.auto[0]": { value: "default" },
    "istio-minikube:injection.manual[0]": { value: "manual-inject" },
    // As Pulumi.cluster.yaml: the gateway behind the cluster's load balancer (the tier's stand-in).
    "istio-minikube:gateway.serviceType": { value: "LoadBalancer" },
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
/** The certificates of a PEM text, one block each (the stack's are node-forge's, with CRLF line ends). */
const pemCerts = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const fingerprintsOf = (pem: string) => pemCerts(pem).map((c) => new crypto.X509Certificate(c).fingerprint256);
const fingerprint = (pem: string) => fingerprintsOf(pem)[0];
const decoded = (data: Record<string, string>, key: string) => Buffer.from(data[key], "base64").toString();
/** openssl's refusal of a chain whose root the bundle does not hold (the chain carries its own root, error 19, or not, error 20). */
const NOT_TRUSTED = /self-signed certificate in certificate chain|unable to get local issuer certificate/;

/** openssl verify of a workload's leaf, through the rest of its chain, against a bundle: "OK" or openssl's error. */
function verifyChain(certs: { certChainPem: string }, bundlePem: string): string {
    const dir = fs.mkdtempSync(path.join(world.root, "verify-"));
    const chain = pemCerts(certs.certChainPem);
    const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const args = ["verify", "-CAfile", write("bundle.pem", bundlePem), "-untrusted", write("rest.pem", `${chain.slice(1).join("\n")}\n`), write("leaf.pem", `${chain[0]}\n`)];
    const result = spawnSync("openssl", args, { encoding: "utf8" });
    return result.status === 0 ? "OK" : (result.stdout + result.stderr).trim();
}

/** The SPIFFE identity a workload's certificate carries. */
const identityOf = (certs: WorkloadCertificates) => new crypto.X509Certificate(pemCerts(certs.certChainPem)[0]).subjectAltName ?? "";
/** The client identities the details app behind a server workload logged (its sidecar's x-forwarded-client-cert). */
const peersSeenBy = (namespace: string, pod: string, container = "app") =>
    [...world.cluster.kubectl(["logs", `--namespace=${namespace}`, pod, "-c", container]).stdout.matchAll(/ peer=(\S+)$/gm)].map((m) => m[1]);

beforeAll(async () => {
    world = await startWorld(STACK, CONTEXT);
}, 10 * 60_000);

afterAll(async () => {
    if (world && Object.keys(figures).length > 0) process.stdout.write(`${figuresLine(STACK, figures, counts)}\n`);
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

    test("up: the mesh is in the API server, its pods run; the real istiod injects through the program's webhook; all seven checks pass", async () => {
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

        // istiod runs as the process of its Deployment's pod, Ready from the chart's readiness probe.
        const istiodPods = getJson(world, ["get", "pods", "--namespace=istio-system", "--selector=app=istiod"]).items;
        expect(istiodPods.map((p: any) => p.status.containerStatuses[0].containerID)).toEqual([expect.stringMatching(/^tier:\/\/\d+$/)]);

        // Injection: by the real istiod through the webhook in default, by istioctl kube-inject in manual-inject;
        // every sample pod runs its proxy and its app, Ready.
        for (const namespace of ["default", "manual-inject"]) {
            const pods = podContainers(world, namespace);
            expect(Object.keys(pods).length).toBeGreaterThanOrEqual(7);
            for (const [pod, containers] of Object.entries(pods)) expect({ pod, containers }).toEqual({ pod, containers: expect.arrayContaining(["istio-proxy"]) });
        }
        for (const containers of Object.values(podContainers(world, "outside-mesh"))) expect(containers).not.toContain("istio-proxy");
        expect(createPod(world, "default", "probe-after-up")).toEqual({ containers: expect.arrayContaining(["istio-proxy", "app"]) });

        // Every check ran for real, the three curls through real Envoy sidecars and the product page through the gateway.
        const results = out.verificationResults as { check: string; status: string; detail: string }[];
        expect(results.map((r) => [r.check, r.status])).toEqual(ALL_CHECKS.map((c) => [c, "pass"]));
        process.stdout.write(`checks (${STACK}):\n${results.map((r) => `  ${r.check}: ${r.detail}`).join("\n")}\n`);

        // The gateway, injected with the gateway template, behind the tier's load balancer.
        expect(deploymentAvailable(world, "istio-ingress", "istio-ingressgateway")).toBe(true);
        for (const pod of gatewayPods(world)) expect(pod.proxyArgs.slice(0, 2)).toEqual(["proxy", "router"]);
        expect(out.bookinfoUrl).toBe(`http://${LB_IP}/productpage`);
        const page = world.cluster.exec("curl", ["--silent", "--show-error", "--max-time", "10", out.bookinfoUrl]).stdout;
        expect(page).toContain("<title>Simple Bookstore App</title>");
        // The project's default dashboards (this stack sets no addons): kwok's pods, no process runs them.
        for (const name of ["prometheus", "kiali"]) expect({ name, available: deploymentAvailable(world, "istio-system", name) }).toEqual({ name, available: true });
    });

    test("the data plane is real Envoy: no proxy rejected a configuration, and a request between two sidecars carries the client's SPIFFE identity", async () => {
        const rejected = rejectedConfigs(world.cluster);
        process.stdout.write(`rejected configs (${STACK}): ${rejected.proxies} proxies, ${Object.values(rejected.perProxy).reduce((a, b) => a + b, 0)} update_rejected, ${rejected.istiodAckErrors} ACK ERROR in istiod's log\n`);
        // Every injected sample, the gateway.
        expect(rejected.proxies).toBeGreaterThanOrEqual(15);
        expect(Object.entries(rejected.perProxy).filter(([, n]) => n > 0)).toEqual([]);
        expect(rejected.istiodAckErrors).toBe(0);
        // productpage asked details for the page the checks fetched: details' sidecar passed on productpage's identity.
        const details = getJson(world, ["get", "pods", "--namespace=default", "--selector=app=details"]).items.find((p: any) => !p.metadata.deletionTimestamp);
        expect(peersSeenBy("default", details.metadata.name, "details")).toContain("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
    });

    test("nothing changed: three previews, three more ups and a refresh each change nothing", async () => {
        const previews = await noopPreviewSeconds(world.harness);
        figures["noop-preview"] = previews.median;
        const ups = await noopUpSeconds(world.harness);
        figures["noop-up"] = ups.median;
        noopSamples = { preview: previews.samples, up: ups.samples };
        figures.refresh = (await run(world.harness, "refresh", (o) => world.harness.stack.refresh({ ...o, expectNoChanges: true }))).seconds;
    });

    test("the sidecars' workload certificates come from the real istiod: the pod's SPIFFE identity, the stack's intermediate, three files that verify against the stack's root with openssl", async () => {
        const root = new crypto.X509Certificate((await outputs()).rootCertificate as string);
        const intermediate = new crypto.X509Certificate(decoded(secretData("cacerts"), "ca-cert.pem"));
        const distributed = (getJson(world, ["get", "configmap", "istio-ca-root-cert", "--namespace=default"]) as any).data["root-cert.pem"] as string;
        await createWorkload(world.cluster, { namespace: "default", name: "workload-curl", account: "curl" });
        const productpage = getJson(world, ["get", "pods", "--namespace=default", "--selector=app=productpage"]).items.find((p: any) => !p.metadata.deletionTimestamp);
        const identities: string[] = [];
        for (const [pod, account] of [
            [productpage.metadata.name, "bookinfo-productpage"],
            ["workload-curl", "curl"],
        ]) {
            const got = workloadCertificates(world.cluster, "default", pod);
            const chain = pemCerts(got.certChainPem);
            const leaf = new crypto.X509Certificate(chain[0]);
            expect(leaf.subjectAltName).toBe(`URI:spiffe://cluster.local/ns/default/sa/${account}`);
            identities.push(leaf.subjectAltName!);
            expect(leaf.issuer).toBe(intermediate.subject);
            expect(leaf.verify(intermediate.publicKey)).toBe(true);
            expect(new crypto.X509Certificate(chain[1]).fingerprint256).toBe(intermediate.fingerprint256);
            expect(new crypto.X509Certificate(chain[chain.length - 1]).fingerprint256).toBe(root.fingerprint256);
            expect(leaf.checkPrivateKey(crypto.createPrivateKey(got.keyPem))).toBe(true);
            // The same certificate as the ConfigMap, not the same bytes: istiod fills the ConfigMap from its
            // --caCertFile, istiod-tls's ca.crt (pilot/pkg/bootstrap/certcontroller.go initFileCertificateWatches).
            expect(fingerprintsOf(got.rootCertPem)).toEqual([root.fingerprint256]);
            expect(fingerprintsOf(got.rootCertPem)).toEqual(fingerprintsOf(distributed));
            expect(verifyChain(got, got.rootCertPem)).toBe("OK");
        }
        expect(new Set(identities).size).toBe(2);
    });

    test("the pod probe sees what a rotation must never cause: with a caBundle that does not hold the root of istiod's certificate, every pod is refused as x509 unknown authority", async () => {
        const webhook = getJson(world, ["get", "mutatingwebhookconfiguration", "istio-sidecar-injector"]) as any;
        const saved: string[] = webhook.webhooks.map((w: any) => w.clientConfig.caBundle);
        const stranger = generateMeshCertificates(meshCertificateInputs("stranger", { validityDays: 1, rotation: 0 })).rootCertPem;
        const setCaBundles = (bundles: string[]) =>
            world.cluster.kubectl(["patch", "mutatingwebhookconfiguration", "istio-sidecar-injector", "--type=json", `--patch=${JSON.stringify(bundles.map((b, i) => ({ op: "replace", path: `/webhooks/${i}/clientConfig/caBundle`, value: b })))}`]);
        setCaBundles(saved.map(() => Buffer.from(stranger).toString("base64")));
        try {
            const { probe } = await underProbe(
                () => startPodProbe(world.cluster, "default", { prefix: "probe-control", maxAttempts: 6 }),
                () => new Promise((resolve) => setTimeout(resolve, 3500)),
            );
            process.stdout.write(`${probeLines("control (caBundle of another root)", probe).join("\n")}\n`);
            expect(probe.refused[UNKNOWN_AUTHORITY]).toBe(probe.attempts);
            expect(programRefusals(probe)).toBe(probe.attempts);
            expect(probe.injected).toBe(0);
        } finally {
            setCaBundles(saved);
        }
        expect(createPod(world, "default", "probe-after-control")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
    });

    const trustedByEveryConsumer = (): Record<string, string[]> => ({
        // Each configuration's webhooks share one caBundle; a difference shows as both.
        ...Object.fromEntries(Object.entries(caBundles()).map(([name, bundles]) => [`${name} caBundle`, fingerprintsOf([...new Set(bundles)].join(""))])),
        "cacerts root-cert.pem": fingerprintsOf(decoded(secretData("cacerts"), "root-cert.pem")),
        "istiod-tls ca.crt": fingerprintsOf(decoded(secretData("istiod-tls"), "ca.crt")),
        "istio-ca-root-cert (default)": fingerprintsOf((getJson(world, ["get", "configmap", "istio-ca-root-cert", "--namespace=default"]) as any).data["root-cert.pem"]),
    });
    const ALL_TRUST_OBJECTS = ["mesh-certificates", "cacerts", "istiod-tls", "istio-sidecar-injector", "istiod-default-validator", "istio-validator-istio-system"];

    /**
     * One step of a rotation (`keys` set as given): its preview, then its `up` under three probes: a bare pod
     * created every 0.5 s (admission through istiod's webhook), a request every 0.2 s from a sidecar client
     * made before the step to bookinfo's details (whose pods the step rolls) through both Envoys, and istiod's
     * pods (a new ReplicaSet, a Ready istiod at every moment). Returns stepFindings' verdict with the figures.
     */
    const rotationStep = async (step: string, keys: Record<string, string>, updates: string[]) => {
        for (const [key, value] of Object.entries(keys)) await world.harness.stack.setConfig(`istio-minikube:${key}`, { value }, true);
        await run(world.harness, `preview (${step})`, (o) => world.harness.stack.preview(o));
        const previewSteps = [...world.harness.steps];
        const updated = previewSteps.filter((s) => s.op === "update").map((s) => s.urn.split("::").pop()!);
        const dataPlane = await startDataPlaneProbe(world.cluster, "default", `dp-${step}`, "http://details:9080/details/0");
        const roll = await watchIstiod(world.cluster);
        dataPlane.start();
        let up: Awaited<ReturnType<typeof run>> | undefined;
        let rollResult: Awaited<ReturnType<Awaited<ReturnType<typeof watchIstiod>>["stop"]>>;
        let probe: Awaited<ReturnType<ReturnType<typeof startPodProbe>["stop"]>>;
        try {
            ({ value: up, probe } = await underProbe(
                () => startPodProbe(world.cluster, "default", { prefix: `during-${step}` }),
                () => run(world.harness, `up (${step})`, (o) => world.harness.stack.up(o)),
            ));
        } finally {
            rollResult = await roll.stop();
        }
        const requests = await dataPlane.stop();
        world.cluster.kubectl(["delete", "pod", `dp-${step}`, "--namespace=default", "--wait=false"]);
        const findings = stepFindings({
            previewSteps,
            upSteps: [...world.harness.steps],
            updatedTrustObjects: ALL_TRUST_OBJECTS.filter((name) => updated.includes(name)),
            expectedTrustUpdates: updates,
            roll: rollResult,
            probe,
            dataPlane: requests,
        });
        process.stdout.write(
            [
                ...probeLines(step, probe),
                dataPlaneLine(step, requests),
                `${step}: istiod ${rollResult.newReplicaSets.length} new ReplicaSet(s) (${rollResult.newReplicaSets.join(", ")}), fewest Ready istiod pods ${rollResult.minReadyPods} in ${rollResult.samples} samples`,
            ].join("\n") + "\n",
        );
        figures[step] = up.seconds;
        counts[`${step}-refused-pods`] = programRefusals(probe);
        counts[`${step}-failed-requests`] = requests.failed;
        return { findings, probe, requests, roll: rollResult };
    };

    /** Roots of the rotation, by fingerprint and PEM: the old (root 0) and the fresh (root 1). */
    let roots: { old: string; fresh: string; oldPem: string; freshPem: string; oldServing: string } | undefined;
    /** Workloads of the test's own, each made at one moment of the rotation, with the certificates its proxy holds. */
    const workloads: Record<string, WorkloadCertificates> = {};
    const workload = async (name: string, opts: { serve?: boolean } = {}) => {
        await createWorkload(world.cluster, { namespace: "default", name, account: name, serve: opts.serve });
        workloads[name] = workloadCertificates(world.cluster, "default", name);
        return workloads[name];
    };
    const signingRootOf = (cacerts: Record<string, string>, candidates: string[]) =>
        candidates.find((root) => new crypto.X509Certificate(decoded(cacerts, "ca-cert.pem")).verify(new crypto.X509Certificate(root).publicKey));

    test("trust (rotation with signing = rotation - 1): nothing deleted or replaced; no pod refused and no request failed during the update; istiod rolled by its Deployment; every consumer then trusts both roots while the old root still signs", async () => {
        const before = { root: (await outputs()).rootCertificate as string, tls: secretData("istiod-tls"), cacerts: secretData("cacerts") };
        // A workload from before the rotation, that will not restart: it holds the old root alone.
        await workload("before-rotation", { serve: true });
        const { findings } = await rotationStep("rotation", { "certificates.rotation": "1", "certificates.signing": "0" }, ALL_TRUST_OBJECTS);
        expect(findings).toEqual([]);

        const bundle = pemCerts((await outputs()).trustBundle as string);
        roots = { old: fingerprint(before.root), fresh: fingerprint(bundle[0]), oldPem: before.root, freshPem: bundle[0], oldServing: decoded(before.tls, "tls.crt") };
        expect(roots.fresh).not.toBe(roots.old);
        expect(fingerprintsOf(bundle.join("\n"))).toEqual([roots.fresh, roots.old]);
        for (const [consumer, trusted] of Object.entries(trustedByEveryConsumer())) expect({ consumer, trusted }).toEqual({ consumer, trusted: [roots.fresh, roots.old] });
        // Nothing is handed a new-root certificate yet: the same signing intermediate, the same serving certificate.
        expect(fingerprint((await outputs()).rootCertificate as string)).toBe(roots.old);
        expect(decoded(secretData("cacerts"), "ca-cert.pem")).toBe(decoded(before.cacerts, "ca-cert.pem"));
        expect(decoded(secretData("istiod-tls"), "tls.crt")).toBe(roots.oldServing);

        await run(world.harness, "preview (after trust)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));

        // The engine's check sees the inputs the trust step left in the state: retiring in the up that
        // switches the signer, or rotating again, is refused before anything changes.
        await world.harness.stack.removeConfig("istio-minikube:certificates.signing", true);
        await world.harness.stack.setConfig("istio-minikube:certificates.retired", { value: "1" }, true);
        await expect(run(world.harness, "preview (retire in the signer switch)", (o) => world.harness.stack.preview(o))).rejects.toThrow(
            /istio-minikube:certificates\.retired = 1 is not allowed in the up that switches the signer/,
        );
        await world.harness.stack.removeConfig("istio-minikube:certificates.retired", true);
        await world.harness.stack.setConfig("istio-minikube:certificates.rotation", { value: "2" }, true);
        await expect(run(world.harness, "preview (rotation before the sign step)", (o) => world.harness.stack.preview(o))).rejects.toThrow(
            /istio-minikube:certificates\.rotation = 2 is not allowed while root 0 still signs/,
        );
        await world.harness.stack.setConfig("istio-minikube:certificates.rotation", { value: "1" }, true);
        await world.harness.stack.setConfig("istio-minikube:certificates.signing", { value: "0" }, true);
    });

    test("after the trust step, a workload that starts gets an old-root certificate and trusts both roots; one that has not restarted trusts only the old root", async () => {
        const trusted = await workload("after-trust", { serve: true });
        expect(fingerprintsOf(trusted.certChainPem)[2]).toBe(roots!.old);
        // istiod hands the whole bundle as the root of each certificate it issues (security/pkg/server/ca/server.go);
        // the agent writes it sorted (secretcache.go mergeConfigTrustBundle).
        expect(fingerprintsOf(trusted.rootCertPem).sort()).toEqual([roots!.fresh, roots!.old].sort());
        // The bundle a proxy holds is what it was handed with its certificate (secretcache.go generateNewSecret):
        // the workload from before the trust step still has the old root alone. This is why the sign step waits.
        expect(fingerprintsOf(workloads["before-rotation"].rootCertPem)).toEqual([roots!.old]);
    });

    test("sign: it updates cacerts alone of the objects that hold certificates; no pod refused and no request failed; istiod rolled; the new root signs, every bundle and istiod's serving certificate stay", async () => {
        const { findings } = await rotationStep("sign", { "certificates.signing": "1" }, ["cacerts"]);
        expect(findings).toEqual([]);

        expect(fingerprint((await outputs()).rootCertificate as string)).toBe(roots!.fresh);
        expect(signingRootOf(secretData("cacerts"), [roots!.oldPem, roots!.freshPem])).toBe(roots!.freshPem);
        for (const [consumer, trusted] of Object.entries(trustedByEveryConsumer())) expect({ consumer, trusted }).toEqual({ consumer, trusted: [roots!.fresh, roots!.old] });
        expect(decoded(secretData("istiod-tls"), "tls.crt")).toBe(roots!.oldServing);

        await run(world.harness, "preview (after sign)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
    });

    test("during the overlap, a workload holding an old-root certificate and one holding a new-root certificate serve each other through their Envoys, each seeing the other's identity; one that did not restart refuses the new root", async () => {
        const signed = await workload("after-sign", { serve: true });
        const old = workloads["after-trust"];
        expect(fingerprintsOf(signed.certChainPem)[2]).toBe(roots!.fresh);
        expect(fingerprintsOf(signed.rootCertPem).sort()).toEqual([roots!.fresh, roots!.old].sort());
        expect(fingerprintsOf(old.certChainPem)[2]).toBe(roots!.old);

        // openssl verify: each leaf, through the rest of its chain, against the other's root-cert.pem.
        expect(verifyChain(old, signed.rootCertPem)).toBe("OK");
        expect(verifyChain(signed, old.rootCertPem)).toBe("OK");
        // Requests through both Envoys, both ways, each server's sidecar passing on the client's identity.
        expect(requestFrom(world.cluster, "default", "after-trust", "http://after-sign:9080/details/0")).toMatchObject({ exit: 0, code: "200" });
        expect(requestFrom(world.cluster, "default", "after-sign", "http://after-trust:9080/details/0")).toMatchObject({ exit: 0, code: "200" });
        expect(peersSeenBy("default", "after-sign")).toContain(identityOf(old).replace(/^URI:/, ""));
        expect(peersSeenBy("default", "after-trust")).toContain(identityOf(signed).replace(/^URI:/, ""));

        // The workload that did not restart between the trust and the sign step refuses the new-root certificate,
        // in openssl and in its Envoy (the client side checks the server's chain).
        expect(verifyChain(signed, workloads["before-rotation"].rootCertPem)).toMatch(NOT_TRUSTED);
        expect(requestFrom(world.cluster, "default", "before-rotation", "http://after-sign:9080/details/0").code).toBe("503");
    });

    test("retire: nothing deleted or replaced; no pod refused and no request failed; istiod rolled; only the new root is trusted anywhere, istiod presents the new root's certificate, and Envoy refuses an old-root client", async () => {
        const { findings } = await rotationStep("retire", { "certificates.retired": "1" }, ALL_TRUST_OBJECTS);
        expect(findings).toEqual([]);

        for (const [consumer, trusted] of Object.entries(trustedByEveryConsumer())) expect({ consumer, trusted }).toEqual({ consumer, trusted: [roots!.fresh] });
        const serving = decoded(secretData("istiod-tls"), "tls.crt");
        expect(serving).not.toBe(roots!.oldServing);
        const root = (await outputs()).rootCertificate as string;
        expect(new crypto.X509Certificate(serving).verify(new crypto.X509Certificate(root).publicKey)).toBe(true);
        expect(createPod(world, "default", "probe-after-retire")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });

        // What a workload trusts now: the new root alone; old-root certificates are refused.
        const after = await workload("after-retire", { serve: true });
        expect(fingerprintsOf(after.rootCertPem)).toEqual([roots!.fresh]);
        expect(verifyChain(workloads["after-trust"], after.rootCertPem)).toMatch(NOT_TRUSTED);
        expect(verifyChain(workloads["before-rotation"], after.rootCertPem)).toMatch(NOT_TRUSTED);
        expect(verifyChain(after, after.rootCertPem)).toBe("OK");
        // Through Envoy: the new-root client is served; the old-root client is refused by the server's sidecar.
        expect(requestFrom(world.cluster, "default", "after-sign", "http://after-retire:9080/details/0")).toMatchObject({ exit: 0, code: "200" });
        expect(requestFrom(world.cluster, "default", "after-trust", "http://after-retire:9080/details/0").code).toBe("503");

        await run(world.harness, "preview (after retire)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
    });

    test("counter-test: with the pod-template annotation that rolls istiod removed from the program, a rotation step's findings name it, so the steps above cannot pass without the program's roll", async () => {
        // The stack's copy of the program, with istiod's podAnnotations gone from its chart values.
        const file = path.join(world.harness.projectDir, "components", "istio", "chartValues.ts");
        const original = fs.readFileSync(file, "utf8");
        // The first podAnnotations is istiod's (istiodChartValues comes before the gateway's values).
        const stripped = original.replace(/podAnnotations: \{ \[CERTIFICATES_ANNOTATION\]: inputs\.certificates \},/, "");
        expect(stripped).not.toBe(original);
        fs.writeFileSync(file, stripped);
        try {
            // An up with the annotation gone rolls istiod once (its template changed); the next step must not.
            await run(world.harness, "up (annotation removed)", (o) => world.harness.stack.up(o));
            const { findings } = await rotationStep("counter", { "certificates.rotation": "2", "certificates.signing": "1" }, ALL_TRUST_OBJECTS);
            expect(findings).toContain("istiod did not roll: its Deployment made no new ReplicaSet");
        } finally {
            fs.writeFileSync(file, original);
        }
        await run(world.harness, "up (annotation back)", (o) => world.harness.stack.up(o));
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
        expect(objectNames(world, "deployments").filter((n) => n.startsWith("default/"))).toEqual([]);
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
        // The test's own workloads go first: their sidecars would wait for an istiod that no longer exists.
        world.cluster.kubectl(["delete", "pod,service", "--namespace=default", "--selector=tier.test/workload=true", "--wait=true", "--timeout=120s"]);
        // Without samples and the gateway, so no pod waits out its readiness timeout while the update fails.
        setStackConfigValue(world.harness, "istio-minikube:samples", []);
        setStackConfigValue(world.harness, "istio-minikube:gateway", { enabled: false });
        // The first up makes istiod again; then it stops answering (its process stopped: readiness fails, and
        // kube-proxy takes it out of the Service), and the next up that asks it to validate an object fails.
        await run(world.harness, "up (again)", (o) => world.harness.stack.up(o));
        pauseIstiod(world.cluster);
        try {
            await world.harness.stack.setConfig("istio-minikube:istio.mtls", { value: "PERMISSIVE" }, true);
            await expect(run(world.harness, "up (istiod not answering)", (o) => world.harness.stack.up(o))).rejects.toThrow(/failed calling webhook "validation\.istio\.io"/);
        } finally {
            pauseIstiod(world.cluster, true);
        }
        await run(world.harness, "up (istiod back)", (o) => world.harness.stack.up(o));
        expect(createPod(world, "default", "probe-after-recovery")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
        await run(world.harness, "preview (converged)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
        await run(world.harness, "destroy (end)", (o) => world.harness.stack.destroy(o));
    });
});
