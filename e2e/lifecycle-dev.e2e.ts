// The dev stack's lifecycle under the real Pulumi engine, as a user on a fresh laptop runs it: no minikube
// profile yet, plain `pulumi preview`, then `pulumi up`. minikube and docker are stand-ins
// (e2e/harness/standins.ts): `minikube start` points the profile's context at the tier's local API server,
// and image loads are recorded; MinikubeCluster's and ImagePreload's commands run for real against them.
// Everything else is as in lifecycle-cluster.e2e.ts.
import { backendText, exportState, figuresLine, plainPrivateKeys, run, noopPreviewSeconds, noopUpSeconds, noopSamplesLine } from "./harness/pulumiStack";
import { createPod, DATA_PLANE_CHECKS, deploymentAvailable, gatewayNodePort, gatewayPods, getJson, objectNames, offlinePlanOf, plannedResources, podContainers, RELEASE_URL, stackOutputs, startWorld, stopWorld, unexpectedDeletes, World } from "./harness/lifecycle";
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
    // Pulumi.dev.yaml as it is (kvm2, 4 CPUs, 8 GB, STRICT, default auto, manual-inject manual), plus the two
    // settings a machine without internet and without a data plane needs.
    await world.harness.stack.setAllConfig(
        {
            "istio-minikube:istio.releaseUrl": { value: RELEASE_URL },
            ...Object.fromEntries(DATA_PLANE_CHECKS.map((check, i) => [`istio-minikube:skipChecks[${i}]`, { value: check }])),
        },
        true,
    );
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
        expect((out.verificationResults as { check: string; status: string }[]).map((r) => r.status)).toEqual(["pass", "pass", "pass", "skipped", "skipped", "skipped", "skipped"]);
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
        expect(unexpectedDeletes(world.harness)).toEqual([]);
        figures.rotation = (await run(world.harness, "up (rotation)", (o) => world.harness.stack.up(o))).seconds;
        expect((await outputs()).rootCertificate).not.toBe(before);
        expect(createPod(world, "manual-inject", "probe-no-webhook")).toEqual({ containers: ["app"] });
        expect(createPod(world, "default", "probe-rotated")).toEqual({ containers: expect.arrayContaining(["istio-proxy"]) });
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
