/**
 * The bench's forward-only measures on packed weights (layer-group-run's packForMeasure): on
 * `blas` with one OpenBLAS thread the expert forward of a real layer pair gives the output it
 * gives without packs, each FFN expert in one native call on its packs, and the run's notes say
 * so once; under a gradient tape the packs leave the experts on their tf ops, whose gradients are
 * those without packs; the forward+backward and `--no-packed-weights` pack nothing. Skipped where
 * the addon is not built.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { loadBlasAddon } from '@moepp/backends';
import { relativeError } from '../backend/backend-self-check.ts';
import { selectBackend } from '../backend/select-backend.ts';
import { sampleBalancedTopK } from './balanced-routing.ts';
import { resolveBenchOptions, TOP_K } from './bench-options.ts';
import { buildLayerPair, buildRoutingCase } from './layer-fixture.ts';
import { packForMeasure } from './layer-group-run.ts';

const blas = loadBlasAddon();

describe.skipIf(!blas.ok)('forward measures on packed weights (blas)', () => {
  it('give the unpacked output, one native call per FFN expert, noted once; a gradient tape, backward and --no-packed-weights keep the tf ops', async () => {
    await selectBackend({ requested: 'blas', threads: 1, env: {} });
    const addon = (blas as { addon: { packedSwiGluExpert: (...a: unknown[]) => void } }).addon;
    const pair = buildLayerPair('small', 8, 3);
    const c = buildRoutingCase(pair.moepp, pair.dModel, sampleBalancedTopK(pair.moepp.kinds, 96, TOP_K, 0.5, seedrandom.alea('p')), 96, 3);
    const forward = () => {
      const y = tf.tidy(() => pair.moepp.layer.combine(c.x as tf.Tensor2D, c.routing));
      const out = Float32Array.from(y.dataSync() as Float32Array);
      y.dispose();
      return out;
    };
    const plain = forward();
    const gradient = () => {
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(pair.moepp.layer.combine(x as tf.Tensor2D, c.routing))))(c.x);
      const values = Float32Array.from(g.dataSync() as Float32Array);
      g.dispose();
      return values;
    };
    const plainGradient = gradient();
    const ctx = { options: resolveBenchOptions({}), backend: { backend: 'blas', threads: 1, executor: 'host' as const, patches: [] }, notes: [] as string[], log: () => {} };
    expect(ctx.options.packedWeights).toBe(true);
    const weights = [...pair.moe.variables, ...pair.moepp.variables];

    let packedCalls = 0;
    const packedSwiGluExpert = addon.packedSwiGluExpert;
    addon.packedSwiGluExpert = (...a: unknown[]) => {
      packedCalls++;
      packedSwiGluExpert(...a);
    };
    try {
      const packed = packForMeasure(ctx, 'expert_forward', weights)!;
      // 8 shared FFN experts' three matrices, W_r of both routers, MoE++'s W_g and its 2 constant experts' W_c.
      expect(packed.count).toBe(3 * 8 + 2 + 1 + 2);
      const withPacks = forward();
      expect(packedCalls).toBe(8);
      expect(relativeError(withPacks, plain)).toBeLessThan(1e-5);
      const gradientWithPacks = gradient(); // the tape needs the experts' activations: no one-call path
      expect(packedCalls).toBe(8);
      expect(relativeError(gradientWithPacks, plainGradient)).toBeLessThan(1e-5);
      packForMeasure(ctx, 'layer_forward', weights)!.dispose();
      packed.dispose();
      expect(ctx.notes).toHaveLength(1);
      expect(ctx.notes[0]).toMatch(/ran on weights packed once/);

      expect(packForMeasure(ctx, 'layer_forward_backward', weights)).toBeNull();
      expect(packForMeasure({ ...ctx, options: resolveBenchOptions({ packedWeights: false }) }, 'expert_forward', weights)).toBeNull();
      const calls = packedCalls;
      forward();
      expect(packedCalls).toBe(calls);
    } finally {
      addon.packedSwiGluExpert = packedSwiGluExpert;
      c.dispose();
      pair.dispose();
    }
  });
});
