// Prints jest's JSON reports (one per tier) as the one line CI reads: "N passed, N failed".
// A report that is missing or unreadable counts as one failure: a tier that did not run must not pass.
const fs = require("fs");
let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
    let report;
    try {
        report = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        failed += 1;
        continue;
    }
    // A suite that fails to load has no failed test of its own: count it, so it cannot pass unnoticed.
    const brokenSuites = (report.testResults ?? []).filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    passed += report.numPassedTests ?? 0;
    failed += (report.numFailedTests ?? 0) + brokenSuites;
}
console.log(`${passed} passed, ${failed} failed`);
