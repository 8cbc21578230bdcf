import { defineConfig } from 'vitest/config';

/**
 * Suites that run several real `breakwater run` processes at once (fleet mode): they run after the
 * others, one file at a time, so that their processes do not compete for the CPU with the
 * timing-sensitive tests of the other suites (the tests share a 2-core machine).
 */
const PROCESS_SUITES = ['test/fleet/fleet-*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary'],
      thresholds: { lines: 70, functions: 70, branches: 60, statements: 70 },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', 'node_modules/**', ...PROCESS_SUITES],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESS_SUITES,
          sequence: { groupOrder: 1 },
          fileParallelism: false,
        },
      },
    ],
  },
});
