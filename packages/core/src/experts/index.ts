/**
 * The built-in expert kinds, registered in this order (the order statistics list them in):
 * FFN, then the zero-computation experts of MoE++.
 */
import { registerExpertKind } from './expert-kind.ts';
import { ffnExpert } from './ffn.ts';
import { zeroExpert } from './zero.ts';
import { copyExpert } from './copy.ts';
import { constantExpert } from './constant.ts';

for (const kind of [ffnExpert, zeroExpert, copyExpert, constantExpert]) registerExpertKind(kind);

export * from './expert-kind.ts';
export { ffnExpert, ffnForward, ffnForwardParts, ffnBackward, type FfnParams, type FfnActivations, type FfnGradients } from './ffn.ts';
export { zeroExpert, zeroExpertForward } from './zero.ts';
export { copyExpert, copyExpertForward } from './copy.ts';
export { constantExpert, constantExpertForward, type ConstantExpertParams } from './constant.ts';
