// Prints the tiers' reports as the one line CI reads: "N passed, N failed". A report is jest's JSON report
// (--json --outputFile) or `go test -json` output (the real tier's Go tests of our stand-ins).
// A report that is missing or unreadable counts as one failure: a tier that did not run must not pass.
const fs = require("fs");

/** Counts of a `go test -json` stream: one event per line; a test's last pass/fail event counts. */
function goCounts(text) {
    let passed = 0;
    let failed = 0;
    let events = 0;
    for (const line of text.split("\n")) {
        if (!line.trim().startsWith("{")) continue;
        const event = JSON.parse(line);
        events += 1;
        if (!event.Test) {
            // A package that fails without a failing test (a build error, a panic before any test).
            if (event.Action === "fail") failed += 1;
            continue;
        }
        if (event.Action === "pass") passed += 1;
        else if (event.Action === "fail") failed += 1;
    }
    if (events === 0) throw new Error("no go test events");
    return { passed, failed };
}

/** Counts of a jest JSON report; a suite that fails to load has no failed test of its own, so it counts too. */
function jestCounts(report) {
    const brokenSuites = (report.testResults ?? []).filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    return { passed: report.numPassedTests ?? 0, failed: (report.numFailedTests ?? 0) + brokenSuites };
}

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
    let counts;
    try {
        const text = fs.readFileSync(file, "utf8");
        let report;
        try {
            report = JSON.parse(text);
        } catch {
            report = undefined;
        }
        counts = report !== undefined && typeof report === "object" && report !== null && !("Action" in report) ? jestCounts(report) : goCounts(text);
    } catch {
        failed += 1;
        continue;
    }
    passed += counts.passed;
    failed += counts.failed;
}
console.log(`${passed} passed, ${failed} failed`);
