import { defineConfig } from 'vitest/config';

// Unit, machine and simulation tests run in parallel; integration tests (real nats-server and node
// processes) bind their own loopback ports and may run alongside them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
