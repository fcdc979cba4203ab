// The fake-executable helper itself: if it mis-records arguments, every script test built on it is wrong.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createFakeBin, parseCallLog, runScript, systemBin, FakeBin } from "./helpers/fakeBin";
import { runScriptAsync } from "./helpers/scriptRunner";

let bin: FakeBin;
let scratch: string;
beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fakebin-test-"));
});
afterEach(() => {
    bin?.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
});

function script(text: string): string {
    const file = path.join(scratch, "script.sh");
    fs.writeFileSync(file, text);
    return file;
}

test("records every argument byte for byte: spaces, newlines, quotes, empty, UTF-8, option-like", () => {
    bin = createFakeBin({ tool: "" });
    const args = ["plain", "two words", "line1\nline2", "", "'\"`$(x)`", "--flag=a,b", "-", "héllo ✓", "\t"];
    const result = runScript(script(`tool "$@"\ntool\n`), { fakeBin: bin, args });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
        { tool: "tool", args },
        { tool: "tool", args: [] },
    ]);
});

test("bodies see FAKE_CALL and FAKE_STATE, so a second call can behave differently", () => {
    bin = createFakeBin({
        probe: `echo "call $FAKE_CALL"; [ -e "$FAKE_STATE/ready" ] && exit 0; : >"$FAKE_STATE/ready"; exit 3`,
    });
    const result = runScript(script(`probe || echo "first exit $?"\nprobe && echo "second ok"\n`), { fakeBin: bin });
    expect(result.stdout).toBe("call 1\nfirst exit 3\ncall 2\nsecond ok\n");
    expect(fs.existsSync(path.join(bin.stateDir, "ready"))).toBe(true);
    // Counters persist across runs of one FakeBin, and resetCalls() clears them and the log.
    expect(runScript(script("probe\n"), { fakeBin: bin }).stdout).toBe("call 3\n");
    bin.resetCalls();
    expect(bin.calls()).toEqual([]);
    expect(runScript(script("probe\n"), { fakeBin: bin }).stdout).toBe("call 1\n");
});

test("returns exit code, stdout and stderr, and only this run's calls", () => {
    bin = createFakeBin({ a: "echo out; echo err >&2; exit 0", b: "exit 9" });
    runScript(script("a\n"), { fakeBin: bin });
    const result = runScript(script("a >/dev/null 2>&1\nb x\necho done-out\necho done-err >&2\nexit 5\n"), { fakeBin: bin });
    expect(result).toMatchObject({ code: 5, stdout: "done-out\n", stderr: "done-err\n" });
    expect(result.calls).toEqual([
        { tool: "a", args: [] },
        { tool: "b", args: ["x"] },
    ]);
    expect(bin.callsOf("a")).toEqual([[], []]);
});

test("environment is exactly PATH, HOME, LC_ALL and what the test passes", () => {
    bin = createFakeBin();
    const result = runScript(script(`printf '%s\\n' "$PATH" "$HOME" "\${JEST_WORKER_ID-unset}" "$MINE"\n`), {
        fakeBin: bin,
        env: { MINE: "x y" },
    });
    expect(result.stdout.split("\n")).toEqual([`${bin.dir}:/usr/bin:/bin`, bin.workDir, "unset", "x y", ""]);
});

test("fakes shadow real tools, and systemBin gives a PATH without them", () => {
    bin = createFakeBin({ tar: "echo fake-tar" });
    expect(runScript(script("tar\n"), { fakeBin: bin }).stdout).toBe("fake-tar\n");
    const sys = systemBin(["bash", "dirname"]);
    try {
        const result = runScript(script("command -v tar || echo no-tar; command -v dirname\n"), { systemPath: sys });
        expect(result.stdout).toBe(`no-tar\n${sys}/dirname\n`);
    } finally {
        fs.rmSync(sys, { recursive: true, force: true });
    }
});

test("parseCallLog refuses a corrupt log", () => {
    expect(() => parseCallLog("t\x002\x00a\x00")).toThrow(/corrupt/);
    expect(parseCallLog("")).toEqual([]);
});

test("the asynchronous runner reports a script that exits without reading its stdin, instead of failing on EPIPE", async () => {
    // A CI run once failed a release-script test with "write EPIPE": the script had exited before the
    // runner wrote its (empty) stdin. A large input makes that race certain.
    const result = await runScriptAsync(script("echo early; exit 3\n"), { input: "x".repeat(8 * 1024 * 1024) });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("early\n");
});
