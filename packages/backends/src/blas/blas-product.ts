/**
 * The product both BLAS kernels compute: `cblas_sgemm` per batch entry on zero-copy views of the
 * wasm heap, transposes passed to BLAS as flags (no transposed copies), batch broadcasting in
 * either operand or both (`(2,1,m,k)·(1,3,k,n)` gives all 6 products, which tfjs 4.22's own
 * kernels do not). A right operand packed by `packWeights` goes to the packed kernel instead.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../heap-io.ts';
import { broadcastBatchIndex, matMulShapes, size, type TensorInfo } from '../wasm/kernels/kernel-utils.ts';
import type { BlasAddon } from './addon.ts';
import { usablePack } from './packed-weights.ts';

/** `op(a)·op(b)` as a new float32 tensor on the wasm heap; tfjs's shape checks and errors. */
export function blasProduct(addon: BlasAddon, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, backend: BackendWasm): TensorInfo {
  const { outBatch, m, k, n } = matMulShapes(a, b, transposeA, transposeB);
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batch = size(outBatch);
  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  // A shared b under an untransposed a: the batch of a is just more rows, one GEMM in all.
  const fold = size(batchShapeB) === 1 && !transposeA;
  const packed = fold && !transposeB ? usablePack(addon, b.dataId, k, n) : undefined;
  const entries = fold ? 1 : batch;
  const aOffsets = new Int32Array(entries);
  const bOffsets = new Int32Array(entries);
  if (!fold) {
    for (let i = 0; i < batch; i++) {
      aOffsets[i] = broadcastBatchIndex(i, outBatch, batchShapeA) * m * k;
      bOffsets[i] = broadcastBatchIndex(i, outBatch, batchShapeB) * k * n;
    }
  }
  // Views only now: allocating the output may have grown (moved) the heap.
  const aView = heapView(backend, a) as Float32Array;
  const bView = heapView(backend, b) as Float32Array;
  const cView = heapView(backend, out) as Float32Array;
  if (packed) {
    addon.gemmPacked(aView, packed.panels, batch * m, n, k, cView);
    return out;
  }
  addon.sgemmBatch(transposeA, transposeB, fold ? batch * m : m, n, k, aView, aOffsets, bView, bOffsets, cView);
  return out;
}
