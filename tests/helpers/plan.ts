// Runs the offline plan for the tests: in a process of its own (plan-child.ts), one per test file, which
// keeps the SDK loaded and evaluates the program afresh for each plan, in the environment (HOME, PATH, ...)
// and folder the test has when it asks.
import { ChildProcess, fork } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Plan, PlanError, PlannedResource, planFromTransfer, planToTransfer, PlanTransfer } from "../../scripts/offline-plan";
import type { PlanRequest, PlanResponse } from "./plan-child";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** A home of its own, so a release or image cache on this machine cannot change what the plan shows. */
export const PLAN_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "plan-home-"));

let child: ChildProcess | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve: (plan: Plan) => void; reject: (err: Error) => void }>();

function planChild(): ChildProcess {
    if (child) return child;
    let stderr = "";
    const started = fork(path.join(__dirname, "plan-child.ts"), [], {
        execArgv: ["--require", require.resolve("tsx/cjs")],
        // Node's own compile cache: the next test file's child reads the SDK's compiled code from it.
        env: { ...process.env, NODE_COMPILE_CACHE: path.join(os.tmpdir(), "istio-minikube-test-compile-cache") },
        stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    started.stderr!.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    started.on("message", (response: PlanResponse) => {
        const pending = waiting.get(response.id);
        waiting.delete(response.id);
        if (!pending) return;
        if ("json" in response) pending.resolve(planFromTransfer(JSON.parse(response.json) as PlanTransfer));
        else pending.reject(response.error.name === "PlanError" ? new PlanError(response.error.message) : new Error(response.error.message));
    });
    started.on("exit", (code, signal) => {
        for (const pending of waiting.values()) pending.reject(new Error(`the plan process ended (${signal ?? `exit ${code}`}):\n${stderr}`));
        waiting.clear();
        child = undefined;
    });
    child = started;
    return started;
}

afterAll(() => {
    child?.disconnect();
});

/** The offline plan of a stack, made in the environment `env` (the test's own by default). */
export function planInChild(opts: { projectDir: string; stack: string; config?: string[]; afterUp?: boolean; previous?: Plan; env?: NodeJS.ProcessEnv }): Promise<Plan> {
    const request: PlanRequest = {
        id: nextId++,
        projectDir: opts.projectDir,
        stack: opts.stack,
        config: opts.config ?? [],
        afterUp: opts.afterUp,
        previous: opts.previous ? planToTransfer(opts.previous) : undefined,
        env: Object.fromEntries(Object.entries(opts.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined)),
        cwd: process.cwd(),
    };
    return new Promise<Plan>((resolve, reject) => {
        waiting.set(request.id, { resolve, reject });
        planChild().send(request);
    });
}

/** The offline plan of a stack of this project, with a HOME of its own (PLAN_HOME). */
export function planFor(stack: string, config: string[] = [], opts: { afterUp?: boolean; previous?: Plan } = {}): Promise<Plan> {
    process.env.HOME = PLAN_HOME;
    return planInChild({ projectDir: PROJECT_DIR, stack, config, ...opts });
}

/**
 * The stack's Kubernetes provider: the one every Kubernetes resource but Istio's base chart uses (the base
 * chart has a twin that adopts its own kept CRDs: components/cluster/kubernetesProvider.ts clusterProviders).
 */
export function providerOf(plan: Plan): PlannedResource {
    const providers = plan.resources.filter((r) => r.type === "pulumi:providers:kubernetes" && !r.name.endsWith("-adopting"));
    if (providers.length !== 1) throw new Error(`expected one Kubernetes provider besides the adopting one, found ${providers.length}`);
    return providers[0];
}

export function byName(plan: Plan, name: string): PlannedResource {
    const found = plan.resources.filter((r) => r.name === name && !r.type.startsWith("pulumi:providers:"));
    if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
    return found[0];
}

export function ofType(plan: Plan, type: string): PlannedResource[] {
    return plan.resources.filter((r) => r.type === type);
}

/**
 * An unpacked Istio release in the plan's HOME, as a stack that ran `pulumi up` before has it: the charts,
 * istioctl, the two samples, bookinfo's routes and the addons (small fixture manifests) at known paths. Returns its removal.
 */
export function unpackedRelease(version = "1.30.3"): () => void {
    const release = path.join(PLAN_HOME, ".cache", "istio-minikube", "releases", `istio-${version}`);
    const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8");
    const dirs = ["manifests/charts/base", "manifests/charts/istio-control/istio-discovery", "manifests/charts/gateway", "samples/curl", "samples/bookinfo/platform/kube"];
    for (const dir of [...dirs, "samples/bookinfo/networking", "samples/addons", "bin"]) {
        fs.mkdirSync(path.join(release, dir), { recursive: true });
    }
    fs.writeFileSync(path.join(release, "samples/curl/curl.yaml"), fixture("sample-app.yaml"));
    fs.writeFileSync(path.join(release, "samples/bookinfo/platform/kube/bookinfo.yaml"), fixture("sample-app.yaml"));
    fs.writeFileSync(path.join(release, "samples/bookinfo/networking/bookinfo-gateway.yaml"), fixture("gateway-routes.yaml"));
    for (const addon of ["prometheus", "kiali", "grafana", "jaeger"]) {
        fs.writeFileSync(path.join(release, "samples/addons", `${addon}.yaml`), fixture("addon.yaml"));
    }
    fs.writeFileSync(path.join(release, "bin/istioctl"), "");
    fs.writeFileSync(path.join(release, ".istio-minikube-complete"), "sha\n");
    return () => fs.rmSync(release, { recursive: true, force: true });
}
