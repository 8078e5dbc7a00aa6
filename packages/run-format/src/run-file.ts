/**
 * Reading a run-folder JSON file against its schema. A file that does not match gives one
 * line naming the file and the first problem ("summary.json: params.total is not a finite number
 * ("many")"): reports print it as the reason a run is skipped, so it must read as a sentence.
 */
import type { z } from 'zod';

/** The format version this package writes and reads (docs/run-folder.md). */
export const FORMAT_VERSION = 1;

/** Why a run (or a file of it) cannot be used; the message is shown to the reader as is. */
export class RunFormatError extends Error {
  override name = 'RunFormatError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Throws unless `formatVersion` is exactly the version this package understands, naming an
 * older or newer one as such (a newer file needs a newer reader, not a fix).
 */
export function checkFormatVersion(json: unknown, file: string): void {
  if (!isObject(json)) throw new RunFormatError(`${file}: not a JSON object`);
  const v = json.formatVersion;
  if (v === undefined) {
    throw new RunFormatError(`older format: ${file} has no formatVersion (this report reads ${FORMAT_VERSION})`);
  }
  if (v !== FORMAT_VERSION) {
    const age = typeof v === 'number' && v > FORMAT_VERSION ? 'newer' : 'older';
    throw new RunFormatError(`${age} format: ${file} has formatVersion ${JSON.stringify(v)} (this report reads ${FORMAT_VERSION})`);
  }
}

/** `params.total`, `layers[0].tokensPerExpert`. */
function pathText(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
}

const TYPE_WORDS: Record<string, string> = {
  number: 'a finite number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
};

/** One zod issue as the sentence a reader sees. */
export function describeIssue(issue: z.core.$ZodIssue, file: string): string {
  const path = pathText(issue.path);
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined && issue.path.length > 0) {
      const key = String(issue.path[issue.path.length - 1]);
      const parent = pathText(issue.path.slice(0, -1));
      return `${file}: missing field ${key}${parent ? ` in ${parent}` : ''}`;
    }
    const want = TYPE_WORDS[issue.expected] ?? issue.expected;
    const shown = issue.expected === 'number' ? ` (${JSON.stringify(issue.input)})` : '';
    return `${file}: ${path || 'the file'} is not ${want}${shown}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `${file}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${path ? ` in ${path}` : ''}`;
  }
  // This package's own checks word their message to follow the path ("is not 2 numbers"); zod's
  // messages stand on their own.
  if (issue.code === 'custom' || issue.code === 'invalid_union') return `${file}: ${path ? `${path} ` : ''}${issue.message}`;
  return `${file}: ${path ? `${path}: ` : ''}${issue.message}`;
}

/**
 * Validates parsed JSON against `schema`; throws a `RunFormatError` whose message names `file`
 * and the first problem.
 */
export function parseJsonFile<S extends z.ZodType>(schema: S, json: unknown, file: string): z.output<S> {
  const result = schema.safeParse(json, { reportInput: true });
  if (!result.success) throw new RunFormatError(describeIssue(result.error.issues[0], file));
  return result.data;
}

/**
 * `parseJsonFile` for the files that carry a `formatVersion`: the version is checked first, so a
 * file of another version is named as such rather than as a list of missing fields.
 *
 * @example
 * const summary = parseRunFile(runSummarySchema, JSON.parse(text), 'summary.json');
 */
export function parseRunFile<S extends z.ZodType>(schema: S, json: unknown, file: string): z.output<S> {
  checkFormatVersion(json, file);
  return parseJsonFile(schema, json, file);
}
