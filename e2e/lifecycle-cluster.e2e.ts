// The whole lifecycle of an existing-cluster stack (a name with '_') under the real Pulumi engine, against a
// real Kubernetes control plane with a kwok node and a real istiod, in the tier's network namespace.
//
// Real: the Pulumi CLI v3.276.0 and its engine, the kubernetes provider (a January 2026 commit, just
// before v4.25.0: the only one the Go module proxy serves), kube-apiserver, controller manager and scheduler
// v1.35.4 with etcd v3.6.16, kwok v0.8.0, istiod and istioctl from Istio's release-1.30 branch, the release
// archive's download and checksum, and the program's own scripts. Ours, because the proxy does not serve
// the real ones: the nodejs language host and the command provider (e2e/tools/language-host,
// e2e/tools/command-provider). Not here: Envoy, so the three curl checks are skipped by config.
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { AddressInfo } from "net";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { backendText, exportState, figuresLine, plainPrivateKeys, run, setStackConfigValue, noopPreviewSeconds, noopUpSeconds, noopSamplesLine } from "./harness/pulumiStack";
import { runWorkloadAgent } from "./harness/agent";
import { probeLine, programRefusals, startPodProbe, UNKNOWN_AUTHORITY } from "./harness/podProbe";
import { generateMeshCertificates, meshCertificateInputs } from "../components/trust/meshCertificates";
import { createPod, DATA_PLANE_CHECKS, deploymentAvailable, gatewayPods, getJson, objectNames, offlinePlanOf, plannedResources, podContainers, RELEASE_URL, stackOutputs, startWorld, stopWorld, unexpectedDeletes, World } from "./harness/lifecycle";
import { OWNER_LABEL, ownerLabelValue } from "../components/istio/existingIstio";

jest.setTimeout(20 * 60_000);

const STACK = "real_cluster";
const CONTEXT = "real-local";
const OWNER = ownerLabelValue("istio-minikube", STACK);
const figures: Record<string, number> = {};
/** Counts for the figures line: pods the program had refused during the trust (rotation), sign and retire steps. */
const counts: Record<string, number> = {};
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
/** The certificates of a PEM text, one block each (the stack's are node-forge's, with CRLF line ends). */
const pemCerts = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const fingerprintsOf = (pem: string) => pemCerts(pem).map((c) => new crypto.X509Certificate(c).fingerprint256);

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
            expect(fingerprintsOf(got.rootCertPem)).toEqual([root.fingerprint256]);
            expect(fingerprintsOf(got.rootCertPem)).toEqual(fingerprintsOf(distributed));

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

    test("the pod probe sees what a rotation must never cause: with a caBundle that does not hold the root of istiod's certificate, every pod is refused as x509 unknown authority", async () => {
        const webhook = getJson(world, ["get", "mutatingwebhookconfiguration", "istio-sidecar-injector"]) as any;
        const saved: string[] = webhook.webhooks.map((w: any) => w.clientConfig.caBundle);
        const stranger = generateMeshCertificates(meshCertificateInputs("stranger", { validityDays: 1, rotation: 0 })).rootCertPem;
        const setCaBundles = (bundles: string[]) =>
            world.cluster.kubectl(["patch", "mutatingwebhookconfiguration", "istio-sidecar-injector", "--type=json", `--patch=${JSON.stringify(bundles.map((b, i) => ({ op: "replace", path: `/webhooks/${i}/clientConfig/caBundle`, value: b })))}`]);
        setCaBundles(saved.map(() => Buffer.from(stranger).toString("base64")));
        try {
            const probe = startPodProbe(world.cluster, world.bin, "default", { prefix: "probe-control", maxAttempts: 6 });
            await new Promise((resolve) => setTimeout(resolve, 3500));
            const result = await probe.stop();
            process.stdout.write(`${probeLine("control (caBundle of another root)", result)}\n`);
            expect(result.refused[UNKNOWN_AUTHORITY]).toBe(result.attempts);
            expect(result.injected).toBe(0);
        } finally {
            setCaBundles(saved);
        }
        expect(createPod(world, "default", "probe-after-control")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
    });

    const oldAgent: { certs?: Awaited<ReturnType<typeof runWorkloadAgent>>; dir?: string } = {};
    const agentFor = async (app: string, label: string) => {
        const pod = getJson(world, ["get", "pods", "--namespace=default", `--selector=app=${app}`]).items.find((p: any) => !p.metadata.deletionTimestamp);
        const dir = fs.mkdtempSync(path.join(world.root, `agent-${label}-`));
        return { dir, certs: await runWorkloadAgent(world.cluster, world.bin, { namespace: "default", name: pod.metadata.name }, dir) };
    };
    const fingerprint = (pem: string) => fingerprintsOf(pem)[0];
    /** openssl's refusal of a chain whose root the bundle does not hold (the chain carries its own root, error 19, or not, error 20). */
    const NOT_TRUSTED = /self-signed certificate in certificate chain|unable to get local issuer certificate/;
    const decoded = (data: Record<string, string>, key: string) => Buffer.from(data[key], "base64").toString();
    /** openssl verify of an agent's leaf, through the rest of its chain, against a bundle: "OK" or openssl's error. */
    const verifyChain = (certs: { certChainPem: string }, bundlePem: string, dir: string): string => {
        const chain = pemCerts(certs.certChainPem);
        const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
        const args = ["verify", "-CAfile", write("bundle.pem", bundlePem), "-untrusted", write("rest.pem", `${chain.slice(1).join("\n")}\n`), write("leaf.pem", `${chain[0]}\n`)];
        const result = spawnSync("openssl", args, { encoding: "utf8" });
        return result.status === 0 ? "OK" : (result.stdout + result.stderr).trim();
    };
    /**
     * A TLS handshake on loopback between two agents' files, as two sidecars would do it: each presents its
     * cert-chain.pem and key.pem and requires the other's, verified against its own root-cert.pem. Istio checks
     * the peer's SPIFFE identity, not a host name, so the host name check is left out and the identities returned.
     */
    const mutualHandshake = async (server: { certChainPem: string; keyPem: string; rootCertPem: string }, client: { certChainPem: string; keyPem: string; rootCertPem: string }) => {
        const srv = tls.createServer({ cert: server.certChainPem, key: server.keyPem, ca: server.rootCertPem, requestCert: true, rejectUnauthorized: true });
        const serverSaw = new Promise<string>((resolve, reject) => {
            srv.on("secureConnection", (socket) => {
                resolve(socket.getPeerCertificate().subjectaltname ?? "");
                socket.end();
            });
            srv.on("tlsClientError", reject);
        });
        // Awaited below with the client's side; a server-side refusal is reported there, not as an unhandled rejection.
        serverSaw.catch(() => undefined);
        await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
        try {
            const { port } = srv.address() as AddressInfo;
            const clientSaw = await new Promise<string>((resolve, reject) => {
                const socket = tls.connect(
                    { host: "127.0.0.1", port, cert: client.certChainPem, key: client.keyPem, ca: client.rootCertPem, rejectUnauthorized: true, checkServerIdentity: () => undefined },
                    () => {
                        resolve(socket.getPeerCertificate().subjectaltname ?? "");
                        socket.end();
                    },
                );
                socket.on("error", reject);
            });
            return { serverSaw: await serverSaw, clientSaw };
        } finally {
            srv.close();
        }
    };
    const trustedByEveryConsumer = (): Record<string, string[]> => ({
        // Each configuration's webhooks share one caBundle; a difference shows as both.
        ...Object.fromEntries(Object.entries(caBundles()).map(([name, bundles]) => [`${name} caBundle`, fingerprintsOf([...new Set(bundles)].join(""))])),
        "cacerts root-cert.pem": fingerprintsOf(decoded(secretData("cacerts"), "root-cert.pem")),
        "istiod-tls ca.crt": fingerprintsOf(decoded(secretData("istiod-tls"), "ca.crt")),
        "istio-ca-root-cert (default)": fingerprintsOf((getJson(world, ["get", "configmap", "istio-ca-root-cert", "--namespace=default"]) as any).data["root-cert.pem"]),
    });
    /**
     * One step of a rotation (`keys` set as given): its preview deletes and replaces nothing but the checks
     * and updates exactly `updates` among the certificates and the five objects that take them; then its
     * `up`, with the probe creating a pod every 0.5 s, which the program must never have refused. Records the
     * step's time and refusals.
     */
    const certificateStepUnderLoad = async (step: "rotation" | "sign" | "retire", keys: Record<string, string>, updates: string[]) => {
        for (const [key, value] of Object.entries(keys)) await world.harness.stack.setConfig(`istio-minikube:${key}`, { value }, true);
        await run(world.harness, `preview (${step})`, (o) => world.harness.stack.preview(o));
        expect(unexpectedDeletes(world.harness)).toEqual([]);
        const updated = world.harness.steps.filter((s) => s.op === "update").map((s) => s.urn.split("::").pop());
        const trustObjects = ["mesh-certificates", "cacerts", "istiod-tls", "istio-sidecar-injector", "istiod-default-validator", "istio-validator-istio-system"];
        expect(trustObjects.filter((name) => updated.includes(name))).toEqual(updates);

        const rollsBefore = world.istiod.rolls.length;
        const probe = startPodProbe(world.cluster, world.bin, "default", { prefix: `during-${step}` });
        const up = await run(world.harness, `up (${step})`, (o) => world.harness.stack.up(o));
        await world.istiod.settled();
        const probed = await probe.stop();
        const rolls = world.istiod.rolls.slice(rollsBefore);
        process.stdout.write(`${probeLine(step, probed)}; istiod rolled ${rolls.length}× (next ready after ${rolls.map((r) => `${r.readySeconds.toFixed(1)}s`).join(", ")}, the previous one serving meanwhile: ${rolls.every((r) => r.previousServed)})\n`);
        // The tier's istiod rolled as the chart's Deployment does, so the probe ran against a Service that always had an istiod.
        expect(rolls.length).toBeGreaterThan(0);
        expect(rolls.filter((r) => !r.previousServed)).toEqual([]);
        figures[step] = up.seconds;
        counts[`${step}-refused-pods`] = programRefusals(probed);
        expect(Object.keys(up.result.summary.resourceChanges ?? {}).filter((op) => op === "delete")).toEqual([]);
        expect({ refusedByTheProgram: programRefusals(probed), notInjected: probed.notInjected }).toEqual({ refusedByTheProgram: 0, notInjected: 0 });
        expect(probed.injected).toBeGreaterThan(0);
    };
    const ALL_TRUST_OBJECTS = ["mesh-certificates", "cacerts", "istiod-tls", "istio-sidecar-injector", "istiod-default-validator", "istio-validator-istio-system"];
    const signingRootOf = (cacerts: Record<string, string>, candidates: string[]) =>
        candidates.find((root) => new crypto.X509Certificate(decoded(cacerts, "ca-cert.pem")).verify(new crypto.X509Certificate(root).publicKey));
    let roots: { old: string; fresh: string; oldPem: string; freshPem: string; oldServing: string } | undefined;
    /** An agent that got its certificate after the trust step, before the sign step: an old-root certificate, both roots trusted. */
    let trustedAgent: Awaited<ReturnType<typeof agentFor>> | undefined;

    test("trust (rotation with signing = rotation - 1): its preview deletes and replaces nothing; no pod is refused during the update; every consumer then trusts both roots while the old root still signs and istiod keeps its serving certificate", async () => {
        const before = { root: (await outputs()).rootCertificate as string, tls: secretData("istiod-tls"), cacerts: secretData("cacerts") };
        oldAgent.certs = (await agentFor("productpage", "before-rotation")).certs;
        const startsBefore = world.istiod.starts.length;
        await certificateStepUnderLoad("rotation", { "certificates.rotation": "1", "certificates.signing": "0" }, ALL_TRUST_OBJECTS);

        const bundle = pemCerts((await outputs()).trustBundle as string);
        roots = { old: fingerprint(before.root), fresh: fingerprint(bundle[0]), oldPem: before.root, freshPem: bundle[0], oldServing: decoded(before.tls, "tls.crt") };
        expect(roots.fresh).not.toBe(roots.old);
        expect(fingerprintsOf(bundle.join("\n"))).toEqual([roots.fresh, roots.old]);
        for (const [consumer, trusted] of Object.entries(trustedByEveryConsumer())) expect({ consumer, trusted }).toEqual({ consumer, trusted: [roots.fresh, roots.old] });
        // Nothing is handed a new-root certificate yet: the same signing intermediate, the same serving certificate.
        expect(fingerprint((await outputs()).rootCertificate as string)).toBe(roots.old);
        expect(decoded(secretData("cacerts"), "ca-cert.pem")).toBe(decoded(before.cacerts, "ca-cert.pem"));
        expect(decoded(secretData("istiod-tls"), "tls.crt")).toBe(roots.oldServing);
        // istiod restarted on the new bundle, so the certificates it issues carry it.
        expect(world.istiod.starts.length).toBeGreaterThan(startsBefore);

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

    test("after the trust step, a workload that renews or restarts gets an old-root certificate and trusts both roots; one that has not trusts only the old root", async () => {
        trustedAgent = await agentFor("productpage", "trusted");
        expect(fingerprintsOf(trustedAgent.certs.certChainPem)[2]).toBe(roots!.old);
        // istiod hands the whole bundle as the root of each certificate it issues (security/pkg/server/ca/server.go);
        // the agent writes it sorted (secretcache.go mergeConfigTrustBundle).
        expect(fingerprintsOf(trustedAgent.certs.rootCertPem).sort()).toEqual([roots!.fresh, roots!.old].sort());
        // The bundle an agent holds is what it was handed with its certificate (secretcache.go generateNewSecret):
        // the agent from before the trust step still has the old root alone. This is why the sign step waits.
        expect(fingerprintsOf(oldAgent.certs!.rootCertPem)).toEqual([roots!.old]);
    });

    test("sign: its preview updates cacerts alone of the objects that hold certificates, with every value known; no pod is refused during the update; the new root signs, every bundle and istiod's serving certificate stay", async () => {
        await certificateStepUnderLoad("sign", { "certificates.signing": "1" }, ["cacerts"]);

        expect(fingerprint((await outputs()).rootCertificate as string)).toBe(roots!.fresh);
        expect(signingRootOf(secretData("cacerts"), [roots!.oldPem, roots!.freshPem])).toBe(roots!.freshPem);
        for (const [consumer, trusted] of Object.entries(trustedByEveryConsumer())) expect({ consumer, trusted }).toEqual({ consumer, trusted: [roots!.fresh, roots!.old] });
        expect(decoded(secretData("istiod-tls"), "tls.crt")).toBe(roots!.oldServing);

        await run(world.harness, "preview (after sign)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
    });

    test("during the overlap, an agent holding an old-root certificate and one holding a new-root certificate each verify the other's chain against their own bundle, and complete a mutual TLS handshake", async () => {
        const fresh = await agentFor("curl", "signed");
        expect(fingerprintsOf(fresh.certs.certChainPem)[2]).toBe(roots!.fresh);
        expect(fingerprintsOf(fresh.certs.rootCertPem).sort()).toEqual([roots!.fresh, roots!.old].sort());
        const old = trustedAgent!;
        expect(fingerprintsOf(old.certs.certChainPem)[2]).toBe(roots!.old);

        // openssl verify: each leaf, through the rest of its chain, against the other's root-cert.pem.
        expect(verifyChain(old.certs, fresh.certs.rootCertPem, fresh.dir)).toBe("OK");
        expect(verifyChain(fresh.certs, old.certs.rootCertPem, old.dir)).toBe("OK");
        // A handshake on loopback, each side presenting its agent's files and requiring the other's.
        const peers = await mutualHandshake(old.certs, fresh.certs);
        expect(peers).toEqual({ serverSaw: expect.stringMatching(/^URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl$/), clientSaw: expect.stringMatching(/^URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage$/) });

        // The agent that did not renew between the trust and the sign step refuses the new-root certificate.
        expect(verifyChain(fresh.certs, oldAgent.certs!.rootCertPem, fresh.dir)).toMatch(NOT_TRUSTED);
    });

    test("retire: its preview deletes and replaces nothing; no pod is refused during the update; only the new root is trusted anywhere, istiod presents the new root's certificate, and an old-root certificate is refused", async () => {
        await certificateStepUnderLoad("retire", { "certificates.retired": "1" }, ALL_TRUST_OBJECTS);

        for (const [consumer, trusted] of Object.entries(trustedByEveryConsumer())) expect({ consumer, trusted }).toEqual({ consumer, trusted: [roots!.fresh] });
        const serving = decoded(secretData("istiod-tls"), "tls.crt");
        expect(serving).not.toBe(roots!.oldServing);
        const root = (await outputs()).rootCertificate as string;
        expect(new crypto.X509Certificate(serving).verify(new crypto.X509Certificate(root).publicKey)).toBe(true);
        expect(createPod(world, "default", "probe-after-retire")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });

        // What a workload trusts now: the new root alone; old-root certificates are refused.
        const after = await agentFor("curl", "after-retire");
        expect(fingerprintsOf(after.certs.rootCertPem)).toEqual([roots!.fresh]);
        expect(verifyChain(trustedAgent!.certs, after.certs.rootCertPem, after.dir)).toMatch(NOT_TRUSTED);
        expect(verifyChain(oldAgent.certs!, after.certs.rootCertPem, after.dir)).toMatch(NOT_TRUSTED);
        expect(verifyChain(after.certs, after.certs.rootCertPem, after.dir)).toBe("OK");

        await run(world.harness, "preview (after retire)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
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
