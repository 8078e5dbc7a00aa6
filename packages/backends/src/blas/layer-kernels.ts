/**
 * The `blas` configuration's fused layer kernels (../training-kernels.ts states the contracts):
 * RMSNorm, the SwiGLU activation and causal attention with RoPE, forward and backward, as native
 * loops of the OpenBLAS addon (native/src/layer_math.h) on zero-copy views of the wasm heap.
 * Written in tf ops they are dozens of small, mostly broadcasting wasm kernels per layer, which
 * run far below the GEMMs' rate (BENCHMARKS.md, "Fourth pass"). Attention's per-head products
 * are cblas_sgemm calls on strided views of the (B·T, D) projections, so no head is transposed.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../heap-io.ts';
import { TRAINING_KERNELS } from '../training-kernels.ts';
import type { KernelArgs, KernelFunc, TensorInfo } from '../wasm/kernels/kernel-utils.ts';
import type { BlasAddon } from './addon.ts';

const f32 = (backend: BackendWasm, t: TensorInfo) => heapView(backend, t) as Float32Array;

/** Throws, naming the kernel and the input, unless every input is float32 of `shape`. */
function expectFloat32(kernel: string, inputs: Record<string, TensorInfo>, shape: readonly number[]): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) throw new Error(`${kernel}: ${name} must have shape [${shape}], got [${t.shape}]`);
  }
}

/** (N, D) of x, or an error naming the kernel. */
function matrixShape(kernel: string, name: string, x: TensorInfo): [number, number] {
  if (x.shape.length !== 2) throw new Error(`${kernel}: ${name} must be (N, D), got shape [${x.shape}]`);
  return [x.shape[0], x.shape[1]];
}

interface AttentionDims {
  batch: number;
  seqLen: number;
  heads: number;
  headDim: number;
  model: number;
}

/** The attention attrs checked against q (B·T, D) and the RoPE tables (T, hd). */
function attentionDims(kernel: string, q: TensorInfo, cos: TensorInfo, attrs: Record<string, number>): AttentionDims {
  const { batch, seqLen, heads } = attrs;
  for (const [name, value] of Object.entries({ batch, seqLen, heads })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${kernel}: attr ${name} must be an integer ≥ 1, got ${value}`);
  }
  const [rows, model] = matrixShape(kernel, 'q', q);
  if (rows !== batch * seqLen) throw new Error(`${kernel}: q has ${rows} rows, batch · seqLen is ${batch * seqLen}`);
  const headDim = model / heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error(`${kernel}: ${model} columns over ${heads} heads must give an even head width, got ${headDim}`);
  expectFloat32(kernel, { cos }, [seqLen, headDim]);
  return { batch, seqLen, heads, headDim, model };
}

export function blasLayerKernels(addon: BlasAddon): Record<string, KernelFunc> {
  return {
    [TRAINING_KERNELS.rmsNorm]: (args: KernelArgs) => {
      const kernel = TRAINING_KERNELS.rmsNorm;
      const backend = args.backend as BackendWasm;
      const { x, gain } = args.inputs as { x: TensorInfo; gain: TensorInfo };
      const { eps } = args.attrs as { eps: number };
      const [rows, d] = matrixShape(kernel, 'x', x);
      expectFloat32(kernel, { x }, [rows, d]);
      expectFloat32(kernel, { gain }, [d]);
      const y = backend.makeOutput([rows, d], 'float32'); // (N, D)
      const rstd = backend.makeOutput([rows], 'float32'); // (N)
      // Views only now: allocating the outputs may have grown (moved) the heap.
      addon.rmsNorm(f32(backend, x), f32(backend, gain), rows, d, eps, f32(backend, y), f32(backend, rstd));
      return [y, rstd];
    },
    [TRAINING_KERNELS.rmsNormGrad]: (args: KernelArgs) => {
      const kernel = TRAINING_KERNELS.rmsNormGrad;
      const backend = args.backend as BackendWasm;
      const { x, gain, rstd, dy } = args.inputs as { x: TensorInfo; gain: TensorInfo; rstd: TensorInfo; dy: TensorInfo };
      const [rows, d] = matrixShape(kernel, 'x', x);
      expectFloat32(kernel, { x, dy }, [rows, d]);
      expectFloat32(kernel, { gain }, [d]);
      expectFloat32(kernel, { rstd }, [rows]);
      const dx = backend.makeOutput([rows, d], 'float32'); // (N, D)
      const dgain = backend.makeOutput([d], 'float32'); // (D)
      addon.rmsNormGrad(f32(backend, x), f32(backend, gain), f32(backend, rstd), f32(backend, dy), rows, d, f32(backend, dx), f32(backend, dgain));
      return [dx, dgain];
    },
    [TRAINING_KERNELS.swiGlu]: (args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const { gate, up } = args.inputs as { gate: TensorInfo; up: TensorInfo };
      expectFloat32(TRAINING_KERNELS.swiGlu, { gate, up }, gate.shape);
      const h = backend.makeOutput([...gate.shape], 'float32'); // (n, I)
      addon.swiGlu(f32(backend, gate), f32(backend, up), f32(backend, h));
      return h;
    },
    [TRAINING_KERNELS.swiGluGrad]: (args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const { gate, up, dh } = args.inputs as { gate: TensorInfo; up: TensorInfo; dh: TensorInfo };
      expectFloat32(TRAINING_KERNELS.swiGluGrad, { gate, up, dh }, gate.shape);
      const outs = [0, 1, 2].map(() => backend.makeOutput([...gate.shape], 'float32')); // h, dgate, dup: (n, I)
      const [h, dgate, dup] = outs.map((o) => f32(backend, o));
      addon.swiGluGrad(f32(backend, gate), f32(backend, up), f32(backend, dh), h, dgate, dup);
      return outs;
    },
    [TRAINING_KERNELS.causalAttention]: (args: KernelArgs) => {
      const kernel = TRAINING_KERNELS.causalAttention;
      const backend = args.backend as BackendWasm;
      const { q, k, v, cos, sin } = args.inputs as Record<'q' | 'k' | 'v' | 'cos' | 'sin', TensorInfo>;
      const s = attentionDims(kernel, q, cos, args.attrs as Record<string, number>);
      expectFloat32(kernel, { q, k, v }, q.shape);
      expectFloat32(kernel, { sin }, cos.shape);
      const out = backend.makeOutput([...q.shape], 'float32'); // (B·T, D)
      const probs = backend.makeOutput([s.batch, s.heads, s.seqLen, s.seqLen], 'float32'); // (B, H, T, T)
      const qRot = backend.makeOutput([...q.shape], 'float32'); // (B·T, D)
      const kRot = backend.makeOutput([...q.shape], 'float32'); // (B·T, D)
      const view = (t: TensorInfo) => f32(backend, t);
      addon.causalAttention(view(q), view(k), view(v), view(cos), view(sin), s.batch, s.seqLen, s.heads, s.headDim, view(out), view(probs), view(qRot), view(kRot));
      return [out, probs, qRot, kRot];
    },
    [TRAINING_KERNELS.causalAttentionGrad]: (args: KernelArgs) => {
      const kernel = TRAINING_KERNELS.causalAttentionGrad;
      const backend = args.backend as BackendWasm;
      const { qRot, kRot, v, probs, dOut, cos, sin } = args.inputs as Record<'qRot' | 'kRot' | 'v' | 'probs' | 'dOut' | 'cos' | 'sin', TensorInfo>;
      const s = attentionDims(kernel, qRot, cos, args.attrs as Record<string, number>);
      expectFloat32(kernel, { qRot, kRot, v, dOut }, qRot.shape);
      expectFloat32(kernel, { sin }, cos.shape);
      expectFloat32(kernel, { probs }, [s.batch, s.heads, s.seqLen, s.seqLen]);
      const outs = [0, 1, 2].map(() => backend.makeOutput([...qRot.shape], 'float32')); // dq, dk, dv: (B·T, D)
      const view = (t: TensorInfo) => f32(backend, t);
      const [dq, dk, dv] = outs.map(view);
      addon.causalAttentionGrad(view(qRot), view(kRot), view(v), view(probs), view(dOut), view(cos), view(sin), s.batch, s.seqLen, s.heads, s.headDim, dq, dk, dv);
      return outs;
    },
  };
}
