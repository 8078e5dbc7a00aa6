/**
 * `fingerprint.json`: what a run was trained from, so that a run is only ever reused (skipped as
 * complete, resumed, reported) under the settings it was trained with. `inputs` holds every
 * setting as a dotted key (`training.steps`, `model.moe.topK`, `data.corpusSha256`,
 * `code.@moepp/core`), so a mismatch names the keys that differ; `fingerprint` is the sha256 of
 * their canonical JSON (keys sorted).
 */
import { z } from 'zod';

const inputValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const runFingerprintSchema = z.object({
  formatVersion: z.literal(1),
  /** Hex sha256 of the canonical JSON of `inputs`. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'is not a hex sha256'),
  inputs: z.record(z.string(), inputValueSchema),
});
export type RunFingerprintFile = z.infer<typeof runFingerprintSchema>;
