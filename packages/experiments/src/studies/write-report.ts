/**
 * After a study: tables and figures via @moepp/reports (which never imports tfjs). A report that
 * cannot be written does not undo the runs: it is reported and `pnpm report <study>` can retry.
 */
import { join } from 'node:path';
import { writeStudyReport as writeReport } from '@moepp/reports';

/** Writes `results/<study>/report/` and returns lines naming what was written. */
export async function writeStudyReport(resultsDir: string, study: string): Promise<string[]> {
  try {
    const report = await writeReport({ resultsDir, study });
    return [`report: ${join(report.outDir, 'report.md')} (tables as CSV and Markdown, figures as SVG and PNG in ${report.outDir})`];
  } catch (e) {
    return [`report: not written (${(e as Error).message}); retry with: pnpm report ${study}`];
  }
}
