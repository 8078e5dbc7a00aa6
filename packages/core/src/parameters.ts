/**
 * Named parameters. Every trainable tensor is a `tf.Variable` stored under a stable path such as
 * `layers.3.moe.experts.5.w_down`, so weights save to and load from `.safetensors` with no
 * mapping table, and so that initialisation can be seeded per name: the same seed gives the same
 * weights whatever the creation order or backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

export type Initializer =
  | { kind: 'normal'; std: number }
  | { kind: 'ones' }
  | { kind: 'zeros' };

export class ParameterStore {
  readonly variables = new Map<string, tf.Variable>();

  constructor(readonly seed: number) {}

  /** Creates (once) the variable `name` of `shape`, initialised deterministically from the seed. */
  create(name: string, shape: number[], init: Initializer): tf.Variable {
    if (this.variables.has(name)) throw new Error(`parameter '${name}' is created twice`);
    const values = initialValues(shape, init, `${this.seed}:${name}`);
    const initial = tf.tensor(values, shape, 'float32');
    const variable = tf.variable(initial, true, `${name}#${uniqueSuffix()}`);
    // The variable holds its own reference to the data; without this the initial tensor (and, after
    // dispose(), its data) would outlive the model.
    initial.dispose();
    this.variables.set(name, variable);
    return variable;
  }

  get(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`no parameter named '${name}'`);
    return v;
  }

  /** Parameter names in creation order (stable: it follows the model's structure). */
  names(): string[] {
    return [...this.variables.keys()];
  }

  /** Total number of scalars. */
  size(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

// tfjs variable names must be unique in the process; two models may hold the same paths.
let counter = 0;
function uniqueSuffix(): number {
  return counter++;
}

/** The values `init` gives a tensor of `shape`, drawn from the seed key (the same key, the same values). */
export function initialValues(shape: number[], init: Initializer, seedKey: string): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  if (init.kind === 'ones') values.fill(1);
  if (init.kind === 'normal' && init.std > 0) {
    const rng = seedrandom.alea(seedKey);
    // Box–Muller: two uniform draws give two independent standard normals.
    for (let i = 0; i < size; i += 2) {
      const u1 = rng() || Number.MIN_VALUE;
      const u2 = rng();
      const r = Math.sqrt(-2 * Math.log(u1)) * init.std;
      values[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < size) values[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
  }
  return values;
}
