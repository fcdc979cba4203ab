/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // Types stripped by esbuild, file by file; `npm run typecheck` and CI type-check everything.
  transform: { "^.+\\.ts$": "<rootDir>/tests/helpers/esbuild-transform.cjs" },
  testTimeout: 60000,
  // Both cores: most of a run is plans and scripts, which wait on processes of their own.
  maxWorkers: 2,
  // Each global a test's modules look up inside jest's vm context goes through V8's global proxy in C++
  // (nodejs/node#31658; jestjs/jest#5163): node-forge's big-number loop calls Math.floor millions of times
  // per signature, and a certificate set took 4 s instead of 0.25 s. Injected as a module parameter, Math is
  // a local lookup again.
  sandboxInjectedGlobals: ["Math"],
};
