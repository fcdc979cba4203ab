// A stack of this program under the real Pulumi CLI, driven by Pulumi's Automation API (LocalWorkspace),
// run inside the tier's network namespace: the CLI is started through a one-line wrapper that enters the
// namespace (`ip netns exec`), so the engine, the language host, the providers and the program's scripts
// all reach the local API server, istiod and the release server there, and nothing else. The project is a
// copy of the program's files in a folder of the test's own (its stack files, state and `.istio-minikube`
// folder never touch the checkout), with the checkout's node_modules linked in. The state backend, PULUMI_HOME
// and HOME are the test's own as well.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { LocalWorkspace, PulumiCommand, Stack, EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { LocalCluster } from "./localCluster";

export const REPO = path.resolve(__dirname, "..", "..");
export const PASSPHRASE = "real-tier-passphrase";

/** The program's files, as `pulumi up` in the checkout sees them, and what `npm run up` runs. */
const PROJECT_FILES = ["Pulumi.yaml", "Pulumi.dev.yaml", "index.ts", "package.json", "tsconfig.json", "components", "scripts", "preflight"];

export interface StackHarness {
    stack: Stack;
    /** `pulumi` as the Automation API runs it, and the environment it gives it. */
    cli: string;
    env: Record<string, string>;
    projectDir: string;
    backendDir: string;
    home: string;
    /** Everything the CLI printed, per operation, for failure messages. */
    output: string[];
    /** What the engine planned or did, per resource, for the last operation. */
    steps: { op: OpType; urn: string; type: string }[];
}

/** Runs an Automation API operation, keeping its output and steps; a failure throws with the tail of the output. */
export async function run<T>(harness: StackHarness, label: string, operation: (opts: { onOutput: (s: string) => void; onEvent: (e: EngineEvent) => void }) => Promise<T>): Promise<{ result: T; seconds: number }> {
    harness.steps = [];
    const lines: string[] = [];
    // A resource's error reaches the event stream as a diagnostic; the CLI's text output has only its summary.
    const errors: string[] = [];
    const started = Date.now();
    try {
        const result = await operation({
            onOutput: (s) => lines.push(s),
            onEvent: (event) => {
                const meta = event.resourcePreEvent?.metadata;
                if (meta) harness.steps.push({ op: meta.op, urn: meta.urn, type: meta.type });
                const diagnostic = event.diagnosticEvent;
                if (diagnostic?.severity === "error") errors.push(`error: ${diagnostic.urn ? `${diagnostic.urn.split("::").pop()}: ` : ""}${diagnostic.message.trim().replace(/\s*\n\s*/g, " | ")}`);
            },
        });
        harness.output.push(`--- ${label}\n${lines.join("")}`);
        return { result, seconds: (Date.now() - started) / 1000 };
    } catch (err) {
        harness.output.push(`--- ${label} (failed)\n${lines.join("")}`);
        const text = `${errors.join("\n")}\n${(err as Error).message ?? err}`;
        throw new Error(`${label} failed: ${failureText(text)}`);
    }
}

/**
 * What a failed operation's output says, short enough to read: the engine's error diagnostics wherever they
 * are (a refusal by a provider's check comes early, and the program's own unhandled exception when the
 * engine stops it may follow at length), then the last 60 lines.
 */
export function failureText(text: string): string {
    const lines = text.split("\n");
    const diagnostics = [...new Set(lines.filter((l) => /^\s*error: /.test(l)).map((l) => l.trim()))];
    return [...diagnostics, "...", ...lines.slice(-60)].join("\n");
}

/**
 * A new stack `name` of a fresh copy of the project, with the CLI and every plugin from `bin` (the tools
 * e2e/build-tools.sh built: the real CLI and kubernetes provider, our stand-ins for the language host and
 * the command provider) first on PATH, then `extraPath` (stand-ins of host tools).
 */
export async function newStack(opts: {
    name: string;
    cluster: LocalCluster;
    bin: string;
    root: string;
    kubeconfig: string;
    extraPath?: string[];
    env?: Record<string, string>;
}): Promise<StackHarness> {
    const projectDir = path.join(opts.root, "project");
    fs.mkdirSync(projectDir, { recursive: true });
    for (const file of PROJECT_FILES) fs.cpSync(path.join(REPO, file), path.join(projectDir, file), { recursive: true });
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(projectDir, "node_modules"));

    const cliRoot = path.join(opts.root, "cli");
    fs.mkdirSync(path.join(cliRoot, "bin"), { recursive: true });
    fs.writeFileSync(path.join(cliRoot, "bin", "pulumi"), cliWrapper(opts.cluster.namespace, path.join(opts.bin, "pulumi")), { mode: 0o755 });
    const backendDir = path.join(opts.root, "state");
    const home = path.join(opts.root, "home");
    fs.mkdirSync(backendDir, { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    const nodeDir = path.dirname(process.execPath);
    const envVars: Record<string, string> = {
        PATH: [...(opts.extraPath ?? []), opts.bin, nodeDir, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"].join(":"),
        HOME: home,
        PULUMI_HOME: path.join(home, ".pulumi"),
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "1",
        // Every plugin is on PATH; nothing may be downloaded (there is no internet here).
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        KUBECONFIG: opts.kubeconfig,
        ...(opts.env ?? {}),
    };
    const pulumiCommand = await PulumiCommand.get({ root: cliRoot, skipVersionCheck: true });
    const stack = await LocalWorkspace.createStack({ stackName: opts.name, workDir: projectDir }, { pulumiCommand, envVars });
    return { stack, cli: path.join(cliRoot, "bin", "pulumi"), env: envVars, projectDir, backendDir, home, output: [], steps: [] };
}

/**
 * The `pulumi` the Automation API runs: the real CLI inside the namespace. The Automation API listens for
 * the engine's events on 127.0.0.1:PORT of the test's own namespace and passes `--event-log tcp://...`
 * (@pulumi/pulumi automation/stack.js setupEventLog); a unix socket, which both namespaces see, carries
 * that port into the tier's namespace (socat on both ends). `nodelay` on both TCP ends: the events arrive as a
 * gRPC stream, and with Nagle's algorithm on socat's sockets (gRPC sets TCP_NODELAY on its own, socat does
 * not) each operation took about 3 s longer (a no-op preview 12.9 s against 9.5 s, measured).
 */
function cliWrapper(namespace: string, cli: string): string {
    return `#!/usr/bin/env bash
# The real Pulumi CLI, run inside the real tier's network namespace (e2e/harness/pulumiStack.ts).
set -uo pipefail
port=""
previous=""
for arg in "$@"; do
    if [ "$previous" = --event-log ] && [[ "$arg" =~ ^tcp://127\\.0\\.0\\.1:([0-9]+)$ ]]; then port=\${BASH_REMATCH[1]}; fi
    previous=$arg
done
if [ -n "$port" ]; then
    socket=$(mktemp -u /tmp/imk-events.XXXXXX)
    socat UNIX-LISTEN:"$socket",fork TCP:127.0.0.1:"$port",nodelay &
    outside=$!
    ip netns exec ${namespace} socat TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr,nodelay UNIX-CONNECT:"$socket" &
    inside=$!
    trap 'kill $outside $inside 2>/dev/null; rm -f "$socket"' EXIT
    for _ in $(seq 100); do
        [ -S "$socket" ] && ip netns exec ${namespace} ss -Hltn "sport = :$port" | grep -q . && break
        sleep 0.05
    done
    ip netns exec ${namespace} ${cli} "$@"
    exit
fi
# No event log to carry: the CLI takes this process's place (ip netns exec execs it), so its pid is the one
# the caller started, as with a plain pulumi (npm run up's record of the run it started, scripts/stack-state.sh).
exec ip netns exec ${namespace} ${cli} "$@"
`;
}

/**
 * Sets a typed value (a list, say) in the stack's config file, as a user editing Pulumi.<stack>.yaml
 * would: `pulumi config set` stores strings, which Pulumi.yaml's array type refuses.
 */
export function setStackConfigValue(harness: StackHarness, key: string, value: unknown): void {
    const file = path.join(harness.projectDir, `Pulumi.${harness.stack.name}.yaml`);
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    doc.config = { ...(doc.config ?? {}), [key]: value };
    fs.writeFileSync(file, YAML.stringify(doc));
}

/**
 * `pulumi stack export` as a user runs it, secrets as ciphertext. (The Automation API's exportStack passes
 * --show-secrets: automation/localWorkspace.js.)
 */
export function exportState(harness: StackHarness): string {
    return execFileSync(harness.cli, ["stack", "export", "--stack", harness.stack.name], {
        cwd: harness.projectDir,
        env: { ...process.env, ...harness.env },
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
    });
}

/** Every file of the backend folder, concatenated: the state as it lies on disk. */
export function backendText(harness: StackHarness): string {
    const texts: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else texts.push(fs.readFileSync(full, "utf8"));
        }
    };
    walk(harness.backendDir);
    return texts.join("\n");
}

/** Each place a private key shows in plain text, with the text around it: what a failure message needs. */
export function plainPrivateKeys(text: string): string[] {
    return [...text.matchAll(/PRIVATE KEY/g)].map((m) => text.slice(Math.max(0, m.index! - 400), m.index! + 40));
}

/**
 * The CLI in the tier's namespace with the stack's environment, without blocking the event loop (the
 * probes and the tier's services keep running meanwhile); killed after 10 minutes, so a hung CLI fails the
 * test instead of stalling the tier.
 */
function runCli(harness: StackHarness, args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(harness.cli, args, { cwd: harness.projectDir, env: { ...process.env, ...harness.env }, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        const timer = setTimeout(() => child.kill("SIGKILL"), 10 * 60_000);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, output });
        });
    });
}

/**
 * A no-op operation's figure: the median of `times` runs in a row of the CLI's own `pulumi preview
 * --expect-no-changes`, as a user types it, or `pulumi up --yes --skip-preview --expect-no-changes`, the
 * update alone (what the Automation API's `up` runs, and what the tier has always measured as a no-op up);
 * each fails on any change. Not through the Automation API: that streams every engine event to the test (the
 * CRDs' whole state among them, through the namespace's socat bridge), about 1 s a run that the CLI does not pay.
 * One sample on 2 cores varies by a second or more, and the first one right after an `up` is the slowest,
 * while the cluster is still busy with the objects that `up` made; all the samples are printed as well.
 */
async function noopSeconds(harness: StackHarness, operation: "preview" | "up", times: number): Promise<{ median: number; samples: number[] }> {
    const samples: number[] = [];
    const args = operation === "preview" ? ["preview"] : ["up", "--yes", "--skip-preview"];
    for (let i = 1; i <= times; i++) {
        const label = `${operation} (no changes, CLI, ${i} of ${times})`;
        const started = Date.now();
        const result = await runCli(harness, [...args, "--expect-no-changes", "--non-interactive", "--stack", harness.stack.name]);
        const seconds = (Date.now() - started) / 1000;
        harness.output.push(`--- ${label}\n${result.output}`);
        if (result.code !== 0) throw new Error(`${label} failed (${result.code === null ? "killed after 10 minutes" : `exit ${result.code}`}): ${result.output.split("\n").slice(-60).join("\n")}`);
        samples.push(seconds);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], samples };
}

export const noopPreviewSeconds = (harness: StackHarness, times = 3) => noopSeconds(harness, "preview", times);
export const noopUpSeconds = (harness: StackHarness, times = 3) => noopSeconds(harness, "up", times);

/** The line the tier prints per stack after its figures: each no-op run that went into a median. */
export function noopSamplesLine(stack: string, samples: { preview: number[]; up: number[] }): string {
    const list = (xs: number[]) => xs.map((s) => `${s.toFixed(1)}s`).join(" ");
    return `no-op samples (${stack}): preview ${list(samples.preview)}; up ${list(samples.up)}`;
}

/** The figures line the tier prints per stack, with the Node.js that ran the program (the one on the CLI's PATH). */
/** The figures line: durations in seconds, then counts, then the Node.js that ran the program. */
export function figuresLine(stack: string, figures: Record<string, number>, counts: Record<string, number> = {}): string {
    return `lifecycle figures (${stack}): ${[...Object.entries(figures).map(([k, v]) => `${k}=${v.toFixed(1)}s`), ...Object.entries(counts).map(([k, n]) => `${k}=${n}`)].join(" ")} node=${process.version}`;
}
