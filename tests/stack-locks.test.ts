// scripts/stack-locks.js: which of a stack's lock files in Pulumi's local backend a killed run left (removed by
// npm run up and npm run destroy, and said so), and which stop them (a live run's, another machine's, one that
// cannot be read). Lock files as Pulumi writes them (pulumi/pulumi pkg/backend/diy/lock.go lockContent).
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

type Lock = { pid: number; username: string; hostname: string; timestamp: string; time: number };
type Proc = { alive: boolean; names?: string[]; startedAt?: number };
type RunRecord = { pid: number; hostname: string; stack: string; via: string; command: string[]; time: string };
const locks = require("../scripts/stack-locks.js") as {
    projectBackend(env: Record<string, string | undefined>, projectYaml: string): { url?: string; project?: string };
    fileBackendRoot(url: string | undefined, home: string, cwd: string): string | null;
    lockDirs(root: string, project: string | undefined, stack: string): string[];
    parseLock(text: string): { ok: true; lock: Lock } | { ok: false; reason: string };
    judgeLock(lock: Pick<Lock, "pid" | "hostname" | "time">, facts: { hostname: string; process?: Proc }): { verdict: string; reason: string };
    matchRecord(lock: Lock, stack: string, records: RunRecord[]): RunRecord | undefined;
    planLocks(
        files: { file: string; text: string }[],
        context: { stack: string; via: string; hostname: string; records: RunRecord[]; processOf: (pid: number) => Proc | undefined },
    ): { remove: { file: string; message: string }[]; blocking: { file: string; message: string }[] };
    processOf(pid: number): Proc;
};

const HOST = "laptop";
const TAKEN = "2026-12-07T22:41:09.184922051+01:00";
const lockText = (fields: Partial<Omit<Lock, "time">> = {}) => JSON.stringify({ pid: 4242, username: "ada", hostname: HOST, timestamp: TAKEN, ...fields });
const parsed = (text: string) => {
    const result = locks.parseLock(text);
    if (!result.ok) throw new Error(result.reason);
    return result.lock;
};
const FILE = "/home/ada/.pulumi/locks/organization/istio-minikube/dev/0b7c1e52-6f7e-4f8a-9d35-2f1a4c1b9e11.json";
const record = (fields: Partial<RunRecord> = {}): RunRecord => ({
    pid: 4242,
    hostname: HOST,
    stack: "dev",
    via: "npm run up",
    command: ["pulumi", "up", "--stack", "dev", "--yes"],
    time: "2026-12-07T21:41:08.900Z",
    ...fields,
});
const plan = (text: string, processOf: (pid: number) => Proc | undefined, records: RunRecord[] = []) =>
    locks.planLocks([{ file: FILE, text }], { stack: "dev", via: "npm run up", hostname: HOST, records, processOf });

describe("judgeLock: stale only when taken on this machine by a process that is gone", () => {
    const lock = parsed(lockText());

    test("the pid is gone: stale", () => {
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: false } })).toEqual({ verdict: "stale", reason: "process 4242 no longer exists" });
    });

    test("the pid is a pulumi that runs: live", () => {
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: true, names: ["pulumi", "pulumi", "up"], startedAt: lock.time - 2000 } }).verdict).toBe("live");
    });

    test("the pid is alive but runs something else now (pid reused): stale", () => {
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: true, names: ["sleep", "sleep", "30"] } })).toEqual({ verdict: "stale", reason: "process 4242 is now sleep, not pulumi" });
    });

    test("the pid is a pulumi started long after the lock was taken (pid reused by another run): stale", () => {
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: true, names: ["pulumi"], startedAt: lock.time + 3 * 3600_000 } }).verdict).toBe("stale");
        // Within the slack a clock step may account for: still live.
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: true, names: ["pulumi"], startedAt: lock.time + 60_000 } }).verdict).toBe("live");
    });

    test("a pulumi started through a script (bash /path/pulumi ...) is pulumi", () => {
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: true, names: ["pulumi", "bash", "pulumi"] } }).verdict).toBe("live");
    });

    test("alive, and nothing more is known of it: live (never remove what may be a live run's lock)", () => {
        expect(locks.judgeLock(lock, { hostname: HOST, process: { alive: true } }).verdict).toBe("live");
    });

    test("taken on another host: this machine cannot tell, whatever its own pid says", () => {
        expect(locks.judgeLock(parsed(lockText({ hostname: "build-box" })), { hostname: HOST, process: { alive: false } }).verdict).toBe("other-host");
    });
});

describe("parseLock", () => {
    test("Pulumi's record, its Go timestamp with nanoseconds read to the millisecond", () => {
        expect(parsed(lockText())).toEqual({ pid: 4242, username: "ada", hostname: HOST, timestamp: TAKEN, time: Date.UTC(2026, 11, 7, 21, 41, 9, 184) });
    });

    test.each([
        ["", "it is empty"],
        ["{\"pid\":42", "it is not JSON"],
        ["[]", "it names no process id"],
        [JSON.stringify({ username: "ada", hostname: HOST }), "it names no process id"],
        [JSON.stringify({ pid: 0, hostname: HOST }), "it names no process id"],
        [JSON.stringify({ pid: 42, username: "ada" }), "it names no host"],
    ])("%j cannot be judged: %s", (text, reason) => {
        expect(locks.parseLock(text)).toEqual({ ok: false, reason });
    });
});

describe("planLocks: what npm run up says and does", () => {
    test("a stale lock with npm run up's record: named with its command, when, and removed", () => {
        const { remove, blocking } = plan(lockText(), () => ({ alive: false }), [record()]);
        expect(blocking).toEqual([]);
        expect(remove).toHaveLength(1);
        expect(remove[0].file).toBe(FILE);
        expect(remove[0].message).toBe(
            "stack 'dev' was locked by `pulumi up --stack dev --yes` (npm run up, pid 4242, ada@laptop) at 2026-12-07T22:41:09+01:00, " +
                "and process 4242 no longer exists: that run was killed. Its lock is removed (" +
                FILE +
                "). What it may have left half done, the next steps settle (docs/stacks.md#after-an-interruption).",
        );
    });

    test("a stale lock without a record: taken by a pulumi run not started through npm run", () => {
        const { remove } = plan(lockText(), () => ({ alive: false }));
        expect(remove[0].message).toContain("locked by a pulumi run not started through npm run up or npm run destroy (pid 4242, ada@laptop) at 2026-12-07T22:41:09+01:00");
    });

    test("a record of another pid, stack or host, or written after the lock, is not this lock's", () => {
        for (const other of [record({ pid: 4243 }), record({ stack: "cluster" }), record({ hostname: "build-box" }), record({ time: "2026-12-07T21:45:00Z" })]) {
            expect(plan(lockText(), () => ({ alive: false }), [other]).remove[0].message).toContain("not started through npm run");
        }
        // The newest of two records of the same pid (an older run's left by a kill of the script too).
        const older = record({ command: ["pulumi", "destroy", "--stack", "dev"], via: "npm run destroy", time: "2026-12-06T10:00:00Z" });
        expect(plan(lockText(), () => ({ alive: false }), [older, record()]).remove[0].message).toContain("`pulumi up --stack dev --yes` (npm run up");
    });

    test("a live run's lock: stops, names it and says to wait; nothing removed", () => {
        const { remove, blocking } = plan(lockText(), () => ({ alive: true, names: ["pulumi"] }), [record()]);
        expect(remove).toEqual([]);
        expect(blocking[0].message).toContain("stack 'dev' is in use: locked by `pulumi up --stack dev --yes` (npm run up, pid 4242, ada@laptop) at 2026-12-07T22:41:09+01:00");
        expect(blocking[0].message).toContain("Wait for it to end, or stop it cleanly (Ctrl-C in its terminal, or kill -INT 4242), then run npm run up -- dev again.");
    });

    test("another host's lock: stops, with the one file to remove if that run is gone, never pulumi cancel", () => {
        const asked: number[] = [];
        const { remove, blocking } = plan(lockText({ hostname: "build-box" }), (pid) => (asked.push(pid), { alive: false }));
        expect(asked).toEqual([]); // this machine's pids say nothing of another's
        expect(remove).toEqual([]);
        expect(blocking[0].message).toContain("taken on host build-box, not this one (laptop)");
        expect(blocking[0].message).toContain(`rm '${FILE}'`);
        expect(blocking[0].message).toContain("pulumi cancel removes every lock of the stack, a live run's too");
    });

    test("a lock file that cannot be read: stops, naming it", () => {
        const { remove, blocking } = plan("", () => ({ alive: false }));
        expect(remove).toEqual([]);
        expect(blocking[0].message).toContain(`stack 'dev' has a lock file that cannot be read (it is empty): ${FILE}`);
    });
});

describe("where the locks are", () => {
    const YAML = "name: istio-minikube\nruntime:\n  name: nodejs\n# comment\nbackend:\n  url: file://~\n";

    test("Pulumi.yaml's backend.url, unless PULUMI_BACKEND_URL overrides it", () => {
        expect(locks.projectBackend({}, YAML)).toEqual({ url: "file://~", project: "istio-minikube" });
        expect(locks.projectBackend({ PULUMI_BACKEND_URL: "file:///srv/state" }, YAML)).toEqual({ url: "file:///srv/state", project: "istio-minikube" });
        expect(locks.projectBackend({ PULUMI_BACKEND_URL: "" }, YAML).url).toBe("file://~");
    });

    test("this project's Pulumi.yaml", () => {
        expect(locks.projectBackend({}, fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"))).toEqual({ url: "file://~", project: "istio-minikube" });
    });

    test("file:// URLs as the diy backend reads them; any other backend has no lock files here", () => {
        expect(locks.fileBackendRoot("file://~", "/home/ada", "/work")).toBe("/home/ada");
        expect(locks.fileBackendRoot("file://~/state", "/home/ada", "/work")).toBe("/home/ada/state");
        expect(locks.fileBackendRoot("file:///srv/state?no_tmp_dir=false", "/home/ada", "/work")).toBe("/srv/state");
        expect(locks.fileBackendRoot("file://state", "/home/ada", "/work")).toBe("/work/state");
        expect(locks.fileBackendRoot("s3://bucket/state", "/home/ada", "/work")).toBeNull();
        expect(locks.fileBackendRoot("https://api.pulumi.com", "/home/ada", "/work")).toBeNull();
        expect(locks.fileBackendRoot(undefined, "/home/ada", "/work")).toBeNull();
    });

    test("project-scoped stacks' folder, then the legacy layout's", () => {
        expect(locks.lockDirs("/home/ada", "istio-minikube", "dev")).toEqual(["/home/ada/.pulumi/locks/organization/istio-minikube/dev", "/home/ada/.pulumi/locks/dev"]);
    });
});

describe("processOf: this machine's processes", () => {
    test("a process that ended is gone", () => {
        const ended = spawnSync("true");
        expect(locks.processOf(ended.pid!)).toEqual({ alive: false });
    });

    test("a live process: its names and when it started", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "locks-"));
        fs.symlinkSync(fs.realpathSync("/bin/sleep"), path.join(dir, "pulumi"));
        const before = Date.now();
        const child = spawn(path.join(dir, "pulumi"), ["30"], { stdio: "ignore" });
        try {
            await new Promise((resolve) => child.once("spawn", resolve));
            const proc = locks.processOf(child.pid!);
            expect(proc.alive).toBe(true);
            expect(proc.names).toContain("pulumi");
            if (proc.startedAt !== undefined) expect(Math.abs(proc.startedAt - before)).toBeLessThan(5_000);
            expect(locks.judgeLock({ pid: child.pid!, hostname: HOST, time: Date.now() }, { hostname: HOST, process: proc }).verdict).toBe("live");
        } finally {
            child.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
