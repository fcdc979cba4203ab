// An asynchronous twin of runScript (tests/helpers/fakeBin.ts) for scripts that talk to a server the test
// itself runs: runScript uses spawnSync, which blocks Node's event loop, so an in-process http/tls server
// could never answer. Same environment rules: PATH = fakes + systemPath, HOME = the FakeBin's workDir (or a
// fresh temp folder), LC_ALL=C.UTF-8, plus `env`; nothing else of the test process's environment leaks in.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BASH, MINIMAL_SYSTEM_PATH, RunOptions, RunResult } from "./fakeBin";

export function runScriptAsync(script: string, options: RunOptions = {}): Promise<RunResult> {
    const { fakeBin } = options;
    const systemPath = options.systemPath ?? MINIMAL_SYSTEM_PATH;
    const home = fakeBin?.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "fakehome-"));
    const env: Record<string, string> = {
        PATH: fakeBin ? `${fakeBin.dir}:${systemPath}` : systemPath,
        HOME: home,
        LC_ALL: "C.UTF-8",
    };
    for (const [k, v] of Object.entries(options.env ?? {})) {
        if (v === undefined) delete env[k];
        else env[k] = v;
    }
    const before = fakeBin ? fakeBin.calls().length : 0;
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
            if (!fakeBin) fs.rmSync(home, { recursive: true, force: true });
            resolve({
                code,
                signal,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
                calls: fakeBin ? fakeBin.calls().slice(before) : [],
            });
        });
        child.stdin.end(options.input ?? "");
    });
}
