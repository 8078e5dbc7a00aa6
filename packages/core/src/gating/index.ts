/** The built-in gating modes, registered in this order. */
import { registerGatingMode } from './gating-mode.ts';
import { referenceGating } from './reference.ts';
import { paperGating } from './paper.ts';
import { mixtralGating } from './mixtral.ts';

for (const mode of [referenceGating, paperGating, mixtralGating]) registerGatingMode(mode);

export * from './gating-mode.ts';
export { topKIndices, selectTopK, selectionFromTopK, referenceTopK } from './top-k.ts';
export { referenceGating, referenceSoftmax } from './reference.ts';
export { paperGating } from './paper.ts';
export { mixtralGating } from './mixtral.ts';
