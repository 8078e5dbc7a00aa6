/**
 * Test support: the backends every core test runs on. `wasm` runs single-threaded here (tests
 * check numbers, not speed) so results do not depend on the machine's core count.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export const TEST_BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

/** Switches tfjs to `name` and waits until it is ready. */
export async function useBackend(name: TestBackend): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}
