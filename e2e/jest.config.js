/** The real tier (npm run test:real): e2e/*.e2e.ts against tools e2e/build-tools.sh builds. */
module.exports = {
  testEnvironment: "node",
  rootDir: "..",
  roots: ["<rootDir>/e2e"],
  testMatch: ["**/*.e2e.ts"],
  transform: { "^.+\\.ts$": "<rootDir>/tests/helpers/esbuild-transform.cjs" },
  testTimeout: 120000,
  // One suite at a time when run by hand; e2e/run.sh runs all but lifecycle-cluster two at a time.
  maxWorkers: 1,
  // As in the unit tier (jest.config.js): Math as a module parameter, not a lookup through the vm global proxy.
  sandboxInjectedGlobals: ["Math"],
};
