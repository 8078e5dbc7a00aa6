import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStudy, parseOverride, planStudy, StudyConfigError } from './study-config.ts';
import { repoRoot } from '@moepp/run-format';

const experiments = join(repoRoot(), 'experiments');

/** A scratch experiments/ folder with the real presets and one study file. */
function scratchStudy(yaml: string, preset?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'moepp-study-'));
  mkdirSync(join(dir, 'presets'));
  writeFileSync(join(dir, 'presets', 'smoke.yaml'), preset ?? readFileSync(join(experiments, 'presets', 'smoke.yaml'), 'utf8'));
  writeFileSync(join(dir, 'study.yaml'), yaml);
  return join(dir, 'study.yaml');
}

function planError(file: string, overrides: string[] = []): string {
  try {
    planStudy(loadStudy(file), overrides);
  } catch (e) {
    expect(e).toBeInstanceOf(StudyConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a StudyConfigError');
}

describe('studies', () => {
  it('every shipped study plans on its preset and on the smoke preset', () => {
    const studies = readdirSync(experiments).filter((f) => f.endsWith('.yaml'));
    expect(studies.length).toBeGreaterThanOrEqual(7);
    for (const f of studies) {
      const study = loadStudy(join(experiments, f));
      expect(planStudy(study).length).toBe(Object.keys(study.configs).length * study.seeds.length + Object.values(study.grid).reduce((n, g) => n + (Object.values(g)[0].length - 1) * study.seeds.length, 0));
      study.base = 'smoke';
      expect(planStudy(study).length).toBeGreaterThan(0);
    }
  });

  it('expands grids deterministically with readable run ids', () => {
    const runs = planStudy(loadStudy(join(experiments, 'tau-sweep.yaml')));
    expect(runs.map((r) => r.runId).slice(0, 7)).toEqual([
      'dense--seed1', 'dense--seed2', 'dense--seed3', 'moe--seed1', 'moe--seed2', 'moe--seed3', 'moepp-tau0.1--seed1',
    ]);
    expect(runs.map((r) => r.index)).toEqual(runs.map((_, i) => i));
    const tau = runs.find((r) => r.runId === 'moepp-tau0.25--seed2')!;
    expect(tau.config.model.moe?.tau).toBe(0.25);
    expect(tau.config.model.moe?.experts).toEqual({ ffn: 8, zero: 1, copy: 1, constant: 2 });
    expect(runs.find((r) => r.runId === 'dense--seed1')!.config.model.moe).toBeNull();
    expect(tau.config.model.vocabSize).toBe(tau.config.data.vocabSize);
  });

  it('--set overrides are parsed as YAML and type-checked', () => {
    const study = loadStudy(join(experiments, 'default.yaml'));
    expect(planStudy(study, ['training.steps=7'])[0].config.training.steps).toBe(7);
    expect(parseOverride('model.moe.experts={ffn: 2}').value).toEqual({ ffn: 2 });
    expect(() => planStudy(study, ['training.steps=abc'])).toThrow(/training\.steps: .*expected number/i);
    expect(() => planStudy(study, ['training.stepz=3'])).toThrow(/training.*stepz/);
    expect(() => planStudy(study, ['steps=3'])).toThrow(/must start with model\., data\., training\. or init\./);
    expect(() => planStudy(study, ['training.steps'])).toThrow(/expected key=value/);
    expect(() => planStudy(study, ['model.moe.tau=0'])).toThrow(/model\.moe\.tau: τ must be/);
  });

  it('init.from (upcycling) is recorded only where set, checked, and refused for a dense model', () => {
    const study = loadStudy(join(experiments, 'smoke.yaml'));
    const [moe] = planStudy(study, ['init.from=results/dense/dense--seed1', 'init.noiseStd=0.01']);
    expect(moe.config.init).toEqual({ from: 'results/dense/dense--seed1', noiseStd: 0.01 });
    expect(planStudy(study)[0].config).not.toHaveProperty('init');
    expect(() => planStudy(study, ['init.fro=x'])).toThrow(/init.*fro/);
    expect(() => planStudy(study, ['init.noiseStd=0.1'])).toThrow(/init\.from/);
    expect(() => planStudy(study, ['init.from=x', 'model.moe=null'])).toThrow(/config is dense \(model\.moe: null\); drop init\.from/);
  });

  it('bad study files get errors naming the file and key', () => {
    expect(() => loadStudy('/nonexistent/study.yaml')).toThrow(/study\.yaml: file not found/);
    const malformed = scratchStudy('base: smoke\nseeds: [1\n');
    expect(() => loadStudy(malformed)).toThrow(/not valid YAML/);
    const unknownKey = scratchStudy('base: smoke\nseeds: [1]\nbaseline: a\nconfigs: { a: {} }\nseed: 3\n');
    expect(() => loadStudy(unknownKey)).toThrow(/study\.yaml: .*seed/);
    const wrongType = scratchStudy('base: smoke\nseeds: one\nbaseline: a\nconfigs: { a: {} }\n');
    expect(() => loadStudy(wrongType)).toThrow(/study\.yaml: seeds: /);
    const missingPreset = scratchStudy('base: huge\nseeds: [1]\nbaseline: a\nconfigs: { a: {} }\n');
    expect(planError(missingPreset)).toMatch(/base: no preset 'huge'/);
    const badBaseline = scratchStudy('base: smoke\nseeds: [1]\nbaseline: b\nconfigs: { a: {} }\n');
    expect(planError(badBaseline)).toMatch(/baseline: 'b' is not one of the configurations/);
    const badModel = scratchStudy("base: smoke\nseeds: [1]\nbaseline: a\nconfigs: { a: { model.moe.topK: 99 } }\n");
    expect(planError(badModel)).toMatch(/configuration 'a'\): model\.moe\.topK: top-K is 99/);
    const badPreset = scratchStudy('base: smoke\nseeds: [1]\nbaseline: a\nconfigs: { a: {} }\n', 'training:\n  stepz: 3\n');
    expect(planError(badPreset)).toMatch(/smoke\.yaml: training: .*stepz/);
  });
});
