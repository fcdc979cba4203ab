// scripts/up.sh (npm run up), run for real against a fake `pulumi` and `minikube` on PATH: before
// `pulumi up`, whose preview cannot work against a stopped cluster, it brings the profile the stack's
// state holds back (a reboot, `minikube stop`), with the settings minikube stored for it.
import * as fs from "fs";
import * as path from "path";
import { BASH, FakeBin, createFakeBin, runScript } from "./helpers/fakeBin";
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

// The tests run the script with no terminal, so they say yes up front as an unattended run does
// (PULUMI_SKIP_CONFIRMATIONS, which the real CLI reads too); the last tests are about that.
function up(state: object, minikubeStatus: number, stack = "dev", minikube = MINIKUBE, args: string[] = [stack], env: Record<string, string> = { PULUMI_SKIP_CONFIRMATIONS: "1" }) {
    bin = createFakeBin({ pulumi: PULUMI, minikube });
    fs.writeFileSync(path.join(bin.stateDir, "state.json"), JSON.stringify(state));
    fs.writeFileSync(path.join(bin.stateDir, "status"), String(minikubeStatus));
    return runScript(SCRIPT, { fakeBin: bin, args, env, systemPath: SYSTEM_PATH });
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

describe("without a terminal (a script, CI, an editor's task)", () => {
    test("it stops before doing anything and says how to run it unattended, instead of Pulumi's refusal half-way", () => {
        const result = up(minikubeState("istio-dev"), 0, "dev", MINIKUBE, ["dev"], {});
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("'pulumi up' asks for a confirmation, and there is no one to ask");
        expect(result.stderr).toContain("npm run up -- dev --yes");
        expect(result.stderr).toContain("PULUMI_SKIP_CONFIRMATIONS=1");
        expect(bin.calls()).toEqual([]);
    });

    test.each([["--yes"], ["-y"], ["--skip-preview"]])("%s after the stack goes to `pulumi up` as its own argument", (flag) => {
        const result = up(minikubeState("istio-dev"), 0, "dev", MINIKUBE, ["dev", flag, "--diff"], {});
        expect(result.code).toBe(0);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev", flag, "--diff"]);
    });

    test("flags alone mean the dev stack", () => {
        const result = up(minikubeState("istio-dev"), 0, "dev", MINIKUBE, ["--yes"], {});
        expect(result.code).toBe(0);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev", "--yes"]);
    });

    test("a flag is passed as one argument, whatever it holds: nothing reaches a shell", () => {
        const result = up(minikubeState("istio-dev"), 0, "dev", MINIKUBE, ["dev", "--yes", "--message=$(touch pwned); echo hi"], {});
        expect(result.code).toBe(0);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev", "--yes", "--message=$(touch pwned); echo hi"]);
        expect(fs.existsSync(path.join(path.dirname(SCRIPT), "..", "pwned"))).toBe(false);
    });

    const onTerminal = (ciEnv: Record<string, string> = {}) => {
        bin = createFakeBin({ pulumi: PULUMI, minikube: MINIKUBE });
        fs.writeFileSync(path.join(bin.stateDir, "state.json"), JSON.stringify(minikubeState("istio-dev")));
        fs.writeFileSync(path.join(bin.stateDir, "status"), "0");
        // util-linux's script(1) runs the command on a pseudo-terminal of its own.
        // The paths travel in the environment, so the command string script(1) hands its shell holds none.
        const onTerminal = path.join(bin.stateDir, "on-terminal.sh");
        fs.writeFileSync(onTerminal, `exec /usr/bin/script -qec '"$TEST_BASH" "$TEST_SCRIPT" dev' /dev/null\n`);
        const result = runScript(onTerminal, { fakeBin: bin, env: { TERM: "xterm", TEST_BASH: BASH, TEST_SCRIPT: SCRIPT, ...ciEnv }, systemPath: SYSTEM_PATH });
        return result;
    };

    test("with a terminal, Pulumi asks as usual: nothing is refused", () => {
        const result = onTerminal();
        expect(result.code).toBe(0);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev"]);
    });

    test("with a terminal in a CI system Pulumi detects, it would not ask either: stopped up front", () => {
        const result = onTerminal({ GITHUB_ACTIONS: "true" });
        expect(result.code).toBe(1);
        expect(result.stdout + result.stderr).toContain("npm run up -- dev --yes");
        expect(bin.calls()).toEqual([]);
        // Pulumi's own switch for that detection is honoured as well.
        expect(onTerminal({ GITHUB_ACTIONS: "true", PULUMI_DISABLE_CI_DETECTION: "1" }).code).toBe(0);
    });

    test.each([["--stack", "cluster"], ["--stack=cluster"], ["-s", "cluster"], ["--cwd", "/elsewhere"], ["-C/elsewhere"]])(
        "a flag that picks another stack or folder (%s) is refused: the script decided from dev's state",
        (...flags) => {
            const result = up(minikubeState("istio-dev"), 0, "dev", MINIKUBE, ["dev", "--yes", ...flags], {});
            expect(result.code).toBe(1);
            expect(result.stderr).toContain(`'${flags[0]}' is not passed on to pulumi: name the stack as the first argument (npm run up -- STACK [flags])`);
            expect(bin.calls()).toEqual([]);
        },
    );

    test("--preview-only is destroy's: for up it is no answer", () => {
        const result = up(minikubeState("istio-dev"), 0, "dev", MINIKUBE, ["dev", "--preview-only"], {});
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("there is no one to ask");
    });
});

describe("Node's compile cache for the node processes Pulumi starts (the dynamic provider among them)", () => {
    // The fake pulumi records the NODE_COMPILE_CACHE that `up` ran with.
    const RECORDING = `case "$1 $2" in
    "stack export") cat "$FAKE_STATE/state.json" ;;
esac
[ "$1" = up ] && printf '%s\\n' "\${NODE_COMPILE_CACHE-unset}" >"$FAKE_STATE/compile-cache"
exit 0`;
    function upWith(env: Record<string, string>): string {
        bin = createFakeBin({ pulumi: RECORDING, minikube: MINIKUBE });
        fs.writeFileSync(path.join(bin.stateDir, "state.json"), JSON.stringify(minikubeState("istio-dev")));
        fs.writeFileSync(path.join(bin.stateDir, "status"), "0");
        const result = runScript(SCRIPT, { fakeBin: bin, args: ["dev", "--yes"], env, systemPath: SYSTEM_PATH });
        expect(result.code).toBe(0);
        return fs.readFileSync(path.join(bin.stateDir, "compile-cache"), "utf8").trim();
    }

    test("pulumi up runs with NODE_COMPILE_CACHE set to the program's cache folder", () => {
        expect(upWith({ HOME: "/home/tester" })).toBe("/home/tester/.cache/istio-minikube/node-compile-cache");
        expect(upWith({ HOME: "/home/tester", XDG_CACHE_HOME: "/var/cache/tester" })).toBe("/var/cache/tester/istio-minikube/node-compile-cache");
    });

    test("a value the user set wins", () => {
        expect(upWith({ HOME: "/home/tester", NODE_COMPILE_CACHE: "/elsewhere" })).toBe("/elsewhere");
    });
});
