/**
 * The backend's plain matmul rate at the FFN experts' shapes: the three matmuls of one SwiGLU
 * expert on m rows — (m, D)·(D, I) twice and (m, I)·(I, D) — with no transposes, no elementwise
 * work and no dispatch. The FFN experts' achieved rate is compared with this.
 */
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { quantile } from './statistics.ts';
import { uniformArray } from './layer-fixture.ts';

const cache = new Map<string, number>();

/**
 * GFLOP/s of the expert's matmul chain on `rows` rows (median of `reps` after one warm-up).
 *
 * @example
 * plainMatmulGflops(256, 768, 2048); // ≈ 25 on wasm, 1 thread, this machine
 */
export function plainMatmulGflops(rows: number, dModel: number, dFfn: number, reps = 7): number {
  const m = Math.max(1, Math.round(rows));
  const key = `${tf.getBackend()}:${m}:${dModel}:${dFfn}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const x = tf.tensor2d(uniformArray(m * dModel, 1, 11), [m, dModel]);
  const h = tf.tensor2d(uniformArray(m * dFfn, 1, 12), [m, dFfn]);
  const wIn = tf.tensor2d(uniformArray(dModel * dFfn, 0.05, 13), [dModel, dFfn]);
  const wOut = tf.tensor2d(uniformArray(dFfn * dModel, 0.05, 14), [dFfn, dModel]);
  const chain = () => {
    const outs = [tf.matMul(x, wIn), tf.matMul(x, wIn), tf.matMul(h, wOut)];
    outs[2].dataSync();
    tf.dispose(outs);
  };
  chain();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    chain();
    times.push(performance.now() - t0);
  }
  tf.dispose([x, h, wIn, wOut]);
  const gflops = (6 * m * dModel * dFfn) / (quantile(times, 0.5) * 1e6);
  cache.set(key, gflops);
  return gflops;
}
