/** `results/<study>/study.json`: a study's expanded grid and the commands that ran it. */
import { z } from 'zod';

export const studyRunSchema = z.object({
  runId: z.string(),
  /** Config name (the run's `configName`). */
  config: z.string(),
  seed: z.number(),
  /** Position in the expanded grid (`--index`); readers fall back to the list order. */
  index: z.number().int().nonnegative().optional(),
  /**
   * The run's `fingerprint.json#fingerprint` under the settings of the latest command: reports
   * skip a folder whose fingerprint differs (trained with other settings). Absent in study files
   * written before fingerprints were recorded.
   */
  fingerprint: z.string().optional(),
});

export const studyFileSchema = z.object({
  formatVersion: z.literal(1),
  study: z.string(),
  description: z.string().default(''),
  /** The study file, relative to the repo root. */
  file: z.string().optional(),
  /** Config every other one is compared against (paired deltas). */
  baseline: z.string().nullable().default(null),
  /** The exact commands that produced the runs, quoted verbatim in report.md. */
  commands: z.array(z.string()).default([]),
  runs: z.array(studyRunSchema),
});
export type StudyFile = z.infer<typeof studyFileSchema>;
