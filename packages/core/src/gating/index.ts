/** The built-in gating modes, registered in this order. */
import { registerGatingMode } from './gating-mode.ts';
import { referenceGating } from './reference.ts';
import { paperGating } from './paper.ts';
import { mixtralGating } from './mixtral.ts';
import { noisyTopKGating } from './noisy-top-k.ts';
import { sigmoidBiasGating } from './sigmoid-bias.ts';
import { hashGating } from './hash.ts';
import { gshardGating } from './gshard.ts';
import { expertChoiceGating } from './expert-choice.ts';

for (const mode of [referenceGating, paperGating, mixtralGating, noisyTopKGating, gshardGating, sigmoidBiasGating, hashGating, expertChoiceGating]) registerGatingMode(mode);

export * from './gating-mode.ts';
export { topKIndices, selectTopK, selectionFromTopK, referenceTopK } from './top-k.ts';
export { referenceGating, referenceSoftmax } from './reference.ts';
export { paperGating } from './paper.ts';
export { mixtralGating } from './mixtral.ts';
export { noisyTopKGating, standardNormals } from './noisy-top-k.ts';
export { sigmoidBiasGating } from './sigmoid-bias.ts';
export { hashGating, hashExperts } from './hash.ts';
export { gshardGating } from './gshard.ts';
export { renormalisedSelectedWeights, referenceRenormalisedWeights } from './selected-weights.ts';
export { expertChoiceGating, expertChoiceCapacity, referenceExpertChoice } from './expert-choice.ts';
