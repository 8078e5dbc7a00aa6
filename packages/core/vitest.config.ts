import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'core', include: ['src/**/*.test.ts'], testTimeout: 120_000, pool: 'forks' },
});
