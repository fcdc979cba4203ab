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
    expect(project.runtime.options).toEqual({ typescript: true, tsconfig: "tsconfig.pulumi.json" });
    const runtimeConfig = JSON.parse(fs.readFileSync(path.join(projectDir, "tsconfig.pulumi.json"), "utf8"));
    // @pulumi/pulumi cmd/run/run.js: transpileOnly = compilerOptions.noCheck of the file Pulumi is given.
    expect(runtimeConfig.extends).toBe("./tsconfig.json");
    expect(runtimeConfig.compilerOptions).toEqual({ noCheck: true });
});
