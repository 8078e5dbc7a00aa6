/** The expert executors by name. */
import type { ExecutorName, ExpertExecutor } from './executor.ts';
import { hostExecutor } from './host.ts';
import { tfOpsExecutor } from './tf-ops.ts';

export * from './executor.ts';
export { hostExecutor } from './host.ts';
export { tfOpsExecutor } from './tf-ops.ts';

const EXECUTORS: Record<ExecutorName, ExpertExecutor> = { host: hostExecutor, 'tf-ops': tfOpsExecutor };

/**
 * The executor called `name`.
 *
 * @example
 * expertExecutor('tf-ops').combine(x, plan, routingWeights, experts);
 */
export function expertExecutor(name: ExecutorName): ExpertExecutor {
  const executor = EXECUTORS[name];
  if (!executor) throw new Error(`unknown expert executor '${name}'; use one of ${Object.keys(EXECUTORS).join(', ')}`);
  return executor;
}
