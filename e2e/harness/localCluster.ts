// A real Kubernetes API server (with its etcd) as local processes inside a network namespace the test
// creates and removes itself: nothing it serves or calls leaves that namespace, which is the cluster's
// node. With the control plane alone (start), the Service CIDR is routed as local addresses there, so a
// Service's ClusterIP, which the API server dials for a webhook (kube-apiserver's default ClusterIP service
// resolver; --enable-aggregator-routing is off), reaches a process listening in the namespace. With the
// node (startNodes), Services are kube-proxy's, as on a cluster: the tier's kubelet runs the pods it can
// (e2e/tools/kubelet), each in a network namespace of its own at the IP kwok gave it, kube-proxy routes
// every ClusterIP and NodePort to the ready endpoints of their EndpointSlices, and CoreDNS answers names.
// Needs root (ip netns) and the tools of e2e/build-tools.sh.
import { ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { COREDNS_IMAGE, TierImage, tierImages, tierPodExpression } from "./images";

export const SERVICE_CIDR = "10.96.0.0/24";
const ADVERTISE_ADDRESS = "10.200.0.1";
/** The kwok node's address: its InternalIP, the pods' hostIP, where the tier's kubelet serves exec and logs, and kube-proxy's NodePort address. */
export const NODE_IP = "10.200.0.2";
export const NODE_NAME = "kwok-node-0";
export const POD_CIDR = "10.244.0.0/24";
/** kube-dns's ClusterIP, the tenth of the Service range, as kubeadm (minikube) gives it. */
export const CLUSTER_DNS = "10.96.0.10";
/** The Kubernetes release the node reports: Istio's injector reads it to choose native sidecars (1.33 and newer). */
const KUBELET_VERSION = "v1.35.4";
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

/** A cluster with its control plane and its node running (`bin`: the tier's tools); stopped again if either fails. */
export async function startLocalCluster(bin: string): Promise<LocalCluster> {
    const cluster = new LocalCluster(bin);
    try {
        await cluster.start();
        await cluster.startNodes();
    } catch (err) {
        await cluster.stop();
        throw err;
    }
    return cluster;
}

export class LocalCluster {
    // Unique per cluster, not only per process: jest runs the tier's files one after another in one process.
    readonly namespace = `imk-real-${randomBytes(4).toString("hex")}`;
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "imk-real-"));
    private readonly running: Running[] = [];
    private namespaceMade = false;

    constructor(
        readonly bin: string,
        /** The Istio release the tier's images stand for (images.ts). */
        readonly istioRelease = "1.30.3",
    ) {}

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
            // The kubelet's address for exec and logs: the node's InternalIP (its Hostname resolves nowhere here).
            "--kubelet-preferred-address-types=InternalIP",
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
     * e2e/build-tools.sh copies from its module (kwok v0.8.0 runs no stage it is not given), for the pods the
     * tier's kubelet does not run; for the ones it runs, one stage of ours gives the pod its IPs from the
     * node's podCIDR (kwok's PodIPsWith, as pod-ready does), and the kubelet does the rest: Running, Ready from
     * the probes, deletion. Both sets of selectors use the same expression of the image table, so every pod
     * has exactly one owner (two matching stages would be a coin toss in kwok).
     */
    private kwokStages(images: Record<string, TierImage>): string {
        const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(this.bin, "kwok-stages.yaml"), "utf8")).map((d) => d.toJS()).filter(Boolean);
        const tierPod = tierPodExpression(images);
        for (const name of ["pod-ready", "pod-complete", "pod-delete"]) {
            const stage = docs.find((d) => d.kind === "Stage" && d.metadata?.name === name);
            if (!stage) throw new Error(`kwok-stages.yaml has no ${name} stage`);
            stage.spec.selector.matchExpressions.push({ key: tierPod, operator: "NotIn", values: ["true"] });
        }
        docs.push({
            apiVersion: "kwok.x-k8s.io/v1alpha1",
            kind: "Stage",
            metadata: { name: "tier-pod-network" },
            spec: {
                resourceRef: { apiGroup: "v1", kind: "Pod" },
                selector: {
                    matchExpressions: [
                        { key: tierPod, operator: "In", values: ["true"] },
                        { key: ".metadata.deletionTimestamp", operator: "DoesNotExist" },
                        // Once only: kwok takes an IP from its pool each time a template calls PodIPsWith.
                        { key: ".status.podIP", operator: "DoesNotExist" },
                    ],
                },
                next: {
                    statusTemplate: [
                        "{{ $hostIPs := NodeIPsWith .spec.nodeName }}",
                        "{{ with $hostIPs }}",
                        "hostIP: {{ index . 0 | Quote }}",
                        "hostIPs:",
                        "{{ range . }}",
                        "- ip: {{ . | Quote }}",
                        "{{ end }}",
                        "{{ end }}",
                        '{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}',
                        "{{ with $podIPs }}",
                        "podIP: {{ index . 0 | Quote }}",
                        "podIPs:",
                        "{{ range . }}",
                        "- ip: {{ . | Quote }}",
                        "{{ end }}",
                        "{{ end }}",
                    ].join("\n"),
                },
            },
        });
        const file = path.join(this.dir, "kwok-stages.yaml");
        fs.writeFileSync(file, docs.map((d) => YAML.stringify(d)).join("---\n"));
        return file;
    }

    /**
     * The node: kube-controller-manager (Deployments, ReplicaSets, EndpointSlices, ServiceAccounts, namespace
     * deletion, garbage collection, kube-root-ca.crt), kube-scheduler, kwok v0.8.0 managing one fake node
     * (annotation kwok.x-k8s.io/node=fake), kube-proxy in nftables mode, the tier's kubelet for the pods
     * whose images it stands in for (images.ts), and cluster DNS as kubeadm deploys it (CoreDNS in
     * kube-system behind Service kube-dns). The node is this namespace: its address is on lo beside the API
     * server's, it forwards between the pods' veths, and the Service range is routed to lo, where kube-proxy's
     * rules take each connection to an endpoint before it goes anywhere (a locally sent packet is routed
     * before the OUTPUT hook, so the range needs a route: a cluster node has its default route).
     */
    async startNodes(): Promise<void> {
        this.exec("ip", ["addr", "add", `${NODE_IP}/32`, "dev", "lo"]);
        this.exec("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
        this.exec("ip", ["route", "del", "local", SERVICE_CIDR, "dev", "lo", "table", "local"]);
        this.exec("ip", ["route", "add", SERVICE_CIDR, "dev", "lo", "src", NODE_IP]);
        this.images = tierImages(this.bin, this.istioRelease);
        const imagesFile = path.join(this.dir, "tier-images.json");
        fs.writeFileSync(imagesFile, JSON.stringify({ images: this.images }, null, 2));

        const kubeconfig = this.adminKubeconfig();
        const kcm = this.startProcess("kube-controller-manager", path.join(this.bin, "kube-controller-manager"), [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            `--service-account-private-key-file=${path.join(this.dir, "sa.key")}`,
            // What kube-root-ca.crt holds, which every pod's service account volume mounts as ca.crt: the API
            // server's own CA (its self-signed certificate folder), so a pod's in-cluster client checks the server.
            `--root-ca-file=${path.join(this.dir, "certs", "apiserver.crt")}`,
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
        // The node with the status a kubelet reports, set at creation (the API server keeps a new Node's
        // status: pkg/registry/core/node/strategy.go PrepareForCreate; kwok's node-initialize keeps what is
        // there): its address, the kubelet's port, and its version, from which Istio's injector decides on
        // native sidecars (pkg/kube/inject/webhook.go DetectNativeSidecar: 1.33 and newer). 4 CPUs and 8 GiB,
        // what the dev stack gives minikube: what a container's GOMAXPROCS and Envoy's concurrency read when it
        // sets no CPU limit.
        const node = {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: NODE_NAME,
                annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
                labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
            },
            spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
            status: {
                // Both types: with either missing, kwok's node-initialize writes an `addresses:` of what it has
                // (no Hostname without its --node-name), which the strategic merge takes as clearing the list.
                addresses: [
                    { type: "InternalIP", address: NODE_IP },
                    { type: "Hostname", address: NODE_NAME },
                ],
                daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
                nodeInfo: {
                    kubeletVersion: KUBELET_VERSION,
                    kubeProxyVersion: KUBELET_VERSION,
                    containerRuntimeVersion: "tier-kubelet://0",
                    osImage: "istio-minikube real tier",
                    kernelVersion: "",
                    operatingSystem: "linux",
                    architecture: "amd64",
                    machineID: "",
                    systemUUID: "",
                    bootID: "",
                },
                allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
                capacity: { cpu: "4", memory: "8Gi", pods: "110" },
            },
        };
        this.kubectl(["create", "-f", "-"], { input: JSON.stringify(node) });
        const kwok = this.startProcess("kwok", path.join(this.bin, "kwok"), [
            `--kubeconfig=${kubeconfig}`,
            `--config=${this.kwokStages(this.images)}`,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            `--node-ip=${NODE_IP}`,
            "--server-address=127.0.0.1:10247",
        ]);
        // kube-proxy of the same Kubernetes module, nftables mode (GA since 1.33; needs nft), on the node's
        // own Node object; conntrack's global table size is not the namespace's to set (it would exit), the
        // per-namespace timeouts are left as they are. --cluster-cidr: traffic from outside the pod range to a
        // Service is masqueraded, as on a cluster.
        const proxy = this.startProcess("kube-proxy", path.join(this.bin, "kube-proxy"), [
            `--kubeconfig=${kubeconfig}`,
            "--proxy-mode=nftables",
            `--hostname-override=${NODE_NAME}`,
            `--cluster-cidr=${POD_CIDR}`,
            "--nodeport-addresses=primary",
            "--conntrack-max-per-core=0",
            "--conntrack-tcp-timeout-established=0",
            "--conntrack-tcp-timeout-close-wait=0",
            "--healthz-bind-address=127.0.0.1:10256",
            "--metrics-bind-address=127.0.0.1:10249",
        ]);
        const kubelet = this.startProcess("tier-kubelet", path.join(this.bin, "tier-kubelet"), [
            "serve",
            `--kubeconfig=${kubeconfig}`,
            `--node-name=${NODE_NAME}`,
            `--node-ip=${NODE_IP}`,
            `--root=${path.join(this.dir, "kubelet")}`,
            `--images=${imagesFile}`,
            `--cluster-dns=${CLUSTER_DNS}`,
        ]);
        const deadline = Date.now() + 120_000;
        for (;;) {
            const ready = this.kubectl(["get", "node", NODE_NAME, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { allowFail: true });
            const sa = this.kubectl(["get", "serviceaccount", "default", "--namespace=default"], { allowFail: true });
            if (ready.stdout.trim() === "True" && sa.status === 0) break;
            for (const p of [kcm, scheduler, kwok, proxy, kubelet]) {
                if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${tail(p.logFile)}`);
            }
            if (Date.now() > deadline) throw new Error(`the kwok node was not Ready in 120 s:\n${tail(kwok.logFile)}\n${tail(kcm.logFile)}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        if (this.images[COREDNS_IMAGE]) await this.startClusterDns();
    }

    /** The images the tier's kubelet stands in for, once the node runs (startNodes). */
    images: Record<string, TierImage> = {};

    /**
     * Cluster DNS as kubeadm deploys it for Kubernetes 1.35 (cmd/kubeadm/app/phases/addons/dns/manifests.go):
     * CoreDNS in kube-system with its RBAC, ConfigMap and Service kube-dns at the Service range's tenth IP.
     * The Corefile is kubeadm's without `forward . /etc/resolv.conf` (there is no upstream resolver here, and
     * nothing may leave the namespace) and so without `loop`, which only looks for a forwarding loop.
     */
    private async startClusterDns(): Promise<void> {
        const corefile = [
            ".:53 {",
            "    errors",
            "    health {",
            "       lameduck 5s",
            "    }",
            "    ready",
            "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
            "       pods insecure",
            "       fallthrough in-addr.arpa ip6.arpa",
            "       ttl 30",
            "    }",
            "    prometheus :9153",
            "    cache 30 {",
            "       disable success cluster.local",
            "       disable denial cluster.local",
            "    }",
            "    reload",
            "    loadbalance",
            "}",
            "",
        ].join("\n");
        const labels = { "k8s-app": "kube-dns" };
        const objects = [
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: "kube-system" } },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRole",
                metadata: { name: "system:coredns" },
                rules: [
                    { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
                    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
                ],
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: "system:coredns" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
                subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
            },
            { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system" }, data: { Corefile: corefile } },
            {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "coredns", namespace: "kube-system", labels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: "coredns",
                            dnsPolicy: "Default",
                            containers: [
                                {
                                    name: "coredns",
                                    image: COREDNS_IMAGE,
                                    args: ["-conf", "/etc/coredns/Corefile"],
                                    volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }],
                                    ports: [
                                        { containerPort: 53, name: "dns", protocol: "UDP" },
                                        { containerPort: 53, name: "dns-tcp", protocol: "TCP" },
                                        { containerPort: 9153, name: "metrics", protocol: "TCP" },
                                        { containerPort: 8181, name: "readiness-probe", protocol: "TCP" },
                                    ],
                                    readinessProbe: { httpGet: { path: "/ready", port: "readiness-probe", scheme: "HTTP" } },
                                },
                            ],
                            volumes: [{ name: "config-volume", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
                        },
                    },
                },
            },
            {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "kube-dns", namespace: "kube-system", labels: { ...labels, "kubernetes.io/name": "CoreDNS" } },
                spec: {
                    clusterIP: CLUSTER_DNS,
                    selector: labels,
                    ports: [
                        { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
                        { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
                        { name: "metrics", port: 9153, protocol: "TCP", targetPort: 9153 },
                    ],
                },
            },
        ];
        this.kubectl(["apply", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });
        this.kubectl(["rollout", "status", "deployment/coredns", "--namespace=kube-system", "--timeout=120s"]);
    }

    /** Stops every process (last started first), removes the namespace and the working folder. */
    async stop(): Promise<void> {
        for (const started of [...this.running].reverse()) await this.stopProcess(started);
        if (this.namespaceMade) run("ip", ["netns", "del", this.namespace], { allowFail: true });
        // REAL_TIER_KEEP=1 keeps the folder (every process's log, the kubelet's pods) to look at after a run.
        if (process.env.REAL_TIER_KEEP === "1") process.stdout.write(`real tier: kept ${this.dir}\n`);
        else fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
