import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests of a describe.concurrent block run two at a time (the machine has two cores); a waiting test's
    // timeout has not started.
    maxConcurrency: 2,
    reporters: ['default', './test/support/count-reporter.ts'],
  },
});
