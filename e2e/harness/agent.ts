// Istio's real agent (pilot-agent, built from the same release-1.30 commit as pilot-discovery) for one
// injected pod, run as the pod's istio-proxy container says (its args and env, with the kubelet's downward
// API and $(VAR) expansion, and its volumes laid out under a folder the agent runs in, since Istio's paths
// are relative: ./var/run/secrets/tokens/istio-token, ./var/run/secrets/istio/root-cert.pem), with Envoy
// off, until it has its workload certificate from the tier's istiod.
import * as fs from "fs";
import * as path from "path";
import { LocalCluster, tail } from "./localCluster";

/** Service istiod's CA and XDS port, which forwards to the ready istiod (istiod.ts, service-proxy.cjs). */
const ISTIOD_ADDRESS = "127.0.0.1:15012";
/** What pilot-agent writes to OUTPUT_CERTS (security/pkg/nodeagent/util/util.go OutputKeyCertToDir). */
const CERT_FILES = ["cert-chain.pem", "key.pem", "root-cert.pem"];

export interface WorkloadCertificate {
    certChainPem: string;
    keyPem: string;
    rootCertPem: string;
    /** The files the agent left in outDir. */
    files: string[];
    log: string;
}

type Pod = { metadata: Record<string, any>; spec: Record<string, any>; status?: Record<string, any> };

/** A fieldRef's value, as the kubelet resolves it from the pod object. */
function fieldValue(pod: Pod, fieldPath: string): string {
    const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (keyed) return pod.metadata[keyed[1]]?.[keyed[2]] ?? "";
    if (fieldPath === "status.podIPs") return (pod.status?.podIPs ?? []).map((p: { ip: string }) => p.ip).join(",");
    const value = fieldPath.split(".").reduce<any>((o, key) => o?.[key], pod);
    return value === undefined ? "" : String(value);
}

/** The kubelet's downward API file format for a map (labels, annotations): key="value" lines, sorted. */
const downwardMap = (map: Record<string, string> = {}) =>
    Object.keys(map)
        .sort()
        .map((k) => `${k}=${JSON.stringify(map[k])}\n`)
        .join("");

export async function runWorkloadAgent(
    cluster: LocalCluster,
    bin: string,
    pod: { namespace: string; name: string },
    outDir: string,
    opts: { timeoutMs?: number } = {},
): Promise<WorkloadCertificate> {
    const ns = `--namespace=${pod.namespace}`;
    const object = JSON.parse(cluster.kubectl(["get", "pod", pod.name, ns, "--output=json"]).stdout) as Pod;
    // A native sidecar is an init container (restartPolicy Always); otherwise a container.
    const container = [...(object.spec.initContainers ?? []), ...object.spec.containers].find((c: { name: string }) => c.name === "istio-proxy");
    if (!container) throw new Error(`pod ${pod.namespace}/${pod.name} has no istio-proxy container`);

    // The container's env as the kubelet gives it. resourceFieldRef (GOMAXPROCS, GOMEMLIMIT, ISTIO_CPU_LIMIT)
    // is left unset: the samples set no limits, for which the kubelet would give the node's allocatable.
    const env: Record<string, string> = {};
    const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name) => env[name] ?? ref);
    for (const e of container.env ?? []) {
        if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(object, e.valueFrom.fieldRef.fieldPath);
        else if (!e.valueFrom) env[e.name] = expand(e.value ?? "");
    }
    const args = [...(container.args ?? [])].map(expand);

    // The overrides, the only differences from the pod's own spec. istiod is at ISTIOD_ADDRESS, not at the
    // discovery address's Service name, but its serving certificate is still checked against that name, with
    // the root the pod mounts: ISTIOD_SAN names the server to expect, and is only taken when CA_ADDR is unset
    // (the CA is then the discovery address: pilot/cmd/pilot-agent/options/security.go SetupSecurityOptions).
    const proxyConfig = JSON.parse(env.PROXY_CONFIG || "{}") as { discoveryAddress?: string };
    const discovery = proxyConfig.discoveryAddress ?? "istiod.istio-system.svc:15012"; // mesh.DefaultProxyConfig
    if (env.CA_ADDR && env.CA_ADDR !== discovery) throw new Error(`the pod's CA_ADDR ${env.CA_ADDR} is not its discovery address ${discovery}`);
    delete env.CA_ADDR;
    env.PROXY_CONFIG = JSON.stringify({ ...proxyConfig, discoveryAddress: ISTIOD_ADDRESS });
    env.ISTIOD_SAN = discovery.split(":")[0]; // as the agent derives it: pilot/cmd/pilot-agent/config/config.go GetPilotSan
    // No Envoy: the agent only fetches and rotates the workload certificate, writing it to OUTPUT_CERTS
    // (pilot/cmd/pilot-agent/options/options.go; pkg/istio-agent/agent.go initSdsServer). It replaces the
    // pod's own OUTPUT_CERTS (productpage's /etc/certs, from its proxy.istio.io/config annotation).
    env.DISABLE_ENVOY = "true";
    env.OUTPUT_CERTS = outDir;

    // The pod's file system, for the container's volume mounts.
    const root = fs.mkdtempSync(path.join(cluster.dir, `pod-${pod.name}-`));
    const volumes = Object.fromEntries((object.spec.volumes ?? []).map((v: { name: string }) => [v.name, v]));
    for (const mount of container.volumeMounts ?? []) {
        const dir = path.join(root, mount.mountPath);
        fs.mkdirSync(dir, { recursive: true });
        const volume = volumes[mount.name] ?? {};
        for (const { serviceAccountToken: t } of volume.projected?.sources ?? []) {
            if (!t) continue;
            // What the kubelet's projected token is: a TokenRequest bound to the pod.
            const token = cluster.kubectl([
                "create", "token", object.spec.serviceAccountName ?? "default", ns,
                `--audience=${t.audience}`, `--duration=${t.expirationSeconds ?? 3600}s`,
                "--bound-object-kind=Pod", `--bound-object-name=${pod.name}`, `--bound-object-uid=${object.metadata.uid}`,
            ]).stdout.trim();
            fs.writeFileSync(path.join(dir, t.path), token, { mode: 0o600 });
        }
        if (volume.configMap) {
            const got = cluster.kubectl(["get", "configmap", volume.configMap.name, ns, "--output=json"], { allowFail: volume.configMap.optional === true });
            const data = got.status === 0 ? ((JSON.parse(got.stdout).data ?? {}) as Record<string, string>) : {};
            for (const [key, value] of Object.entries(data)) fs.writeFileSync(path.join(dir, key), value);
        }
        for (const item of volume.downwardAPI?.items ?? []) {
            const field = item.fieldRef?.fieldPath as string;
            const content = field === "metadata.labels" || field === "metadata.annotations" ? downwardMap(object.metadata[field.split(".")[1]]) : fieldValue(object, field);
            fs.writeFileSync(path.join(dir, item.path), content);
        }
    }

    fs.mkdirSync(outDir, { recursive: true });
    // `env -i`: the container's environment alone, not the test runner's.
    const agent = cluster.startProcess(
        `pilot-agent-${pod.namespace}-${pod.name}`,
        "env",
        ["-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), path.join(bin, "pilot-agent"), ...args],
        { cwd: root },
    );
    try {
        const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
        while (!CERT_FILES.every((f) => fs.existsSync(path.join(outDir, f)))) {
            if (agent.child.exitCode !== null) throw new Error(`pilot-agent for ${pod.namespace}/${pod.name} exited with ${agent.child.exitCode}:\n${tail(agent.logFile)}`);
            if (Date.now() > deadline) throw new Error(`pilot-agent for ${pod.namespace}/${pod.name} wrote no certificate to ${outDir} in ${opts.timeoutMs ?? 60_000} ms:\n${tail(agent.logFile)}`);
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
    } finally {
        await cluster.stopProcess(agent);
        fs.rmSync(root, { recursive: true, force: true });
    }
    const read = (f: string) => fs.readFileSync(path.join(outDir, f), "utf8");
    return {
        certChainPem: read("cert-chain.pem"),
        keyPem: read("key.pem"),
        rootCertPem: read("root-cert.pem"),
        files: fs.readdirSync(outDir).sort(),
        log: fs.readFileSync(agent.logFile, "utf8"),
    };
}
