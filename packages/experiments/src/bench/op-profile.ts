/**
 * Per-op profile of one call: tfjs's profiler times every kernel (wasm/cpu kernels run
 * synchronously, so a kernel's time is its wall time); what no kernel accounts for — host-side
 * row gathers and scatters, tensor uploads, gradient bookkeeping, JS glue — is reported as
 * `(outside kernels)`. Names that are not registered kernels are custom ops (core's fused
 * experts op, row permutations): the profiler times them *inclusively*, so their time also
 * holds the kernels they call (listed on their own rows too). They are marked `inclusive` and
 * left out of `kernelMs`, which sums registered kernels only and so never double-counts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
// Declared by the benchmark summary, which reads it (reports cannot import this package).
import type { OpProfile, OpTime } from '@moepp/reports';

export type { OpProfile, OpTime };

/**
 * Profiles one call of `run` (after the caller's warm-up), largest ops first.
 *
 * @example
 * const p = await profileOps(() => step()); p.ops[0]; // { op: 'BatchMatMul', ms: …, share: 0.6 }
 */
export async function profileOps(run: () => void): Promise<OpProfile> {
  const t0 = performance.now();
  const info = await tf.profile(run);
  const wallMs = performance.now() - t0;
  const byName = new Map<string, { calls: number; ms: number; size: number; example: string; inclusive: boolean }>();
  const byShape = new Map<string, { op: string; shapes: string; calls: number; ms: number }>();
  const backend = tf.getBackend();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    const inclusive = tf.getKernel(k.name, backend) === undefined;
    if (!inclusive) kernelMs += ms;
    const shapes = (k.inputShapes as (number[] | null)[]).filter((s): s is number[] => s !== null);
    const size = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    const entry = byName.get(k.name) ?? { calls: 0, ms: 0, size: -1, example: '', inclusive };
    entry.calls++;
    entry.ms += ms;
    if (size > entry.size) {
      entry.size = size;
      const listed = shapes.slice(0, 4).map((s) => s.join('x')).join(' · ');
      entry.example = shapes.length > 4 ? `${listed} · … (${shapes.length} inputs)` : listed;
    }
    byName.set(k.name, entry);
    const signature = shapes.map((s) => s.join('x')).join(' · ');
    const key = `${k.name}|${signature}`;
    const shaped = byShape.get(key) ?? { op: k.name, shapes: signature, calls: 0, ms: 0 };
    shaped.calls++;
    shaped.ms += ms;
    byShape.set(key, shaped);
  }
  const ops: OpTime[] = [...byName].map(([op, e]) => ({ op, calls: e.calls, ms: e.ms, share: e.ms / wallMs, example: e.example, inclusive: e.inclusive }));
  const outside = Math.max(0, wallMs - kernelMs);
  ops.push({ op: '(outside kernels)', calls: 1, ms: outside, share: outside / wallMs, example: '', inclusive: false });
  ops.sort((a, b) => b.ms - a.ms);
  const top = ops.find((o) => o.op !== '(outside kernels)' && !o.inclusive)?.op;
  const topOpByShape = [...byShape.values()]
    .filter((e) => e.op === top)
    .sort((a, b) => b.ms - a.ms)
    .map((e) => ({ ...e, share: e.ms / wallMs }));
  return { wallMs, kernelMs, ops, topOpByShape };
}
