// Issue 9, items 3 and 5: a minikube profile restarted on a new port, a stopped profile, and a shell's
// environment must not change what the stack stores. The program runs under the offline plan (Pulumi's
// mock runtime, as a preview) with a fake `minikube` first on PATH; what `pulumi up` does before any
// resource is registered runs through the same function index.ts calls.
import * as fs from "fs";
import * as path from "path";
import { planFor, providerOf } from "./helpers/plan";
import { createFakeBin, FakeBin, runScript } from "./helpers/fakeBin";
import { PROVIDER_ENVIRONMENT } from "../components/kubernetesProvider";
import { bringUpExistingProfile } from "../components/minikubeCluster";
import type { Plan } from "../scripts/offline-plan";
import type { MinikubeSettings } from "../components/config";

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

const DEV: MinikubeSettings = { profile: "istio-dev", driver: "kvm2", cpus: 4, memory: 8192, kubernetesVersion: "v1.35.1", extraConfig: [] };
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
    test("the provider's inputs hold no address: a restart on a new port leaves them equal, so nothing is replaced", async () => {
        // Two runs, before and after `minikube start` moved the API server to another port: the program
        // sees a running profile both times and stores the same provider config.
        minikubeStatus(0);
        const before = await planFor("dev");
        minikubeStatus(0);
        const after = await planFor("dev");
        expect(providerOf(after).inputs).toEqual(providerOf(before).inputs);
        expect(providerOf(after).inputs).toEqual({ context: "istio-dev", clusterIdentifier: "minikube/istio-dev/minikube-start-id" });
        expect(startCalls()).toEqual([]);
    });

    test("`pulumi up` starts a stopped profile with the stack's settings", () => {
        minikubeStatus(7);
        expect(bringUpExistingProfile(DEV, { dryRun: false, projectDir: REPO })).toBe("running");
        expect(startCalls()).toEqual([
            [
                "start",
                "--profile=istio-dev",
                "--driver=kvm2",
                "--cpus=4",
                "--memory=8192",
                "--kubernetes-version=v1.35.1",
                "--wait=all",
                "--interactive=false",
            ],
        ]);
    });

    test("`pulumi up` refreshes a stale context (status 4) with update-context only", () => {
        minikubeStatus(4);
        bringUpExistingProfile(DEV, { dryRun: false, projectDir: REPO });
        expect(startCalls()).toEqual([["update-context", "--profile=istio-dev"]]);
    });

    test("the program asks for the profile's state on every run, before registering anything", async () => {
        minikubeStatus(0);
        await planFor("dev");
        expect(bin.callsOf("minikube")).toEqual([["status", "--profile=istio-dev", "--output=json"]]);
    });

    test("`pulumi preview` of a stopped profile changes nothing and says what `up` will do", () => {
        minikubeStatus(7);
        const warnings: string[] = [];
        const state = bringUpExistingProfile(DEV, { dryRun: true, projectDir: REPO, warn: (m) => warnings.push(m) });
        expect(state).toBe("stopped");
        expect(startCalls()).toEqual([]);
        expect(warnings).toEqual([expect.stringContaining("minikube profile 'istio-dev' is stopped: 'pulumi up' starts it first")]);
    });

    test("a failed start stops `pulumi up` with what to do", () => {
        bin.add("minikube", `case "$1" in status) exit 7 ;; start) echo "no driver" >&2; exit 80 ;; esac`);
        expect(() => bringUpExistingProfile(DEV, { dryRun: false, projectDir: REPO })).toThrow(
            /could not start the stopped minikube profile 'istio-dev'.*minikube start -p istio-dev/,
        );
    });

    test.each([85, 0])("a missing (85) or running (0) profile is left alone by `pulumi up`: status %d", (code) => {
        minikubeStatus(code);
        bringUpExistingProfile(DEV, { dryRun: false, projectDir: REPO });
        expect(startCalls()).toEqual([]);
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
