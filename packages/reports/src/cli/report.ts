/**
 * `pnpm report [study]` — writes results/<study>/report/ (tables, figures, report.md).
 * Without a study, reports every study under results/.
 *
 * pnpm runs this with cwd = packages/reports; relative paths given on the command line are
 * resolved against the directory the user typed the command in (pnpm's INIT_CWD), and the
 * default results folder is found from the monorepo root.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fontSetup } from '../figures/render.ts';
import { listStudies, UnknownStudyError } from '../load-runs.ts';
import { defaultResultsDir, invocationDir } from '@moepp/run-format';
import { writeStudyReport } from '../report.ts';

const USAGE = `Usage: pnpm report [study] [options]

Writes results/<study>/report/: tables (CSV + Markdown), figures (SVG, PNG, Vega-Lite spec)
and report.md. Without a study, reports every study in the results folder.

Options:
  --results <dir>     results folder (default: <repo root>/results)
  --out <dir>         output folder (default: <results>/<study>/report; one study only)
  --baseline <config> compare against this config instead of study.json's baseline
  --bootstrap <n>     bootstrap resamples for the delta CIs (default 10000)
  --seed <n>          bootstrap RNG seed (default 1)
  --no-png            skip PNG rendering (SVG and specs are still written)
  -h, --help          show this help`;

/** Exit codes: 0 ok (skipped runs are not an error), 1 no complete run anywhere, 2 usage / unknown study. */
export async function main(argv: string[]): Promise<number> {
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        results: { type: 'string' },
        out: { type: 'string' },
        baseline: { type: 'string' },
        bootstrap: { type: 'string' },
        seed: { type: 'string' },
        'no-png': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    console.error(`Expected at most one study, got: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const userCwd = invocationDir();
  const resultsDir = values.results ? resolve(userCwd, values.results) : defaultResultsDir(userCwd);
  const intOption = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${raw}'`);
    return n;
  };
  let resamples: number;
  let seed: number;
  try {
    resamples = intOption('bootstrap', values.bootstrap, 10_000);
    seed = intOption('seed', values.seed, 1);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }

  const studies = positionals.length ? positionals : listStudies(resultsDir);
  if (studies.length === 0) {
    console.error(`No studies in ${resultsDir}. Run \`pnpm ablate <study>\` first, or point --results at a results folder.`);
    return 1;
  }
  if (values.out && studies.length > 1) {
    console.error('--out needs a single study (several would overwrite each other).');
    return 2;
  }
  const fonts = fontSetup();
  if (!values['no-png'] && fonts.family === null) {
    console.warn('warning: no sans-serif font found; text in PNGs may be blank (Debian: apt-get install -y fonts-dejavu-core).');
  }

  let anyComplete = false;
  for (const study of studies) {
    const flags = [
      values.results ? `--results ${values.results}` : '',
      values.out ? `--out ${values.out}` : '',
      values.baseline ? `--baseline ${values.baseline}` : '',
      values.bootstrap ? `--bootstrap ${resamples}` : '',
      values.seed ? `--seed ${seed}` : '',
      values['no-png'] ? '--no-png' : '',
    ].filter(Boolean);
    try {
      const r = await writeStudyReport({
        resultsDir,
        study,
        outDir: values.out ? resolve(userCwd, values.out) : undefined,
        baseline: values.baseline,
        png: !values['no-png'],
        bootstrap: { resamples, seed },
        reportCommand: ['pnpm report', study, ...flags].join(' '),
      });
      anyComplete ||= r.study.runs.length > 0;
      const configs = r.rows.map((x) => `${x.config} (n=${x.n})`).join(', ');
      console.log(`${study}: ${r.study.runs.length} complete run(s)${configs ? ` — ${configs}` : ''}`);
      if (r.study.runs.length === 0) {
        console.log(`  ${study} has no complete run yet: the report lists what was found and why it was skipped.`);
      }
      for (const s of r.study.skipped) console.log(`  skipped ${s.runId}: ${s.reason}`);
      for (const f of r.skippedFigures) console.log(`  figure not drawn, ${f.title}: ${f.reason}`);
      for (const n of r.study.notes) console.log(`  note: ${n}`);
      console.log(
        `  -> ${r.outDir}/report.md (${r.write.written.length} file(s) written, ${r.write.unchanged.length} unchanged` +
          `${r.write.removed.length ? `, ${r.write.removed.length} stale removed` : ''})`,
      );
    } catch (e) {
      if (e instanceof UnknownStudyError) {
        console.error(e.message);
        return 2;
      }
      throw e;
    }
  }
  return anyComplete ? 0 : 1;
}

// Run when executed directly (tsx src/cli/report.ts), not when imported by a test.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
