// Runs the offline plan inside jest: each evaluation gets a fresh module registry and a fresh Pulumi
// runtime store (the runtime keeps one global store per process: @pulumi/pulumi runtime/state.js).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Plan, PlannedResource } from "../../scripts/offline-plan";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** A home of its own, so a release or image cache on this machine cannot change what the plan shows. */
export const PLAN_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "plan-home-"));

export async function planFor(stack: string, config: string[] = [], opts: { afterUp?: boolean; previous?: Plan } = {}): Promise<Plan> {
    process.env.HOME = PLAN_HOME;
    // resetModules, not isolateModules: the harness requires the SDK and index.ts lazily, after the
    // isolation callback would have ended.
    jest.resetModules();
    (globalThis as { globalStore?: unknown }).globalStore = undefined;
    const { evaluatePlan } = require("../../scripts/offline-plan") as typeof import("../../scripts/offline-plan");
    return evaluatePlan({ projectDir: PROJECT_DIR, stack, config, ...opts });
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
