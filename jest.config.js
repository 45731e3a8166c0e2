/**
 * Jest runs TypeScript through ts-jest in transpile-only mode (isolatedModules); type-checking is
 * `tsc --noEmit`, which `npm test` runs first.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          target: 'es2022',
          esModuleInterop: true,
          resolveJsonModule: true,
          isolatedModules: true,
          sourceMap: true,
        },
      },
    ],
  },
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
};
