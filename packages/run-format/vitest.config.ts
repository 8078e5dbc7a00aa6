import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'run-format', include: ['src/**/*.test.ts'], testTimeout: 120_000, pool: 'forks' },
});
