// A real Kubernetes API server (with its etcd) as local processes inside a network namespace the test
// creates and removes itself: nothing it serves or calls leaves that namespace. The Service CIDR is routed
// as local addresses there, so a Service's ClusterIP, which the API server dials for a webhook
// (kube-apiserver's default ClusterIP service resolver; --enable-aggregator-routing is off), reaches a
// process listening in the namespace. Needs root (ip netns) and the tools of e2e/build-tools.sh.
import { ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

export const SERVICE_CIDR = "10.96.0.0/24";
const ADVERTISE_ADDRESS = "10.200.0.1";
export const TOKEN = "real-tier-admin";
/** Where the API server listens, inside the namespace. */
export const API_SERVER = "https://127.0.0.1:6443";

/**
 * The tools folder `npm run test:real` hands the tier (REAL_TIER_BIN), once it has checked that this run can
 * use it: the tool a suite needs is there, and the process may create a network namespace (root).
 */
export function realTierBin(tool: string): string {
    const bin = process.env.REAL_TIER_BIN ?? "";
    if (!bin || !fs.existsSync(path.join(bin, tool))) throw new Error("REAL_TIER_BIN is not set to the tools folder: run this tier with `npm run test:real`");
    if (process.getuid?.() !== 0) throw new Error("the real tier creates a network namespace (ip netns) and needs root");
    return bin;
}

export interface Running {
    name: string;
    child: ChildProcess;
    logFile: string;
}

/** The last lines of a log, for failure messages. */
export function tail(file: string, lines = 30): string {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : `(no ${file})`;
}

/** Runs a command to the end; a failure throws with the command and the tail of its output. */
export function run(command: string, args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) {
    const result = spawnSync(command, args, { input: opts.input, encoding: "utf8", timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 });
    if (!opts.allowFail && (result.status !== 0 || result.error)) {
        const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n").slice(-30).join("\n");
        throw new Error(`${path.basename(command)} ${args.join(" ")} failed (exit ${result.status}${result.error ? `, ${result.error.message}` : ""}):\n${output}`);
    }
    return result;
}

export class LocalCluster {
    // Unique per cluster, not only per process: jest runs the tier's files one after another in one process.
    readonly namespace = `imk-real-${randomBytes(4).toString("hex")}`;
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "imk-real-"));
    private readonly running: Running[] = [];
    private namespaceMade = false;

    constructor(readonly bin: string) {}

    /** Runs a command inside the network namespace; `env` is added to the environment it runs with. */
    exec(command: string, args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number; env?: Record<string, string> } = {}) {
        const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
        return run("ip", ["netns", "exec", this.namespace, "env", ...env, command, ...args], opts);
    }

    /**
     * A kubeconfig with one context, `context`, for the API server (admin token), as minikube or a
     * cluster admin would leave it for the program's scripts.
     */
    writeKubeconfig(context: string): string {
        const file = path.join(this.dir, "kubeconfig");
        const config = {
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: context, cluster: { server: "https://127.0.0.1:6443", "insecure-skip-tls-verify": true } }],
            users: [{ name: "admin", user: { token: TOKEN } }],
            contexts: [{ name: context, context: { cluster: context, user: "admin" } }],
            "current-context": context,
        };
        fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
        return file;
    }

    /** kubectl against the API server, as an admin; nothing of the user's ~/.kube is read or written. */
    kubectl(args: string[], opts: { input?: string; allowFail?: boolean } = {}) {
        return this.exec(
            path.join(this.bin, "kubectl"),
            ["--server=https://127.0.0.1:6443", `--token=${TOKEN}`, "--insecure-skip-tls-verify=true", `--cache-dir=${path.join(this.dir, "kube-cache")}`, ...args],
            { ...opts, env: { KUBECONFIG: path.join(this.dir, "no-kubeconfig") } },
        );
    }

    /** Starts a long-running process inside the namespace, logging to a file of its own. */
    startProcess(name: string, command: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Running {
        const logFile = path.join(this.dir, `${name}.log`);
        const out = fs.openSync(logFile, "a");
        // `ip netns exec` enters the namespace and then execs the command, so the child is the process itself.
        const child = spawn("ip", ["netns", "exec", this.namespace, command, ...args], {
            stdio: ["ignore", out, out],
            env: { ...process.env, ...(opts.env ?? {}) },
            cwd: opts.cwd,
        });
        fs.closeSync(out);
        const started = { name, child, logFile };
        this.running.push(started);
        return started;
    }

    /**
     * Starts e2e/tools/injector-standin, istiod's stand-in, with a serving key pair on port 443 of the
     * namespace, recording its calls in `callsFile`, and waits until `address`:443 answers.
     */
    async startStandin(certs: { servingCertPem: string; servingKeyPem: string }, address: string, callsFile: string): Promise<Running> {
        const cert = path.join(this.dir, "tls.crt");
        const key = path.join(this.dir, "tls.key");
        fs.writeFileSync(cert, certs.servingCertPem);
        fs.writeFileSync(key, certs.servingKeyPem, { mode: 0o600 });
        const standin = this.startProcess("injector-standin", path.join(this.bin, "injector-standin"), [`-cert=${cert}`, `-key=${key}`, "-addr=:443", `-calls=${callsFile}`]);
        for (let i = 0; i < 50; i++) {
            if (this.exec("bash", ["-c", `exec 3<>/dev/tcp/${address}/443`], { allowFail: true }).status === 0) return standin;
            if (standin.child.exitCode !== null) break;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error(`the injector stand-in did not listen on ${address}:443:\n${tail(standin.logFile)}`);
    }

    async stopProcess(started: Running): Promise<void> {
        this.running.splice(this.running.indexOf(started), 1);
        if (started.child.exitCode !== null || started.child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => started.child.once("exit", () => resolve()));
        started.child.kill("SIGTERM");
        const timer = setTimeout(() => started.child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
    }

    async start(): Promise<void> {
        run("ip", ["netns", "add", this.namespace]);
        this.namespaceMade = true;
        this.exec("ip", ["link", "set", "lo", "up"]);
        this.exec("ip", ["addr", "add", `${ADVERTISE_ADDRESS}/32`, "dev", "lo"]);
        this.exec("ip", ["route", "add", "local", SERVICE_CIDR, "dev", "lo"]);

        run("openssl", ["genrsa", "-out", path.join(this.dir, "sa.key"), "2048"]);
        run("openssl", ["rsa", "-in", path.join(this.dir, "sa.key"), "-pubout", "-out", path.join(this.dir, "sa.pub")]);
        fs.writeFileSync(path.join(this.dir, "tokens.csv"), `${TOKEN},admin,admin,"system:masters"\n`);

        const etcd = this.startProcess("etcd", path.join(this.bin, "etcd"), [
            `--data-dir=${path.join(this.dir, "etcd")}`,
            "--listen-client-urls=http://127.0.0.1:2379",
            "--advertise-client-urls=http://127.0.0.1:2379",
            "--listen-peer-urls=http://127.0.0.1:2380",
            "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=default=http://127.0.0.1:2380",
        ]);
        const apiserver = this.startProcess("kube-apiserver", path.join(this.bin, "kube-apiserver"), [
            "--etcd-servers=http://127.0.0.1:2379",
            "--secure-port=6443",
            `--advertise-address=${ADVERTISE_ADDRESS}`,
            `--cert-dir=${path.join(this.dir, "certs")}`,
            `--service-cluster-ip-range=${SERVICE_CIDR}`,
            "--service-account-issuer=https://kubernetes.default.svc",
            `--service-account-key-file=${path.join(this.dir, "sa.pub")}`,
            `--service-account-signing-key-file=${path.join(this.dir, "sa.key")}`,
            `--token-auth-file=${path.join(this.dir, "tokens.csv")}`,
            "--authorization-mode=RBAC",
        ]);
        const deadline = Date.now() + 120_000;
        while (this.kubectl(["get", "--raw", "/readyz"], { allowFail: true }).status !== 0) {
            for (const p of [etcd, apiserver]) {
                if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${tail(p.logFile)}`);
            }
            if (Date.now() > deadline) throw new Error(`the API server was not ready in 120 s:\n${tail(apiserver.logFile)}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }

    /** A kubeconfig for the control-plane components and the harness's own processes (admin token). */
    adminKubeconfig(): string {
        const file = path.join(this.dir, "admin.kubeconfig");
        if (!fs.existsSync(file)) {
            const config = {
                apiVersion: "v1",
                kind: "Config",
                clusters: [{ name: "local", cluster: { server: "https://127.0.0.1:6443", "insecure-skip-tls-verify": true } }],
                users: [{ name: "admin", user: { token: TOKEN } }],
                contexts: [{ name: "local", context: { cluster: "local", user: "admin" } }],
                "current-context": "local",
            };
            fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
        }
        return file;
    }

    /**
     * kwok's own "fast" stages (node initialize and heartbeat; pod ready, complete and delete), which
     * e2e/build-tools.sh copies from its module (kwok v0.8.0 runs no stage it is not given), with one change:
     * istiod's pods are left to the harness, which marks them Ready when the real istiod answers (istiod.ts).
     */
    private kwokStages(): string {
        const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(this.bin, "kwok-stages.yaml"), "utf8")).map((d) => d.toJS()).filter(Boolean);
        const podReady = docs.find((d) => d.kind === "Stage" && d.metadata?.name === "pod-ready");
        if (!podReady) throw new Error("kwok-stages.yaml has no pod-ready stage");
        podReady.spec.selector.matchExpressions.push({ key: ".metadata.labels.app", operator: "NotIn", values: ["istiod"] });
        const file = path.join(this.dir, "kwok-stages.yaml");
        fs.writeFileSync(file, docs.map((d) => YAML.stringify(d)).join("---\n"));
        return file;
    }

    /**
     * What makes workloads run without a kubelet: kube-controller-manager (Deployments, ReplicaSets,
     * ServiceAccounts, namespace deletion, garbage collection), kube-scheduler, and kwok v0.8.0 managing one
     * fake node (annotation kwok.x-k8s.io/node=fake), whose pods it marks Running and Ready with an IP.
     */
    async startNodes(): Promise<void> {
        const kubeconfig = this.adminKubeconfig();
        const kcm = this.startProcess("kube-controller-manager", path.join(this.bin, "kube-controller-manager"), [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            `--service-account-private-key-file=${path.join(this.dir, "sa.key")}`,
            "--use-service-account-credentials=false",
            "--leader-elect=false",
            "--controllers=*",
            "--secure-port=10257",
            "--bind-address=127.0.0.1",
        ]);
        const scheduler = this.startProcess("kube-scheduler", path.join(this.bin, "kube-scheduler"), [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            "--leader-elect=false",
            "--secure-port=10259",
            "--bind-address=127.0.0.1",
        ]);
        const kwok = this.startProcess("kwok", path.join(this.bin, "kwok"), [
            `--kubeconfig=${kubeconfig}`,
            `--config=${this.kwokStages()}`,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.1/24",
            "--node-ip=10.200.0.2",
            "--server-address=127.0.0.1:10247",
        ]);
        const node = {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: "kwok-node-0",
                annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
                labels: { "kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
            },
            spec: { podCIDR: "10.244.0.0/24" },
            status: {
                allocatable: { cpu: "32", memory: "256Gi", pods: "250" },
                capacity: { cpu: "32", memory: "256Gi", pods: "250" },
            },
        };
        this.kubectl(["apply", "-f", "-"], { input: JSON.stringify(node) });
        const deadline = Date.now() + 120_000;
        for (;;) {
            const ready = this.kubectl(["get", "node", "kwok-node-0", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"], { allowFail: true });
            const sa = this.kubectl(["get", "serviceaccount", "default", "--namespace=default"], { allowFail: true });
            if (ready.stdout.trim() === "True" && sa.status === 0) return;
            for (const p of [kcm, scheduler, kwok]) {
                if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${tail(p.logFile)}`);
            }
            if (Date.now() > deadline) throw new Error(`the kwok node was not Ready in 120 s:\n${tail(kwok.logFile)}\n${tail(kcm.logFile)}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }

    /** Stops every process (last started first), removes the namespace and the working folder. */
    async stop(): Promise<void> {
        for (const started of [...this.running].reverse()) await this.stopProcess(started);
        if (this.namespaceMade) run("ip", ["netns", "del", this.namespace], { allowFail: true });
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
