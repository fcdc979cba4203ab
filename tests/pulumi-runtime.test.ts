// `pulumi up` loads index.ts through ts-node with the project's TypeScript and type checking on, with
// compiler options built the way @pulumi/pulumi cmd/run/run.js builds them (nodenext for TS >= 4.7,
// then the project's tsconfig compilerOptions over them). Compile the program that way here.
import * as fs from "fs";
import * as path from "path";

const projectDir = path.resolve(__dirname, "..");

test("index.ts and its components type-check under Pulumi's ts-node setup", () => {
    const tsnode = require("ts-node") as typeof import("ts-node");
    const tsconfig = require("typescript").parseConfigFileTextToJson("tsconfig.json", fs.readFileSync(path.join(projectDir, "tsconfig.json"), "utf8")).config;
    const service = tsnode.create({
        compiler: "typescript",
        transpileOnly: false,
        project: path.join(projectDir, "tsconfig.json"),
        compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...tsconfig.compilerOptions },
    });
    const file = path.join(projectDir, "index.ts");
    const output = service.compile(fs.readFileSync(file, "utf8"), file);
    expect(output).toContain('require("./components/config")');
    expect(require(path.join(projectDir, "package.json")).dependencies["ts-node"]).toBeDefined();
});

test("`pulumi up` only transpiles the program (Pulumi.yaml's tsconfig), which is the type-checked tsconfig.json plus noCheck", () => {
    const YAML = require("yaml") as typeof import("yaml");
    const project = YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { runtime: { options: Record<string, unknown> } };
    expect(project.runtime.options).toMatchObject({ typescript: true, tsconfig: "tsconfig.pulumi.json" });
    const runtimeConfig = JSON.parse(fs.readFileSync(path.join(projectDir, "tsconfig.pulumi.json"), "utf8"));
    // @pulumi/pulumi cmd/run/run.js: transpileOnly = compilerOptions.noCheck of the file Pulumi is given.
    expect(runtimeConfig.extends).toBe("./tsconfig.json");
    expect(runtimeConfig.compilerOptions).toEqual({ noCheck: true });
});

describe("the program takes its remote components' children as URNs (components/pulumiRuntime.cjs)", () => {
    const YAML = require("yaml") as typeof import("yaml");
    const { execFileSync } = require("child_process") as typeof import("child_process");
    const nodeargs = (YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { runtime: { options: { nodeargs: string } } }).runtime.options.nodeargs;

    /** What @pulumi/pulumi decides when node starts the way Pulumi's language host starts it (nodeargs first, in the project folder). */
    function sdkAcceptsResourceReferences(env: NodeJS.ProcessEnv): boolean {
        const { PULUMI_DISABLE_RESOURCE_REFERENCES: _, ...rest } = process.env;
        const out = execFileSync(process.execPath, [...nodeargs.split(" "), "-e", "process.stdout.write(String(!require('@pulumi/pulumi/utils').disableResourceReferences))"], {
            cwd: projectDir,
            env: { ...rest, ...env },
            encoding: "utf8",
        });
        return out === "true";
    }

    test("Pulumi.yaml's nodeargs make @pulumi/pulumi ask for references as URNs, so it makes no getResource call per chart child", () => {
        expect(sdkAcceptsResourceReferences({})).toBe(false);
    });

    test("a value the user set wins", () => {
        expect(sdkAcceptsResourceReferences({ PULUMI_DISABLE_RESOURCE_REFERENCES: "0" })).toBe(true);
    });

    test("no component reads a chart's or config group's children (they arrive as URNs, not resources)", () => {
        const readers: string[] = [];
        const walk = (dir: string): void => {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const file = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(file);
                else if (file.endsWith(".ts") && /\.resources\b/.test(fs.readFileSync(file, "utf8"))) readers.push(path.relative(projectDir, file));
            }
        };
        walk(path.join(projectDir, "components"));
        if (/\.resources\b/.test(fs.readFileSync(path.join(projectDir, "index.ts"), "utf8"))) readers.push("index.ts");
        expect(readers).toEqual([]);
    });
});
