// The stack's lock in Pulumi's local (diy) backend, for npm run up and npm run destroy: a lock a killed run
// left behind is named and removed; a live run's, or one this machine cannot judge, stops the script.
//
// Pulumi's diy backend (pulumi/pulumi pkg/backend/diy/lock.go, v3.259) writes one file per run that takes the
// lock (up, destroy, refresh, import, stack import and every `pulumi state` edit; not preview or stack export):
// <backend>/.pulumi/locks/organization/<project>/<stack>/<uuid>.json for project-scoped stacks
// (backend.go FullyQualifiedName), <backend>/.pulumi/locks/<stack>/ for a legacy layout, holding
// {"pid", "username", "hostname", "timestamp"} and nothing else. Each run deletes its own file in a defer,
// which SIGKILL skips; Pulumi never looks at the pid (checkForLock lists every file of the folder, fileblob's
// *.attrs sidecars excepted), and `pulumi cancel` deletes every file there, a live run's too. So this looks at
// each lock file on its own: stale only when it was taken on this machine by a process that is gone (or
// whose pid now belongs to something that is not pulumi, or to a pulumi started well after the lock), and
// then only that file (and its .attrs sidecar, as fileblob's Delete does) is removed.
//
// A lock file says nothing of the command that took it, so run_pulumi (scripts/stack-state.sh) leaves a small
// record of its own just before it becomes pulumi (same pid: the subshell execs pulumi): the command line,
// the npm command and the time, in ~/.cache/istio-minikube/pulumi-runs/ (XDG_CACHE_HOME if set). A run
// that ends, however it ends short of being killed with its script, has its record removed right after.
//
//   node scripts/stack-locks.js check STACK "npm run up"     stale locks removed (said so), else exit 1 naming them
//   node scripts/stack-locks.js record STACK "npm run up" PID ARGV...
//   node scripts/stack-locks.js forget STACK                 records of this stack whose run is over
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");

const PROJECT_DIR = path.resolve(__dirname, "..");
/**
 * Where the records are: the user's cache folder, beside the project's other caches, as the lock is in the
 * backend folder (by default ~/.pulumi) that every checkout of the project shares.
 */
function recordsDir(env = process.env) {
    return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "istio-minikube", "pulumi-runs");
}
/** A pulumi process that started this long after a lock's timestamp cannot have taken it (clock steps aside). */
const STARTED_AFTER_SLACK_MS = 10 * 60 * 1000;
/** A record matches a lock taken from 5 s before it (clock granularity) to a day after (a passphrase prompt waits). */
const RECORD_WINDOW_MS = { before: 5_000, after: 24 * 60 * 60 * 1000 };

/**
 * The backend URL Pulumi uses for this project: PULUMI_BACKEND_URL, then Pulumi.yaml's backend.url (the CLI's
 * GetCurrentCloudURL; a stored `pulumi login` never applies while Pulumi.yaml sets one).
 * @param {Record<string, string | undefined>} env
 * @param {string} projectYaml the text of Pulumi.yaml
 * @returns {{ url: string | undefined, project: string | undefined }}
 */
function projectBackend(env, projectYaml) {
    let parsed;
    try {
        parsed = require("yaml").parse(projectYaml);
    } catch {
        // Before `npm ci`, or a file yaml cannot read: the two plain keys this needs.
        const name = /^name:[ \t]*['"]?([^'"\s#]+)/m.exec(projectYaml);
        const url = /^backend:[ \t]*\n(?:[ \t]+#.*\n)*[ \t]+url:[ \t]*['"]?([^'"\s#]+)/m.exec(projectYaml);
        parsed = { name: name && name[1], backend: { url: url && url[1] } };
    }
    const fromFile = parsed && parsed.backend && typeof parsed.backend.url === "string" ? parsed.backend.url : undefined;
    return {
        url: env.PULUMI_BACKEND_URL ? env.PULUMI_BACKEND_URL : fromFile,
        project: parsed && typeof parsed.name === "string" ? parsed.name : undefined,
    };
}

/**
 * The folder of a file:// backend, as the diy backend resolves it (backend.go massageBlobPath: the query
 * dropped, `~` and `~/...` under the home folder, a relative path from the current folder); null for any
 * other backend (Pulumi Cloud, s3://, ...), whose locks are not files here.
 * @param {string | undefined} url
 */
function fileBackendRoot(url, home, cwd) {
    if (!url || !url.startsWith("file://")) return null;
    let p = url.slice("file://".length).split("?")[0];
    if (p === "~") p = home;
    else if (p.startsWith("~")) p = path.join(home, p.slice(2));
    return path.resolve(cwd, p);
}

/** Where the stack's lock files are: project-scoped first, then the legacy layout's folder. */
function lockDirs(root, project, stack) {
    const locks = path.join(root, ".pulumi", "locks");
    return [...(project ? [path.join(locks, "organization", project, stack)] : []), path.join(locks, stack)];
}

/**
 * A lock file's content as Pulumi writes it (lock.go lockContent), or why it cannot be read.
 * @param {string} text
 * @returns {{ ok: true, lock: { pid: number, username: string, hostname: string, timestamp: string, time: number } } | { ok: false, reason: string }}
 */
function parseLock(text) {
    let value;
    try {
        value = JSON.parse(text);
    } catch {
        return { ok: false, reason: text.trim() === "" ? "it is empty" : "it is not JSON" };
    }
    if (!value || typeof value !== "object") return { ok: false, reason: "it is not a lock record" };
    const { pid, username, hostname, timestamp } = value;
    if (!Number.isInteger(pid) || pid <= 0) return { ok: false, reason: "it names no process id" };
    if (typeof hostname !== "string" || hostname === "") return { ok: false, reason: "it names no host" };
    const time = typeof timestamp === "string" ? Date.parse(timestamp) : NaN;
    return { ok: true, lock: { pid, username: typeof username === "string" ? username : "", hostname, timestamp: typeof timestamp === "string" ? timestamp : "", time } };
}

const PULUMI_NAME = /^pulumi(\.exe)?$/;

/**
 * Is a lock stale? Pure: what is known of its process is given.
 * @param {{ pid: number, hostname: string, time: number }} lock
 * @param {{ hostname: string, process?: { alive: boolean, names?: string[], startedAt?: number } }} facts
 *   `process`: the lock's pid on this machine (asked only when the lock is this host's): alive, the names it
 *   runs under (comm, argv[0], argv[1] for a script), when it started (ms since the epoch), when known.
 * @returns {{ verdict: "stale" | "live" | "other-host", reason: string }}
 */
function judgeLock(lock, facts) {
    if (lock.hostname !== facts.hostname) {
        return { verdict: "other-host", reason: `it was taken on host ${lock.hostname}, not this one (${facts.hostname}), which cannot tell whether that run still goes on` };
    }
    const proc = facts.process;
    if (!proc || !proc.alive) return { verdict: "stale", reason: `process ${lock.pid} no longer exists` };
    const names = (proc.names || []).filter(Boolean);
    if (names.length > 0 && !names.some((name) => PULUMI_NAME.test(name))) {
        return { verdict: "stale", reason: `process ${lock.pid} is now ${names[0]}, not pulumi` };
    }
    if (names.length > 0 && proc.startedAt !== undefined && Number.isFinite(lock.time) && proc.startedAt - lock.time > STARTED_AFTER_SLACK_MS) {
        return { verdict: "stale", reason: `process ${lock.pid} is a pulumi started at ${new Date(proc.startedAt).toISOString()}, after the lock was taken` };
    }
    return { verdict: "live", reason: `process ${lock.pid} is a pulumi that still runs` };
}

/**
 * The record npm run up/destroy left for the run that took this lock: same pid, host and stack, written
 * just before the lock's time. The newest such record wins.
 */
function matchRecord(lock, stack, records) {
    const candidates = records.filter(
        (r) =>
            r &&
            r.pid === lock.pid &&
            r.hostname === lock.hostname &&
            r.stack === stack &&
            Array.isArray(r.command) &&
            Number.isFinite(Date.parse(r.time)) &&
            (!Number.isFinite(lock.time) || (lock.time - Date.parse(r.time) >= -RECORD_WINDOW_MS.before && lock.time - Date.parse(r.time) <= RECORD_WINDOW_MS.after)),
    );
    candidates.sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    return candidates[0];
}

/** The time as the lock says it, seconds precision. */
function lockTime(lock) {
    return lock.timestamp ? lock.timestamp.replace(/\.\d+/, "") : "an unknown time";
}

/** `pulumi up --stack dev --yes`, each argument shown as one (quoted when it holds a space or a quote). */
function commandLine(argv) {
    return argv.map((arg) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Who took the lock and when, from the npm command's record where there is one. */
function describeLock(lock, record) {
    const who = `pid ${lock.pid}, ${lock.username || "?"}@${lock.hostname}`;
    if (record) return `\`${commandLine(record.command)}\` (${record.via}, ${who}) at ${lockTime(lock)}`;
    return `a pulumi run not started through npm run up or npm run destroy (${who}) at ${lockTime(lock)}`;
}

/**
 * What to do with every lock file of the stack. Pure.
 * @param {{ file: string, text: string }[]} files
 * @param {{ stack: string, via: string, hostname: string, records: object[], processOf: (pid: number) => ({ alive: boolean, names?: string[], startedAt?: number } | undefined) }} context
 * @returns {{ remove: { file: string, record?: object, message: string }[], blocking: { file: string, message: string }[] }}
 */
function planLocks(files, context) {
    const { stack, via } = context;
    const again = `${via} -- ${stack}`;
    const remove = [];
    const blocking = [];
    for (const { file, text } of files) {
        const parsed = parseLock(text);
        if (!parsed.ok) {
            blocking.push({
                file,
                message:
                    `stack '${stack}' has a lock file that cannot be read (${parsed.reason}): ${file}\n` +
                    `  If no pulumi runs for this stack on any machine (pgrep -a pulumi), remove that one file and run ${again} again:\n` +
                    `  rm '${file}'`,
            });
            continue;
        }
        const { lock } = parsed;
        const facts = { hostname: context.hostname, process: lock.hostname === context.hostname ? context.processOf(lock.pid) : undefined };
        const { verdict, reason } = judgeLock(lock, facts);
        const record = matchRecord(lock, stack, context.records);
        const taken = describeLock(lock, record);
        if (verdict === "stale") {
            remove.push({
                file,
                record,
                message:
                    `stack '${stack}' was locked by ${taken}, and ${reason}: that run was killed. ` +
                    `Its lock is removed (${file}). What it may have left half done, the next steps settle (docs/stacks.md#after-an-interruption).`,
            });
        } else if (verdict === "live") {
            blocking.push({
                file,
                message:
                    `stack '${stack}' is in use: locked by ${taken}; ${reason}. Nothing was changed.\n` +
                    `  Wait for it to end, or stop it cleanly (Ctrl-C in its terminal, or kill -INT ${lock.pid}), then run ${again} again.`,
            });
        } else {
            blocking.push({
                file,
                message:
                    `stack '${stack}' is locked by ${taken}; ${reason}. Nothing was changed.\n` +
                    `  If it still runs, wait for it to end. If it does not (that machine stopped, the run was killed), remove its lock file,\n` +
                    `  that one only (pulumi cancel removes every lock of the stack, a live run's too), and run ${again} again:\n` +
                    `  rm '${file}'`,
            });
        }
    }
    return { remove, blocking };
}

// ---- the machine: files and processes -------------------------------------------------------------

/** The lock files in the stack's lock folders (fileblob's *.attrs sidecars are not locks). */
function readLockFiles(dirs) {
    const files = [];
    for (const dir of dirs) {
        let names;
        try {
            names = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            continue;
        }
        for (const entry of names) {
            if (!entry.isFile() || entry.name.endsWith(".attrs")) continue;
            const file = path.join(dir, entry.name);
            let text;
            try {
                text = fs.readFileSync(file, "utf8");
            } catch {
                text = "";
            }
            files.push({ file, text });
        }
    }
    return files;
}

let clockTicks;
function ticksPerSecond() {
    if (clockTicks === undefined) {
        try {
            clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()) || 100;
        } catch {
            clockTicks = 100;
        }
    }
    return clockTicks;
}

/**
 * What this machine knows of a pid: alive (a zombie is not), the names it runs under, when it started.
 * Linux: /proc; elsewhere: ps. Unknown parts are left out, which judgeLock reads as "maybe pulumi".
 */
function processOf(pid) {
    try {
        process.kill(pid, 0);
    } catch (err) {
        if (err && err.code === "ESRCH") return { alive: false };
        // EPERM: it exists, another user's.
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const close = stat.lastIndexOf(")");
        const comm = stat.slice(stat.indexOf("(") + 1, close);
        const fields = stat.slice(close + 2).split(" "); // from field 3 (state) on
        if (fields[0] === "Z" || fields[0] === "X") return { alive: false };
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        const btime = Number((/^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8")) || [])[1]);
        const startTicks = Number(fields[19]); // field 22, starttime, in clock ticks after boot
        const startedAt = Number.isFinite(btime) && Number.isFinite(startTicks) ? (btime + startTicks / ticksPerSecond()) * 1000 : undefined;
        return { alive: true, names: [comm, ...argv.slice(0, 2).map((a) => path.basename(a))], startedAt };
    } catch {
        // No /proc (macOS), or not readable.
    }
    try {
        const out = (field) => execFileSync("ps", ["-o", `${field}=`, "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        const comm = out("comm");
        if (!comm) return { alive: false };
        const started = Date.parse(out("lstart"));
        return { alive: true, names: [path.basename(comm)], startedAt: Number.isFinite(started) ? started : undefined };
    } catch {
        return { alive: true };
    }
}

function readRecords(dir = recordsDir()) {
    let names;
    try {
        names = fs.readdirSync(dir);
    } catch {
        return [];
    }
    const records = [];
    for (const name of names) {
        if (!name.endsWith(".json")) continue;
        try {
            records.push({ ...JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")), file: path.join(dir, name) });
        } catch {
            // A record cut short is no record.
        }
    }
    return records;
}

function log(message) {
    process.stderr.write(`istio-minikube: ${message}\n`);
}

function check(stack, via) {
    const { url, project } = projectBackend(process.env, fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"));
    const root = fileBackendRoot(url, os.homedir(), process.cwd());
    if (!root) return 0; // not a local backend: its locks are the service's business
    const files = readLockFiles(lockDirs(root, project, stack));
    if (files.length === 0) return 0;
    const records = readRecords();
    const { remove, blocking } = planLocks(files, { stack, via, hostname: os.hostname(), records, processOf });
    let failed = 0;
    for (const { file, record, message } of remove) {
        try {
            fs.rmSync(file, { force: true });
            fs.rmSync(`${file}.attrs`, { force: true });
            log(message);
        } catch (err) {
            log(`${message.split(" Its lock is removed")[0]} Its lock could not be removed (${err.message}): remove ${file} yourself, then run ${via} -- ${stack} again.`);
            failed++;
            continue;
        }
        if (record) fs.rmSync(record.file, { force: true });
    }
    for (const { message } of blocking) log(message);
    return blocking.length + failed > 0 ? 1 : 0;
}

function record(stack, via, pid, argv) {
    try {
        const dir = recordsDir();
        fs.mkdirSync(dir, { recursive: true });
        const content = { pid: Number(pid), hostname: os.hostname(), stack, via, command: argv, time: new Date().toISOString() };
        fs.writeFileSync(path.join(dir, `${stack}.${pid}.json`), `${JSON.stringify(content)}\n`, { mode: 0o600 });
    } catch (err) {
        log(`could not keep a record of this run (${err.message}); a lock it leaves is named without its command`);
    }
    return 0;
}

/** Records of this stack whose run is over: the process gone, or its pid now something else. */
function forget(stack) {
    for (const r of readRecords()) {
        if (r.stack !== stack || r.hostname !== os.hostname()) continue;
        const lock = { pid: r.pid, hostname: r.hostname, time: Date.parse(r.time) };
        if (judgeLock(lock, { hostname: os.hostname(), process: processOf(r.pid) }).verdict === "stale") fs.rmSync(r.file, { force: true });
    }
    return 0;
}

if (require.main === module) {
    const [command, stack, ...rest] = process.argv.slice(2);
    if (!stack || !/^[A-Za-z0-9._-]+$/.test(stack)) {
        log(`stack-locks.js: '${stack}' is not a stack name`);
        process.exit(2);
    }
    let code = 2;
    if (command === "check") code = check(stack, rest[0] || "npm run up");
    else if (command === "record") code = record(stack, rest[0], rest[1], rest.slice(2));
    else if (command === "forget") code = forget(stack);
    else log(`stack-locks.js: unknown command '${command}'`);
    process.exit(code);
}

module.exports = { projectBackend, fileBackendRoot, lockDirs, parseLock, judgeLock, matchRecord, describeLock, planLocks, commandLine, processOf, recordsDir };
