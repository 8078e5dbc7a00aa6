/**
 * Mean next-token cross-entropy of the LM head's logits, as one op with a written-out backward.
 *
 * The vocabulary-wide softmax is the largest elementwise work of a training step. Written as
 * `logSoftmax` times a one-hot matrix and differentiated by tfjs, it makes about fifteen passes
 * over the (N, V) logits, six of them exponentials. Here the forward is one softmax (a single
 * vectorised kernel on wasm) plus two row maxima, and the backward reuses the softmax:
 * dlogits = (softmax − onehot) · dy / N (BENCHMARKS.md, "The whole training step"). Plain tf
 * ops inside, so it runs on every backend; where the backend registers the fused cross-entropy
 * kernels (`blas`: one native pass for the row maxima, one for the exponentials, one for the
 * gradient), those run instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasTrainingKernel, TRAINING_KERNELS, writeRows } from '@moepp/backends';
import { isRecordingGradients } from './tape.ts';

/**
 * Mean cross-entropy of logits (N, V) against targets (any shape holding N int32 ids).
 *
 * @example
 * const ce = crossEntropy(logits, targets); // scalar
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor): tf.Scalar {
  const [tokens, vocab] = logits.shape;
  if (targets.size !== tokens) throw new Error(`crossEntropy: ${targets.size} targets for ${tokens} rows of logits`);
  const ids = targets.dataSync(); // sync read: N ids, checked before they index the logits
  for (let n = 0; n < tokens; n++) {
    if (!(Number.isInteger(ids[n]) && ids[n] >= 0 && ids[n] < vocab)) throw new Error(`crossEntropy: target ${ids[n]} at row ${n} is outside the vocabulary [0, ${vocab})`);
  }
  const recording = isRecordingGradients();
  if (hasTrainingKernel(TRAINING_KERNELS.softmaxCrossEntropy) && hasTrainingKernel(TRAINING_KERNELS.softmaxCrossEntropyGrad)) return fusedCrossEntropy(logits, targets, recording);
  return tf.tidy(() => {
    const flat = tf.reshape(targets, [tokens]) as tf.Tensor1D; // (N)
    const rows = tf.range(0, tokens * vocab, vocab, 'int32'); // (N) n·V
    const picked = tf.add(rows, flat) as tf.Tensor1D; // (N) n·V + target[n]
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const l = args[0] as tf.Tensor2D;
      const save = args[1] as tf.GradSaveFunc;
      const p = tf.softmax(l); // (N, V)
      // log-sum-exp from the largest probability, which is ≥ 1/V and so never underflows:
      // lse = max l − log max p.
      const lse = tf.sub(tf.max(l, 1), tf.log(tf.max(p, 1))); // (N)
      const target = tf.gather(tf.reshape(l, [tokens * vocab]), picked); // (N) l[n, target[n]]
      save(recording ? [p] : []);
      return {
        value: tf.mean(tf.sub(lse, target)) as tf.Scalar,
        gradFunc: (dy: tf.Tensor, [pSaved]: tf.Tensor[]) => {
          const g = dy.dataSync()[0] / tokens; // dy / N; sync read of the scalar upstream gradient
          // g at each row's target, written on the host: a one-hot built by tf ops would be an int32
          // (N, V) tensor converted to float32 element by element (tfjs 4.22's wasm OneHot writes
          // integer bits into a float32 output when asked for one).
          const [targetMass] = writeRows([[tokens, vocab]], ([out]) => {
            for (let n = 0; n < tokens; n++) out[n * vocab + ids[n]] = g;
          }); // (N, V)
          return tf.sub(tf.mul(pSaved, g), targetMass);
        },
      };
    });
    return op(logits) as tf.Scalar;
  });
}

/** The same op through the backend's fused kernels (training-kernels.ts of @moepp/backends). */
function fusedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor, recording: boolean): tf.Scalar {
  const [tokens] = logits.shape;
  return tf.tidy(() => {
    const flat = tf.reshape(targets, [tokens]) as tf.Tensor1D; // (N)
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const l = args[0] as tf.Tensor2D;
      const save = args[1] as tf.GradSaveFunc;
      const [loss, lse] = tf.engine().runKernel(TRAINING_KERNELS.softmaxCrossEntropy, { logits: l, targets: flat }) as tf.Tensor[]; // (N), (N)
      save(recording ? [l, lse] : []);
      return {
        value: tf.mean(loss) as tf.Scalar,
        gradFunc: (dy: tf.Tensor, [lSaved, lseSaved]: tf.Tensor[]) => {
          const scale = dy.dataSync()[0] / tokens; // dy / N; sync read of the scalar upstream gradient
          return tf.engine().runKernel(TRAINING_KERNELS.softmaxCrossEntropyGrad, { logits: lSaved, lse: lseSaved, targets: flat }, { scale }) as tf.Tensor2D;
        },
      };
    });
    return op(logits) as tf.Scalar;
  });
}
