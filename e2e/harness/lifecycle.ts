// What the lifecycle suites share: the tier's world for one stack (a local cluster whose node runs the pods
// the tier can run, istiod and the injected samples with their Envoy sidecars among them; the tier's
// Telemetry for upstream Envoy and its load balancer; the release served on loopback; the stack under the
// real CLI) and the look-ups the assertions make in the API server.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { API_SERVER, LocalCluster, realTierBin, startLocalCluster, TOKEN } from "./localCluster";
import { PAUSE_IMAGE } from "./images";
import { startTierServices } from "./tierServices";
import { newStack, StackHarness } from "./pulumiStack";
import { Standins, writeStandins } from "./standins";
import type { Plan } from "../../scripts/offline-plan";
import { planInChild } from "../../tests/helpers/plan";

export const ISTIO_RELEASE = "1.30.3";
const RELEASE_PORT = 8099;
export const RELEASE_URL = `http://127.0.0.1:${RELEASE_PORT}/istio-${ISTIO_RELEASE}-linux-amd64.tar.gz`;
/** Every check the program runs, in its order (components/verify/verification.ts): none is skipped in the tier. */
export const ALL_CHECKS = ["control-plane-ready", "mtls-mode", "sidecars-injected", "curl-with-certificates", "curl-without-certificates", "plaintext-from-outside", "ingress-productpage"];

export interface World {
    bin: string;
    root: string;
    cluster: LocalCluster;
    services: { stop(): Promise<void> };
    standins: Standins;
    kubeconfig: string;
    harness: StackHarness;
}

/** Starts the cluster, its node, the tier's services and the release server, and makes a new stack `stack`. */
export async function startWorld(stack: string, kubeContext?: string): Promise<World> {
    const bin = realTierBin("pulumi");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "imk-lifecycle-"));
    const cluster = await startLocalCluster(bin);
    // The user's kubeconfig: for an existing cluster, a context the stack names; for minikube, empty until
    // the stand-in's `start` writes the profile's context.
    const kubeconfig = path.join(root, "kubeconfig");
    if (kubeContext) fs.copyFileSync(cluster.writeKubeconfig(kubeContext), kubeconfig);
    else fs.writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] }), { mode: 0o600 });
    cluster.startProcess("release-server", "python3", ["-m", "http.server", "--bind", "127.0.0.1", String(RELEASE_PORT), "--directory", path.join(bin, "release")]);
    const services = startTierServices(cluster);
    const standins = writeStandins(root, { kubectl: path.join(bin, "kubectl"), server: API_SERVER, token: TOKEN });
    try {
        const harness = await newStack({ name: stack, cluster, bin, root, kubeconfig, extraPath: [standins.dir], env: standins.env });
        return { bin, root, cluster, services, standins, kubeconfig, harness };
    } catch (err) {
        await services.stop();
        await cluster.stop();
        throw err;
    }
}

export async function stopWorld(world: World | undefined): Promise<void> {
    if (!world) return;
    await world.services.stop();
    await world.cluster.stop();
    fs.rmSync(world.root, { recursive: true, force: true });
}

/** kubectl as the cluster's admin, parsed. */
export function getJson<T = { items: any[] }>(world: World, args: string[]): T {
    return JSON.parse(world.cluster.kubectl([...args, "--output=json"]).stdout) as T;
}

/** Names of the objects of a kind (all namespaces), as namespace/name or name. */
export function objectNames(world: World, kind: string, extra: string[] = []): string[] {
    const list = getJson(world, ["get", kind, "--all-namespaces", ...extra]);
    return list.items.map((o: any) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name)).sort();
}

/** The container names of the pods of a namespace, by pod. */
export function podContainers(world: World, namespace: string): Record<string, string[]> {
    const pods = getJson(world, ["get", "pods", `--namespace=${namespace}`]).items;
    return Object.fromEntries(
        pods.map((p: any) => [p.metadata.name, [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c: { name: string }) => c.name)]),
    );
}

/** Whether a Deployment reports the condition Available=True. */
export function deploymentAvailable(world: World, namespace: string, name: string): boolean {
    const deployment = getJson(world, ["get", "deployment", name, `--namespace=${namespace}`]) as any;
    return (deployment.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Available" && c.status === "True");
}

/**
 * The ingress gateway's pods as the API server stored them: their containers, and the arguments of their
 * istio-proxy (`proxy router` for the gateway template, `proxy sidecar` for a sidecar).
 */
export function gatewayPods(world: World): { containers: string[]; proxyArgs: string[] }[] {
    const pods = getJson(world, ["get", "pods", "--namespace=istio-ingress", "--selector=istio=ingressgateway"]).items;
    return pods.map((p: any) => ({
        containers: p.spec.containers.map((c: { name: string }) => c.name),
        proxyArgs: p.spec.containers.find((c: { name: string }) => c.name === "istio-proxy")?.args ?? [],
    }));
}

/** The node port Kubernetes gave the gateway Service's http2 port. */
export function gatewayNodePort(world: World): number {
    const service = getJson(world, ["get", "service", "istio-ingressgateway", "--namespace=istio-ingress"]) as any;
    return service.spec.ports.find((p: { name: string }) => p.name === "http2").nodePort;
}

/**
 * Creates a bare pod and returns its containers as the API server stored it (after the webhooks). Its image
 * is one the tier does not run (kwok's alone): the question is admission, and the pod is deleted at once.
 */
export function createPod(world: World, namespace: string, name: string): { containers?: string[]; error?: string } {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec: { containers: [{ name: "app", image: PAUSE_IMAGE }] } };
    const result = world.cluster.kubectl(["create", "-f", "-", "-o", "json"], { input: JSON.stringify(pod), allowFail: true });
    if (result.status !== 0) return { error: result.stderr };
    const spec = (JSON.parse(result.stdout) as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } }).spec;
    world.cluster.kubectl(["delete", "pod", name, `--namespace=${namespace}`, "--wait=false"], { allowFail: true });
    return { containers: [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name) };
}

/** The offline plan of the stack's copy of the project with the stack's config file, as `npm run plan` gives it. */
export function offlinePlanOf(world: World): Promise<Plan> {
    return planInChild({ projectDir: world.harness.projectDir, stack: world.harness.stack.name, env: { ...process.env, HOME: world.harness.home } });
}

/** `type::name` of the resources the engine planned in the last operation: the program's own (the stack included), not a chart's or a YAML group's children, nor default providers. */
export function plannedResources(harness: StackHarness): string[] {
    return [
        ...new Set(
            harness.steps
                .filter((s) => !/\$kubernetes:(helm\.sh\/v4:Chart|yaml\/v2:ConfigGroup)\$/.test(s.urn))
                .filter((s) => !(s.type.startsWith("pulumi:providers:") && s.urn.endsWith("::default") || /::default_[0-9_]+$/.test(s.urn)))
                .map((s) => `${s.type}::${s.urn.split("::").pop()}`),
        ),
    ].sort();
}

/** The stack's outputs, as `pulumi stack output` gives them. */
export async function stackOutputs(world: World): Promise<Record<string, any>> {
    return Object.fromEntries(Object.entries(await world.harness.stack.outputs()).map(([k, v]) => [k, v.value]));
}
