// @ts-check
// jest's transform for the project's TypeScript: esbuild strips the types, file by file (what tsx does for
// `pulumi up`), with a source map so a failure points at the .ts line. It checks no types: that is
// `npm run typecheck` (tsc, in CI). ts-jest loaded the TypeScript compiler into every worker for the same
// transpile-only result (tsconfig isolatedModules).
"use strict";
const crypto = require("crypto");
const { transformSync, version } = require("esbuild");

/** The one compiler option esbuild reads that changes the output of this project's code. */
const TSCONFIG = { compilerOptions: { esModuleInterop: true } };

/** @type {import("@jest/transform").SyncTransformer} */
module.exports = {
    canInstrument: false,
    process(sourceText, sourcePath) {
        const { code, map } = transformSync(sourceText, {
            loader: "ts",
            format: "cjs",
            target: "node22",
            sourcefile: sourcePath,
            sourcemap: "external",
            tsconfigRaw: TSCONFIG,
        });
        return { code, map };
    },
    getCacheKey(sourceText, sourcePath, options) {
        return crypto.createHash("sha256").update(`${version}\0${JSON.stringify(TSCONFIG)}\0${sourcePath}\0${options.configString}\0${sourceText}`).digest("hex");
    },
};
