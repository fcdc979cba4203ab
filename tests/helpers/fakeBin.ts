// Fake executables for running the project's shell scripts for real without touching the machine.
//
// A FakeBin is a temporary folder of bash scripts named like the tools the scripts call (minikube, kubectl,
// docker, xz, ...). Each fake first records its argv in a shared call log, then runs a bash body the test
// gives it: exit codes, printed output, and state files so a later call can behave differently.
//
//   const bin = createFakeBin({
//       minikube: `case "$1" in status) [ -e "$FAKE_STATE/up" ] && exit 0; exit 85 ;; start) : >"$FAKE_STATE/up" ;; esac`,
//   });
//   const result = runScript("components/scripts/minikube-start.sh", { fakeBin: bin, env: {...} });
//   result.calls  // [{ tool: "minikube", args: ["status", ...] }, ...]
//
// Inside a body:
//   "$@"          the arguments, as the tool got them
//   $FAKE_TOOL    the tool's name
//   $FAKE_CALL    1 for the tool's first call, 2 for the second, ... (per tool, across runs of one FakeBin)
//   $FAKE_STATE   a folder shared by all fakes of this FakeBin, for state files (bin.stateDir in the test)
// The recording uses bash builtins only, so fakes work with a PATH that holds no coreutils; a body that
// calls other programs needs them on the PATH it runs with.
//
// Call log format: per call, NUL-terminated fields `tool`, `argc`, then the argc arguments. Arguments
// cannot contain NUL (C strings), so the log is unambiguous for any other byte, newlines included.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** An absolute bash, so fakes and scripts never depend on the PATH under test to find their interpreter. */
export const BASH = ["/bin/bash", "/usr/bin/bash"].find((candidate) => fs.existsSync(candidate)) ?? "/bin/bash";

/** The system part of the PATH scripts run with, unless a test chooses another. */
export const MINIMAL_SYSTEM_PATH = "/usr/bin:/bin";

export interface FakeCall {
    tool: string;
    args: string[];
}

export interface RunResult {
    /** Exit code; null when the process was killed (see `signal`). */
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    /** Calls made to the fakes during this run only, in order. */
    calls: FakeCall[];
}

export interface FakeBin {
    /** The folder of fake executables; put it first on PATH. */
    readonly dir: string;
    /** Shared by every fake as $FAKE_STATE. */
    readonly stateDir: string;
    /** A scratch folder for the test (HOME of runs, files to point scripts at); removed by cleanup(). */
    readonly workDir: string;
    /** Adds or replaces a fake. */
    add(tool: string, body?: string): void;
    /** Every call recorded so far, in order. */
    calls(): FakeCall[];
    /** Arguments of every call to one tool, in order. */
    callsOf(tool: string): string[][];
    /** Forgets recorded calls and per-tool call counters (state files stay). */
    resetCalls(): void;
    /** Removes every file this FakeBin made. */
    cleanup(): void;
}

const TOOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Single-quotes a string for bash. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Creates a FakeBin with one fake per entry: tool name → bash body. A body of "" (or omitted via add())
 * just exits 0. A body's exit status is the fake's, so `exit 3` or a failing last command both work.
 */
export function createFakeBin(tools: Record<string, string> = {}): FakeBin {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fakebin-"));
    const dir = path.join(root, "bin");
    const stateDir = path.join(root, "state");
    const countDir = path.join(root, "counts");
    const workDir = path.join(root, "work");
    const logFile = path.join(root, "calls.log");
    for (const d of [dir, stateDir, countDir, workDir]) fs.mkdirSync(d);
    fs.writeFileSync(logFile, "");

    const add = (tool: string, body = ""): void => {
        if (!TOOL_NAME.test(tool)) throw new Error(`not a tool name: ${JSON.stringify(tool)}`);
        const countFile = path.join(countDir, tool);
        const script = [
            `#!${BASH}`,
            `# fake ${tool}, made by tests/helpers/fakeBin.ts`,
            `FAKE_TOOL=${shellQuote(tool)}`,
            `FAKE_STATE=${shellQuote(stateDir)}`,
            `FAKE_CALL=1`,
            `if [ -f ${shellQuote(countFile)} ]; then FAKE_CALL=$(( $(< ${shellQuote(countFile)}) + 1 )); fi`,
            `printf '%s' "$FAKE_CALL" > ${shellQuote(countFile)}`,
            // One printf: bash writes its buffered output once, so O_APPEND keeps records whole even when
            // fakes run side by side in a pipeline.
            `printf '%s\\0' "$FAKE_TOOL" "$#" "$@" >> ${shellQuote(logFile)}`,
            `export FAKE_TOOL FAKE_STATE FAKE_CALL`,
            `# --- body ---`,
            body,
            "",
        ].join("\n");
        const file = path.join(dir, tool);
        fs.writeFileSync(file, script, { mode: 0o755 });
        fs.chmodSync(file, 0o755);
    };
    for (const [tool, body] of Object.entries(tools)) add(tool, body);

    const calls = (): FakeCall[] => parseCallLog(fs.readFileSync(logFile, "latin1"));
    return {
        dir,
        stateDir,
        workDir,
        add,
        calls,
        callsOf: (tool) => calls().filter((c) => c.tool === tool).map((c) => c.args),
        resetCalls: () => {
            fs.writeFileSync(logFile, "");
            for (const f of fs.readdirSync(countDir)) fs.rmSync(path.join(countDir, f));
        },
        cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
    };
}

/** Decodes the call log (read as latin1 so every byte survives; arguments are turned back into UTF-8). */
export function parseCallLog(text: string): FakeCall[] {
    const fields = text.split("\0");
    fields.pop(); // after the last terminator
    const calls: FakeCall[] = [];
    let i = 0;
    const utf8 = (s: string) => Buffer.from(s, "latin1").toString("utf8");
    while (i < fields.length) {
        const tool = utf8(fields[i++]);
        const argc = Number(fields[i++]);
        if (!Number.isInteger(argc) || argc < 0 || i + argc > fields.length) {
            throw new Error(`corrupt fake call log near call ${calls.length + 1} (${tool})`);
        }
        calls.push({ tool, args: fields.slice(i, i + argc).map(utf8) });
        i += argc;
    }
    return calls;
}

/**
 * A folder of symlinks to real system programs, for a PATH that holds exactly these and nothing else
 * (e.g. to show a tool is missing although the machine has it in /usr/bin). Remove it with fs.rmSync.
 */
export function systemBin(tools: string[], searchPath = "/usr/local/bin:/usr/bin:/bin"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sysbin-"));
    for (const tool of tools) {
        const found = searchPath
            .split(":")
            .map((d) => path.join(d, tool))
            .find((candidate) => {
                try {
                    fs.accessSync(candidate, fs.constants.X_OK);
                    return true;
                } catch {
                    return false;
                }
            });
        if (!found) throw new Error(`systemBin: ${tool} is not installed in ${searchPath}`);
        fs.symlinkSync(found, path.join(dir, tool));
    }
    return dir;
}

export interface RunOptions {
    /** Fakes to put first on PATH; their calls during this run come back in `calls`. */
    fakeBin?: FakeBin;
    /** The environment, on top of PATH and HOME (nothing else of the test process's environment leaks in). */
    env?: Record<string, string | undefined>;
    /** What follows the fakes on PATH; default /usr/bin:/bin. */
    systemPath?: string;
    /** Arguments after the script. */
    args?: string[];
    cwd?: string;
    /** Written to the script's stdin. */
    input?: string;
    /** Milliseconds; default 20000. */
    timeout?: number;
}

/**
 * Runs `bash <script> [args]` with PATH = fakes + systemPath, HOME = the FakeBin's workDir (or a fresh temp
 * folder) and `env`. Variables set to undefined in `env` are left out.
 */
export function scriptEnvironment(options: RunOptions): { env: Record<string, string>; callsBefore: number; cleanup(): void } {
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
    return {
        env,
        callsBefore: fakeBin ? fakeBin.calls().length : 0,
        cleanup: () => {
            if (!fakeBin) fs.rmSync(home, { recursive: true, force: true });
        },
    };
}

export function runScript(script: string, options: RunOptions = {}): RunResult {
    const { fakeBin } = options;
    const { env, callsBefore: before, cleanup } = scriptEnvironment(options);
    const result = spawnSync(BASH, [script, ...(options.args ?? [])], {
        env,
        cwd: options.cwd,
        input: options.input ?? "",
        encoding: "utf8",
        timeout: options.timeout ?? 20000,
    });
    cleanup();
    if (result.error) throw result.error;
    return {
        code: result.status,
        signal: result.signal,
        stdout: result.stdout,
        stderr: result.stderr,
        calls: fakeBin ? fakeBin.calls().slice(before) : [],
    };
}
