import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listStudies, loadStudy, REPORT_MARKER_FILE, UnknownStudyError } from './load-runs.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

const tmps: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'moepp-reports-'));
  tmps.push(d);
  return d;
}
afterEach(() => {
  for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('loadStudy on the fixture study', () => {
  const study = loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY);

  it('loads the complete runs, baseline first, then grid order', () => {
    expect(study.configs).toEqual(['moe', 'moepp-tau0.75', 'moepp-tau0.25']);
    expect(study.baseline).toBe('moe');
    expect(study.runs.map((r) => r.runId)).toEqual([
      'moe--seed1', 'moe--seed2', 'moe--seed3',
      'moepp-tau0.75--seed1', 'moepp-tau0.75--seed2', 'moepp-tau0.75--seed3',
      'moepp-tau0.25--seed1', 'moepp-tau0.25--seed2',
    ]);
    expect(study.notes).toEqual([]);
  });

  it('lists every unusable run with its reason and never throws', () => {
    expect(study.skipped).toEqual([
      { runId: 'moe--seed4', reason: expect.stringMatching(/^corrupt: summary.json is not valid JSON/) },
      { runId: 'moepp-tau0.25--seed3', reason: 'not started: listed in study.json, no folder' },
      { runId: 'moepp-tau0.25--seed4', reason: 'unfinished: no summary.json' },
      { runId: 'moepp-tau0.75--seed4', reason: 'older format: summary.json has formatVersion 0 (this report reads 1)' },
    ]);
  });

  it('reads the model shape, metrics, evals and routing of a run', () => {
    const r = study.runs.find((x) => x.runId === 'moepp-tau0.75--seed1')!;
    expect(r.shape.moe).toMatchObject({ experts: { ffn: 8, zero: 1, copy: 1, constant: 2 }, tau: 0.75, gatingResidual: true, topK: 2, ffnHidden: 128 });
    expect(r.metrics).toHaveLength(40);
    expect(r.evals.filter((e) => e.split === 'test')).toHaveLength(1);
    expect(r.routing.expertKinds).toEqual([...Array(8).fill('ffn'), 'constant', 'constant', 'copy', 'zero']);
    expect(r.summary.val).toEqual({ loss: 4.07, perplexity: expect.any(Number), accuracy: 0.224 });
  });
});

describe('loadStudy robustness', () => {
  it('an unknown study names the studies that exist', () => {
    expect(() => loadStudy(FIXTURE_RESULTS, 'nope')).toThrow(UnknownStudyError);
    expect(() => loadStudy(FIXTURE_RESULTS, 'nope')).toThrow(`No study 'nope' in ${FIXTURE_RESULTS}. Studies there: tiny-ablation.`);
    expect(() => loadStudy(tmp(), 'nope')).toThrow(/holds no studies yet/);
  });

  it('an empty study loads with no runs and says why there is no baseline', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'study.json'), JSON.stringify({ formatVersion: 1, study: 'empty', baseline: 'moe', commands: [], runs: [] }));
    const s = loadStudy(dir, 'empty');
    expect(s.runs).toEqual([]);
    expect(s.skipped).toEqual([]);
    expect(s.baseline).toBeNull();
    expect(s.notes).toEqual(["Baseline 'moe' has no complete run: no paired deltas."]);
  });

  it('reads runs without study.json, skips report folders, flags copied or inconsistent runs', () => {
    const dir = tmp();
    const src = join(FIXTURE_RESULTS, FIXTURE_STUDY);
    cpSync(join(src, 'moe--seed1'), join(dir, 's', 'moe--seed1'), { recursive: true });
    cpSync(join(src, 'moe--seed2'), join(dir, 's', 'copied-run'), { recursive: true });
    mkdirSync(join(dir, 's', 'report'));
    writeFileSync(join(dir, 's', 'report', REPORT_MARKER_FILE), '{}');
    mkdirSync(join(dir, 's', 'empty-folder'));
    const s = loadStudy(dir, 's', { baseline: 'moe' });
    expect(s.runs.map((r) => r.runId)).toEqual(['moe--seed1']);
    expect(s.skipped).toEqual([
      { runId: 'copied-run', reason: "inconsistent: summary.json names run 'moe--seed2', folder is 'copied-run'" },
      { runId: 'empty-folder', reason: 'not a run yet: the folder holds none of summary.json, config.json, metrics.csv' },
    ]);
    expect(s.notes[0]).toMatch(/No study.json/);
    expect(s.baseline).toBe('moe');
  });

  it("skips the study's slurm/ folder (pnpm ablate --slurm's scripts and logs) without a note", () => {
    const dir = tmp();
    cpSync(join(FIXTURE_RESULTS, FIXTURE_STUDY, 'moe--seed1'), join(dir, 's', 'moe--seed1'), { recursive: true });
    mkdirSync(join(dir, 's', 'slurm', 'logs'), { recursive: true });
    writeFileSync(join(dir, 's', 'slurm', 'job.sbatch'), '#!/bin/bash\n');
    const s = loadStudy(dir, 's', { baseline: 'moe' });
    expect(s.runs.map((r) => r.runId)).toEqual(['moe--seed1']);
    expect(s.skipped).toEqual([]);
  });

  it('a corrupt study.json is a note, not a crash; bad fields give readable reasons', () => {
    const dir = tmp();
    const src = join(FIXTURE_RESULTS, FIXTURE_STUDY);
    cpSync(join(src, 'moe--seed1'), join(dir, 'tiny-ablation', 'moe--seed1'), { recursive: true });
    writeFileSync(join(dir, 'tiny-ablation', 'study.json'), '{"formatVersion": 1, "study": ');
    const summaryPath = join(dir, 'tiny-ablation', 'moe--seed1', 'summary.json');
    writeFileSync(summaryPath, JSON.stringify({ formatVersion: 1, status: 'complete', study: 'tiny-ablation', runId: 'moe--seed1', configName: 'moe', seed: 1, params: { total: 'many' } }));
    const s = loadStudy(dir, 'tiny-ablation');
    expect(s.notes[0]).toMatch(/^study.json could not be read/);
    expect(s.skipped).toEqual([{ runId: 'moe--seed1', reason: 'summary.json: params.total is not a finite number ("many")' }]);
  });

  it('a dense run without routing.json is read; an MoE run without it is unfinished', () => {
    const dir = tmp();
    const src = join(FIXTURE_RESULTS, FIXTURE_STUDY, 'moe--seed1');
    for (const id of ['moe--seed1', 'dense--seed1']) cpSync(src, join(dir, 's', id), { recursive: true });
    const denseDir = join(dir, 's', 'dense--seed1');
    // biome-ignore lint/suspicious/noExplicitAny: a free-form edit of a run file's JSON
    const rewrite = (file: string, edit: (j: any) => void) => {
      const j = JSON.parse(readFileSync(join(denseDir, file), 'utf8'));
      edit(j);
      writeFileSync(join(denseDir, file), JSON.stringify(j));
    };
    rewrite('config.json', (j) => { j.configName = 'dense'; j.runId = 'dense--seed1'; j.model.moe = null; });
    rewrite('summary.json', (j) => { j.configName = 'dense'; j.runId = 'dense--seed1'; });
    rmSync(join(denseDir, 'routing.json'));
    rmSync(join(dir, 's', 'moe--seed1', 'routing.json'));
    const s = loadStudy(dir, 's');
    expect(s.runs.map((r) => r.runId)).toEqual(['dense--seed1']);
    expect(s.runs[0].routing.layers).toEqual([]);
    expect(s.skipped).toEqual([{ runId: 'moe--seed1', reason: 'unfinished: no routing.json' }]);
  });

  it('an MoE run whose summary predates expert cost classes is skipped with the fix', () => {
    const dir = tmp();
    cpSync(join(FIXTURE_RESULTS, FIXTURE_STUDY, 'moepp-tau0.75--seed1'), join(dir, 's', 'moepp-tau0.75--seed1'), { recursive: true });
    const path = join(dir, 's', 'moepp-tau0.75--seed1', 'summary.json');
    const summary = JSON.parse(readFileSync(path, 'utf8'));
    delete summary.expertCostClasses;
    writeFileSync(path, JSON.stringify(summary));
    const s = loadStudy(dir, 's');
    expect(s.runs).toEqual([]);
    expect(s.skipped).toEqual([{ runId: 'moepp-tau0.75--seed1', reason: expect.stringMatching(/^older format: summary.json has no expertCostClasses .*rerun it with --force/) }]);
  });

  it('listStudies finds studies, not the bench folder', () => {
    expect(listStudies(FIXTURE_RESULTS)).toEqual(['tiny-ablation']);
    expect(listStudies(join(tmp(), 'missing'))).toEqual([]);
  });
});

describe('loadStudy and run fingerprints', () => {
  const fingerprint = (c: string) => c.repeat(64);
  function studyWithFingerprints(): string {
    const dir = tmp();
    cpSync(join(FIXTURE_RESULTS, FIXTURE_STUDY), join(dir, FIXTURE_STUDY), { recursive: true });
    const file = join(dir, FIXTURE_STUDY, 'study.json');
    const study = JSON.parse(readFileSync(file, 'utf8'));
    for (const r of study.runs) r.fingerprint = fingerprint('a');
    writeFileSync(file, JSON.stringify(study));
    for (const runId of ['moe--seed1', 'moe--seed2']) {
      writeFileSync(join(dir, FIXTURE_STUDY, runId, 'fingerprint.json'), JSON.stringify({ formatVersion: 1, fingerprint: fingerprint('a'), inputs: {} }));
    }
    return dir;
  }

  it("reports only runs trained with study.json's settings for their id", () => {
    const dir = studyWithFingerprints();
    writeFileSync(join(dir, FIXTURE_STUDY, 'moe--seed2', 'fingerprint.json'), JSON.stringify({ formatVersion: 1, fingerprint: fingerprint('b'), inputs: {} }));
    const s = loadStudy(dir, FIXTURE_STUDY);
    expect(s.runs.map((r) => r.runId)).toContain('moe--seed1');
    expect(s.runs.map((r) => r.runId)).not.toContain('moe--seed2');
    expect(s.skipped).toContainEqual({ runId: 'moe--seed2', reason: expect.stringMatching(/^other settings: fingerprint.json differs from study.json's/) });
    // A folder with no fingerprint cannot be matched either.
    expect(s.skipped).toContainEqual({ runId: 'moe--seed3', reason: expect.stringMatching(/^unverifiable: no fingerprint.json/) });
  });

  it('a study.json without fingerprints checks nothing (studies from before them)', () => {
    expect(loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY).runs.map((r) => r.runId)).toContain('moe--seed3');
  });
});
