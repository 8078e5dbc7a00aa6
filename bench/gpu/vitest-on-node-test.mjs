/**
 * The part of vitest's API the core tests use — describe, it, their `.each` and `.skipIf`,
 * beforeAll, afterAll and expect — on `node:test` and vitest's own matchers (@vitest/expect).
 * build-bundle.mjs aliases `vitest` to this file for the core-tests/ bundles, so that the GPU
 * machine, which has Node and no install, runs the same cases with `node --test`.
 *
 * Only what the core tests use: a new vitest call in them fails the bundle's build (an import
 * this file does not export) or its run (a member it lacks), never passes quietly.
 */
import { after, before, describe as nodeDescribe, it as nodeIt } from 'node:test';
import { format } from 'node:util';
import { ASYMMETRIC_MATCHERS_OBJECT, ChaiStyleAssertions, JestAsymmetricMatchers, JestChaiExpect, JestExtend, chai } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

/** vitest's `expect`: chai's, with the Jest matchers and the asymmetric ones (expect.arrayContaining, …). */
export const expect = (value, message) => chai.expect(value, message);
Object.assign(expect, chai.expect, globalThis[ASYMMETRIC_MATCHERS_OBJECT]);

/** packages/core/vitest.config.ts's testTimeout. */
const TEST_TIMEOUT_MS = 120_000;

/** vitest's third argument: a timeout in ms or an options object. */
function testOptions(options) {
  const timeout = typeof options === 'number' ? options : (options?.timeout ?? TEST_TIMEOUT_MS);
  return { timeout };
}

/** A `.each` title as vitest formats it: the row's values fill the title's printf placeholders, no more. */
function eachTitle(title, args) {
  const placeholders = (title.match(/%[sdifjoO]/g) ?? []).length;
  return format(title, ...args.slice(0, placeholders));
}

function withEach(register) {
  register.each = (table) => (title, fn, options) => {
    for (const row of table) {
      const args = Array.isArray(row) ? row : [row];
      register(eachTitle(title, args), () => fn(...args), options);
    }
  };
  return register;
}

export const it = withEach((title, fn, options) => nodeIt(title, testOptions(options), () => fn()));
it.skipIf = (skip) => (title, fn, options) => nodeIt(title, { ...testOptions(options), skip: Boolean(skip) }, () => fn());

export const describe = withEach((title, fn) => nodeDescribe(title, () => fn()));

export const beforeAll = (fn, timeout) => before(() => fn(), { timeout: timeout ?? TEST_TIMEOUT_MS });
export const afterAll = (fn, timeout) => after(() => fn(), { timeout: timeout ?? TEST_TIMEOUT_MS });
