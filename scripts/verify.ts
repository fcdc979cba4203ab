// npm run verify -- --stack NAME: runs the stack's verification checks against the running cluster, outside
// `pulumi up`, and prints a table. Exit code 0 only when every check passes (or is skipped by design).
import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";
import { parseSettings } from "../components/config";
import { CheckResult, CheckSpec, skippedResult, verificationChecks, verificationInputsOf } from "../components/verify/verification";
import { readStackConfig, PlanError } from "./offline-plan";

const projectDir = path.resolve(__dirname, "..");

function runCheck(check: CheckSpec): Promise<CheckResult> {
    if (check.skipped) return Promise.resolve(skippedResult(check));
    return new Promise((resolve) => {
        execFile("bash", [check.script], { cwd: projectDir, env: { ...process.env, ...check.environment } }, (error, stdout, stderr) => {
            if (!error) {
                try {
                    resolve(JSON.parse(stdout.trim()) as CheckResult);
                    return;
                } catch {
                    resolve({ check: check.name, status: "fail", detail: `unreadable result: ${stdout.trim()}` });
                    return;
                }
            }
            resolve({ check: check.name, status: "fail", detail: stderr.trim() || error.message });
        });
    });
}

export function renderTable(results: CheckResult[]): string {
    const width = Math.max(5, ...results.map((r) => r.check.length));
    const lines = [`${"CHECK".padEnd(width)}  STATUS   DETAIL`];
    for (const r of results) {
        const [first, ...rest] = r.detail.split("\n");
        lines.push(`${r.check.padEnd(width)}  ${r.status.toUpperCase().padEnd(7)}  ${first}`);
        for (const line of rest) lines.push(`${" ".repeat(width + 11)}${line}`);
    }
    return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    const config: string[] = [];
    let stack: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--stack") stack = argv[++i];
        else if (argv[i] === "--config") config.push(argv[++i]);
        else throw new PlanError(`unknown argument ${argv[i]}; usage: npm run verify -- --stack NAME [--config KEY=VALUE ...]`);
    }
    if (!stack) throw new PlanError("--stack NAME is required; usage: npm run verify -- --stack NAME");
    const raw = readStackConfig({ projectDir, stack, config });
    const settings = parseSettings(raw.config, stack, { homeDir: os.homedir(), projectDir });
    // Against a running stack there is nothing to wait for: a few quick tries, unless told otherwise.
    const checks = verificationChecks(
        verificationInputsOf(settings, {
            attempts: Number(process.env.CHECK_ATTEMPTS ?? 3),
            delaySeconds: Number(process.env.CHECK_DELAY_SECONDS ?? 2),
        }),
    );
    const results = await Promise.all(checks.map(runCheck));
    process.stdout.write(renderTable(results));
    const failed = results.filter((r) => r.status === "fail").length;
    process.stdout.write(`\n${results.length - failed} of ${results.length} checks passed or were skipped by design.\n`);
    process.exit(failed === 0 ? 0 : 1);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(2);
    });
}
