import { defineConfig } from 'vitest/config';

// CI sets MOEPP_VITEST_JSON to a path: the JSON report there gives .ci/run its closing line.
const jsonReport = process.env.MOEPP_VITEST_JSON;

export default defineConfig({
  test: {
    projects: ['packages/*'],
    ...(jsonReport ? { reporters: ['default', 'json'], outputFile: { json: jsonReport } } : {}),
  },
});
