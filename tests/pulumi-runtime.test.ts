// How Pulumi's language host starts the program (Pulumi.yaml runtime.options): node with the nodeargs first,
// in the project folder, then @pulumi/pulumi's cmd/run, which requires index.ts (package.json main). With
// `typescript: false` cmd/run registers no ts-node: tsx's loader, from nodeargs, transpiles the .ts files.
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import * as YAML from "yaml";

const projectDir = path.resolve(__dirname, "..");
const runtimeOptions = (YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { runtime: { options: Record<string, string | boolean> } }).runtime.options;
const nodeargs = String(runtimeOptions.nodeargs).split(" ");

/** Runs `script` in node started the way Pulumi's language host starts it; PULUMI_DISABLE_RESOURCE_REFERENCES as `env` gives it. */
function nodeAsPulumiStartsIt(script: string, env: NodeJS.ProcessEnv = {}): string {
    const { PULUMI_DISABLE_RESOURCE_REFERENCES: _, ...rest } = process.env;
    return execFileSync(process.execPath, [...nodeargs, "-e", script], { cwd: projectDir, env: { ...rest, ...env }, encoding: "utf8" });
}

test("Pulumi runs the program through tsx, a runtime dependency, not its built-in ts-node", () => {
    expect(runtimeOptions.typescript).toBe(false);
    expect(nodeargs).toContain("tsx/cjs");
    expect(require(path.join(projectDir, "package.json")).dependencies.tsx).toBeDefined();
    expect(require(path.join(projectDir, "package.json")).main).toBe("index.ts");
});

test("every module index.ts imports loads under that loader (index.ts itself needs the engine)", () => {
    const modules = fs
        .readFileSync(path.join(projectDir, "index.ts"), "utf8")
        .split("\n")
        .map((line) => /^import .* from "(\.\/[^"]+)";$/.exec(line)?.[1])
        .filter((m): m is string => m !== undefined);
    expect(modules.length).toBeGreaterThan(10);
    const script = `for (const m of ${JSON.stringify(modules)}) require(m); process.stdout.write("loaded " + ${modules.length})`;
    expect(nodeAsPulumiStartsIt(script)).toBe(`loaded ${modules.length}`);
});

describe("the program takes its remote components' children as URNs (components/pulumiRuntime.cjs)", () => {
    /** What @pulumi/pulumi decides there. */
    const sdkAcceptsResourceReferences = (env: NodeJS.ProcessEnv): boolean =>
        nodeAsPulumiStartsIt("process.stdout.write(String(!require('@pulumi/pulumi/utils').disableResourceReferences))", env) === "true";

    test("Pulumi.yaml's nodeargs make @pulumi/pulumi ask for references as URNs, so it makes no getResource call per chart child", () => {
        expect(sdkAcceptsResourceReferences({})).toBe(false);
    });

    test("a value the user set wins", () => {
        expect(sdkAcceptsResourceReferences({ PULUMI_DISABLE_RESOURCE_REFERENCES: "0" })).toBe(true);
    });

    test("no component reads a chart's or config group's children (they arrive as URNs, not resources)", () => {
        const programFiles = ["index.ts", ...(fs.readdirSync(path.join(projectDir, "components"), { recursive: true }) as string[]).map((f) => path.join("components", f))];
        const readers = programFiles.filter((file) => file.endsWith(".ts") && /\.resources\b/.test(fs.readFileSync(path.join(projectDir, file), "utf8")));
        expect(readers).toEqual([]);
    });
});

describe("Node's module compile cache (components/pulumiRuntime.cjs)", () => {
    let cacheHome: string;
    beforeEach(() => {
        cacheHome = fs.mkdtempSync(path.join(require("os").tmpdir(), "compile-cache-"));
    });
    afterEach(() => fs.rmSync(cacheHome, { recursive: true, force: true }));

    /** Node's own log of its compile cache (NODE_DEBUG_NATIVE=COMPILE_CACHE) for one run of `script`. */
    function compileCacheLog(script: string, extraNodeArgs: string[] = []): string {
        const { NODE_COMPILE_CACHE: _a, NODE_DISABLE_COMPILE_CACHE: _b, PULUMI_DISABLE_RESOURCE_REFERENCES: _c, ...rest } = process.env;
        const result = require("child_process").spawnSync(process.execPath, [...extraNodeArgs, ...nodeargs, "-e", script], {
            cwd: projectDir,
            env: { ...rest, XDG_CACHE_HOME: cacheHome, NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
            encoding: "utf8",
        });
        expect(result.status).toBe(0);
        return `${result.stdout}${result.stderr}`;
    }
    const cacheDir = () => path.join(cacheHome, "istio-minikube", "node-compile-cache");
    const sdkIndex = path.join(projectDir, "node_modules", "@pulumi", "pulumi", "index.js");
    const component = path.join(projectDir, "components", "config.ts");
    const loadProgram = `require("@pulumi/pulumi"); require("./components/config")`;
    /** Node's line when a module's cached code was used (22: "cache for F was accepted"; 24 and 26 add "V8 code" and "CommonJS"). */
    const cacheAccepted = (file: string) => new RegExp(`cache for (CommonJS )?${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} was accepted`);

    test("every supported Node line has it (it came in 22.8, the oldest supported)", () => {
        expect(typeof (require("module") as { enableCompileCache?: unknown }).enableCompileCache).toBe("function");
    });

    test("the first run writes the cache under the user's cache folder, and the second reads it: @pulumi/pulumi and the tsx-compiled components are not compiled again", () => {
        const first = compileCacheLog(loadProgram);
        expect(first).not.toMatch(cacheAccepted(sdkIndex));
        expect(fs.readdirSync(cacheDir()).length).toBeGreaterThan(0);

        const second = compileCacheLog(loadProgram);
        expect(second).toMatch(cacheAccepted(sdkIndex));
        expect(second).toMatch(cacheAccepted(component));
    });

    test("a Node without module.enableCompileCache runs the program as before, with no cache", () => {
        // What Node before 22.8 looks like to the preload: the same module, without the function.
        const olderNode = path.join(cacheHome, "older-node.cjs");
        fs.writeFileSync(olderNode, `delete require("module").enableCompileCache;\n`);
        const log = compileCacheLog(`${loadProgram}; process.stdout.write("program loaded")`, ["--require", olderNode]);
        expect(log).toContain("program loaded");
        expect(log).not.toContain("[compile cache]");
        expect(fs.existsSync(cacheDir())).toBe(false);
    });
});
