/** Jest runs TypeScript through SWC (type-checking is `tsc --noEmit`, run first by `npm test`). */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
  projects: undefined,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
};
