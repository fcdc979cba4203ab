// npm run bench: figures, not pass/fail. Offline plan evaluation time for a stack, its size, its longest
// dependency chain, whether image loads wait for each other, and certificate generation time.
import * as path from "path";
import { performance } from "perf_hooks";
import { evaluatePlan } from "./offline-plan";
import { chainedSiblings, longestChain } from "./plan-graph";
import { generateMeshCertificates } from "../components/trust/meshCertificates";

async function main(): Promise<void> {
    const stack = process.argv.includes("--stack") ? process.argv[process.argv.indexOf("--stack") + 1] : "dev";
    const projectDir = path.resolve(__dirname, "..");

    const started = performance.now();
    const plan = await evaluatePlan({ projectDir, stack });
    const planMs = performance.now() - started;

    const chain = longestChain(plan);
    const preloads = plan.resources.filter((r) => r.parent?.endsWith("ImagePreload::preload"));
    const chainedLoads = chainedSiblings(plan, "command:local:Command").filter((r) => preloads.includes(r));

    const certTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
        const t = performance.now();
        generateMeshCertificates({ organization: "bench", servingDnsNames: ["istiod.istio-system.svc"], validityDays: 365, rotation: 0, keepPreviousRoot: true });
        certTimes.push(performance.now() - t);
    }
    certTimes.sort((a, b) => a - b);

    const rows: [string, string][] = [
        ["stack", stack],
        ["offline plan evaluation (ms, first run in this process)", planMs.toFixed(0)],
        ["resources", String(plan.resources.length)],
        ["custom resources", String(plan.resources.filter((r) => r.custom).length)],
        ["longest dependency chain (resources)", String(chain.length)],
        ["longest chain", chain.map((r) => r.name).join(" -> ")],
        ["image loads", String(preloads.length)],
        ["image loads waiting for another load", String(chainedLoads.length)],
        ["certificate set generation (ms, median of 3)", certTimes[1].toFixed(0)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
