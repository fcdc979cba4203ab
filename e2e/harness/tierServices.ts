// What the tier adds to the cluster beside the program, each a stand-in for something a laptop or a cloud
// has and this machine does not, run as one background loop (every 250 ms, without blocking the suite):
// - the Telemetry that upstream Envoy needs (images.ts UPSTREAM_ENVOY_ISTIOD_ENV says why): applied as soon as
//   Istio's Telemetry CRD and istio-system exist, before istiod pushes a first config to a proxy, and again
//   after a destroy and a new up;
// - a load balancer: a Service of type LoadBalancer gets LB_IP as its address, as `minikube tunnel` or a
//   cloud's controller gives one; kube-proxy routes that address to the Service's endpoints.
import { spawn } from "child_process";
import * as path from "path";
import { LocalCluster, TOKEN } from "./localCluster";

/** The load balancer stand-in's address, on the node namespace's lo. */
export const LB_IP = "10.200.0.3";

/** Disables the prometheus metrics provider mesh-wide: istiod then adds no `istio.stats` filter (pilot/pkg/model/telemetry.go generateStatsConfig). */
export const UPSTREAM_ENVOY_TELEMETRY = {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: { name: "mesh-default", namespace: "istio-system", labels: { "app.kubernetes.io/managed-by": "istio-minikube-real-tier" } },
    spec: { metrics: [{ providers: [{ name: "prometheus" }], overrides: [{ match: { metric: "ALL_METRICS", mode: "CLIENT_AND_SERVER" }, disabled: true }] }] },
};

/** kubectl in the cluster's namespace, asynchronously (the suite's own calls go on meanwhile). */
export function kubectlAsync(cluster: LocalCluster, args: string[], input?: string): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(
            "ip",
            ["netns", "exec", cluster.namespace, path.join(cluster.bin, "kubectl"), "--server=https://127.0.0.1:6443", `--token=${TOKEN}`, "--insecure-skip-tls-verify=true", "--request-timeout=20s", ...args],
            { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: path.join(cluster.dir, "no-kubeconfig") } },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status: status ?? 1, stdout, stderr }));
        child.stdin.end(input ?? "");
    });
}

export function startTierServices(cluster: LocalCluster): { stop(): Promise<void> } {
    cluster.exec("ip", ["addr", "add", `${LB_IP}/32`, "dev", "lo"]);
    let stopped = false;
    const loop = (async () => {
        while (!stopped) {
            await applyTelemetry(cluster);
            await assignLoadBalancers(cluster);
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
    })();
    return {
        async stop() {
            stopped = true;
            await loop;
        },
    };
}

async function applyTelemetry(cluster: LocalCluster): Promise<void> {
    const present = await kubectlAsync(cluster, ["get", "telemetries.telemetry.istio.io", "mesh-default", "--namespace=istio-system", "--ignore-not-found", "-o", "name"]);
    // Not yet (no CRD, no namespace) or there already: nothing to do.
    if (present.status !== 0 || present.stdout.trim() !== "") return;
    await kubectlAsync(cluster, ["create", "-f", "-"], JSON.stringify(UPSTREAM_ENVOY_TELEMETRY));
}

async function assignLoadBalancers(cluster: LocalCluster): Promise<void> {
    const listed = await kubectlAsync(cluster, ["get", "services", "--all-namespaces", "-o", "json"]);
    if (listed.status !== 0) return;
    const services = (JSON.parse(listed.stdout) as { items: { metadata: { name: string; namespace: string }; spec: { type?: string }; status?: { loadBalancer?: { ingress?: unknown[] } } }[] }).items;
    for (const svc of services) {
        if (svc.spec.type !== "LoadBalancer" || (svc.status?.loadBalancer?.ingress ?? []).length > 0) continue;
        const patch = { status: { loadBalancer: { ingress: [{ ip: LB_IP, ipMode: "VIP" }] } } };
        await kubectlAsync(cluster, ["patch", "service", svc.metadata.name, `--namespace=${svc.metadata.namespace}`, "--subresource=status", "--type=merge", `--patch=${JSON.stringify(patch)}`]);
    }
}
