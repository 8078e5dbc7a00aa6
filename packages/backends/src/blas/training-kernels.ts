/**
 * The `blas` configuration's fused training kernels (../training-kernels.ts states the
 * contracts): native loops of the OpenBLAS addon (native/src/training_math.h) on zero-copy views
 * of the wasm heap. On the small preset's step they replace ~1,700 wasm kernels — the optimizer's
 * ~10 per parameter, the clip norm's 2 per parameter, the cross-entropy's passes over the
 * (N, V) logits — by ~150 calls (BENCHMARKS.md, "Third pass").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../heap-io.ts';
import { TRAINING_KERNELS } from '../training-kernels.ts';
import type { KernelArgs, KernelFunc, TensorInfo } from '../wasm/kernels/kernel-utils.ts';
import type { BlasAddon } from './addon.ts';
import { packedWeightOf } from './packed-weights.ts';

const f32 = (backend: BackendWasm, t: TensorInfo) => heapView(backend, t) as Float32Array;
const i32 = (backend: BackendWasm, t: TensorInfo) => heapView(backend, t) as Int32Array;

/** `t`'s memory under a new reference (freed with its last holder), as the wasm Identity patch does. */
function share(t: TensorInfo, backend: BackendWasm): TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
}

function expectDtype(kernel: string, name: string, t: TensorInfo, dtype: 'float32' | 'int32'): void {
  if (t.dtype !== dtype) throw new Error(`${kernel}: ${name} must be ${dtype}, got ${t.dtype}`);
}

function crossEntropyShapes(kernel: string, logits: TensorInfo, targets: TensorInfo): [number, number] {
  expectDtype(kernel, 'logits', logits, 'float32');
  expectDtype(kernel, 'targets', targets, 'int32');
  if (logits.shape.length !== 2) throw new Error(`${kernel}: logits must be (N, V), got shape [${logits.shape}]`);
  const [rows, cols] = logits.shape;
  if (targets.shape.reduce((a, b) => a * b, 1) !== rows) throw new Error(`${kernel}: ${rows} rows of logits but targets of shape [${targets.shape}]`);
  return [rows, cols];
}

export function blasTrainingKernels(addon: BlasAddon): Record<string, KernelFunc> {
  return {
    [TRAINING_KERNELS.softmaxCrossEntropy]: (args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const { logits, targets } = args.inputs as { logits: TensorInfo; targets: TensorInfo };
      const [rows, cols] = crossEntropyShapes(TRAINING_KERNELS.softmaxCrossEntropy, logits, targets);
      const loss = backend.makeOutput([rows], 'float32'); // (N)
      const lse = backend.makeOutput([rows], 'float32'); // (N)
      // Views only now: allocating the outputs may have grown (moved) the heap.
      addon.softmaxCrossEntropy(f32(backend, logits), i32(backend, targets), rows, cols, f32(backend, loss), f32(backend, lse));
      return [loss, lse];
    },
    [TRAINING_KERNELS.softmaxCrossEntropyGrad]: (args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const { logits, lse, targets } = args.inputs as { logits: TensorInfo; lse: TensorInfo; targets: TensorInfo };
      const { scale } = args.attrs as { scale: number };
      const [rows, cols] = crossEntropyShapes(TRAINING_KERNELS.softmaxCrossEntropyGrad, logits, targets);
      const dlogits = backend.makeOutput([rows, cols], 'float32'); // (N, V)
      addon.softmaxCrossEntropyGrad(f32(backend, logits), f32(backend, lse), i32(backend, targets), rows, cols, scale, f32(backend, dlogits));
      return dlogits;
    },
    [TRAINING_KERNELS.sumOfSquares]: (args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const xs = Object.values(args.inputs as Record<string, TensorInfo>);
      for (const x of xs) expectDtype(TRAINING_KERNELS.sumOfSquares, 'every input', x, 'float32');
      const out = backend.makeOutput([], 'float32');
      f32(backend, out)[0] = addon.sumOfSquares(xs.map((x) => f32(backend, x)));
      return out;
    },
    [TRAINING_KERNELS.adamW]: (args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const { param, grad, m, v } = args.inputs as { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo };
      const { beta1, beta2, epsilon, gradScale, lr, weightDecay, step } = args.attrs as Record<string, number>;
      for (const [name, t] of Object.entries({ param, grad, m, v })) {
        expectDtype(TRAINING_KERNELS.adamW, name, t, 'float32');
        if (!tf.util.arraysEqual(t.shape, param.shape)) throw new Error(`${TRAINING_KERNELS.adamW}: ${name} has shape [${t.shape}], the parameter [${param.shape}]`);
      }
      // A packed copy of the parameter would silently go stale.
      if (packedWeightOf(param.dataId)) throw new Error(`${TRAINING_KERNELS.adamW}: the parameter is packed for forward-only products (packWeights); dispose the packs before an optimizer step`);
      // In place where nothing else holds the memory (the optimizer's moments always; a parameter
      // unless some tensor shares it): no one can see the old values change, and a step does
      // not allocate and free 3 × the model's size on the heap. Otherwise into new memory.
      const outs = [param, m, v].map((t) => (backend.refCount(t.dataId) === 1 ? share(t, backend) : backend.makeOutput([...t.shape], 'float32')));
      // The scalars as the tf-ops update rounds them: each computed in float64, rounded once.
      const scalars = Float64Array.of(beta1, beta2, (1 - beta1) * gradScale, (1 - beta2) * gradScale * gradScale, 1 / (1 - beta2 ** step), epsilon, 1 - lr * weightDecay, lr / (1 - beta1 ** step));
      addon.adamwUpdate(f32(backend, param), f32(backend, grad), f32(backend, m), f32(backend, v), ...(outs.map((o) => f32(backend, o)) as [Float32Array, Float32Array, Float32Array]), scalars);
      return outs;
    },
  };
}
