// The data plane as the suites use it: workload pods of the test's own (injected by the program's webhook,
// their istio-proxy writing its certificates to /etc/certs as productpage's does), requests between
// sidecars, a probe that sends one every 0.2 s from a sidecar client to a sidecar server, and the count of
// configurations Envoy rejected. Everything goes through `kubectl exec` and `kubectl logs`, which the tier's
// kubelet serves.
import * as fs from "fs";
import { OUTPUT_CERTS_ANNOTATIONS } from "../../components/mesh/sampleManifests";
import { LocalCluster } from "./localCluster";
import { kubectlAsync } from "./tierServices";

export const CURL_IMAGE = "docker.io/curlimages/curl:8.16.0";
/** bookinfo's details image: the tier runs its stand-in app on :9080. */
export const SERVER_IMAGE = "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3";

export interface WorkloadCertificates {
    certChainPem: string;
    keyPem: string;
    rootCertPem: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a pod is Ready, or throws with its status after `timeoutMs`. */
export async function waitReady(cluster: LocalCluster, namespace: string, name: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const got = cluster.kubectl(["get", "pod", name, `--namespace=${namespace}`, "-o", "json"], { allowFail: true });
        if (got.status === 0) {
            const pod = JSON.parse(got.stdout);
            if ((pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True")) return;
            if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} was not Ready in ${timeoutMs / 1000} s: ${JSON.stringify(pod.status)}`);
        } else if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name}: ${got.stderr}`);
        await sleep(250);
    }
}

/**
 * A workload of the test's own in an injected namespace: a curl container, and with `serve` bookinfo's
 * details app on :9080 behind a Service of the pod's name (so a request to it is the mesh's, over mutual
 * TLS); its proxy writes the workload certificates to /etc/certs. Runs as service account `account`.
 */
export async function createWorkload(cluster: LocalCluster, opts: { namespace: string; name: string; account: string; serve?: boolean; command?: string[]; env?: Record<string, string> }): Promise<void> {
    const labels = { app: opts.name, "tier.test/workload": "true" };
    const objects: object[] = [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: opts.account, namespace: opts.namespace } },
        {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: opts.name, namespace: opts.namespace, labels, annotations: OUTPUT_CERTS_ANNOTATIONS },
            spec: {
                serviceAccountName: opts.account,
                terminationGracePeriodSeconds: 5,
                containers: [
                    ...(opts.serve ? [{ name: "app", image: SERVER_IMAGE, ports: [{ containerPort: 9080, name: "http" }] }] : []),
                    {
                        name: "curl",
                        image: CURL_IMAGE,
                        command: opts.command ?? ["/bin/sleep", "infinity"],
                        env: Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })),
                    },
                ],
            },
        },
    ];
    if (opts.serve) {
        objects.push({ apiVersion: "v1", kind: "Service", metadata: { name: opts.name, namespace: opts.namespace, labels }, spec: { selector: labels, ports: [{ name: "http", port: 9080, targetPort: 9080 }] } });
    }
    cluster.kubectl(["apply", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });
    await waitReady(cluster, opts.namespace, opts.name);
}

export function deleteWorkload(cluster: LocalCluster, namespace: string, name: string): void {
    cluster.kubectl(["delete", "pod,service", `--namespace=${namespace}`, `--selector=app=${name}`, "--wait=false"], { allowFail: true });
}

/** The three files the pod's istio-proxy wrote to /etc/certs (OUTPUT_CERTS). */
export function workloadCertificates(cluster: LocalCluster, namespace: string, pod: string): WorkloadCertificates {
    const read = (file: string) => cluster.kubectl(["exec", `--namespace=${namespace}`, pod, "-c", "istio-proxy", "--", "cat", `/etc/certs/${file}`]).stdout;
    return { certChainPem: read("cert-chain.pem"), keyPem: read("key.pem"), rootCertPem: read("root-cert.pem") };
}

/** An HTTP request from a pod's curl container, through its sidecar: curl's exit code and the HTTP status. */
export function requestFrom(cluster: LocalCluster, namespace: string, pod: string, url: string): { exit: number; code: string; error: string } {
    const result = cluster.kubectl(
        ["exec", `--namespace=${namespace}`, pod, "-c", "curl", "--", "curl", "--silent", "--show-error", "--max-time", "10", "--output", "/dev/null", "--write-out", "%{http_code}", url],
        { allowFail: true },
    );
    return { exit: result.status ?? -1, code: result.stdout.trim(), error: result.stderr.trim() };
}

export interface DataPlaneResult {
    requests: number;
    failed: number;
    /** Failures by cause: "HTTP 503", "curl exit 56", ... */
    failures: Record<string, number>;
    /** One line of each cause, as the probe logged it. */
    examples: Record<string, string>;
    /** The longest a request took, answered or not (curl's time_total), in seconds. */
    slowestSeconds: number;
}

/**
 * The probe pod's loop: one request every 0.2 s, one line each: "<epoch seconds> <HTTP status> <curl exit>
 * <seconds taken>". A request gets 10 s: on two busy cores a request can wait a second or two for a CPU
 * during an update, which is latency, not loss; one sent to an endpoint that is gone hangs past 10 s.
 */
export const PROBE_LOOP =
    'while :; do t=$(date +%s.%N); out=$(curl -s -o /dev/null -w "%{http_code} %{time_total}" --max-time 10 "$URL"); rc=$?; set -- $out; echo "$t $1 $rc $2"; sleep 0.2; done';

/** What the probe's log says of the requests sent between two moments (epoch milliseconds). Pure. */
export function dataPlaneOutcome(log: string, fromMs: number, toMs: number): DataPlaneResult {
    const result: DataPlaneResult = { requests: 0, failed: 0, failures: {}, examples: {}, slowestSeconds: 0 };
    for (const line of log.split("\n")) {
        const sent = /^(\d+\.\d+) /.exec(line.trim());
        if (!sent) continue;
        const at = Number(sent[1]) * 1000;
        if (at < fromMs || at > toMs) continue;
        result.requests++;
        const m = /^\S+ (\d{3}) (\d+) (\d+(?:\.\d+)?)$/.exec(line.trim());
        if (m) result.slowestSeconds = Math.max(result.slowestSeconds, Number(m[3]));
        if (m && m[2] === "0" && m[1] === "200") continue;
        const cause = !m ? "a line the probe could not write whole" : m[2] !== "0" ? `curl exit ${m[2]}` : `HTTP ${m[1]}`;
        result.failed++;
        result.failures[cause] = (result.failures[cause] ?? 0) + 1;
        result.examples[cause] ??= line.trim();
    }
    return result;
}

/** Reads a probe pod's log for the requests sent between two moments (epoch milliseconds). */
export async function dataPlaneResult(cluster: LocalCluster, namespace: string, pod: string, fromMs: number, toMs: number): Promise<DataPlaneResult> {
    const logs = await kubectlAsync(cluster, ["logs", `--namespace=${namespace}`, pod, "-c", "curl"]);
    return dataPlaneOutcome(logs.stdout, fromMs, toMs);
}

/**
 * A probe of the data plane: a pod of its own (sidecar client) that asks `url` (a sidecar server, through a
 * Service) every 0.2 s from the moment it is Ready; `stop` reads what it sent since `start`.
 */
export async function startDataPlaneProbe(cluster: LocalCluster, namespace: string, name: string, url: string): Promise<{ start(): void; stop(): Promise<DataPlaneResult> }> {
    await createWorkload(cluster, { namespace, name, account: "tier-probe", command: ["/bin/sh", "-c", PROBE_LOOP], env: { URL: url } });
    let from = Date.now();
    return {
        start() {
            from = Date.now();
        },
        async stop() {
            // A request in flight at the end is logged once it ends (at most 10 s later): wait for the first
            // line sent after the end, which the loop writes only after it.
            const to = Date.now();
            for (let waited = 0; waited < 12_000; waited += 500) {
                const logs = await kubectlAsync(cluster, ["logs", `--namespace=${namespace}`, name, "-c", "curl", "--tail=5"]);
                if (logs.stdout.split("\n").some((l) => Number(/^(\d+\.\d+) /.exec(l)?.[1] ?? 0) * 1000 > to)) break;
                await sleep(500);
            }
            return dataPlaneResult(cluster, namespace, name, from, to);
        },
    };
}

/** One line per data-plane probe for the test's output. */
export function dataPlaneLine(label: string, result: DataPlaneResult): string {
    const causes = Object.entries(result.failures).map(([cause, n]) => `${n}× ${cause} (e.g. ${result.examples[cause]})`);
    return `${label}: ${result.requests} requests between sidecars every 0.2 s, ${result.failed} failed${causes.length ? `: ${causes.join("; ")}` : ""}; the slowest took ${result.slowestSeconds.toFixed(2)} s`;
}

/**
 * Configurations Envoy rejected, summed over every istio-proxy of the cluster (sidecars and gateways): Envoy's
 * own update_rejected counters (cds, lds, rds, eds, sds) through the agent's admin proxy, and istiod's
 * `ACK ERROR` lines (a NACK it received), per pod.
 */
export function rejectedConfigs(cluster: LocalCluster): { perProxy: Record<string, number>; istiodAckErrors: number; proxies: number } {
    const pods = JSON.parse(cluster.kubectl(["get", "pods", "--all-namespaces", "-o", "json"]).stdout).items as {
        metadata: { name: string; namespace: string; deletionTimestamp?: string };
        spec: { containers: { name: string }[]; initContainers?: { name: string }[] };
        status?: { phase?: string; conditions?: { type: string; status: string }[] };
    }[];
    const perProxy: Record<string, number> = {};
    let istiodAckErrors = 0;
    for (const pod of pods) {
        if (pod.metadata.deletionTimestamp) continue;
        const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
        const ready = (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
        const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
        if (names.includes("istio-proxy") && ready) {
            const stats = cluster.kubectl(["exec", `--namespace=${pod.metadata.namespace}`, pod.metadata.name, "-c", "istio-proxy", "--", "pilot-agent", "request", "GET", "stats?filter=update_rejected"], { allowFail: true });
            // A proxy the kubelet does not run (kwok's alone) has no process to ask.
            if (stats.status !== 0) continue;
            perProxy[id] = [...stats.stdout.matchAll(/update_rejected: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
        }
        if (pod.metadata.namespace === "istio-system" && names.includes("discovery")) {
            const logs = cluster.kubectl(["logs", "--namespace=istio-system", pod.metadata.name, "-c", "discovery"], { allowFail: true }).stdout;
            istiodAckErrors += (logs.match(/ACK ERROR/g) ?? []).length;
        }
    }
    return { perProxy, istiodAckErrors, proxies: Object.keys(perProxy).length };
}

/** The host pids of a process's children (the tier's containers are processes of this host). */
function childrenOf(pid: number): number[] {
    const children: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its last ")".
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
        } catch {
            // gone meanwhile
        }
    }
    return children;
}

/**
 * Breaks the sidecars of the pods `selector` names in `namespace` as a crashed proxy leaves them: Envoy
 * killed, and Istio's agent (the container's process, which would otherwise exit and be restarted) stopped,
 * so the container stays running, the pod's traffic is still redirected to Envoy's ports, and nothing answers
 * there. Returns what undoes it: the agent continues, finds Envoy gone and exits, and the kubelet starts the
 * container again.
 */
export function breakSidecars(cluster: LocalCluster, namespace: string, selector: string): () => void {
    const pods = JSON.parse(cluster.kubectl(["get", "pods", `--namespace=${namespace}`, `--selector=${selector}`, "-o", "json"]).stdout) as {
        items: { metadata: { name: string; deletionTimestamp?: string }; status?: { containerStatuses?: { name: string; containerID?: string }[]; initContainerStatuses?: { name: string; containerID?: string }[] } }[];
    };
    const agents: number[] = [];
    for (const pod of pods.items) {
        if (pod.metadata.deletionTimestamp) continue;
        const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
        const id = statuses.find((c) => c.name === "istio-proxy")?.containerID ?? "";
        const pid = Number(/^tier:\/\/(\d+)$/.exec(id)?.[1]);
        if (!pid) throw new Error(`pod ${namespace}/${pod.metadata.name} reports no istio-proxy process of the tier's kubelet (${id})`);
        process.kill(pid, "SIGSTOP");
        agents.push(pid);
        const envoys = childrenOf(pid).filter((child) => fs.readFileSync(`/proc/${child}/comm`, "utf8").trim() === "envoy");
        if (envoys.length === 0) throw new Error(`pod ${namespace}/${pod.metadata.name}: its agent (pid ${pid}) runs no envoy`);
        for (const envoy of envoys) process.kill(envoy, "SIGKILL");
    }
    if (agents.length === 0) throw new Error(`no pod in ${namespace} matches ${selector}`);
    return () => agents.forEach((pid) => process.kill(pid, "SIGCONT"));
}
