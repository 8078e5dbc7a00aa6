/**
 * The backend's plain matmul rate at the FFN experts' shapes: the three matmuls of one SwiGLU
 * expert on m rows — (m, D)·(D, I) twice and (m, I)·(I, D) — with no transposes, no elementwise
 * work and no dispatch. The FFN experts' achieved rate is compared with this. In a layer group
 * the chain runs inside the interleaved rounds (so it sees the same machine state as the layer);
 * `plainMatmulGflops` times it on its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { quantile } from './statistics.ts';
import { uniformArray } from './layer-fixture.ts';
import { readOneValue } from './layer-measures.ts';

export interface MatmulChain {
  /** One chain of three products, one value of its result read (as the layer measures do). */
  run(): void;
  flops: number;
  /** The chain's two weights (to pack where the layer's weights are packed). */
  weights: tf.Tensor[];
  dispose(): void;
}

/**
 * @example
 * const chain = matmulChain(256, 768, 2048); chain.run(); chain.dispose();
 */
export function matmulChain(rows: number, dModel: number, dFfn: number): MatmulChain {
  const m = Math.max(1, Math.round(rows));
  const x = tf.tensor2d(uniformArray(m * dModel, 1, 11), [m, dModel]);
  const h = tf.tensor2d(uniformArray(m * dFfn, 1, 12), [m, dFfn]);
  const wIn = tf.tensor2d(uniformArray(dModel * dFfn, 0.05, 13), [dModel, dFfn]);
  const wOut = tf.tensor2d(uniformArray(dFfn * dModel, 0.05, 14), [dFfn, dModel]);
  return {
    run() {
      const outs = [tf.matMul(x, wIn), tf.matMul(x, wIn), tf.matMul(h, wOut)];
      readOneValue(outs[2]);
      tf.dispose(outs);
    },
    flops: 6 * m * dModel * dFfn,
    weights: [wIn, wOut],
    dispose: () => tf.dispose([x, h, wIn, wOut]),
  };
}

/**
 * GFLOP/s of the chain on `rows` rows, timed on its own (median of `reps` after one warm-up).
 *
 * @example
 * plainMatmulGflops(256, 768, 2048); // ≈ 28 on wasm, 1 thread, this machine
 */
export function plainMatmulGflops(rows: number, dModel: number, dFfn: number, reps = 7): number {
  const chain = matmulChain(rows, dModel, dFfn);
  chain.run();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    chain.run();
    times.push(performance.now() - t0);
  }
  chain.dispose();
  return chain.flops / (quantile(times, 0.5) * 1e6);
}
