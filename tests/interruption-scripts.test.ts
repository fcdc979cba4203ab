// npm run up and npm run destroy after an interrupted run, for real against a fake `pulumi` and `minikube` on
// PATH (tests/helpers/fakeBin.ts), with the lock files and states a killed run leaves: Pulumi's local backend
// under HOME (Pulumi.yaml's backend.url file://~), or where PULUMI_BACKEND_URL says; the states in
// tests/fixtures/interrupted (tests/pending-operations.test.ts says what each is).
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FakeBin, createFakeBin, runScript } from "./helpers/fakeBin";

const UP = path.join(__dirname, "..", "scripts", "up.sh");
const DESTROY = path.join(__dirname, "..", "scripts", "destroy.sh");
const SYSTEM_PATH = `${path.dirname(process.execPath)}:/usr/bin:/bin`;

// The fake pulumi: `stack export` prints the state, `stack import --file F` keeps F; `up` and `destroy` keep
// what they ran with (the adopting switch, the record npm run left of them, whether a lock was still there),
// then the state becomes after.json (as the real run writes its own), and they fail when told to.
const PULUMI = `
case "$1 $2" in
    "stack export") cat "$FAKE_STATE/state.json"; exit 0 ;;
    "stack import")
        file=""; previous=""
        for arg in "$@"; do [ "$previous" = --file ] && file=$arg; previous=$arg; done
        cp "$file" "$FAKE_STATE/imported.json"
        echo "Import complete."
        exit 0 ;;
esac
case "$1" in
    up | destroy)
        printf '%s\\n' "\${PULUMI_K8S_UPSERT_EXISTING_OBJECTS-unset}" >"$FAKE_STATE/upsert"
        cp "$HOME/.cache/istio-minikube/pulumi-runs/$3.$$.json" "$FAKE_STATE/record.json" 2>/dev/null || :
        find "$HOME/.pulumi/locks" -type f >"$FAKE_STATE/locks-seen" 2>/dev/null || :
        [ -e "$FAKE_STATE/after.json" ] && cp "$FAKE_STATE/after.json" "$FAKE_STATE/state.json"
        [ -e "$FAKE_STATE/fails" ] && { echo "error: update failed" >&2; exit 255; }
        exit 0 ;;
esac
exit 0`;
// minikube status: the profile runs.
const MINIKUBE = `case "$1" in status) exit 0 ;; esac`;

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", "interrupted", `${name}.json`), "utf8");
/** A minikube stack deployed, nothing pending. */
const DEPLOYED = (() => {
    const exported = JSON.parse(fixture("rerun-up"));
    delete exported.deployment.pending_operations;
    return JSON.stringify(exported);
})();

let bin: FakeBin;
const children: ChildProcess[] = [];
afterEach(() => {
    for (const child of children.splice(0)) child.kill();
    bin?.cleanup();
});

function setUp(state: string, options: { after?: string; fails?: boolean } = {}): void {
    bin = createFakeBin({ pulumi: PULUMI, minikube: MINIKUBE });
    fs.writeFileSync(path.join(bin.stateDir, "state.json"), state);
    if (options.after) fs.writeFileSync(path.join(bin.stateDir, "after.json"), options.after);
    if (options.fails) fs.writeFileSync(path.join(bin.stateDir, "fails"), "");
}

function run(script: string, env: Record<string, string> = {}, args = ["dev", "--yes"]) {
    return runScript(script, { fakeBin: bin, args, env, systemPath: SYSTEM_PATH });
}

const stateFile = (name: string) => path.join(bin.stateDir, name);
const sequence = () => bin.calls().map((c) => [c.tool, ...c.args].join(" "));

/** A lock file as Pulumi's local backend writes it, with fileblob's .attrs sidecar, in the stack's folder. */
function writeLock(fields: { pid: number; hostname?: string; timestamp?: string }, root = bin.workDir): string {
    const dir = path.join(root, ".pulumi", "locks", "organization", "istio-minikube", "dev");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "6c4f1b2e-0d7a-4b8e-9a51-3f2e1d0c9b8a.json");
    const content = { pid: fields.pid, username: os.userInfo().username, hostname: fields.hostname ?? os.hostname(), timestamp: fields.timestamp ?? new Date().toISOString() };
    fs.writeFileSync(file, JSON.stringify(content));
    fs.writeFileSync(`${file}.attrs`, '{"user.cache_control":"","user.content_type":"application/octet-stream"}');
    return file;
}

/** The record npm run up leaves of a run (scripts/stack-locks.js record), as a killed run leaves it. */
function writeRecord(pid: number, time: string, command = ["pulumi", "up", "--stack", "dev", "--yes"]): string {
    const dir = path.join(bin.workDir, ".cache", "istio-minikube", "pulumi-runs");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `dev.${pid}.json`);
    fs.writeFileSync(file, JSON.stringify({ pid, hostname: os.hostname(), stack: "dev", via: "npm run up", command, time }));
    return file;
}

/** A pid no process has: one that ran and ended. */
const deadPid = () => spawnSync("true").pid!;

/** A live process that is a pulumi by its name (sleep under the name pulumi). */
async function livePulumi(): Promise<number> {
    const dir = fs.mkdtempSync(path.join(bin.workDir, "live-"));
    fs.symlinkSync(fs.realpathSync("/bin/sleep"), path.join(dir, "pulumi"));
    const child = spawn(path.join(dir, "pulumi"), ["60"], { stdio: "ignore" });
    children.push(child);
    await new Promise((resolve) => child.once("spawn", resolve));
    return child.pid!;
}

describe("a lock a killed run left", () => {
    test("npm run up: named with the command that took it and when, its one file removed, and `pulumi up` runs", () => {
        setUp(DEPLOYED);
        const pid = deadPid();
        const taken = new Date(Date.now() - 60_000);
        const lock = writeLock({ pid, timestamp: taken.toISOString() });
        const record = writeRecord(pid, new Date(taken.getTime() - 500).toISOString());
        const result = run(UP);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain(
            `istio-minikube: stack 'dev' was locked by \`pulumi up --stack dev --yes\` (npm run up, pid ${pid}, ${os.userInfo().username}@${os.hostname()}) at ${taken.toISOString().replace(/\.\d+/, "")}, and process ${pid} no longer exists: that run was killed. Its lock is removed (${lock}).`,
        );
        for (const gone of [lock, `${lock}.attrs`, record]) expect(fs.existsSync(gone)).toBe(false);
        // `pulumi up` ran with the lock gone.
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["up", "--stack", "dev", "--yes"]);
        expect(fs.readFileSync(stateFile("locks-seen"), "utf8")).toBe("");
    });

    test("without npm run's record: taken by a pulumi run not started through npm run", () => {
        setUp(DEPLOYED);
        const pid = deadPid();
        writeLock({ pid });
        const result = run(UP);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain(`was locked by a pulumi run not started through npm run up or npm run destroy (pid ${pid}, ${os.userInfo().username}@${os.hostname()})`);
    });

    test("a pid now used by another program: stale too", () => {
        setUp(DEPLOYED);
        const lock = writeLock({ pid: process.pid }); // jest's node, not pulumi
        const result = run(UP);
        expect(result.code).toBe(0);
        expect(result.stderr).toMatch(new RegExp(`process ${process.pid} is now \\S+, not pulumi`));
        expect(fs.existsSync(lock)).toBe(false);
    });

    test("in the backend PULUMI_BACKEND_URL names", () => {
        setUp(DEPLOYED);
        const backend = fs.mkdtempSync(path.join(bin.workDir, "backend-"));
        const lock = writeLock({ pid: deadPid() }, backend);
        const result = run(UP, { PULUMI_BACKEND_URL: `file://${backend}` });
        expect(result.code).toBe(0);
        expect(fs.existsSync(lock)).toBe(false);
    });

    test("npm run destroy: the same, then `pulumi destroy` runs", () => {
        setUp(DEPLOYED);
        const lock = writeLock({ pid: deadPid() });
        const result = run(DESTROY);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("that run was killed. Its lock is removed");
        expect(fs.existsSync(lock)).toBe(false);
        expect(bin.callsOf("pulumi").at(-1)).toEqual(["destroy", "--stack", "dev", "--yes"]);
    });
});

describe("a lock npm run must not touch", () => {
    test("a live pulumi's: stops before anything runs, naming it and what to do; the lock stays", async () => {
        setUp(DEPLOYED);
        const pid = await livePulumi();
        const lock = writeLock({ pid });
        writeRecord(pid, new Date(Date.now() - 1000).toISOString());
        const result = run(UP);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`stack 'dev' is in use: locked by \`pulumi up --stack dev --yes\` (npm run up, pid ${pid},`);
        expect(result.stderr).toContain(`kill -INT ${pid}), then run npm run up -- dev again.`);
        expect(fs.existsSync(lock)).toBe(true);
        expect(result.calls).toEqual([]);
    });

    test("another machine's: stops with the one file to remove if that run is gone", () => {
        setUp(DEPLOYED);
        const lock = writeLock({ pid: deadPid(), hostname: "build-box.example" });
        const result = run(DESTROY);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("taken on host build-box.example, not this one");
        expect(result.stderr).toContain(`rm '${lock}'`);
        expect(fs.existsSync(lock)).toBe(true);
        expect(bin.callsOf("pulumi")).toEqual([]);
    });
});

describe("an up with nothing left by an interruption", () => {
    test("leaves a record of the run while pulumi runs, under its pid, with its command line; gone after", () => {
        setUp(DEPLOYED);
        run(UP);
        const record = JSON.parse(fs.readFileSync(stateFile("record.json"), "utf8"));
        expect(record).toMatchObject({ hostname: os.hostname(), stack: "dev", via: "npm run up", command: ["pulumi", "up", "--stack", "dev", "--yes"] });
        expect(Number.isInteger(record.pid)).toBe(true);
        expect(fs.readdirSync(path.join(bin.workDir, ".cache", "istio-minikube", "pulumi-runs"))).toEqual([]);
        // And asks Pulumi no more than before: one export, no import, no adopting.
        expect(bin.callsOf("pulumi").filter((args) => args[0] === "stack" && args[1] !== "select").map((args) => args[1])).toEqual(["export"]);
        expect(fs.readFileSync(stateFile("upsert"), "utf8")).toBe("unset\n");
    });
});

describe("pending creates a killed run left", () => {
    test("after an up that succeeded, settled: the state is imported again without them", () => {
        setUp(fixture("killed-up"), { after: fixture("rerun-up") });
        const result = run(UP);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("an earlier run of stack 'dev' was interrupted while it created these 2");
        expect(result.stderr).toContain("the 2 pending operations an interrupted run left in stack 'dev' are settled");
        expect(sequence().slice(-3)).toEqual([
            "pulumi up --stack dev --yes",
            "pulumi stack export --stack dev",
            expect.stringMatching(/^pulumi stack import --stack dev --file \S+$/),
        ]);
        const imported = JSON.parse(fs.readFileSync(stateFile("imported.json"), "utf8"));
        const expected = JSON.parse(fixture("rerun-up"));
        delete expected.deployment.pending_operations;
        expect(imported).toEqual(expected);
        // The file it imported from is gone.
        const file = bin.callsOf("pulumi").at(-1)!.at(-1)!;
        expect(fs.existsSync(file)).toBe(false);
    });

    test("the up takes over the objects the killed run made: the provider upserts for that run (only: see above)", () => {
        setUp(fixture("killed-up"), { after: fixture("rerun-up") });
        run(UP);
        expect(fs.readFileSync(stateFile("upsert"), "utf8")).toBe("true\n");
    });

    test("a value of PULUMI_K8S_UPSERT_EXISTING_OBJECTS the user set is kept, and what it means said", () => {
        setUp(fixture("killed-up"), { after: fixture("rerun-up") });
        const result = run(UP, { PULUMI_K8S_UPSERT_EXISTING_OBJECTS: "false" });
        expect(fs.readFileSync(stateFile("upsert"), "utf8")).toBe("false\n");
        expect(result.stderr).toContain(`PULUMI_K8S_UPSERT_EXISTING_OBJECTS is 'false' in your environment, so an object the interrupted run made stops it with "already exists"`);
    });

    test("after an up that failed: named before it, but nothing is cleared (the next up tries again)", () => {
        setUp(fixture("killed-up"), { after: fixture("rerun-up"), fails: true });
        const result = run(UP);
        expect(result.code).toBe(255);
        expect(result.stderr).toContain("an earlier run of stack 'dev' was interrupted while it created these 2");
        expect(result.stderr).not.toContain("are settled");
        expect(bin.callsOf("pulumi").map((args) => args.slice(0, 2).join(" "))).not.toContain("stack import");
        expect(bin.callsOf("pulumi").at(-1)![0]).toBe("up");
    });

    test("a create the up did not settle: named with what to check, and the state kept", () => {
        setUp(fixture("killed-up"), { after: fixture("rerun-up-undeclared") });
        const result = run(UP);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("  - Namespace manual-inject: kubectl --context istio-dev get namespace manual-inject");
        expect(result.stderr).toContain("pulumi refresh --stack dev --clear-pending-creates --yes");
        expect(bin.callsOf("pulumi").map((args) => args.slice(0, 2).join(" "))).not.toContain("stack import");
    });

    test("npm run destroy of a minikube stack: the profile went with it, so they are cleared", () => {
        setUp(fixture("killed-up"), { after: fixture("destroyed") });
        const result = run(DESTROY);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("nothing of them can be left in a cluster: it went with the destroy");
        const imported = JSON.parse(fs.readFileSync(stateFile("imported.json"), "utf8"));
        expect(imported.deployment).not.toHaveProperty("pending_operations");
        expect(imported.deployment).not.toHaveProperty("resources");
    });

    test("npm run destroy that failed: named before it, nothing cleared", () => {
        setUp(fixture("killed-up"), { after: fixture("destroyed"), fails: true });
        const result = run(DESTROY);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("an earlier run of stack 'dev' was interrupted while it created these 2");
        expect(fs.existsSync(stateFile("imported.json"))).toBe(false);
    });
});
