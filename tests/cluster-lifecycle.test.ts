// Issue 9, items 3 and 5: a minikube profile restarted on a new port, a stopped profile, and a shell's
// environment must not change what the stack stores. The program runs under the offline plan (Pulumi's
// mock runtime, as a preview) with a fake `minikube` first on PATH; what `pulumi up` does before any
// resource is registered runs through the same function index.ts calls.
import * as fs from "fs";
import * as path from "path";
import { planFor, providerOf, unpackedRelease } from "./helpers/plan";
import { createFakeBin, FakeBin, runScript } from "./helpers/fakeBin";
import { PROVIDER_ENVIRONMENT } from "../components/cluster/kubernetesProvider";
import { resumeProfile, stoppedProfileMessage } from "../components/cluster/minikubeCluster";
import { prepareHost } from "../components/cluster/hostPreparation";
import type { Kubectl } from "../components/istio/existingIstio";
import { parseSettings } from "../components/config";
import type { Plan } from "../scripts/offline-plan";
import type { StackSettings } from "../components/config";

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, "..");
const STATE_SCRIPT = path.join(REPO, "components", "scripts", "minikube-state.sh");

/** A minikube whose `status` exits with the code in $FAKE_STATE/status, and whose `start` makes it 0. */
const MINIKUBE = `case "$1" in
    status) exit "$(cat "$FAKE_STATE/status")" ;;
    start) echo 0 >"$FAKE_STATE/status"; echo "fake minikube started" >&2 ;;
    update-context) echo 0 >"$FAKE_STATE/status" ;;
    *) echo "fake minikube: unexpected $*" >&2; exit 99 ;;
esac`;

let bin: FakeBin;
const savedEnv = { ...process.env };
beforeEach(() => {
    bin = createFakeBin({ minikube: MINIKUBE });
    process.env.PATH = `${bin.dir}:${savedEnv.PATH}`;
});
afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    bin.cleanup();
});

const minikubeStatus = (code: number) => fs.writeFileSync(path.join(bin.stateDir, "status"), `${code}\n`);
const startCalls = () => bin.callsOf("minikube").filter((args) => args[0] === "start" || args[0] === "update-context");

describe("minikube-state.sh", () => {
    test.each([
        [0, "running"],
        [4, "stale"],
        [7, "stopped"],
        [3, "stopped"],
        [85, "missing"],
    ])("minikube status exit %d reads as %s", (code, word) => {
        minikubeStatus(code);
        const result = runScript(STATE_SCRIPT, { fakeBin: bin, env: { MINIKUBE_PROFILE: "istio-dev" } });
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(`${word}\n`);
        expect(result.calls).toEqual([{ tool: "minikube", args: ["status", "--profile=istio-dev", "--output=json"] }]);
    });

    test("no minikube installed reads as unavailable", () => {
        const result = runScript(STATE_SCRIPT, { env: { MINIKUBE_PROFILE: "istio-dev" } });
        expect(result.stdout).toBe("unavailable\n");
    });
});

describe("a restarted or stopped profile", () => {
    const RESUME_SCRIPT = path.join(REPO, "components", "scripts", "minikube-resume.sh");

    test("the provider's inputs hold no address, port or key: a restart on a new port has nothing to change", async () => {
        const removeRelease = unpackedRelease();
        const plan = await planFor("dev", [], { afterUp: true }).finally(removeRelease);
        expect(providerOf(plan).inputs).toEqual({
            context: "istio-dev",
            clusterIdentifier: "minikube/istio-dev/minikube-start-id",
            enableSecretMutable: "true",
            enableConfigMapMutable: "true",
        });
    });

    test("the offline plan runs nothing on the host: minikube is never asked", async () => {
        minikubeStatus(7);
        await planFor("dev");
        expect(bin.callsOf("minikube")).toEqual([]);
    });

    describe("minikube-resume.sh", () => {
        test("a stopped profile is started bare, with the settings minikube stored for it, not the stack's current ones", () => {
            minikubeStatus(7);
            const result = runScript(RESUME_SCRIPT, { fakeBin: bin, env: { MINIKUBE_PROFILE: "istio-dev" } });
            expect(result.code).toBe(0);
            expect(startCalls()).toEqual([["start", "--profile=istio-dev", "--wait=all", "--interactive=false"]]);
            expect(result.stderr).toContain("minikube profile 'istio-dev' is stopped; starting it.");
        });

        test("a stale context (status 4) is rewritten with update-context only", () => {
            minikubeStatus(4);
            expect(runScript(RESUME_SCRIPT, { fakeBin: bin, env: { MINIKUBE_PROFILE: "istio-dev" } }).code).toBe(0);
            expect(startCalls()).toEqual([["update-context", "--profile=istio-dev"]]);
        });

        test("MINIKUBE_RESUME_STOPPED=report: a stopped profile is reported and not started", () => {
            minikubeStatus(7);
            const result = runScript(RESUME_SCRIPT, { fakeBin: bin, env: { MINIKUBE_PROFILE: "istio-dev", MINIKUBE_RESUME_STOPPED: "report" } });
            expect(result.code).toBe(0);
            expect(result.stdout).toBe("stopped\n");
            expect(startCalls()).toEqual([]);
        });

        test("MINIKUBE_RESUME_STOPPED must be start or report", () => {
            minikubeStatus(7);
            const result = runScript(RESUME_SCRIPT, { fakeBin: bin, env: { MINIKUBE_PROFILE: "istio-dev", MINIKUBE_RESUME_STOPPED: "$(touch x)" } });
            expect(result.code).toBe(1);
            expect(result.stderr).toContain("MINIKUBE_RESUME_STOPPED must be start or report, not '$(touch x)'");
            expect(bin.callsOf("minikube")).toEqual([]);
        });

        test.each([0, 85])("a running (0) or missing (85) profile is left alone: status %d", (code) => {
            minikubeStatus(code);
            expect(runScript(RESUME_SCRIPT, { fakeBin: bin, env: { MINIKUBE_PROFILE: "istio-dev" } }).code).toBe(0);
            expect(startCalls()).toEqual([]);
        });
    });

    describe("resumeProfile, what `pulumi up` and `pulumi preview` do first", () => {
        test("an update without a preview (`pulumi up --skip-preview`) starts a stopped profile", () => {
            minikubeStatus(7);
            expect(resumeProfile("istio-dev", { dryRun: false, stack: "dev", projectDir: REPO })).toBe("running");
            expect(startCalls()).toEqual([["start", "--profile=istio-dev", "--wait=all", "--interactive=false"]]);
        });

        test("a preview of a stopped profile changes nothing and stops with what to run", () => {
            minikubeStatus(7);
            expect(() => resumeProfile("istio-dev", { dryRun: true, stack: "dev", projectDir: REPO })).toThrow(stoppedProfileMessage("istio-dev", "dev"));
            expect(stoppedProfileMessage("istio-dev", "dev")).toMatch(/minikube start -p istio-dev.*npm run up -- dev/);
            expect(startCalls()).toEqual([]);
        });

        test.each([true, false])("a stale context is rewritten in a preview too (dryRun %s): it only points at the running cluster", (dryRun) => {
            minikubeStatus(4);
            expect(resumeProfile("istio-dev", { dryRun, stack: "dev", projectDir: REPO })).toBe("running");
            expect(startCalls()).toEqual([["update-context", "--profile=istio-dev"]]);
        });

        test.each([
            [0, true],
            [4, true],
            [7, false],
            [7, true],
            [85, false],
        ])("minikube status is asked once per run (status %d, dryRun %s)", (code, dryRun) => {
            minikubeStatus(code);
            try {
                resumeProfile("istio-dev", { dryRun, stack: "dev", projectDir: REPO });
            } catch {
                // A stopped profile in a preview throws; only the calls matter here.
            }
            expect(bin.callsOf("minikube").filter((args) => args[0] === "status")).toHaveLength(1);
        });

        test("a failed start stops `pulumi up` with what to do", () => {
            bin.add("minikube", `case "$1" in status) exit 7 ;; start) echo "no driver" >&2; exit 80 ;; esac`);
            expect(() => resumeProfile("istio-dev", { dryRun: false, stack: "dev", projectDir: REPO })).toThrow(
                /could not bring back the stopped minikube profile 'istio-dev'.*minikube start -p istio-dev/,
            );
        });
    });
});

describe("prepareHost: the order and the decisions index.ts runs before registering anything", () => {
    const ENV = { homeDir: "/home/tester", projectDir: REPO };
    const settingsOf = (stack: string, config: Record<string, unknown> = {}) =>
        parseSettings(Object.fromEntries(Object.entries(config).map(([k, v]) => [`istio-minikube:${k}`, typeof v === "string" ? v : JSON.stringify(v)])), stack, ENV);
    /** A kubectl answering like a cluster without Istio. */
    const emptyCluster: Kubectl = (args) => (args.includes("--output=json") ? '{"items":[]}' : "");

    function prepare(settings: StackSettings, dryRun = false) {
        const steps: string[] = [];
        const kubectl: Kubectl = (args) => {
            steps.push(`kubectl ${args.slice(0, 2).join(" ")}`);
            return emptyCluster(args);
        };
        const result = prepareHost(settings, {
            dryRun,
            project: "istio-minikube",
            stack: "dev",
            projectDir: REPO,
            preflight: () => steps.push("preflight"),
            kubectl,
            listContexts: () => ["team"],
            warn: (m) => steps.push(`warn ${m}`),
        });
        return { result, steps };
    }

    test("a running minikube profile: tools, then the profile, then the look for another Istio", () => {
        minikubeStatus(0);
        const { result, steps } = prepare(settingsOf("dev"));
        expect(result).toEqual({ profile: "running", existingIstio: "clear" });
        expect(steps[0]).toBe("preflight");
        expect(steps.slice(1)).toEqual([
            "kubectl get namespaces",
            "kubectl get customresourcedefinitions",
            "kubectl get customresourcedefinitions",
            "kubectl get mutatingwebhookconfigurations",
            "kubectl get validatingwebhookconfigurations",
        ]);
        expect(bin.callsOf("minikube")).toEqual([["status", "--profile=istio-dev", "--output=json"]]);
    });

    test("a profile that does not exist yet (a first up): nothing to look at in a cluster", () => {
        minikubeStatus(85);
        const { result, steps } = prepare(settingsOf("dev"));
        expect(result).toEqual({ profile: "missing" });
        expect(steps).toEqual(["preflight"]);
    });

    test("a stopped profile in a preview: stops after the tools check, before the cluster is asked anything", () => {
        minikubeStatus(7);
        const steps: string[] = [];
        expect(() =>
            prepareHost(settingsOf("dev"), { dryRun: true, project: "istio-minikube", stack: "dev", projectDir: REPO, preflight: () => steps.push("preflight"), kubectl: () => { steps.push("kubectl"); return ""; } }),
        ).toThrow(/is stopped/);
        expect(steps).toEqual(["preflight"]);
    });

    test("an existing cluster: minikube is never run; the look for another Istio is", () => {
        const { result, steps } = prepare(settingsOf("cluster", { cluster: "existing", kubeContext: "team" }));
        expect(result).toEqual({ existingIstio: "clear" });
        expect(steps).toContain("kubectl get namespaces");
        expect(bin.callsOf("minikube")).toEqual([]);
    });

    test("upsertExistingObjects: the user chose to adopt, so the look is skipped", () => {
        const { result, steps } = prepare(settingsOf("cluster", { cluster: "existing", kubeContext: "team", upsertExistingObjects: true }));
        expect(result).toEqual({});
        expect(steps).toEqual(["preflight"]);
    });
});

describe("the shell's environment does not reach the stored provider config", () => {
    const leaky = {
        KUBECONFIG: "/somewhere/else/config",
        PULUMI_K8S_DELETE_UNREACHABLE: "true",
        PULUMI_K8S_ENABLE_PATCH_FORCE: "true",
        PULUMI_K8S_UPSERT_EXISTING_OBJECTS: "true",
        PULUMI_K8S_SKIP_UPDATE_UNREACHABLE: "true",
    };

    const providerInputs = (plan: Plan) => providerOf(plan).inputs;

    test.each(["dev", "cluster"])("stack %s: the same provider inputs with and without KUBECONFIG and PULUMI_K8S_* exported", async (stack) => {
        minikubeStatus(0);
        const clean = await planFor(stack);
        Object.assign(process.env, leaky);
        const exported = await planFor(stack);
        expect(providerInputs(exported)).toEqual(providerInputs(clean));
        for (const key of ["kubeconfig", "deleteUnreachable", "enablePatchForce", "upsertExistingObjects", "skipUpdateUnreachable"]) {
            expect(providerInputs(exported)).not.toHaveProperty(key);
        }
        // The program's own process keeps its environment (the provider plugin and the scripts read it).
        expect(process.env.KUBECONFIG).toBe(leaky.KUBECONFIG);
        expect(process.env.PULUMI_K8S_DELETE_UNREACHABLE).toBe("true");
    });

    test("every variable the SDK's Provider reads is on the list", () => {
        const sdk = fs.readFileSync(require.resolve("@pulumi/kubernetes/provider.js"), "utf8");
        const read = [...sdk.matchAll(/getEnv(?:Boolean|Number)?\(([^)]*)\)/g)].flatMap((m) => [...m[1].matchAll(/"([A-Z0-9_]+)"/g)].map((x) => x[1]));
        expect(read.length).toBeGreaterThan(5);
        expect([...PROVIDER_ENVIRONMENT].sort()).toEqual([...new Set(read)].sort());
    });
});
