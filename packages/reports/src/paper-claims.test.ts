import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cramersV, spearman } from './association.ts';
import { loadStudy, type LoadedStudy } from './load-runs.ts';
import { paperClaims, residualPairs } from './paper-claims.ts';
import { FIXTURE_RESULTS, FIXTURE_STUDY } from './testing/fixtures.ts';

const study = loadStudy(FIXTURE_RESULTS, FIXTURE_STUDY);
const file = (runId: string, name: string) => JSON.parse(readFileSync(join(FIXTURE_RESULTS, FIXTURE_STUDY, runId, name), 'utf8'));
const row = (rows: ReturnType<typeof paperClaims>, claim: RegExp, config: string) => rows.find((r) => claim.test(r.claim) && r.config === config)!;

describe("the paper's claims on the fixture study", () => {
  const rows = paperClaims(study);

  it('measures each claim per seed from the run files, on the configs it applies to', () => {
    // Verbs vs nouns: MoE++ configs only (vanilla MoE gives every token K FFN experts).
    expect(rows.filter((r) => /than nouns/.test(r.claim)).map((r) => r.config)).toEqual(['moepp-tau0.75', 'moepp-tau0.25']);
    const verbNoun = row(rows, /than nouns/, 'moepp-tau0.75');
    expect(verbNoun.seeds).toEqual([1, 2, 3]);
    verbNoun.seeds.forEach((seed, i) => {
      const byPos = file(`moepp-tau0.75--seed${seed}`, 'routing.json').byPos;
      expect(verbNoun.values[i]).toBeCloseTo(byPos.verb.ffnExpertsPerToken - byPos.noun.ffnExpertsPerToken, 12);
    });
    // Adjacent layers: every MoE config, Cramér's V of each pair's counts, averaged.
    const coactivation = file('moe--seed1', 'routing.json').coActivation as { counts: number[][] }[];
    const v = row(rows, /adjacent layers/, 'moe');
    expect(v.values[0]).toBeCloseTo(coactivation.reduce((a, c) => a + cramersV(c.counts), 0) / coactivation.length, 12);
    // Genres: Spearman ρ of (loss, FFN experts per token) over the four genres.
    const genres = Object.values(file('moepp-tau0.25--seed2', 'evaluation.json').byGenre) as { loss: number; ffnExpertsPerToken: number }[];
    const rho = row(rows, /Harder text/, 'moepp-tau0.25');
    expect(rho.values[1]).toBeCloseTo(spearman(genres.map((g) => g.loss), genres.map((g) => g.ffnExpertsPerToken)), 12);
    // Skipped tokens: the token-weighted loss of the groups below K, minus the group at K.
    const groups = file('moepp-tau0.75--seed1', 'evaluation.json').byFfnExperts;
    const fewer = (groups['1'].loss * groups['1'].tokens + groups['1.5'].loss * groups['1.5'].tokens) / (groups['1'].tokens + groups['1.5'].tokens);
    expect(row(rows, /skip FFN/, 'moepp-tau0.75').values[0]).toBeCloseTo(fewer - groups['2'].loss, 12);
  });

  it("the fixture was written to agree with the paper: every claim holds; no residual pair, so no residual claim", () => {
    expect(new Set(rows.map((r) => r.verdict))).toEqual(new Set(['holds']));
    expect(rows.some((r) => /gating residual/.test(r.claim))).toBe(false);
  });

  it('a claim whose CI lies on the other side is reversed, one whose CI spans 0 is unclear', () => {
    const swap = (s: LoadedStudy, spread: boolean): LoadedStudy => ({
      ...s,
      runs: s.runs.map((r, i) => {
        const { verb, noun } = r.routing.byPos;
        if (!verb || !noun) return r;
        // Swapped: nouns get the verbs' FFN experts; spread: the sign alternates by seed.
        const swapped = spread && r.seed === 2 ? { verb, noun } : { verb: noun, noun: verb };
        return { ...r, routing: { ...r.routing, byPos: { ...r.routing.byPos, ...swapped } }, runId: `${r.runId}-${i}` };
      }),
    });
    expect(row(paperClaims(swap(study, false)), /than nouns/, 'moepp-tau0.75').verdict).toBe('reversed');
    expect(row(paperClaims(swap(study, true)), /than nouns/, 'moepp-tau0.75').verdict).toBe('unclear');
  });
});

describe('residual pairs', () => {
  it('pairs configs whose settings differ only in the gating residual, and the residual claim compares their variance by seed', () => {
    // Make "moe-residual": moe's runs with the residual on and every variance halved.
    const moe = study.runs.filter((r) => r.configName === 'moe');
    const withResidual = moe.map((r) => ({
      ...r, configName: 'moe-residual', runId: r.runId.replace('moe', 'moe-residual'),
      settings: { ...r.settings, 'model.moe.gatingResidual': true },
      routing: { ...r.routing, layers: r.routing.layers.map((l) => ({ ...l, routingScoreVariance: l.routingScoreVariance / 2 })) },
    }));
    const other = withResidual.map((r) => ({ ...r, configName: 'moe-residual-lr', settings: { ...r.settings, 'training.lr': 1 } }));
    const paired: LoadedStudy = { ...study, runs: [...study.runs, ...withResidual, ...other], configs: [...study.configs, 'moe-residual', 'moe-residual-lr'] };
    expect(residualPairs(paired)).toEqual([['moe-residual', 'moe']]);
    const claim = paperClaims(paired).find((r) => /gating residual/.test(r.claim))!;
    expect(claim.config).toBe('moe-residual vs moe');
    expect(claim.values.map((v) => Number(v.toFixed(12)))).toEqual([-0.5, -0.5, -0.5]);
    expect(claim.verdict).toBe('holds'); // lower with the residual on every seed
    // The same runs' val loss: identical, so the residual's loss claim is measured as 0 and unclear.
    const loss = paperClaims(paired).find((r) => /improves the model/.test(r.claim))!;
    expect(loss.values).toEqual([0, 0, 0]);
    expect(loss.verdict).toBe('unclear');
  });
});
