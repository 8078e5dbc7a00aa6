/**
 * The fully resolved configuration of one training run. Presets and studies are partial versions
 * of it; `config.json` in a run folder is exactly this object, and its schema is
 * @moepp/run-format's `runConfigSchema`.
 */
import { z } from 'zod';
import type { ModelConfig } from '@moepp/core';
import { dataConfigSchema, initConfigSchema, trainingConfigSchema, type RunConfigFile } from '@moepp/run-format';

export type { TrainingConfig, DataConfig } from '@moepp/run-format';

/** What a preset or study may set: data and training in full, the model as a partial core config. */
export const partialRunSchema = z.strictObject({
  model: z.record(z.string(), z.unknown()).optional(),
  data: dataConfigSchema.partial().optional(),
  training: trainingConfigSchema.partial().optional(),
  init: initConfigSchema.partial().optional(),
});

/** `config.json`, with the model as core's own type (run-format describes it loosely). */
export type RunConfig = Omit<RunConfigFile, 'model'> & { model: ModelConfig };
