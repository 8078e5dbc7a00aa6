/**
 * Measure (d), run: the default study's two models take training steps interleaved at each
 * train-step token count; one layer.csv row per model with its FFN share, FLOP rate against a
 * plain matmul, and peak memory; the PyTorch peer's rows when it runs (train-step-peer.ts); op
 * profiles of the largest one where asked.
 */
import { endProgress, progress, type BenchContext } from './bench-context.ts';
import { trainStepTokens } from './bench-plan.ts';
import { theoreticalIncrease } from './flops.ts';
import { runInterleaved } from './interleave.ts';
import { transientPeakBytes } from './layer-measures.ts';
import { plainMatmulGflops } from './matmul-rate.ts';
import { profileOps } from './op-profile.ts';
import { deliveredFraction, summarizeTimes, throughputIncrease } from './statistics.ts';
import { buildTrainStep, defaultStudyModels, trainStepColumns } from './train-step.ts';
import { compareTrainStepPeer } from './train-step-peer.ts';

export async function measureTrainSteps(ctx: BenchContext): Promise<void> {
  const { options, backend, timing, rows } = ctx;
  for (const tokens of trainStepTokens(options)) {
    const models = defaultStudyModels();
    const moe = buildTrainStep(models.moe, tokens, options.seed, backend.executor);
    const moepp = buildTrainStep(models.moepp, tokens, options.seed, backend.executor);
    ctx.log(`train_step: small preset (${models.moe.configName} vs ${models.moepp.configName}), ${tokens} tokens per step`);
    const ffn = { moe: [] as number[][], moepp: [] as number[][] };
    const times = runInterleaved(
      [
        { key: 'moe', run: () => ffn.moe.push(moe.step()) },
        { key: 'moepp', run: () => ffn.moepp.push(moepp.step()) },
      ],
      { ...timing, onRound: progress('train_step') },
    );
    endProgress();
    const meanPerLayer = (runs: number[][]) => runs[0].map((_, l) => runs.reduce((s, r) => s + r[l], 0) / runs.length);
    const t = { moe: summarizeTimes(times.get('moe')!), moepp: summarizeTimes(times.get('moepp')!) };
    const flops = { moe: moe.flops(meanPerLayer(ffn.moe)), moepp: moepp.flops(meanPerLayer(ffn.moepp)) };
    const D = models.moepp.config.dModel;
    const matmul = plainMatmulGflops(tokens, D, 4 * D);
    for (const c of [moe, moepp]) {
      const impl = c.impl;
      const increase = impl === 'moepp' ? throughputIncrease(t.moe.medianMs, t.moepp.medianMs) : null;
      const theoretical = impl === 'moepp' ? theoreticalIncrease(flops.moe, flops.moepp) : null;
      const perLayer = meanPerLayer(ffn[impl]);
      // Parameters and the two AdamW moments, plus what a step allocates at its peak.
      const peak = c.model.parameters.size() * 4 * 3 + (await transientPeakBytes(() => void c.step()));
      rows.push({
        ...trainStepColumns(c, perLayer),
        impl,
        median_ms: t[impl].medianMs, p20_ms: t[impl].p20Ms, p80_ms: t[impl].p80Ms, reps: t[impl].reps,
        tokens_per_s: tokens / (t[impl].medianMs / 1000),
        increase, theoretical_increase: theoretical,
        delivered: increase !== null && theoretical !== null ? deliveredFraction(increase, theoretical) : null,
        ffn_gflops: flops[impl] / (t[impl].medianMs * 1e6),
        matmul_gflops: matmul,
        peak_bytes: peak,
      });
    }
    ctx.flush();
    ctx.log(`  train_step: moe ${t.moe.medianMs.toFixed(1)} ms, moepp ${t.moepp.medianMs.toFixed(1)} ms; ${(flops.moepp / (t.moepp.medianMs * 1e6)).toFixed(1)} GFLOP/s (plain matmul ${matmul.toFixed(1)})`);
    if (ctx.peerOk) compareTrainStepPeer(ctx, models, tokens);
    if (options.profile && tokens === Math.max(...trainStepTokens(options))) {
      ctx.profiles.push({ scope: `train_step moepp ${tokens} tokens`, profile: await profileOps(() => void moepp.step()) });
      ctx.profiles.push({ scope: `train_step moe ${tokens} tokens`, profile: await profileOps(() => void moe.step()) });
    }
    moe.dispose();
    moepp.dispose();
  }
}
