// The dev stack's lifecycle under the real Pulumi engine, as a user on a fresh laptop runs it: no minikube
// profile yet, plain `pulumi preview`, then `pulumi up`. minikube and docker are stand-ins
// (e2e/harness/standins.ts): `minikube start` points the profile's context at the tier's local API server,
// `minikube ip` gives the node's address, and image loads are recorded; MinikubeCluster's and ImagePreload's
// commands run for real against them. Everything else is as in lifecycle-cluster.e2e.ts: the pods run, with
// real Envoy sidecars, and every check runs; the product page answers on the gateway's node port.
import { backendText, exportState, figuresLine, plainPrivateKeys, run, noopPreviewSeconds, noopUpSeconds, noopSamplesLine } from "./harness/pulumiStack";
import { ALL_CHECKS, createPod, deploymentAvailable, gatewayNodePort, gatewayPods, getJson, objectNames, offlinePlanOf, plannedResources, podContainers, RELEASE_URL, stackOutputs, startWorld, stopWorld, World } from "./harness/lifecycle";
import { unexpectedChanges } from "./harness/rotation";
import { breakSidecars } from "./harness/dataPlane";
import { missingProfilePreviewMessage } from "../components/cluster/hostPreparation";

jest.setTimeout(20 * 60_000);

const STACK = "dev";
const PROFILE = "istio-dev";
const figures: Record<string, number> = {};
let noopSamples: { preview: number[]; up: number[] } = { preview: [], up: [] };
let world: World;

const outputs = () => stackOutputs(world);

beforeAll(async () => {
    world = await startWorld(STACK);
    // Pulumi.dev.yaml as it is (kvm2, 4 CPUs, 8 GB, STRICT, default auto, manual-inject manual), plus the one
    // setting a machine without internet needs.
    await world.harness.stack.setAllConfig({ "istio-minikube:istio.releaseUrl": { value: RELEASE_URL } }, true);
}, 10 * 60_000);

afterAll(async () => {
    if (world && Object.keys(figures).length > 0) process.stdout.write(`${figuresLine(STACK, figures)}\n`);
    if (noopSamples.preview.length > 0) process.stdout.write(`${noopSamplesLine(STACK, noopSamples)}\n`);
    await stopWorld(world);
});

describe("the dev stack on a fresh machine (stand-in minikube)", () => {
    test("a plain first preview succeeds with no profile yet, says why the charts are empty, and plans what the offline plan gives", async () => {
        expect(world.standins.profileExists(PROFILE)).toBe(false);
        const { seconds } = await run(world.harness, "preview", (o) => world.harness.stack.preview(o));
        figures.preview = seconds;
        expect(world.harness.output.at(-1)).toContain(missingProfilePreviewMessage(PROFILE).slice(0, 60));
        // A preview starts nothing.
        expect(world.standins.calls().filter((c) => /^start /.test(c))).toEqual([]);
        const offline = await offlinePlanOf(world);
        expect(plannedResources(world.harness)).toEqual(offline.resources.map((r) => `${r.type}::${r.name}`).sort());
    });

    test("a plain up creates the cluster, preloads the images and builds the whole mesh in one run", async () => {
        const { seconds } = await run(world.harness, "up", (o) => world.harness.stack.up(o));
        figures.up = seconds;
        expect(world.standins.profileExists(PROFILE)).toBe(true);
        const out = await outputs();
        expect(world.standins.loadedImages(PROFILE).sort()).toEqual([...(out.preloadedImages as string[])].sort());
        expect(out.preloadedImages).toEqual(expect.arrayContaining(["docker.io/istio/pilot:1.30.3", "docker.io/istio/proxyv2:1.30.3"]));
        for (const namespace of ["default", "manual-inject"]) {
            for (const [pod, containers] of Object.entries(podContainers(world, namespace))) expect({ pod, containers }).toEqual({ pod, containers: expect.arrayContaining(["istio-proxy"]) });
        }
        expect(createPod(world, "default", "probe-dev")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
        const results = out.verificationResults as { check: string; status: string; detail: string }[];
        expect(results.map((r) => [r.check, r.status])).toEqual(ALL_CHECKS.map((c) => [c, "pass"]));
        process.stdout.write(`checks (${STACK}):\n${results.map((r) => `  ${r.check}: ${r.detail}`).join("\n")}\n`);
    });

    test("the getting-started view: the gateway injected by the real istiod with the gateway template, bookinfo routed, the URL from minikube, the dashboards up", async () => {
        const out = await outputs();
        expect(deploymentAvailable(world, "istio-ingress", "istio-ingressgateway")).toBe(true);
        const pods = gatewayPods(world);
        expect(pods.length).toBeGreaterThanOrEqual(1);
        for (const pod of pods) {
            expect(pod.containers).toEqual(["istio-proxy"]);
            expect(pod.proxyArgs.slice(0, 2)).toEqual(["proxy", "router"]);
        }
        expect(objectNames(world, "gateways.networking.istio.io")).toEqual(["default/bookinfo-gateway"]);
        expect(objectNames(world, "virtualservices.networking.istio.io")).toEqual(["default/bookinfo"]);
        // minikube's answer for the profile (the stand-in gives the node's address) and the Service's node port.
        const node = getJson(world, ["get", "nodes"]).items[0];
        const address = node.status.addresses.find((a: { type: string }) => a.type === "InternalIP").address;
        expect(out.bookinfoUrl).toBe(`http://${address}:${gatewayNodePort(world)}/productpage`);
        // From the host, through kube-proxy's node port, the gateway's Envoy and productpage's sidecar.
        const page = world.cluster.exec("curl", ["--silent", "--show-error", "--max-time", "10", out.bookinfoUrl]).stdout;
        expect(page).toContain("<title>Simple Bookstore App</title>");
        expect(world.standins.calls()).toContain("ip --profile=istio-dev");
        expect(out.dashboards).toEqual(["prometheus", "kiali"]);
        for (const name of ["prometheus", "kiali"]) expect({ name, available: deploymentAvailable(world, "istio-system", name) }).toEqual({ name, available: true });
        expect(out.preloadedImages).toEqual(expect.arrayContaining(["quay.io/kiali/kiali:v2.26", "docker.io/prom/prometheus:v3.10.0"]));
    });

    test("nothing changed: three previews, three more ups and a refresh each change nothing", async () => {
        const previews = await noopPreviewSeconds(world.harness);
        figures["noop-preview"] = previews.median;
        const ups = await noopUpSeconds(world.harness);
        figures["noop-up"] = ups.median;
        noopSamples = { preview: previews.samples, up: ups.samples };
        figures.refresh = (await run(world.harness, "refresh", (o) => world.harness.stack.refresh({ ...o, expectNoChanges: true }))).seconds;
        // The running profile is not started again.
        expect(world.standins.calls().filter((c) => /^start /.test(c))).toHaveLength(1);
    });

    test("rotation: a preview that deletes nothing the update keeps, then the update", async () => {
        const before = (await outputs()).rootCertificate as string;
        await world.harness.stack.setConfig("istio-minikube:certificates.rotation", { value: "1" }, true);
        await run(world.harness, "preview (rotation)", (o) => world.harness.stack.preview(o));
        expect(unexpectedChanges(world.harness.steps)).toEqual([]);
        figures.rotation = (await run(world.harness, "up (rotation)", (o) => world.harness.stack.up(o))).seconds;
        expect((await outputs()).rootCertificate).not.toBe(before);
        expect(createPod(world, "manual-inject", "probe-no-webhook")).toEqual({ containers: ["app"] });
        expect(createPod(world, "default", "probe-rotated")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
    });

    /** A details pod Ready again with its istio-proxy started again by the kubelet. */
    const detailsBack = () =>
        getJson(world, ["get", "pods", "--namespace=default", "--selector=app=details"]).items.some(
            (pod: any) =>
                !pod.metadata.deletionTimestamp &&
                (pod.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True") &&
                [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].some((c: any) => c.name === "istio-proxy" && c.restartCount > 0),
        );

    const checkResults = async () =>
        Object.fromEntries(((await outputs()).verificationResults as { check: string; status: string; detail: string }[]).map((r) => [r.check, r]));

    test("with istio.mtls PERMISSIVE, plain text from outside the mesh is served, as on minikube; the checks that need STRICT say why they are skipped", async () => {
        await world.harness.stack.setConfig("istio-minikube:istio.mtls", { value: "PERMISSIVE" }, true);
        await run(world.harness, "up (PERMISSIVE)", (o) => world.harness.stack.up(o));
        const results = await checkResults();
        expect(results["plaintext-from-outside"]).toEqual({ check: "plaintext-from-outside", status: "pass", detail: "from outside the mesh: served (HTTP 200)" });
        expect(results["mtls-mode"]).toEqual({ check: "mtls-mode", status: "pass", detail: "PeerAuthentication istio-system/default: mode PERMISSIVE" });
        for (const check of ["curl-with-certificates", "curl-without-certificates"]) expect(results[check]).toEqual({ check, status: "skipped", detail: expect.stringContaining("PERMISSIVE") });
    });

    test("a broken data plane fails up with the check's message: details' Envoy gone, back to STRICT fails naming what the curl checks expected and saw; with the sidecar back, up converges", async () => {
        const restore = breakSidecars(world.cluster, "default", "app=details");
        let failure = "";
        try {
            await world.harness.stack.setConfig("istio-minikube:istio.mtls", { value: "STRICT" }, true);
            failure = await run(world.harness, "up (details' sidecar broken)", (o) => world.harness.stack.up(o)).then(
                () => "",
                (err: Error) => err.message,
            );
        } finally {
            restore();
        }
        process.stdout.write(`broken data plane (dev): ${failure.split("\n").filter((l) => l.includes("Check \"")).join("\n")}\n`);
        expect(failure).toMatch(/Check "curl-with-certificates" failed after 30 attempt\(s\)\. \| expected: HTTP 200 from https:\/\/details:9080\/details\/0 with the certificates in \/etc\/certs \| seen: +curl exit 7/);
        expect(failure).toMatch(/Check "plaintext-from-outside" failed after 30 attempt\(s\)/);
        // The agent, continued, finds Envoy gone and exits; the kubelet starts the container again.
        for (let waited = 0; !detailsBack(); waited += 1000) {
            if (waited > 180_000) throw new Error(`details' sidecar did not come back: ${JSON.stringify(getJson(world, ["get", "pods", "--namespace=default", "--selector=app=details"]))}`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        await run(world.harness, "up (details' sidecar back)", (o) => world.harness.stack.up(o));
        const results = await checkResults();
        expect(ALL_CHECKS.filter((check) => results[check]?.status !== "pass")).toEqual([]);
    });

    test("the state holds no private key in plain text", async () => {
        expect(plainPrivateKeys(exportState(world.harness))).toEqual([]);
        expect(plainPrivateKeys(backendText(world.harness))).toEqual([]);
    });

    test("destroy removes the stack's objects, the images and the profile", async () => {
        figures.destroy = (await run(world.harness, "destroy", (o) => world.harness.stack.destroy(o))).seconds;
        expect(world.standins.profileExists(PROFILE)).toBe(false);
        expect(world.standins.calls().filter((c) => /^image rm /.test(c)).length).toBeGreaterThanOrEqual(12);
        expect(objectNames(world, "namespaces").filter((n) => ["istio-system", "istio-ingress", "manual-inject", "outside-mesh"].includes(n))).toEqual([]);
        expect([...objectNames(world, "clusterroles"), ...objectNames(world, "clusterrolebindings")].filter((n) => /istio|kiali|prometheus/.test(n))).toEqual([]);
        expect([...objectNames(world, "mutatingwebhookconfigurations"), ...objectNames(world, "validatingwebhookconfigurations")]).toEqual([]);
        expect((getJson(world, ["get", "namespace", "default"]) as any).metadata.labels?.["istio-injection"]).toBeUndefined();
    });
});
