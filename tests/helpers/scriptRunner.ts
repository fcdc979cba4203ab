// An asynchronous twin of runScript (tests/helpers/fakeBin.ts) for scripts that talk to a server the test
// itself runs: runScript uses spawnSync, which blocks Node's event loop, so an in-process http/tls server
// could never answer. Same environment rules: PATH = fakes + systemPath, HOME = the FakeBin's workDir (or a
// fresh temp folder), LC_ALL=C.UTF-8, plus `env`; nothing else of the test process's environment leaks in.
import { spawn } from "child_process";
import { BASH, RunOptions, RunResult, scriptEnvironment } from "./fakeBin";

export function runScriptAsync(script: string, options: RunOptions = {}): Promise<RunResult> {
    const { fakeBin } = options;
    const { env, callsBefore: before, cleanup } = scriptEnvironment(options);
    return new Promise((resolve, reject) => {
        const child = spawn(BASH, [script, ...(options.args ?? [])], { env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 20000);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            cleanup();
            resolve({
                code,
                signal,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
                calls: fakeBin ? fakeBin.calls().slice(before) : [],
            });
        });
        // A script may exit without reading its stdin; the write then fails with EPIPE, which spawnSync
        // (runScript's twin) ignores too. Anything else is a real failure.
        child.stdin.on("error", (e: NodeJS.ErrnoException) => {
            if (e.code !== "EPIPE") reject(e);
        });
        child.stdin.end(options.input ?? "");
    });
}
