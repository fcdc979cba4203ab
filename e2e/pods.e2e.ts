// The tier runs its pods: the tier's kubelet (e2e/tools/kubelet) against the real API server, with kwok's
// node, kube-proxy and CoreDNS (localCluster.ts startNodes). What a pod spec says is what runs: the
// downward API and $(VAR) in env and args, volumes (configMap, emptyDir shared with an init container, the
// service account's projected token), the container's user, init containers first, Ready only from the
// readiness probe, and on deletion the grace period honoured; `kubectl exec` and `kubectl logs` reach the
// containers; a Service's ClusterIP and NodePort reach ready pods through kube-proxy, its name through
// CoreDNS. Each pod in a network namespace of its own, at the IP kwok gave it.
import { LocalCluster, NODE_IP, realTierBin, startLocalCluster } from "./harness/localCluster";
import { COREDNS_IMAGE, PAUSE_IMAGE } from "./harness/images";

jest.setTimeout(10 * 60_000);

const NS = "pods-test";
const CURL = "docker.io/curlimages/curl:8.16.0";
const DETAILS = "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3";
let cluster: LocalCluster;

const apply = (...objects: object[]) => cluster.kubectl(["apply", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });
const get = (args: string[]) => JSON.parse(cluster.kubectl([...args, "-o", "json"]).stdout);
const exec = (pod: string, container: string, command: string[], allowFail = false) =>
    cluster.kubectl(["exec", `--namespace=${NS}`, pod, "-c", container, "--", ...command], { allowFail });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
    }
}

const podReady = (name: string) => {
    const pod = get(["get", "pod", name, `--namespace=${NS}`]);
    return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True") ? pod : undefined;
};

beforeAll(async () => {
    cluster = await startLocalCluster(realTierBin("tier-kubelet"));
    cluster.kubectl(["create", "namespace", NS]);
    await waitFor("the namespace's default service account", () => cluster.kubectl(["get", "serviceaccount", "default", `--namespace=${NS}`], { allowFail: true }).status === 0);
}, 5 * 60_000);

afterAll(async () => {
    if (cluster) await cluster.stop();
});

describe("the tier's kubelet runs a pod as its spec says", () => {
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "spec-check", namespace: NS, labels: { app: "spec-check", "tier.test/label": "a_b" }, annotations: { note: 'with "quotes" and spaces' } },
        spec: {
            securityContext: { runAsUser: 1000, runAsGroup: 3000 },
            initContainers: [{ name: "prepare", image: CURL, command: ["/bin/sh", "-c", "echo from-init > /data/init.txt"], volumeMounts: [{ name: "data", mountPath: "/data" }] }],
            containers: [
                {
                    name: "main",
                    image: CURL,
                    // The kubelet expands $(GREETING) in the arguments and leaves $(UNSET_VARIABLE) as written; the
                    // shell then prints its positional parameters as they are.
                    command: ["/bin/sh", "-c", 'echo started "$1" "$2"; exec sleep infinity', "sh", "$(GREETING)", "$(UNSET_VARIABLE)"],
                    env: [
                        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                        { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                        { name: "GREETING", value: "hello-$(POD_NAME)" },
                    ],
                    volumeMounts: [
                        { name: "data", mountPath: "/data" },
                        { name: "settings", mountPath: "/etc/settings", readOnly: true },
                        { name: "podinfo", mountPath: "/etc/podinfo" },
                    ],
                    // Ready only once the test makes the file: the probe, not the process's start, decides.
                    readinessProbe: { exec: { command: ["test", "-f", "/data/ready"] }, periodSeconds: 1 },
                },
            ],
            volumes: [
                { name: "data", emptyDir: {} },
                { name: "settings", configMap: { name: "settings" } },
                {
                    name: "podinfo",
                    downwardAPI: {
                        items: [
                            { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
                            { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
                        ],
                    },
                },
            ],
        },
    };

    beforeAll(async () => {
        apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: NS }, data: { mode: "tier" } }, pod);
        await waitFor("the container to run", () => exec("spec-check", "main", ["true"], true).status === 0);
    });

    test("its own IP from kwok, in a network namespace of its own", () => {
        const stored = get(["get", "pod", "spec-check", `--namespace=${NS}`]);
        expect(stored.status.podIP).toMatch(/^10\.244\.0\.\d+$/);
        expect(stored.status.hostIP).toBe(NODE_IP);
        const addresses = exec("spec-check", "main", ["cat", "/proc/net/fib_trie"]).stdout;
        expect(addresses).toContain(stored.status.podIP);
        expect(addresses).not.toContain(NODE_IP);
        expect(exec("spec-check", "main", ["cat", "/etc/hostname"]).stdout.trim()).toBe("spec-check");
    });

    test("env from the downward API, $(VAR) expanded in env and command, an unknown one left as written", () => {
        const stored = get(["get", "pod", "spec-check", `--namespace=${NS}`]);
        const env = exec("spec-check", "main", ["env"]).stdout;
        expect(env).toContain(`POD_IP=${stored.status.podIP}\n`);
        expect(env).toContain("GREETING=hello-spec-check\n");
        expect(env).toMatch(/KUBERNETES_SERVICE_HOST=10\.96\.0\.1\n/);
        expect(cluster.kubectl(["logs", `--namespace=${NS}`, "spec-check", "-c", "main"]).stdout).toContain("started hello-spec-check $(UNSET_VARIABLE)");
    });

    test("the container's user and group; the init container ran first, in the shared emptyDir", () => {
        expect(exec("spec-check", "main", ["id", "-u"]).stdout.trim()).toBe("1000");
        expect(exec("spec-check", "main", ["id", "-g"]).stdout.trim()).toBe("3000");
        expect(exec("spec-check", "main", ["cat", "/data/init.txt"]).stdout.trim()).toBe("from-init");
        const stored = get(["get", "pod", "spec-check", `--namespace=${NS}`]);
        expect(stored.status.initContainerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    });

    test("volumes: a read-only configMap, the downward API's labels, the service account's token", () => {
        expect(exec("spec-check", "main", ["cat", "/etc/settings/mode"]).stdout).toBe("tier");
        expect(exec("spec-check", "main", ["sh", "-c", "echo x > /etc/settings/new"], true).status).not.toBe(0);
        // pkg/fieldpath FormatMap: sorted key="value" lines, Go-quoted, no newline at the end.
        expect(exec("spec-check", "main", ["cat", "/etc/podinfo/labels"]).stdout).toBe('app="spec-check"\ntier.test/label="a_b"');
        expect(exec("spec-check", "main", ["cat", "/etc/podinfo/annotations"]).stdout).toContain('note="with \\"quotes\\" and spaces"');
        const token = exec("spec-check", "main", ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"]).stdout;
        const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
        expect(claims["kubernetes.io"].pod.name).toBe("spec-check");
        expect(exec("spec-check", "main", ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"]).stdout).toBe(NS);
    });

    test("Ready only when its readiness probe passes", async () => {
        expect(podReady("spec-check")).toBeUndefined();
        exec("spec-check", "main", ["touch", "/data/ready"]);
        await waitFor("the pod to be Ready", () => podReady("spec-check"), 30_000);
    });

    test("`kubectl exec` runs in the container's PID namespace, and gives the command's exit code and stdin", () => {
        expect(exec("spec-check", "main", ["cat", "/proc/1/cmdline"]).stdout.split("\0")[0]).toBe("sleep");
        const result = exec("spec-check", "main", ["sh", "-c", "exit 7"], true);
        expect(result.status).toBe(7);
        expect(cluster.kubectl(["exec", "-i", `--namespace=${NS}`, "spec-check", "-c", "main", "--", "cat"], { input: "through stdin" }).stdout).toBe("through stdin");
    });
});

describe("Services through kube-proxy, names through CoreDNS", () => {
    beforeAll(async () => {
        const labels = { app: "details" };
        apply(
            {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "details", namespace: NS },
                spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "details", image: DETAILS, ports: [{ containerPort: 9080 }] }] } } },
            },
            { apiVersion: "v1", kind: "Service", metadata: { name: "details", namespace: NS }, spec: { type: "NodePort", selector: labels, ports: [{ name: "http", port: 9080, targetPort: 9080 }] } },
            { apiVersion: "v1", kind: "Pod", metadata: { name: "client", namespace: NS }, spec: { containers: [{ name: "curl", image: CURL, command: ["/bin/sleep", "infinity"] }] } },
        );
        cluster.kubectl(["rollout", "status", "deployment/details", `--namespace=${NS}`, "--timeout=120s"]);
        await waitFor("the client to run", () => exec("client", "curl", ["true"], true).status === 0);
    });

    test("from a pod: the Service's name resolves through CoreDNS and its ClusterIP reaches the app", () => {
        expect(COREDNS_IMAGE in cluster.images).toBe(true);
        const body = exec("client", "curl", ["curl", "--silent", "--show-error", "--max-time", "10", `http://details:9080/details/0`]).stdout;
        expect(JSON.parse(body)).toMatchObject({ id: 0 });
        const clusterIP = get(["get", "service", "details", `--namespace=${NS}`]).spec.clusterIP;
        const resolved = exec("client", "curl", ["curl", "--silent", "--max-time", "10", "--output", "/dev/null", "--write-out", "%{remote_ip}", `http://details.${NS}.svc.cluster.local:9080/details/0`]).stdout;
        expect(resolved).toBe(clusterIP);
    });

    test("from the node: the NodePort on the node's address", () => {
        const nodePort = get(["get", "service", "details", `--namespace=${NS}`]).spec.ports[0].nodePort;
        const result = cluster.exec("curl", ["--silent", "--show-error", "--max-time", "10", `http://${NODE_IP}:${nodePort}/details/0`]);
        expect(JSON.parse(result.stdout)).toMatchObject({ id: 0 });
    });

    test("a Service with no ready endpoint refuses at once, as kube-proxy's reject rule does", () => {
        cluster.kubectl(["scale", "deployment/details", `--namespace=${NS}`, "--replicas=0"]);
        cluster.kubectl(["wait", "--for=delete", "pod", "--selector=app=details", `--namespace=${NS}`, "--timeout=60s"]);
        const result = exec("client", "curl", ["curl", "--silent", "--max-time", "10", "http://details:9080/details/0"], true);
        expect(result.status).toBe(7); // couldn't connect
        cluster.kubectl(["scale", "deployment/details", `--namespace=${NS}`, "--replicas=1"]);
    });
});

describe("deletion", () => {
    test("a process that ignores SIGTERM is killed at the end of the grace period, not before, and the pod object goes", async () => {
        // sleep as PID 1 has no SIGTERM handler, so the kernel drops the signal: only the SIGKILL ends it.
        apply({ apiVersion: "v1", kind: "Pod", metadata: { name: "stubborn", namespace: NS }, spec: { terminationGracePeriodSeconds: 4, containers: [{ name: "main", image: CURL, command: ["/bin/sleep", "infinity"] }] } });
        await waitFor("the pod to be Ready", () => podReady("stubborn"));
        const started = Date.now();
        cluster.kubectl(["delete", "pod", "stubborn", `--namespace=${NS}`, "--wait=true", "--timeout=60s"]);
        const seconds = (Date.now() - started) / 1000;
        expect(seconds).toBeGreaterThanOrEqual(4);
        expect(seconds).toBeLessThan(20);
    });

    test("a pod whose image the tier does not stand in for is kwok's: Ready with no process", async () => {
        apply({ apiVersion: "v1", kind: "Pod", metadata: { name: "kwok-only", namespace: NS }, spec: { containers: [{ name: "pause", image: PAUSE_IMAGE }] } });
        await waitFor("kwok to mark it Ready", () => podReady("kwok-only"));
        expect(exec("kwok-only", "pause", ["true"], true).status).not.toBe(0);
    });
});
