// An `up` cut short anywhere, and the next `npm run up -- STACK --yes` converging with nothing left behind:
// the real Pulumi CLI killed (SIGKILL, as when a terminal closes or a laptop dies, the whole `npm run up`
// process group) or interrupted (SIGINT, Ctrl-C, to the same group) at points of a first `up` (during the
// preview, while the certificates are created, while istiod is created, while the samples are created) and in each step of a rotation; after
// each, one `npm run up` (scripts/up.sh, as a user runs it) must leave: no lock, no pending operation, the
// stack's objects in the state exactly those in the cluster under the stack's field manager, each object
// with one Pulumi owner, `preview --expect-no-changes` clean, one root everywhere (the state's trust bundle,
// cacerts, istiod-tls, the webhooks' caBundle, istio-ca-root-cert), and the next rotation step running.
// A lean existing-cluster stack (the samples in `default`, no gateway, no dashboards) keeps each `up` short.
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { run, setStackConfigValue } from "./harness/pulumiStack";
import { getJson, RELEASE_URL, startWorld, stopWorld, World } from "./harness/lifecycle";
import { kubectlAsync } from "./harness/tierServices";
import { stackFieldManager } from "../components/fieldManager";

jest.setTimeout(30 * 60_000);

const STACK = "interrupted";
const CONTEXT = "real-local";
const FIELD_MANAGER = stackFieldManager("istio-minikube", STACK);
let world: World;
const lines: string[] = [];

const config: ConfigMap = {
    "istio-minikube:cluster": { value: "existing" },
    "istio-minikube:kubeContext": { value: CONTEXT },
    "istio-minikube:istio.releaseUrl": { value: RELEASE_URL },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `npm run up -- STACK ...flags` as a user types it, in the stack's copy of the project, in a process group of its own. */
function npmRunUp(flags: string[] = ["--yes"]): { child: ChildProcess; output: () => string; exited: Promise<number> } {
    const env = { ...process.env, ...world.harness.env, PATH: `${path.dirname(world.harness.cli)}:${world.harness.env.PATH}` };
    const child = spawn("bash", ["scripts/up.sh", STACK, ...flags], { cwd: world.harness.projectDir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    return { child, output: () => output, exited };
}

const lockDir = () => path.join(world.harness.backendDir, ".pulumi", "locks", "organization", "istio-minikube", STACK);
const locks = () => (fs.existsSync(lockDir()) ? fs.readdirSync(lockDir()).filter((f) => f.endsWith(".json")) : []);

/**
 * Starts `npm run up` and, once `when` holds, sends `signal` to its whole process group (bash and the
 * pulumi it runs), as a terminal does; waits for the group to end. Returns what the run printed.
 */
async function interruptedUp(label: string, signal: "SIGKILL" | "SIGINT", when: (output: string) => Promise<boolean>): Promise<string> {
    const up = npmRunUp();
    const deadline = Date.now() + 10 * 60_000;
    let fired = false;
    const done = up.exited.then(() => true);
    while (!fired) {
        if (await Promise.race([done, sleep(100).then(() => false)])) throw new Error(`${label}: the up ended before the point to interrupt it:\n${up.output().slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`${label}: the point to interrupt never came`);
        if (await when(up.output())) {
            process.kill(-up.child.pid!, signal);
            fired = true;
        }
    }
    const code = await up.exited;
    lines.push(`${label}: ${signal} to npm run up; it ended with ${code}; lock files left: ${locks().length}`);
    return up.output();
}

const exists = async (args: string[]) => (await kubectlAsync(world.cluster, ["get", ...args, "--ignore-not-found", "-o", "name"])).stdout.trim() !== "";
const secretValue = async (name: string, key: string) => {
    const got = await kubectlAsync(world.cluster, ["get", "secret", name, "--namespace=istio-system", "-o", `jsonpath={.data.${key.replace(/\./g, "\\.")}}`]);
    return got.status === 0 ? Buffer.from(got.stdout, "base64").toString() : "";
};
const pemCerts = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const fingerprints = (pem: string) => pemCerts(pem).map((c) => new crypto.X509Certificate(c).fingerprint256);

/** `npm run up` that recovers: it must succeed; what it said about the lock and the pending operations is kept. */
async function recover(label: string): Promise<string> {
    const up = npmRunUp();
    const code = await up.exited;
    const said = up.output();
    if (code !== 0) throw new Error(`${label}: npm run up failed (${code}):\n${said.slice(-4000)}`);
    const notes = said.split("\n").filter((l) => l.startsWith("istio-minikube:")).map((l) => l.slice(0, 240));
    lines.push(`${label}: npm run up converged${notes.length ? `; it said:\n    ${notes.join("\n    ")}` : ""}`);
    return said;
}

type StateResource = { urn: string; type: string; custom?: boolean; outputs?: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } };

/** What is wrong after a recovery, empty when the stack converged with nothing left behind. */
async function convergenceFindings(): Promise<string[]> {
    const findings: string[] = [];
    if (locks().length > 0) findings.push(`lock files left: ${locks().join(", ")}`);
    const exported = ((await world.harness.stack.exportStack()).deployment ?? {}) as { pending_operations?: { type: string; resource: { urn: string } }[]; resources?: StateResource[] };
    const pending = exported.pending_operations ?? [];
    if (pending.length > 0) findings.push(`pending operations: ${pending.map((p) => `${p.type} ${p.resource.urn}`).join(", ")}`);

    // The stack's Kubernetes objects, by the state (custom resources, not components or patches) and by the cluster (its field manager).
    const resources = exported.resources ?? [];
    const inState = resources
        .filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.endsWith("Patch") && !r.type.startsWith("pulumi:providers:") && r.outputs?.kind)
        .map((r) => `${r.outputs!.kind}/${r.outputs!.metadata?.namespace ?? ""}/${r.outputs!.metadata?.name}`);
    const duplicated = inState.filter((k, i) => inState.indexOf(k) !== i);
    if (duplicated.length > 0) findings.push(`objects twice in the state: ${[...new Set(duplicated)].join(", ")}`);
    const kinds = [...new Set(resources.filter((r) => r.outputs?.kind && r.type.startsWith("kubernetes:")).map((r) => `${r.outputs!.kind}.${(r.outputs!.apiVersion ?? "v1").includes("/") ? r.outputs!.apiVersion!.split("/")[0] : ""}`.replace(/\.$/, "")))];
    const inCluster: string[] = [];
    const owners: string[] = [];
    for (const kind of kinds) {
        const listed = await kubectlAsync(world.cluster, ["get", kind, "--all-namespaces", "--show-managed-fields", "-o", "json"]);
        if (listed.status !== 0) continue;
        for (const item of JSON.parse(listed.stdout).items as { kind: string; metadata: { name: string; namespace?: string; managedFields?: { manager: string; operation: string }[] } }[]) {
            const managers = (item.metadata.managedFields ?? []).filter((m) => m.operation === "Apply" && m.manager.startsWith("pulumi"));
            if (!managers.some((m) => m.manager === FIELD_MANAGER)) continue;
            const key = `${item.kind}/${item.metadata.namespace ?? ""}/${item.metadata.name}`;
            inCluster.push(key);
            if (managers.length !== 1) owners.push(`${key} (${managers.map((m) => m.manager).join(", ")})`);
        }
    }
    const orphans = inCluster.filter((k) => !inState.includes(k));
    const missing = inState.filter((k) => !inCluster.includes(k));
    if (orphans.length > 0) findings.push(`in the cluster under the stack's field manager, not in the state: ${orphans.join(", ")}`);
    if (missing.length > 0) findings.push(`in the state, not in the cluster under the stack's field manager: ${missing.join(", ")}`);
    if (owners.length > 0) findings.push(`objects with more than one Pulumi owner: ${owners.join("; ")}`);
    lines.push(`  ${inState.length} objects in the state, ${inCluster.length} in the cluster under ${FIELD_MANAGER}`);

    // One root everywhere: the state's trust bundle, the Secrets, the webhooks, the ConfigMap istiod publishes.
    const outputs = await world.harness.stack.outputs();
    const bundle = fingerprints(outputs.trustBundle.value as string).sort().join(",");
    const seen: Record<string, string> = {
        "cacerts root-cert.pem": fingerprints(await secretValue("cacerts", "root-cert.pem")).sort().join(","),
        "istiod-tls ca.crt": fingerprints(await secretValue("istiod-tls", "ca.crt")).sort().join(","),
    };
    const webhook = getJson(world, ["get", "mutatingwebhookconfiguration", "istio-sidecar-injector"]) as any;
    seen["istio-sidecar-injector caBundle"] = fingerprints(Buffer.from(webhook.webhooks[0].clientConfig.caBundle, "base64").toString()).sort().join(",");
    // istiod publishes istio-ca-root-cert from its ca.crt when it starts and when the file changes (the
    // kubelet brings a mounted Secret up to date within its sync period).
    for (let i = 0; i < 90; i++) {
        const cm = (getJson(world, ["get", "configmap", "istio-ca-root-cert", "--namespace=default"]) as any).data["root-cert.pem"] as string;
        seen["istio-ca-root-cert"] = fingerprints(cm).sort().join(",");
        if (seen["istio-ca-root-cert"] === bundle) break;
        await sleep(1000);
    }
    for (const [consumer, roots] of Object.entries(seen)) if (roots !== bundle) findings.push(`${consumer} holds ${roots}, the state's trust bundle is ${bundle}`);

    try {
        await run(world.harness, "preview (after recovery)", (o) => world.harness.stack.preview({ ...o, expectNoChanges: true }));
    } catch (err) {
        findings.push(`the preview after recovery plans changes: ${String(err).slice(0, 400)}`);
    }
    return findings;
}

beforeAll(async () => {
    world = await startWorld(STACK, CONTEXT);
    await world.harness.stack.setAllConfig(config, true);
    // The samples in default only, no gateway, no dashboards: what is killed is the same, each up shorter.
    setStackConfigValue(world.harness, "istio-minikube:injection", { auto: ["default"], manual: [] });
    setStackConfigValue(world.harness, "istio-minikube:gateway", { enabled: false });
    setStackConfigValue(world.harness, "istio-minikube:addons", []);
}, 10 * 60_000);

afterAll(async () => {
    if (lines.length > 0) process.stdout.write(`interruptions (${STACK}):\n${lines.join("\n")}\n`);
    await stopWorld(world);
});

describe("an up cut short, then one npm run up", () => {
    const destroy = async () => {
        await run(world.harness, "destroy", (o) => world.harness.stack.destroy(o));
        // The namespaces the stack made go with their objects; the next first up starts from there.
        world.cluster.kubectl(["wait", "--for=delete", "namespace/istio-system", "namespace/outside-mesh", "--timeout=180s"], { allowFail: true });
    };

    test("SIGKILL during the first up's preview, then again while the certificates are created: each lock left is named and removed, and one npm run up converges with one root", async () => {
        await interruptedUp("first up, during the preview", "SIGKILL", async (out) => out.includes("Previewing update"));
        expect(locks().length).toBe(1);
        // The next npm run up names the killed run's lock and removes it; it is killed in turn while the
        // certificates resource (the root, made by the program's dynamic provider) is being created.
        const said = await interruptedUp("first up again, while the certificates are created", "SIGKILL", async (out) => /mesh-certificates\s+creating/.test(out));
        expect(said).toMatch(/stack 'interrupted' was locked by `pulumi up --stack interrupted --yes` \(npm run up, pid \d+, .*\) at .*that run was killed\. Its lock is removed/);
        expect(locks().length).toBe(1);
        await recover("first up, after both");
        expect(await convergenceFindings()).toEqual([]);
        await destroy();
    });

    test("SIGINT (Ctrl-C) while istiod is created: the up cancels, and the next one converges", async () => {
        await interruptedUp("first up, while istiod is created", "SIGINT", () => exists(["deployment", "istiod", "--namespace=istio-system"]));
        await recover("first up, while istiod is created");
        expect(await convergenceFindings()).toEqual([]);
        await destroy();
    });

    test("SIGKILL while the samples are created: the lock, the pending creates and a second owner of the objects it made are all gone after the next up", async () => {
        await interruptedUp("first up, while the samples are created", "SIGKILL", () => exists(["deployment", "productpage-v1", "--namespace=default"]));
        const exported = (await world.harness.stack.exportStack()).deployment as { pending_operations?: unknown[] };
        lines.push(`  pending operations left by the kill: ${exported.pending_operations?.length ?? 0}`);
        expect(exported.pending_operations?.length ?? 0).toBeGreaterThan(0);
        await recover("first up, while the samples are created");
        expect(await convergenceFindings()).toEqual([]);
    });

    /** One rotation step interrupted where `when` says, recovered by npm run up, and checked. */
    const interruptedStep = async (label: string, keys: Record<string, string>, signal: "SIGKILL" | "SIGINT", when: () => Promise<boolean>) => {
        for (const [key, value] of Object.entries(keys)) await world.harness.stack.setConfig(`istio-minikube:${key}`, { value }, true);
        await interruptedUp(label, signal, when);
        await recover(label);
        expect(await convergenceFindings()).toEqual([]);
    };

    test("the trust step killed (SIGKILL) while the bundles widen: the next up completes it, one trust bundle of both roots everywhere", async () => {
        const before = await secretValue("cacerts", "root-cert.pem");
        await interruptedStep("trust step", { "certificates.rotation": "1", "certificates.signing": "0" }, "SIGKILL", async () => (await secretValue("cacerts", "root-cert.pem")) !== before);
        expect(pemCerts(await secretValue("cacerts", "root-cert.pem"))).toHaveLength(2);
    });

    test("the sign step interrupted (SIGINT) while cacerts changes signer: the next up completes it", async () => {
        const before = await secretValue("cacerts", "ca-cert.pem");
        await interruptedStep("sign step", { "certificates.signing": "1" }, "SIGINT", async () => (await secretValue("cacerts", "ca-cert.pem")) !== before);
        expect(await secretValue("cacerts", "ca-cert.pem")).not.toBe(before);
    });

    test("the retire step killed (SIGKILL) while istiod's serving certificate changes: the next up completes it, the new root alone everywhere", async () => {
        const before = await secretValue("istiod-tls", "tls.crt");
        await interruptedStep("retire step", { "certificates.retired": "1" }, "SIGKILL", async () => (await secretValue("istiod-tls", "tls.crt")) !== before);
        expect(pemCerts(await secretValue("cacerts", "root-cert.pem"))).toHaveLength(1);
        await run(world.harness, "destroy (end)", (o) => world.harness.stack.destroy(o));
    });
});
