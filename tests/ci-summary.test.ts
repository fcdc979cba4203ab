// .ci/summarize.js: the one line CI reads, summed over both tiers' jest reports.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", ".ci", "summarize.js");
let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "summary-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function report(name: string, passed: number, failed: number, brokenSuites = 0): string {
    const file = path.join(dir, name);
    const suites = [
        { status: failed ? "failed" : "passed", assertionResults: [{}] },
        ...Array.from({ length: brokenSuites }, () => ({ status: "failed", assertionResults: [] })),
    ];
    fs.writeFileSync(file, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, testResults: suites }));
    return file;
}
const summarize = (...files: string[]) => execFileSync(process.execPath, [SCRIPT, ...files], { encoding: "utf8" });

test("the two tiers are added up", () => {
    expect(summarize(report("unit.json", 1100, 0), report("real.json", 6, 1))).toBe("1106 passed, 1 failed\n");
});

test("a tier whose report is missing or unreadable counts as a failure", () => {
    fs.writeFileSync(path.join(dir, "garbage.json"), "not json");
    expect(summarize(report("unit.json", 10, 0), path.join(dir, "none.json"))).toBe("10 passed, 1 failed\n");
    expect(summarize(path.join(dir, "garbage.json"))).toBe("0 passed, 1 failed\n");
});

test("a suite that failed to load counts as a failure", () => {
    expect(summarize(report("unit.json", 5, 0, 2))).toBe("5 passed, 2 failed\n");
});

describe("go test -json reports (the real tier's Go tests of our stand-ins)", () => {
    const goReport = (name: string, events: object[]) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
        return file;
    };

    test("each test's pass or fail counts once; package lines and output lines do not", () => {
        const file = goReport("go.json", [
            { Action: "start", Package: "p" },
            { Action: "run", Package: "p", Test: "TestA" },
            { Action: "output", Package: "p", Test: "TestA", Output: "--- PASS: TestA\n" },
            { Action: "pass", Package: "p", Test: "TestA" },
            { Action: "run", Package: "p", Test: "TestB" },
            { Action: "fail", Package: "p", Test: "TestB" },
            { Action: "fail", Package: "p" },
        ]);
        // TestB and the package it failed: the package line without a test counts only when it is a fail.
        expect(summarize(report("unit.json", 3, 0), file)).toBe("4 passed, 2 failed\n");
    });

    test("a package that did not build is a failure; an empty report is one too", () => {
        expect(summarize(goReport("build.json", [{ Action: "start", Package: "p" }, { Action: "fail", Package: "p" }]))).toBe("0 passed, 1 failed\n");
        fs.writeFileSync(path.join(dir, "empty.json"), "");
        expect(summarize(path.join(dir, "empty.json"))).toBe("0 passed, 1 failed\n");
    });
});
