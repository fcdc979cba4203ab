// scripts/up.sh (npm run up), run for real against a fake `pulumi` and `minikube` on PATH: before
// `pulumi up`, whose preview cannot work against a stopped cluster, it brings the profile the stack's
// state holds back (a reboot, `minikube stop`), with the settings minikube stored for it.
import * as fs from "fs";
import * as path from "path";
import { FakeBin, createFakeBin, runScript } from "./helpers/fakeBin";
import { existingState, minikubeState } from "./helpers/stackState";

const SCRIPT = path.join(__dirname, "..", "scripts", "up.sh");
const SYSTEM_PATH = `${path.dirname(process.execPath)}:/usr/bin:/bin`;

const PULUMI = `case "$1 $2" in
    "stack export") cat "$FAKE_STATE/state.json" ;;
esac
exit 0`;
const MINIKUBE = `case "$1" in
    status) exit "$(cat "$FAKE_STATE/status")" ;;
    start | update-context) echo 0 >"$FAKE_STATE/status" ;;
esac`;

let bin: FakeBin;
afterEach(() => bin?.cleanup());

function up(state: object, minikubeStatus: number, stack = "dev", minikube = MINIKUBE) {
    bin = createFakeBin({ pulumi: PULUMI, minikube });
    fs.writeFileSync(path.join(bin.stateDir, "state.json"), JSON.stringify(state));
    fs.writeFileSync(path.join(bin.stateDir, "status"), String(minikubeStatus));
    return runScript(SCRIPT, { fakeBin: bin, args: [stack], systemPath: SYSTEM_PATH });
}

const sequence = () => bin.calls().map((c) => [c.tool, ...c.args].join(" "));

test("a stopped profile is started bare before `pulumi up`", () => {
    const result = up(minikubeState("istio-dev"), 7);
    expect(result.code).toBe(0);
    expect(sequence()).toEqual([
        "pulumi stack select --create dev",
        "pulumi stack export --stack dev",
        "minikube status --profile=istio-dev --output=json",
        "minikube start --profile=istio-dev --wait=all --interactive=false",
        "pulumi up --stack dev",
    ]);
});

test("a running profile is left alone", () => {
    up(minikubeState("istio-dev"), 0);
    expect(sequence()).toEqual([
        "pulumi stack select --create dev",
        "pulumi stack export --stack dev",
        "minikube status --profile=istio-dev --output=json",
        "pulumi up --stack dev",
    ]);
});

test("a profile the state holds that was deleted by hand: stops before `pulumi up`, with the way out", () => {
    const result = up(minikubeState("istio-dev"), 85);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("stack 'dev' holds minikube profile 'istio-dev', which no longer exists");
    expect(result.stderr).toMatch(/npm run destroy -- dev.*then npm run up -- dev/);
    expect(bin.callsOf("pulumi").map((args) => args[0])).not.toContain("up");
    expect(bin.callsOf("minikube").map((args) => args[0])).not.toContain("start");
});

// What the local backend exports for a stack just created: no deployment yet.
const NEW_STACK = { version: 3, deployment: null };

test("a new stack: the profile its config names does not exist yet, so straight to `pulumi up`, which creates it", () => {
    up(NEW_STACK, 85);
    expect(sequence()).toEqual([
        "pulumi stack select --create dev",
        "pulumi stack export --stack dev",
        "minikube status --profile=istio-dev --output=json",
        "pulumi up --stack dev",
    ]);
});

test("a first `up` interrupted after `minikube start` (nothing in the state, the profile stopped): the config's profile is started", () => {
    up(NEW_STACK, 7);
    expect(bin.callsOf("minikube")).toContainEqual(["start", "--profile=istio-dev", "--wait=all", "--interactive=false"]);
    expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev"]);
});

test("a cluster being replaced (old profile deleted, new start not yet done): `pulumi up` goes on to finish it", () => {
    const result = up(minikubeState("istio-dev", "dev", { pendingReplacement: true }), 85);
    expect(result.code).toBe(0);
    expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev"]);
});

test("a start that fails: stops with what to do, and `pulumi up` does not run", () => {
    const result = up(minikubeState("istio-dev"), 7, "dev", `case "$1" in status) exit "$(cat "$FAKE_STATE/status")" ;; start) echo "no driver" >&2; exit 80 ;; esac`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("could not bring back minikube profile 'istio-dev'");
    expect(result.stderr).toContain("minikube start -p istio-dev");
    expect(bin.callsOf("pulumi").map((args) => args[0])).not.toContain("up");
});

test("an existing-cluster stack never runs minikube", () => {
    up(existingState("team-cluster"), 7, "cluster");
    expect(bin.callsOf("minikube")).toEqual([]);
    expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "cluster"]);
});

test("a profile in the state that is not a profile name is refused before minikube or `pulumi up` runs", () => {
    const result = up(minikubeState("$(touch pwned)"), 7);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("names the minikube profile '$(touch pwned)', which is not a profile name");
    expect(bin.callsOf("minikube")).toEqual([]);
    expect(bin.callsOf("pulumi").map((args) => args[0])).not.toContain("up");
});

test("a stack without a stack file is refused with the list of stacks", () => {
    bin = createFakeBin({ pulumi: PULUMI });
    const result = runScript(SCRIPT, { fakeBin: bin, args: ["nope"], systemPath: SYSTEM_PATH });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no stack file Pulumi\.nope\.yaml; the stacks are: .*cluster.*dev/);
    expect(result.calls).toEqual([]);
});
