// The real istiod (pilot-discovery, built from the release-1.30 branch by e2e/build-tools.sh) as a local
// process in the test's network namespace, run the way its Deployment would run it: started once the
// program's Secrets `cacerts` and `istiod-tls` and the chart's ConfigMaps `istio` and
// `istio-sidecar-injector` exist (istiod looks for the injector's ConfigMap once, at start:
// pilot/pkg/bootstrap/sidecarinjector.go "Skipping sidecar injector, template not found"), with the
// Secrets' files where the pod would mount them
// (the plug-in CA in ROOT_CA_DIR, the serving key pair by --tlsCertFile/--tlsKeyFile/--caCertFile,
// pilot/pkg/bootstrap), rolled when they change as the chart's Deployment rolls on new certificates (the next
// istiod starts beside the running one, takes the traffic once ready, and only then is the previous one
// stopped: maxSurge 100%), and stopped when they are gone (destroy). Service istiod is service-proxy.cjs: it
// listens on :443 of the namespace, where the API server dials the Service's ClusterIP (the Service range
// is routed as local there: localCluster.ts), and on 127.0.0.1:15012 for the agents, and forwards to the
// ready istiod, which listens on its own ports (each process one offset apart, as each pod has its own IP).
// istiod reads the injector and mesh config from the cluster's ConfigMaps, as it does with no files in its
// folders.
// It stands in for the kubelet too, for istiod's pods alone: kwok leaves them unready (the tier's stages
// skip app=istiod), and the supervisor marks them Ready once istiod answers its readiness endpoint, as the
// kubelet does with the chart's readinessProbe. So nothing that waits for istiod goes on before it serves.
import { execFile } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { promisify } from "util";
import { LocalCluster, Running } from "./localCluster";

const execFileAsync = promisify(execFile);

interface SecretFiles {
    cacerts: Record<string, string>;
    tls: Record<string, string>;
}

/** The ports istiod serves, as its Deployment's container declares them; Service istiod forwards the first two. */
const HTTPS_PORT = 443;
const SECURE_GRPC_PORT = 15012;
const HTTP_PORT = 8080;
const GRPC_PORT = 15010;
const MONITORING_PORT = 15014;
/** Each istiod process serves its ports this far up (two at most run at once, during a roll). */
const OFFSETS = [10000, 11000];

/** What a roll is keyed on: istiod restarts when the Secrets' files change. */
function hashOf(files: SecretFiles): string {
    return createHash("sha256").update(JSON.stringify(files)).digest("hex");
}

interface Instance {
    process: Running;
    hash: string;
    offset: number;
}

export class IstiodSupervisor {
    private instance?: Instance;
    private service?: Running;
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
    /** Each roll: how long the next istiod took to be ready, and whether the previous one served meanwhile. */
    readonly rolls: { readySeconds: number; previousServed: boolean }[] = [];

    constructor(
        private readonly cluster: LocalCluster,
        private readonly bin: string,
    ) {}

    private get backendFile(): string {
        return path.join(this.cluster.dir, "istiod-service-backend");
    }

    /** Starts Service istiod and follows the Secrets every second until stop(). */
    watch(): void {
        this.route(undefined);
        this.service = this.cluster.startProcess("istiod-service", process.execPath, [
            path.join(__dirname, "service-proxy.cjs"),
            this.backendFile,
            `0.0.0.0:${HTTPS_PORT}`,
            `127.0.0.1:${SECURE_GRPC_PORT}`,
        ]);
        this.timer = setInterval(() => void this.tick(), 1000);
    }

    get running(): boolean {
        return this.instance !== undefined && alive(this.instance.process);
    }

    /** Points Service istiod at the istiod serving at `offset`, or at none. */
    private route(offset: number | undefined): void {
        if (offset === undefined) {
            fs.rmSync(this.backendFile, { force: true });
            return;
        }
        fs.writeFileSync(`${this.backendFile}.next`, String(offset));
        fs.renameSync(`${this.backendFile}.next`, this.backendFile);
    }

    private kubectl(args: string[]): Promise<{ stdout: string }> {
        return execFileAsync(
            "ip",
            ["netns", "exec", this.cluster.namespace, path.join(this.bin, "kubectl"), `--kubeconfig=${this.cluster.adminKubeconfig()}`, "--namespace=istio-system", ...args],
            { maxBuffer: 16 * 1024 * 1024 },
        );
    }

    /**
     * The Secrets' files, once istiod's pod could start: both Secrets and both ConfigMaps exist; "gone" when
     * one of them is not found; undefined when the API server could not say (nothing is changed then).
     */
    private async secrets(): Promise<SecretFiles | "gone" | undefined> {
        try {
            await this.kubectl(["get", "configmap", "istio", "istio-sidecar-injector", "--output=name"]);
            const { stdout } = await this.kubectl(["get", "secret", "cacerts", "istiod-tls", "--output=json"]);
            const items = (JSON.parse(stdout) as { items: { metadata: { name: string }; data?: Record<string, string> }[] }).items;
            const decode = (name: string) =>
                Object.fromEntries(Object.entries(items.find((i) => i.metadata.name === name)?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
            const files = { cacerts: decode("cacerts"), tls: decode("istiod-tls") };
            return files.tls["tls.crt"] && files.cacerts["ca-cert.pem"] ? files : "gone";
        } catch (err) {
            // Not there yet (or gone): istiod's pod could not start. Any other error says nothing either way.
            return /NotFound|not found/.test(String((err as { stderr?: string }).stderr ?? err)) ? "gone" : undefined;
        }
    }

    /** istiod's readinessProbe (the chart's: GET /ready on 8080), for the process serving at `offset`. */
    private answersReady(offset: number): boolean {
        return this.cluster.exec("curl", ["--silent", "--fail", "--max-time", "2", `http://127.0.0.1:${HTTP_PORT + offset}/ready`], { allowFail: true }).status === 0;
    }

    /**
     * What the kubelet would do on a passing readinessProbe: istiod's pods that are not Ready yet become Ready.
     * Only pods created before `secretsReadAt`: a newer one may be the roll of Secrets changed since, which
     * the next tick rolls istiod for before marking it (the program updates the Secrets before the Deployment).
     */
    private async markPodsReady(secretsReadAt: number, regardless = false): Promise<void> {
        const ready = regardless || (this.instance !== undefined && this.answersReady(this.instance.offset));
        if (!ready) return;
        const { stdout } = await this.kubectl(["get", "pods", "--selector=app=istiod", "--output=json"]);
        const pods = (JSON.parse(stdout) as { items: { metadata: { name: string; creationTimestamp: string; deletionTimestamp?: string }; spec: { containers: { name: string; image: string }[] }; status?: { conditions?: { type: string; status: string }[] } }[] }).items;
        for (const pod of pods) {
            if (pod.metadata.deletionTimestamp || pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) continue;
            // creationTimestamp has whole seconds: a pod of the same second as the read waits for the next tick.
            if (Date.parse(pod.metadata.creationTimestamp) >= Math.floor(secretsReadAt / 1000) * 1000) continue;
            const now = new Date().toISOString();
            const conditions = ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now }));
            const containerStatuses = pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }));
            const patch = { status: { phase: "Running", conditions, containerStatuses, podIP: "10.244.0.250", podIPs: [{ ip: "10.244.0.250" }], startTime: now } };
            await this.kubectl(["patch", "pod", pod.metadata.name, "--subresource=status", "--type=merge", `--patch=${JSON.stringify(patch)}`]).catch(() => undefined);
        }
    }

    private async stopInstance(instance: Instance | undefined): Promise<void> {
        if (instance) await this.cluster.stopProcess(instance.process);
    }

    private async tick(): Promise<void> {
        if (this.stopped) return;
        if (this.busy) return;
        this.busy = true;
        try {
            const secretsReadAt = Date.now();
            const files = await this.secrets();
            if (files === undefined) return;
            if (this.down || files === "gone") {
                // Down: the endpoint is still there but nothing answers. Gone (destroy): no endpoint.
                this.route(undefined);
                await this.stopInstance(this.instance);
                this.instance = undefined;
                if (files !== "gone") await this.markPodsReady(secretsReadAt, true).catch(() => undefined);
                return;
            }
            const hash = hashOf(files);
            if (this.instance && hash === this.instance.hash && this.running) {
                await this.markPodsReady(secretsReadAt).catch(() => undefined);
                return;
            }
            await this.roll(files, hash);
        } finally {
            this.busy = false;
        }
    }

    /**
     * The Deployment's rolling update with the chart's surge: the next istiod starts on the other ports while
     * the previous one serves; once it answers its readinessProbe, Service istiod sends new connections to it,
     * and then the previous one is stopped (SIGTERM: it drains what it holds). An istiod that never gets ready
     * is stopped and the previous one keeps serving (the roll is retried on the next tick), as a Deployment's
     * old ReplicaSet stays while the new pod is not ready.
     */
    private async roll(files: SecretFiles, hash: string): Promise<void> {
        const previous = this.instance && alive(this.instance.process) ? this.instance : undefined;
        const offset = OFFSETS.find((o) => o !== previous?.offset) ?? OFFSETS[0];
        const started = Date.now();
        const next: Instance = { process: this.start(files, offset), hash, offset };
        let ready = false;
        for (let i = 0; i < 240 && !ready && alive(next.process) && !this.stopped; i++) {
            ready = this.answersReady(offset);
            if (!ready) await sleep(250);
        }
        if (!ready) {
            await this.stopInstance(next);
            if (!previous) {
                this.route(undefined);
                this.instance = undefined;
            }
            return;
        }
        const serviceUp = this.service !== undefined && alive(this.service);
        this.rolls.push({ readySeconds: (Date.now() - started) / 1000, previousServed: serviceUp && previous !== undefined && alive(previous.process) });
        this.route(offset);
        this.instance = next;
        // Service istiod reads its backend every 50 ms: after that, new connections reach the next istiod. The
        // API server's open connections to the previous one are drained by its own graceful shutdown
        // (--shutdownDuration, below the harness's SIGKILL after 10 s).
        await sleep(500);
        await this.stopInstance(previous);
    }

    private start(files: SecretFiles, offset: number): Running {
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
                `--httpsAddr=127.0.0.1:${HTTPS_PORT + offset}`,
                `--httpAddr=127.0.0.1:${HTTP_PORT + offset}`,
                `--grpcAddr=127.0.0.1:${GRPC_PORT + offset}`,
                `--secureGRPCAddr=127.0.0.1:${SECURE_GRPC_PORT + offset}`,
                `--monitoringAddr=127.0.0.1:${MONITORING_PORT + offset}`,
                `--tlsCertFile=${path.join(dir, "tls", "tls.crt")}`,
                `--tlsKeyFile=${path.join(dir, "tls", "tls.key")}`,
                `--caCertFile=${path.join(dir, "tls", "ca.crt")}`,
                "--domain=cluster.local",
                // Shorter than the harness's SIGKILL (localCluster.ts stopProcess), so a drain is never cut.
                "--shutdownDuration=5s",
            ],
            {
                cwd: path.join(dir, "work"),
                env: {
                    // Each its own pod: leader election tells them apart by name (pilot/pkg/leaderelection).
                    POD_NAME: `istiod-local-${this.starts.length}`,
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

    /**
     * Resolves once istiod serves the Secrets as they are now (any roll they call for is done), or throws
     * after `timeoutMs`: what a test reads right after an `up` is then about the istiod of that `up`.
     */
    async settled(timeoutMs = 60_000): Promise<void> {
        for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(250)) {
            if (this.busy) continue;
            const files = await this.secrets();
            if (files === undefined || files === "gone") continue;
            if (this.running && this.instance?.hash === hashOf(files)) return;
        }
        throw new Error(`istiod does not serve the current Secrets after ${timeoutMs / 1000} s`);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.timer) clearInterval(this.timer);
        while (this.busy) await sleep(100);
        this.route(undefined);
        await this.stopInstance(this.instance);
        this.instance = undefined;
        if (this.service) await this.cluster.stopProcess(this.service);
        this.service = undefined;
    }
}

function alive(running: Running): boolean {
    return running.child.exitCode === null && running.child.signalCode === null;
}
