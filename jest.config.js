/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // Transpile only (tsconfig isolatedModules); `npm run typecheck` and CI type-check everything.
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
  testTimeout: 60000,
};
