// The real istiod (pilot-discovery, built from the release-1.30 branch by e2e/build-tools.sh) as a local
// process in the test's network namespace, run the way its Deployment would run it: started once the
// program's Secrets `cacerts` and `istiod-tls` and the chart's ConfigMaps `istio` and
// `istio-sidecar-injector` exist (istiod looks for the injector's ConfigMap once, at start:
// pilot/pkg/bootstrap/sidecarinjector.go "Skipping sidecar injector, template not found"), with the
// Secrets' files where the pod would mount them
// (the plug-in CA in ROOT_CA_DIR, the serving key pair by --tlsCertFile/--tlsKeyFile/--caCertFile,
// pilot/pkg/bootstrap), restarted when they change (the Deployment rolls on new certificates), and stopped
// when they are gone (destroy). It listens for webhooks on :443 of the namespace, where the API server dials
// Service istiod's ClusterIP (the Service range is routed as local there: localCluster.ts), and reads the
// injector and mesh config from the cluster's ConfigMaps, as it does with no files in its folders.
// It stands in for the kubelet too, for istiod's pods alone: kwok leaves them unready (the tier's stages
// skip app=istiod), and the supervisor marks them Ready once istiod answers its readiness endpoint, as the
// kubelet does with the chart's readinessProbe. So nothing that waits for istiod goes on before it serves.
import { execFile } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { LocalCluster, Running } from "./localCluster";

const execFileAsync = promisify(execFile);

interface SecretFiles {
    cacerts: Record<string, string>;
    tls: Record<string, string>;
}

export class IstiodSupervisor {
    private process?: Running;
    private servingHash?: string;
    private timer?: NodeJS.Timeout;
    private busy = false;
    private stopped = false;
    /**
     * While down, istiod does not run, but its pods are still marked Ready: an istiod that passed its
     * readiness probe and then stopped answering (the failure path of a control plane that does not answer).
     */
    down = false;
    /** Each start, with the sha256 of the serving certificate it was given. */
    readonly starts: { at: number; servingCertSha256: string }[] = [];

    constructor(
        private readonly cluster: LocalCluster,
        private readonly bin: string,
    ) {}

    /** Follows the Secrets every second until stop(). */
    watch(): void {
        this.timer = setInterval(() => void this.tick(), 1000);
    }

    get running(): boolean {
        return this.process !== undefined && this.process.child.exitCode === null;
    }

    private kubectl(args: string[]): Promise<{ stdout: string }> {
        return execFileAsync(
            "ip",
            ["netns", "exec", this.cluster.namespace, path.join(this.bin, "kubectl"), `--kubeconfig=${this.cluster.adminKubeconfig()}`, "--namespace=istio-system", ...args],
            { maxBuffer: 16 * 1024 * 1024 },
        );
    }

    /** The Secrets' files, once istiod's pod could start: both Secrets and both ConfigMaps exist. */
    private async secrets(): Promise<SecretFiles | undefined> {
        try {
            await this.kubectl(["get", "configmap", "istio", "istio-sidecar-injector", "--output=name"]);
            const { stdout } = await this.kubectl(["get", "secret", "cacerts", "istiod-tls", "--output=json"]);
            const items = (JSON.parse(stdout) as { items: { metadata: { name: string }; data?: Record<string, string> }[] }).items;
            const decode = (name: string) =>
                Object.fromEntries(Object.entries(items.find((i) => i.metadata.name === name)?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
            const files = { cacerts: decode("cacerts"), tls: decode("istiod-tls") };
            return files.tls["tls.crt"] && files.cacerts["ca-cert.pem"] ? files : undefined;
        } catch {
            // Not there yet (or gone): istiod's pod could not start.
            return undefined;
        }
    }

    /** What the kubelet would do on a passing readinessProbe: istiod's pods that are not Ready yet become Ready. */
    private async markPodsReady(regardless = false): Promise<void> {
        const ready = regardless || this.cluster.exec("curl", ["--silent", "--fail", "--max-time", "2", "http://127.0.0.1:8080/ready"], { allowFail: true }).status === 0;
        if (!ready) return;
        const { stdout } = await this.kubectl(["get", "pods", "--selector=app=istiod", "--output=json"]);
        const pods = (JSON.parse(stdout) as { items: { metadata: { name: string; deletionTimestamp?: string }; spec: { containers: { name: string; image: string }[] }; status?: { conditions?: { type: string; status: string }[] } }[] }).items;
        for (const pod of pods) {
            if (pod.metadata.deletionTimestamp || pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) continue;
            const now = new Date().toISOString();
            const conditions = ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now }));
            const containerStatuses = pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }));
            const patch = { status: { phase: "Running", conditions, containerStatuses, podIP: "10.244.0.250", podIPs: [{ ip: "10.244.0.250" }], startTime: now } };
            await this.kubectl(["patch", "pod", pod.metadata.name, "--subresource=status", "--type=merge", `--patch=${JSON.stringify(patch)}`]).catch(() => undefined);
        }
    }

    private async tick(): Promise<void> {
        if (this.stopped) return;
        if (this.busy) return;
        this.busy = true;
        try {
            const files = await this.secrets();
            const hash = files ? createHash("sha256").update(JSON.stringify(files)).digest("hex") : undefined;
            if (this.down) {
                if (this.process) await this.cluster.stopProcess(this.process);
                this.process = undefined;
                this.servingHash = undefined;
                if (hash) await this.markPodsReady(true).catch(() => undefined);
                return;
            }
            if (hash === this.servingHash && (this.running || !hash)) {
                if (this.running) await this.markPodsReady().catch(() => undefined);
                return;
            }
            if (this.process) await this.cluster.stopProcess(this.process);
            this.process = undefined;
            this.servingHash = undefined;
            if (files) {
                this.process = this.start(files);
                this.servingHash = hash;
            }
        } finally {
            this.busy = false;
        }
    }

    private start(files: SecretFiles): Running {
        const dir = fs.mkdtempSync(path.join(this.cluster.dir, "istiod-"));
        const write = (sub: string, data: Record<string, string>) => {
            fs.mkdirSync(path.join(dir, sub), { recursive: true });
            for (const [name, content] of Object.entries(data)) fs.writeFileSync(path.join(dir, sub, name), content, { mode: 0o600 });
        };
        write("cacerts", files.cacerts);
        write("tls", files.tls);
        // An empty working folder: no ./var/lib/istio/inject or ./etc/istio/config files, so istiod reads the
        // ConfigMaps istio-sidecar-injector and istio (pilot/pkg/bootstrap/mesh.go getConfigurationSources).
        fs.mkdirSync(path.join(dir, "work"));
        this.starts.push({ at: Date.now(), servingCertSha256: createHash("sha256").update(files.tls["tls.crt"]).digest("hex") });
        return this.cluster.startProcess(
            `istiod-${this.starts.length}`,
            path.join(this.bin, "pilot-discovery"),
            [
                "discovery",
                `--kubeconfig=${this.cluster.adminKubeconfig()}`,
                "--httpsAddr=:443",
                "--httpAddr=127.0.0.1:8080",
                "--grpcAddr=127.0.0.1:15010",
                "--secureGRPCAddr=127.0.0.1:15012",
                "--monitoringAddr=127.0.0.1:15014",
                `--tlsCertFile=${path.join(dir, "tls", "tls.crt")}`,
                `--tlsKeyFile=${path.join(dir, "tls", "tls.key")}`,
                `--caCertFile=${path.join(dir, "tls", "ca.crt")}`,
                "--domain=cluster.local",
            ],
            {
                cwd: path.join(dir, "work"),
                env: {
                    POD_NAME: "istiod-local",
                    POD_NAMESPACE: "istio-system",
                    REVISION: "default",
                    ROOT_CA_DIR: path.join(dir, "cacerts"),
                    PILOT_CERT_PROVIDER: "istiod",
                    CLUSTER_ID: "Kubernetes",
                    // As the chart sets them (chartValues.ts): nothing patches a webhook's caBundle.
                    INJECTION_WEBHOOK_CONFIG_NAME: "",
                    VALIDATION_WEBHOOK_CONFIG_NAME: "",
                },
            },
        );
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.timer) clearInterval(this.timer);
        while (this.busy) await new Promise((resolve) => setTimeout(resolve, 100));
        if (this.process) await this.cluster.stopProcess(this.process);
        this.process = undefined;
    }
}
