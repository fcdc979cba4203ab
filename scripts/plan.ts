// npm run plan -- --stack NAME [--json FILE] [--config KEY=VALUE ...]
import * as fs from "fs";
import * as path from "path";
import { evaluatePlan, Plan, PlanError } from "./offline-plan";
import { renderMermaid, renderTree } from "./plan-render";

interface Args {
    stack?: string;
    json?: string;
    mermaid?: string;
    config: string[];
}

function parseArgs(argv: string[]): Args {
    const args: Args = { config: [] };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        const takeValue = () => {
            if (value === undefined || value.startsWith("--")) throw new PlanError(`${flag} needs a value`);
            i++;
            return value;
        };
        if (flag === "--stack") args.stack = takeValue();
        else if (flag === "--json") args.json = takeValue();
        else if (flag === "--mermaid") args.mermaid = takeValue();
        else if (flag === "--config") args.config.push(takeValue());
        else throw new PlanError(`unknown argument ${flag}; usage: npm run plan -- --stack NAME [--json FILE] [--mermaid FILE] [--config KEY=VALUE ...]`);
    }
    if (!args.stack) throw new PlanError("--stack NAME is required; usage: npm run plan -- --stack NAME [--json FILE] [--config KEY=VALUE ...]");
    return args;
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const plan: Plan = await evaluatePlan({ projectDir: path.resolve(__dirname, ".."), stack: args.stack!, config: args.config });
    process.stdout.write(renderTree(plan));
    if (args.json) {
        fs.writeFileSync(args.json, `${JSON.stringify(plan, null, 2)}\n`);
        process.stdout.write(`\nWrote ${plan.resources.length} resources to ${args.json}\n`);
    }
    if (args.mermaid) {
        fs.writeFileSync(args.mermaid, renderMermaid(plan));
        process.stdout.write(`Wrote the graph to ${args.mermaid}\n`);
    }
}

main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message}\n`);
    process.exit(1);
});
