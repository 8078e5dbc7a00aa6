/**
 * The threaded wasm backend: it starts with the requested thread count, computes what the
 * single-threaded build and the `cpu` backend compute, and does not keep the process alive.
 * A process can initialise wasm only once, so the 1-thread/2-thread comparison runs in children.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initWasmBackend, runtimeSupportsWasmThreads } from './threads.ts';

const modulePath = fileURLToPath(new URL('./threads.ts', import.meta.url));

/** Deterministic pseudo-random floats in [-1, 1), the same in every process. */
function lcg(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** matMul on `backend` of lcg inputs; returns the product's values. */
function product(backend: string, m: number, k: number, n: number, transposeA = false, transposeB = false): Float32Array {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  const a = tf.tensor2d(lcg(m * k, 1), transposeA ? [k, m] : [m, k]);
  const b = tf.tensor2d(lcg(k * n, 2), transposeB ? [n, k] : [k, n]);
  const c = tf.matMul(a, b, transposeA, transposeB);
  const values = c.dataSync() as Float32Array;
  tf.dispose([a, b, c]);
  tf.setBackend(previous);
  return values;
}

function maxRelativeError(x: Float32Array, ref: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(x[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / scale;
}

/** Runs a child Node that initialises wasm with `threads` and prints a 300×200·200×100 product. */
function productInChild(threads: number): { threads: number; values: Float32Array; ms: number } {
  // CommonJS with a dynamic import, not --input-type=module: pthread workers inherit the parent's
  // execArgv, and Node refuses --input-type in a worker.
  const code = `
    (async () => {
      const tf = require('@tensorflow/tfjs-core');
      const { initWasmBackend } = await import(${JSON.stringify(modulePath)});
      const info = await initWasmBackend({ threads: ${threads} });
      ${lcg.toString()}
      const a = tf.tensor2d(lcg(300 * 200, 1), [300, 200]);
      const b = tf.tensor2d(lcg(200 * 100, 2), [200, 100]);
      const v = tf.matMul(a, b).dataSync();
      process.stdout.write(JSON.stringify({ threads: info.threads, values: Buffer.from(v.buffer).toString('base64') }));
    })();
  `;
  const t0 = Date.now();
  // No process.exit in the child: it must end by itself, idle pthread workers included.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
  });
  const parsed = JSON.parse(out) as { threads: number; values: string };
  const bytes = Buffer.from(parsed.values, 'base64');
  return { threads: parsed.threads, values: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), ms: Date.now() - t0 };
}

describe('initWasmBackend', () => {
  let info: Awaited<ReturnType<typeof initWasmBackend>>;
  beforeAll(async () => {
    info = await initWasmBackend({ threads: 2 });
  });
  afterAll(() => {
    tf.setBackend('wasm');
  });

  it('runs wasm with 2 threads and SIMD', () => {
    expect(runtimeSupportsWasmThreads()).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    expect(info).toEqual({ threads: 2, simd: true });
  });

  it('matches the cpu backend on matMul of several shapes and transposes', () => {
    const cases: [number, number, number, boolean, boolean][] = [
      [1, 1, 1, false, false],
      [7, 13, 5, false, false],
      [64, 64, 64, false, false],
      [256, 300, 129, false, false],
      [33, 70, 90, true, false],
      [33, 70, 90, false, true],
      [33, 70, 90, true, true],
    ];
    for (const [m, k, n, ta, tb] of cases) {
      const wasm = product('wasm', m, k, n, ta, tb);
      const cpu = product('cpu', m, k, n, ta, tb);
      expect(maxRelativeError(wasm, cpu), `${m}x${k}x${n} ${ta} ${tb}`).toBeLessThan(1e-5);
    }
  });

  it('keeps the first thread count when called again', async () => {
    const again = await initWasmBackend({ threads: 1 });
    expect(again.threads).toBe(2);
    expect(again.note).toMatch(/already initialised/);
  });

  it('rejects a nonsensical thread count', async () => {
    await expect(initWasmBackend({ threads: 0 })).rejects.toThrow(/threads must be/);
    await expect(initWasmBackend({ threads: Number.NaN })).rejects.toThrow(/threads must be/);
  });
});

describe('threaded against single-threaded wasm (child processes)', () => {
  it('falls back to one thread, saying why, where Node cannot start the workers (--input-type)', () => {
    const code = `
      import { initWasmBackend } from ${JSON.stringify(modulePath)};
      process.stdout.write(JSON.stringify(await initWasmBackend({ threads: 2 })));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(out)).toEqual({ threads: 1, simd: true, note: expect.stringMatching(/--input-type/) });
  });


  it('gives the same product with 1 and 2 threads, and the 2-thread child exits by itself', () => {
    const one = productInChild(1);
    const two = productInChild(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.values.length).toBe(300 * 100);
    expect(maxRelativeError(two.values, one.values)).toBeLessThan(1e-6);
  });
});
