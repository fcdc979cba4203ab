// The process that evaluates the tests' offline plans (tests/helpers/plan.ts starts one per test file):
// plain node with tsx's loader, as `npm run plan` runs, outside jest's module registry. @pulumi/pulumi and
// @pulumi/kubernetes load once here and serve every plan of the file; before each plan the runtime's store
// is cleared and the program's own modules (index.ts, components/) are loaded afresh, so every evaluation
// runs the program from the top, in the environment and folder the test had when it asked.
// (Under jest each plan used to re-load the whole SDK in a fresh registry: about 1.5 s a plan, and one more
// process exit listener each time from @pulumi/pulumi runtime/debuggable.js, jest's
// MaxListenersExceededWarning.)
import * as path from "path";
import { evaluatePlan, planFromTransfer, planToTransfer, PlanTransfer } from "../../scripts/offline-plan";

export interface PlanRequest {
    id: number;
    projectDir: string;
    stack: string;
    config: string[];
    afterUp?: boolean;
    previous?: PlanTransfer;
    env: Record<string, string>;
    cwd: string;
}

/** A plan as JSON text (parsed by the test, in its own realm), or the error's message. */
export type PlanResponse = { id: number; json: string } | { id: number; error: { name: string; message: string } };

// Stack traces with source maps (tsx turns them on) cost a fifth of a plan: the SDK takes one for each
// resource and each promise it tracks. Only error messages reach the tests.
process.setSourceMapsEnabled(false);

const KEEP = new Set([__filename, require.resolve("../../scripts/offline-plan")]);

/** Forgets every module but the SDKs' (node_modules) and this harness's, so the program loads afresh. */
function forgetProgramModules(): void {
    for (const file of Object.keys(require.cache)) {
        if (!file.split(path.sep).includes("node_modules") && !KEEP.has(file)) delete require.cache[file];
    }
}

function useEnvironment(env: Record<string, string>, cwd: string): void {
    for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
    Object.assign(process.env, env);
    process.chdir(cwd);
}

async function evaluate(request: PlanRequest): Promise<PlanResponse> {
    useEnvironment(request.env, request.cwd);
    forgetProgramModules();
    (globalThis as { globalStore?: unknown }).globalStore = undefined;
    try {
        const plan = await evaluatePlan({
            projectDir: request.projectDir,
            stack: request.stack,
            config: request.config,
            afterUp: request.afterUp,
            previous: request.previous ? planFromTransfer(request.previous) : undefined,
        });
        return { id: request.id, json: JSON.stringify(planToTransfer(plan)) };
    } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        return { id: request.id, error: { name: error.name, message: error.message } };
    }
}

// One plan at a time: the runtime's store and the environment are the process's own.
let queue = Promise.resolve();
process.on("message", (request: PlanRequest) => {
    queue = queue.then(async () => {
        process.send!(await evaluate(request));
    });
});
// The test file is done (or its worker gone): so is this process.
process.on("disconnect", () => process.exit(0));
