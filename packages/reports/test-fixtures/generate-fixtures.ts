/**
 * Writes the committed fixture results (test-fixtures/results/) that the golden tables, the
 * figure tests and the notebooks run on. Run it only to change the fixtures on purpose:
 *   pnpm --filter @moepp/reports exec tsx test-fixtures/generate-fixtures.ts
 * then update the goldens (`npx vitest run packages/reports -u`) and review the diff.
 *
 * The study "tiny-ablation": vanilla MoE (8 FFN experts, no gating residual) as the baseline,
 * and MoE++ (8+4)E with gating residual at τ = 0.75 and τ = 0.25, seeds 1–4, of which:
 *   - moe--seed4           summary.json truncated mid-write (corrupt JSON)
 *   - moepp-tau0.75--seed4 written by an older format (formatVersion 0)
 *   - moepp-tau0.25--seed4 unfinished (no summary.json; metrics.csv stops at step 60)
 *   - moepp-tau0.25--seed3 listed in study.json, never started (no folder)
 * routing.json of the MoE++ runs lists expert kinds per layer (as the trainer writes them), that
 * of the vanilla-MoE runs as one flat list (as docs/run-folder.md shows it).
 * The headline numbers (val loss, accuracy, throughput) are written by hand, not drawn, so the
 * statistics tests can check table cells against values computed on paper.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchEnvironment, EvaluationFile, RoutingFile, RunConfigFile, RunEnvironment, RunSummary, StudyFile } from '@moepp/run-format';
import { mulberry32 } from '../src/random.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), 'results');
const STUDY = 'tiny-ablation';
const SEEDS = [1, 2, 3, 4];
const VOCAB = 512;
const D = 64;
const LAYERS = 4;
const FFN_HIDDEN = 128;
const STEPS = 200;
const TOKENS_PER_STEP = 2048;

interface Cfg {
  name: string;
  experts: { ffn: number; zero: number; copy: number; constant: number };
  tau: number;
  residual: boolean;
  /** Hand-written per-seed headline numbers (seed 1, 2, 3). */
  valLoss: number[];
  valAcc: number[];
  tokPerS: number[];
  ffnPerToken: number[];
}

const CONFIGS: Cfg[] = [
  {
    name: 'moe', experts: { ffn: 8, zero: 0, copy: 0, constant: 0 }, tau: 0.75, residual: false,
    valLoss: [4.1, 4.12, 4.08], valAcc: [0.221, 0.219, 0.223], tokPerS: [5200, 5150, 5250], ffnPerToken: [2, 2, 2],
  },
  {
    name: 'moepp-tau0.75', experts: { ffn: 8, zero: 1, copy: 1, constant: 2 }, tau: 0.75, residual: true,
    valLoss: [4.07, 4.1, 4.04], valAcc: [0.224, 0.2215, 0.225], tokPerS: [5600, 5580, 5650], ffnPerToken: [1.52, 1.5, 1.55],
  },
  {
    name: 'moepp-tau0.25', experts: { ffn: 8, zero: 1, copy: 1, constant: 2 }, tau: 0.25, residual: true,
    valLoss: [4.16, 4.15, 4.17], valAcc: [0.217, 0.218, 0.216], tokPerS: [6400, 6350, 6420], ffnPerToken: [1.12, 1.1, 1.14],
  },
];

/** Expert kinds in core's layout: FFN, then constant, copy, zero. */
function kinds(c: Cfg): string[] {
  const e = c.experts;
  return [...Array(e.ffn).fill('ffn'), ...Array(e.constant).fill('constant'), ...Array(e.copy).fill('copy'), ...Array(e.zero).fill('zero')];
}

function params(c: Cfg): { total: number; active: number } {
  const E = kinds(c).length;
  const embed = VOCAB * D;
  const attn = 4 * D * D;
  const norms = 2 * D;
  const ffn = 3 * D * FFN_HIDDEN;
  const router = D * E;
  const constant = c.experts.constant * (2 * D + D);
  const residual = c.residual ? E * E : 0;
  const perLayerShared = attn + norms + router + constant + residual;
  const total = embed + LAYERS * (perLayerShared + c.experts.ffn * ffn) + D;
  const active = embed + LAYERS * (perLayerShared + 2 * ffn) + D;
  return { total, active };
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';
const r6 = (x: number): number => Number(x.toPrecision(6));

// Typed by @moepp/run-format, so that the fixtures stay real run folders as the format changes.
function configJson(c: Cfg, seed: number): RunConfigFile {
  return {
    formatVersion: 1, study: STUDY, runId: `${c.name}--seed${seed}`, configName: c.name, seed,
    model: {
      vocabSize: VOCAB, dModel: D, nLayers: LAYERS, nHeads: 4, maxSeqLen: 64, denseFfnHidden: 256,
      moe: {
        experts: c.experts.zero + c.experts.copy + c.experts.constant > 0 ? c.experts : { ffn: c.experts.ffn },
        expertsPerLayer: null, topK: 2, ffnHidden: FFN_HIDDEN, gating: 'reference', gatingResidual: c.residual,
        tau: c.tau, capacityFactor: null, gatingResidualInitStd: 0,
      },
      moeInterval: 1, tieEmbeddings: true, ropeTheta: 10000, normEps: 1e-6, initStd: 0.02, routerAuxLossCoef: 0.01, routerZLossCoef: 0,
    },
    training: {
      steps: STEPS, batchSize: 32, seqLen: 64, gradAccumulation: 1, lr: 5e-4, minLr: 5e-5, warmupSteps: 20, weightDecay: 0.1,
      beta1: 0.9, beta2: 0.95, clip: 1, evalEvery: 50, evalWindows: 8, finalEvalWindows: 32, checkpointEvery: 50,
    },
    data: { corpus: 'brown', brownEvery: 1, vocabSize: VOCAB },
  };
}

function environmentJson(seed: number): RunEnvironment {
  return {
    backend: 'wasm', threads: 2, node: 'v20.19.0', platform: 'linux-x64', cpu: 'fixture CPU', cores: 2,
    packages: { '@tensorflow/tfjs-core': '4.22.0' }, gitCommit: '0000000', seed, startedAt: '2025-01-01T00:00:00.000Z',
  };
}

function benchEnvironmentJson(): BenchEnvironment {
  return { ...environmentJson(0), patches: [], command: 'pnpm bench --widths tiny --tau 0.1,0.25,0.5,0.75,1', loadAverage: [2, 2, 2] };
}

function metricsCsv(c: Cfg, seed: number, untilStep = STEPS): string {
  const rand = mulberry32(seed * 1000 + c.name.length);
  const offset = c.valLoss[(seed - 1) % 3] - 4.1;
  const lines = ['step,tokens,loss,ce,aux_loss,z_loss,lr,grad_norm,tokens_per_s,ffn_per_token,' + Array.from({ length: LAYERS }, (_, l) => `ffn_per_token_l${l}`).join(',')];
  const ffnTarget = c.ffnPerToken[(seed - 1) % 3];
  for (let step = 5; step <= untilStep; step += 5) {
    const ce = 3.9 + offset + 3.2 * Math.exp(-step / 45) + 0.06 * (rand() - 0.5);
    const aux = 1 + 0.05 * rand();
    const lr = step <= 20 ? (5e-4 * step) / 20 : 5e-5 + 0.5 * (5e-4 - 5e-5) * (1 + Math.cos((Math.PI * (step - 20)) / (STEPS - 20)));
    const ffn = ffnTarget + (2 - ffnTarget) * Math.exp(-step / 30);
    const perLayer = Array.from({ length: LAYERS }, (_, l) => r6(ffn + 0.04 * (l - 1.5)));
    const tps = c.tokPerS[(seed - 1) % 3] * (0.97 + 0.06 * rand());
    lines.push([step, step * TOKENS_PER_STEP, r6(ce + 0.01 * aux), r6(ce), r6(aux), 0, r6(lr), r6(0.5 + rand()), Math.round(tps), r6(ffn), ...perLayer].join(','));
  }
  return lines.join('\n') + '\n';
}

function evalCsv(c: Cfg, seed: number): string {
  const i = (seed - 1) % 3;
  const lines = ['step,split,loss,perplexity,accuracy,tokens_per_s'];
  for (const step of [50, 100, 150, 200]) {
    const loss = step === STEPS ? c.valLoss[i] : r6(c.valLoss[i] + 2.5 * Math.exp(-step / 45));
    const acc = step === STEPS ? c.valAcc[i] : r6(c.valAcc[i] - 0.1 * Math.exp(-step / 45));
    lines.push([step, 'val', loss, r6(Math.exp(loss)), acc, 21000].join(','));
  }
  lines.push([STEPS, 'test', r6(c.valLoss[i] + 0.02), r6(Math.exp(c.valLoss[i] + 0.02)), r6(c.valAcc[i] - 0.002), 21000].join(','));
  return lines.join('\n') + '\n';
}

function routingJson(c: Cfg, seed: number): RoutingFile {
  const rand = mulberry32(seed * 7919 + c.name.length);
  const ks = kinds(c);
  const N = 8192;
  const K = 2;
  const ffnPerToken = c.ffnPerToken[(seed - 1) % 3];
  const hasZc = ks.length > c.experts.ffn;
  const layers = Array.from({ length: LAYERS }, (_, l) => {
    const layerFfn = hasZc ? ffnPerToken + 0.04 * (l - 1.5) : 2;
    const ffnSlots = layerFfn * N;
    const zcSlots = N * K - ffnSlots;
    // ZC slots split zero : copy : constant(each) = 1 : 1.5 : 1, FFN slots unevenly (later
    // layers more skewed), so the heatmap has structure; adjacent layers share the skew.
    const zcWeights: Record<string, number> = { zero: 1, copy: 1.5, constant: 1 };
    const zcTotalWeight = ks.filter((k) => k !== 'ffn').reduce((s, k) => s + zcWeights[k], 0);
    const ffnWeights = ks.filter((k) => k === 'ffn').map((_, e) => 1 + 0.15 * Math.sin(e + 0.3 * l) + 0.05 * rand());
    const ffnWeightSum = ffnWeights.reduce((a, b) => a + b, 0);
    let fi = 0;
    const tokensPerExpert = ks.map((k) =>
      k === 'ffn' ? Math.round((ffnSlots * ffnWeights[fi++]) / ffnWeightSum) : Math.round((zcSlots * zcWeights[k]) / zcTotalWeight),
    );
    const total = tokensPerExpert.reduce((a, b) => a + b, 0);
    const share = (kind: string): number => r6(tokensPerExpert.filter((_, e) => ks[e] === kind).reduce((a, b) => a + b, 0) / total);
    const E = ks.length;
    // The gating residual lowers the variance of routing scores (paper §4 / Fig. analysis).
    const variance = (c.residual ? 0.0042 : 0.0061) * (1 + 0.25 * l) * (1 + 0.05 * rand()) * (8 / E);
    return {
      layer: l, block: l, tokensPerExpert,
      ffnExpertsPerToken: r6(layerFfn),
      slotShare: { ffn: share('ffn'), zero: share('zero'), copy: share('copy'), constant: share('constant') },
      droppedSlots: 0, routerLogitMean: r6(0.01 * (rand() - 0.5)), routerLogitStd: r6(1 + 0.1 * rand()),
      routingScoreVariance: r6(variance),
      // The routing measures, from the load above by their definitions (no draws: the values
      // written before them stay as they were).
      ...loadMeasures(tokensPerExpert, ks, c.tau),
      routingEntropy: r6((hasZc ? 1.9 : 1.6) - 0.08 * l + 0.01 * seed),
      deadExperts: c.name === 'moe' && seed === 2 && l === 3 ? 1 : 0,
      deadExpertThreshold: 0.1,
      dropRate: 0,
    };
  });
  // Co-activation: each token's K choices in layer l against its K in l+1 — independent shares,
  // with expert e of one layer preferring expert e of the next, so the heatmaps have a diagonal.
  const coActivation = layers.slice(0, -1).map((a, l) => {
    const b = layers[l + 1].tokensPerExpert;
    const totalB = b.reduce((x, y) => x + y, 0);
    return { fromLayer: l, counts: a.tokensPerExpert.map((na, i) => b.map((nb, j) => Math.round((K * na * nb) / totalB) + (i === j ? 200 : 0))) };
  });
  // Router saturation: top-1 agreement with the final model rising over the periodic evaluations.
  const routerSaturation = {
    tokens: 2048,
    steps: [50, 100, 150],
    top1AgreementWithFinal: [50, 100, 150].map((step) => layers.map((_, l) => r6(Math.min(1, 0.45 + step / 400 + 0.03 * l + (hasZc ? 0.05 : 0) + 0.01 * seed)))),
  };
  // Verbs get the most FFN experts, nouns next, fragments the fewest (paper's finding).
  const posOffsets: Record<string, number> = {
    verb: 0.18, noun: 0.1, adjective: 0.06, adverb: 0.02, pronoun: -0.04, determiner: -0.12, preposition: -0.1,
    conjunction: -0.08, number: 0.04, punctuation: -0.2, other: -0.02,
  };
  const posTokens: Record<string, number> = {
    noun: 2100, verb: 1500, adjective: 600, adverb: 420, pronoun: 480, determiner: 1000, preposition: 950,
    conjunction: 300, number: 90, punctuation: 1200, other: 0,
  };
  const byPos: Record<string, { tokens: number; ffnExpertsPerToken: number }> = {};
  for (const [pos, off] of Object.entries(posOffsets)) {
    byPos[pos] = { tokens: posTokens[pos], ffnExpertsPerToken: hasZc ? r6(ffnPerToken + off * (2 - ffnPerToken) + 0.01 * rand()) : 2 };
  }
  return {
    // The trainer writes one kinds list per MoE layer; the contract's flat list is also accepted.
    // The vanilla-MoE runs use the flat form so that both stay tested.
    formatVersion: 1, expertKinds: hasZc ? layers.map(() => ks) : ks, layers, byPos,
    byPiece: {
      initial: { tokens: 6200, ffnExpertsPerToken: hasZc ? r6(ffnPerToken + 0.05 * (2 - ffnPerToken)) : 2 },
      fragment: { tokens: 1992, ffnExpertsPerToken: hasZc ? r6(ffnPerToken - 0.25 * (2 - ffnPerToken)) : 2 },
    },
    coActivation,
    routerSaturation,
    loadOverTraining: loadOverTraining(layers.map((l) => l.tokensPerExpert), ks, seed),
  };
}

/**
 * Expert load at three periodic evaluations on a 2048-token slice: the final load's shape with
 * a skew of the FFN experts that fades as training goes on (no draws: the values written before
 * it stay as they were).
 */
function loadOverTraining(finalLoads: number[][], ks: string[], seed: number): NonNullable<RoutingFile['loadOverTraining']> {
  const steps = [50, 100, 150];
  return {
    tokens: 2048,
    steps,
    tokensPerExpert: steps.map((step) => finalLoads.map((loads) => {
      const skew = loads.map((n, e) => (ks[e] === 'ffn' ? n * (1 + (1 - step / 200) * (0.8 + 0.05 * seed) * Math.cos(e)) : n));
      const skewTotal = skew.reduce((a, b) => a + b, 0);
      return skew.map((n) => Math.round((n * 2048 * 2) / skewTotal));
    })),
  };
}

/**
 * evaluation.json: next-token accuracy by POS falling from function words to content words,
 * genres whose loss rises with their FFN experts per token, and a cloze accuracy per seed written
 * by hand (so tables can be checked against paper arithmetic).
 */
function evaluationJson(c: Cfg, seed: number): EvaluationFile {
  const i = (seed - 1) % 3;
  const hasZc = c.experts.zero + c.experts.copy + c.experts.constant > 0;
  const ffn = c.ffnPerToken[i];
  const accuracy: Record<string, number> = { noun: 0.08, verb: 0.1, adjective: 0.05, adverb: 0.07, pronoun: 0.3, determiner: 0.45, preposition: 0.35, conjunction: 0.4, punctuation: 0.5 };
  const genres = ['news', 'fiction', 'learned', 'humor'];
  return {
    formatVersion: 1, split: 'validation', tokens: 8192,
    byTargetPos: Object.fromEntries(Object.entries(accuracy).map(([pos, a], k) => [pos, { tokens: 800 + 10 * k, loss: r6(c.valLoss[i] + 0.3 - a), accuracy: r6(a + 0.01 * i) }])),
    byGenre: Object.fromEntries(genres.map((g, k) => [g, { tokens: 2048, loss: r6(c.valLoss[i] - 0.1 + 0.07 * k), accuracy: r6(0.2 - 0.01 * k), ffnExpertsPerToken: hasZc ? r6(ffn - 0.06 + 0.04 * k) : 2 }])),
    byFfnExperts: hasZc
      ? { '1': { tokens: 1500, loss: r6(c.valLoss[i] - 0.4), accuracy: 0.3 }, '1.5': { tokens: 2500, loss: r6(c.valLoss[i] - 0.1), accuracy: 0.25 }, '2': { tokens: 4192, loss: r6(c.valLoss[i] + 0.2), accuracy: 0.18 } }
      : { '2': { tokens: 8192, loss: c.valLoss[i], accuracy: c.valAcc[i] } },
    cloze: {
      split: 'test', items: 200, candidates: 4, accuracy: [0.4, 0.42, 0.44][i] + (hasZc ? 0.02 : 0),
      byPos: { noun: { items: 100, accuracy: 0.45 }, verb: { items: 100, accuracy: [0.35, 0.39, 0.43][i] + (hasZc ? 0.04 : 0) } },
    },
  };
}

/**
 * MaxVio against the τ-weighted balanced share (FFN τ, ZC 1, normalised) and the load entropy
 * over log E, written out here rather than imported: reports must not import core.
 */
function loadMeasures(load: number[], ks: string[], tau: number): { maxVio: number; loadEntropy: number } {
  const total = load.reduce((a, b) => a + b, 0);
  const weights = ks.map((k) => (k === 'ffn' ? tau : 1));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const maxVio = Math.max(...load.map((n, e) => n / total / (weights[e] / weightSum))) - 1;
  const entropy = -load.reduce((h, n) => (n > 0 ? h + (n / total) * Math.log(n / total) : h), 0);
  return { maxVio: r6(maxVio), loadEntropy: r6(entropy / Math.log(load.length)) };
}

function summaryJson(c: Cfg, seed: number): RunSummary {
  const i = (seed - 1) % 3;
  const p = params(c);
  const testLoss = r6(c.valLoss[i] + 0.02);
  return {
    formatVersion: 1, study: STUDY, runId: `${c.name}--seed${seed}`, configName: c.name, seed, status: 'complete',
    params: { total: p.total, activePerToken: p.active, ffnExpertsPerToken: c.ffnPerToken[i] },
    flopsPerToken: 2 * p.active,
    steps: STEPS, tokens: STEPS * TOKENS_PER_STEP, wallSeconds: r6((STEPS * TOKENS_PER_STEP) / c.tokPerS[i]),
    train: { tokensPerSecond: c.tokPerS[i], finalLoss: r6(c.valLoss[i] - 0.05) },
    val: { loss: c.valLoss[i], perplexity: r6(Math.exp(c.valLoss[i])), accuracy: c.valAcc[i] },
    test: { loss: testLoss, perplexity: r6(Math.exp(testLoss)), accuracy: r6(c.valAcc[i] - 0.002) },
    eval: { tokensPerSecond: 21000 }, backend: 'wasm', threads: 2,
    // What a run of the built-in registry records (core's experts/index.ts registration order).
    expertCostClasses: { ffn: 'ffn', zero: 'zero-computation', copy: 'zero-computation', constant: 'zero-computation' },
  };
}

function writeRun(c: Cfg, seed: number, mode: 'complete' | 'corrupt' | 'old' | 'unfinished'): void {
  const dir = join(root, STUDY, `${c.name}--seed${seed}`);
  const fv = mode === 'old' ? 0 : 1;
  write(join(dir, 'config.json'), json({ ...configJson(c, seed), formatVersion: fv }));
  write(join(dir, 'environment.json'), json(environmentJson(seed)));
  if (mode === 'unfinished') {
    write(join(dir, 'metrics.csv'), metricsCsv(c, seed, 60));
    return;
  }
  write(join(dir, 'metrics.csv'), metricsCsv(c, seed));
  write(join(dir, 'eval.csv'), evalCsv(c, seed));
  write(join(dir, 'routing.json'), json({ ...routingJson(c, seed), formatVersion: fv }));
  write(join(dir, 'evaluation.json'), json(evaluationJson(c, seed)));
  const summary = json({ ...summaryJson(c, seed), formatVersion: fv });
  // A crash mid-write by a non-atomic writer: the file stops halfway.
  write(join(dir, 'summary.json'), mode === 'corrupt' ? summary.slice(0, Math.floor(summary.length / 2)) : summary);
}

function benchCsv(scale: number, withTorch: boolean): string {
  const header = 'measure,routing,width,d_model,d_ffn,experts,ffn_experts,zc_experts,tau,tokens,impl,median_ms,p20_ms,p80_ms,reps,tokens_per_s,ffn_slots,increase,theoretical_increase,delivered,ffn_gflops,matmul_gflops,peak_bytes';
  const lines = [header];
  for (const tokens of [1024, 4096]) {
    for (const measure of ['expert_forward', 'layer_forward']) {
      const extra = measure === 'layer_forward' ? 0.9 : 0;
      const moeMs = scale * (tokens / 1024) * 2.4 + extra;
      const row = (impl: string, experts: number, zc: number, tau: number | '', ms: number, ffnSlots: number, inc: number | '', theo: number | '', deliv: number | ''): string =>
        [measure, 'balanced', 'tiny', D, FFN_HIDDEN, experts, 8, zc, tau, tokens, impl, r6(ms), r6(ms * 0.97), r6(ms * 1.04), 20,
          Math.round((tokens / ms) * 1000), ffnSlots, inc, theo, deliv, r6((ffnSlots * 6 * D * FFN_HIDDEN) / (ms * 1e6)), 15, tokens * D * 48].join(',');
      lines.push(row('moe', 8, 0, '', moeMs, 2 * tokens, '', '', ''));
      for (const tau of [0.1, 0.25, 0.5, 0.75, 1]) {
        const ffnShare = (tau * 8) / (tau * 8 + 4);
        const theo = 1 / ffnShare - 1;
        const delivered = 0.8;
        const inc = theo * delivered;
        lines.push(row('moepp', 12, 4, tau, moeMs / (1 + inc), Math.round(2 * tokens * ffnShare), r6(inc), r6(theo), delivered));
      }
      if (withTorch) lines.push(row('torch-moe', 8, 0, '', moeMs / 6, 2 * tokens, '', '', ''));
    }
  }
  return lines.join('\n') + '\n';
}

rmSync(root, { recursive: true, force: true });
const runs: StudyFile['runs'] = [];
for (const c of CONFIGS) for (const seed of SEEDS) runs.push({ runId: `${c.name}--seed${seed}`, config: c.name, seed, index: runs.length });
write(
  join(root, STUDY, 'study.json'),
  json({
    formatVersion: 1, study: STUDY,
    description: 'Fixture: vanilla MoE against MoE++ (8+4)E at τ = 0.75 and 0.25, 4 seeds, tiny model.',
    baseline: 'moe',
    commands: ['pnpm ablate tiny-ablation --seeds 1,2,3,4', 'pnpm bench --widths tiny --tau 0.1,0.25,0.5,0.75,1'],
    runs,
  } satisfies StudyFile),
);
for (const c of CONFIGS) {
  for (const seed of SEEDS) {
    const id = `${c.name}--seed${seed}`;
    if (id === 'moepp-tau0.25--seed3') continue; // never started
    const mode = id === 'moe--seed4' ? 'corrupt' : id === 'moepp-tau0.75--seed4' ? 'old' : id === 'moepp-tau0.25--seed4' ? 'unfinished' : 'complete';
    writeRun(c, seed, mode);
  }
}
write(join(root, 'bench', '20250101-120000', 'layer.csv'), benchCsv(1.6, false));
write(join(root, 'bench', '20250101-120000', 'environment.json'), json(benchEnvironmentJson()));
write(join(root, 'bench', '20250102-090000', 'layer.csv'), benchCsv(1, true));
write(join(root, 'bench', '20250102-090000', 'environment.json'), json(benchEnvironmentJson()));
write(join(root, 'bench', '20250102-090000', 'summary.md'), '# Benchmark (fixture)\n');
// A benchmark killed before it wrote layer.csv: newest, but must be passed over.
write(join(root, 'bench', '20250103-000000', 'environment.json'), json(benchEnvironmentJson()));
console.log(`fixtures written to ${root}`);
