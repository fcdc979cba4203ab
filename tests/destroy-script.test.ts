// scripts/destroy.sh (npm run destroy), run for real against a fake `pulumi` and `minikube` on PATH.
// The question it answers: may the Kubernetes provider drop the stack's objects from state when the cluster
// does not answer? Only where the cluster is really gone: a minikube stack whose profile no longer exists.
import * as fs from "fs";
import * as path from "path";
import { FakeBin, createFakeBin, runScript } from "./helpers/fakeBin";
import { existingState, minikubeState } from "./helpers/stackState";

const SCRIPT = path.join(__dirname, "..", "scripts", "destroy.sh");
// destroy.sh reads the stack's exported state with node (scripts/deployed-cluster.js).
const SYSTEM_PATH = `${path.dirname(process.execPath)}:/usr/bin:/bin`;

// The fake pulumi prints, for `stack export`, the state the test wrote, and records with what
// PULUMI_K8S_DELETE_UNREACHABLE `destroy` ran (unset, or its value); a test can make destroy fail.
const PULUMI = `
case "$1" in
    stack) cat "$FAKE_STATE/state.json" ;;
    destroy)
        printf '%s\\n' "\${PULUMI_K8S_DELETE_UNREACHABLE-unset}" >>"$FAKE_STATE/destroys"
        [ -e "$FAKE_STATE/destroy-fails" ] && { echo "error: configured Kubernetes cluster is unreachable" >&2; exit 255; }
        exit 0 ;;
esac`;
// `minikube status` exits with the code the test wrote (0 running, 4 stale context, 7 stopped, 85 no profile).
const MINIKUBE = `
case "$1" in
    status) exit "$(cat "$FAKE_STATE/status")" ;;
    update-context) exit 0 ;;
esac`;

let bin: FakeBin;
afterEach(() => bin?.cleanup());

function setUp(state: object, minikubeStatus?: number, options: { destroyFails?: boolean; noMinikube?: boolean } = {}): void {
    bin = createFakeBin(options.noMinikube ? { pulumi: PULUMI } : { pulumi: PULUMI, minikube: MINIKUBE });
    fs.writeFileSync(path.join(bin.stateDir, "state.json"), JSON.stringify(state));
    if (minikubeStatus !== undefined) fs.writeFileSync(path.join(bin.stateDir, "status"), String(minikubeStatus));
    if (options.destroyFails) fs.writeFileSync(path.join(bin.stateDir, "destroy-fails"), "");
}

// The tests run the script with no terminal, so they say yes up front as an unattended run does
// (PULUMI_SKIP_CONFIRMATIONS, which the real CLI reads too); the last tests are about that.
function destroy(stack = "dev", env: Record<string, string> = {}, args: string[] = [stack]) {
    return runScript(SCRIPT, { fakeBin: bin, args, env: { PULUMI_SKIP_CONFIRMATIONS: "1", ...env }, systemPath: SYSTEM_PATH });
}

/** The PULUMI_K8S_DELETE_UNREACHABLE each `pulumi destroy` ran with; [] when destroy never ran. */
function destroys(): string[] {
    const file = path.join(bin.stateDir, "destroys");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
}

const MINIKUBE_STACK = minikubeState("istio-dev");
const EXISTING_STACK = existingState("team-cluster");

describe("a minikube stack", () => {
    // The state has no outputs (as after a first `up` that failed half-way): the profile comes from the start command.
    test("whose profile no longer exists: destroy drops the unreachable objects from state", () => {
        setUp(MINIKUBE_STACK, 85);
        const result = destroy();
        expect(result.code).toBe(0);
        expect(destroys()).toEqual(["true"]);
        expect(result.stderr).toContain("minikube profile 'istio-dev' no longer exists");
        expect(result.calls.map((c) => [c.tool, ...c.args])).toEqual([
            ["pulumi", "stack", "export", "--stack", "dev"],
            ["minikube", "status", "--profile=istio-dev", "--output=json"],
            ["pulumi", "destroy", "--stack", "dev"],
        ]);
    });

    test("whose profile runs: a plain destroy, nothing dropped from state", () => {
        setUp(MINIKUBE_STACK, 0);
        expect(destroy().code).toBe(0);
        expect(destroys()).toEqual(["unset"]);
    });

    test("whose profile runs with a stale kubeconfig context (docker driver restart): the context is updated, then a plain destroy", () => {
        setUp(MINIKUBE_STACK, 4);
        const result = destroy();
        expect(result.code).toBe(0);
        expect(bin.callsOf("minikube")).toContainEqual(["update-context", "--profile=istio-dev"]);
        expect(destroys()).toEqual(["unset"]);
    });

    test("whose profile is stopped: nothing is destroyed, and the message says to start or delete it", () => {
        setUp(MINIKUBE_STACK, 7);
        const result = destroy();
        expect(result.code).toBe(1);
        expect(destroys()).toEqual([]);
        expect(result.stderr).toContain("minikube profile 'istio-dev' exists but is stopped");
        expect(result.stderr).toContain("minikube start -p istio-dev");
        expect(result.stderr).toContain("minikube delete -p istio-dev");
    });

    test("without minikube installed: nothing is destroyed, and it says to install it", () => {
        setUp(MINIKUBE_STACK, undefined, { noMinikube: true });
        const result = destroy();
        expect(result.code).toBe(1);
        expect(destroys()).toEqual([]);
        expect(result.stderr).toMatch(/minikube is not installed.*install it/);
    });

    test("a profile name in the state that is not a profile name is refused, never passed to minikube", () => {
        setUp(minikubeState("x; touch pwned"), 85);
        const result = destroy();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("names the minikube profile 'x; touch pwned', which is not a profile name");
        expect(bin.callsOf("minikube")).toEqual([]);
        expect(destroys()).toEqual([]);
    });
});

describe("an existing cluster", () => {
    test("a plain destroy, even with PULUMI_K8S_DELETE_UNREACHABLE exported in the shell", () => {
        setUp(EXISTING_STACK);
        const result = destroy("cluster", { PULUMI_K8S_DELETE_UNREACHABLE: "true" });
        expect(result.code).toBe(0);
        expect(destroys()).toEqual(["unset"]);
        expect(bin.callsOf("minikube")).toEqual([]);
    });

    test("that does not answer (expired credentials): the destroy fails, nothing is dropped, and the advice names the context and the risk", () => {
        setUp(EXISTING_STACK, undefined, { destroyFails: true });
        const result = destroy("cluster");
        expect(result.code).toBe(1);
        expect(destroys()).toEqual(["unset"]);
        expect(result.stderr).toContain("'pulumi destroy' of stack 'cluster' did not finish; nothing was dropped from state.");
        expect(result.stderr).toContain("kubectl --context 'team-cluster' get namespaces");
        expect(result.stderr).toContain("Only if that cluster is gone for good: PULUMI_K8S_DELETE_UNREACHABLE=true pulumi destroy --stack cluster");
        expect(result.stderr).toMatch(/failurePolicy: Fail/);
    });
});

test("a stack never deployed (the local backend exports no deployment): a plain destroy", () => {
    setUp({ version: 3, deployment: null });
    expect(destroy("fresh").code).toBe(0);
    expect(destroys()).toEqual(["unset"]);
});

test("a stack name with shell metacharacters is refused before pulumi runs", () => {
    setUp(MINIKUBE_STACK, 85);
    const result = destroy("dev;touch pwned");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'dev;touch pwned' is not a stack name");
    expect(result.calls).toEqual([]);
});


describe("without a terminal (a script, CI, an editor's task)", () => {
    test("it stops before doing anything and names the real cause, not the minikube profile", () => {
        setUp(MINIKUBE_STACK, 0);
        const result = runScript(SCRIPT, { fakeBin: bin, args: ["dev"], systemPath: SYSTEM_PATH });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("'pulumi destroy' asks for a confirmation, and there is no one to ask");
        expect(result.stderr).toContain("npm run destroy -- dev --yes");
        expect(result.stderr).not.toContain("minikube status");
        expect(bin.calls()).toEqual([]);
    });

    test.each([["--yes"], ["--preview-only"]])("%s after the stack answers for destroy and goes to `pulumi destroy`", (flag) => {
        setUp(MINIKUBE_STACK, 0);
        const result = runScript(SCRIPT, { fakeBin: bin, args: ["dev", flag], systemPath: SYSTEM_PATH });
        expect(result.code).toBe(0);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["destroy", "--stack", "dev", flag]);
    });

    test("--stack naming another stack is refused before anything: dev's missing profile must not drop cluster's objects", () => {
        setUp(MINIKUBE_STACK, 85);
        const result = runScript(SCRIPT, { fakeBin: bin, args: ["dev", "--yes", "--stack", "cluster"], systemPath: SYSTEM_PATH });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("'--stack' is not passed on to pulumi");
        expect(destroys()).toEqual([]);
    });

    test("--yes also reaches the destroy that drops a deleted profile's objects", () => {
        setUp(MINIKUBE_STACK, 85);
        const result = runScript(SCRIPT, { fakeBin: bin, args: ["dev", "--yes"], systemPath: SYSTEM_PATH });
        expect(result.code).toBe(0);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["destroy", "--stack", "dev", "--yes"]);
        expect(destroys()).toEqual(["true"]);
    });
});
