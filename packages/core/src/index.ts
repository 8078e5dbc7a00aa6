/**
 * @moepp/core — the MoE++ model on TensorFlow.js. Public API; see the README's "Core API".
 */
export * from './config.ts';
export * from './experts/index.ts';
export * from './gating/index.ts';
export { trainingContext, evaluationContext, type ForwardContext } from './forward-context.ts';
export { route, type RouterParams, type RouterDecision } from './router.ts';
export { planDispatch, heterogeneousCapacity, keptWeights, gatherRows, scatterAddRows, takeRows, type DispatchPlan, type RowMoves } from './dispatch.ts';
export * from './executors/index.ts';
export { MoeLayer, createMoeLayer, type MoeLayerSpec, type MoeLayerParams, type MoeLayerOutput, type RouterOutput, type CreateParameter } from './moe-layer.ts';
export { sequenceBalanceLoss } from './sequence-balance-loss.ts';
export { heterogeneousBalanceLoss, balancedLossValue, balanceWeights, expertTokenFractions, routerZLoss } from './losses.ts';
export { computeRoutingStats, type LayerRoutingStats } from './routing-stats.ts';
export * from './routing-measures.ts';
export { applyGranularity } from './fine-grained.ts';
export { upcycleFromDense, UpcycleError, type UpcycleReport } from './upcycle.ts';
export { sharedExpertsForward, sharedExpertsParameterCount, sharedExpertsFlopsPerToken, type SharedExpertsSpec, type SharedExpertsParams } from './shared-experts.ts';
export { ParameterStore, type Initializer } from './parameters.ts';
export { crossEntropy } from './cross-entropy.ts';
export { MoeppLM, type LMOutput, type LossAndGradients, type ModelOptions, type ForwardOptions } from './model.ts';
export { countParameters, forwardFlopsPerToken, balancedFfnExpertsPerToken, type ParameterCounts } from './counting.ts';
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type NamedArray, type SafetensorsContents } from './safetensors.ts';
export { saveModelWeights, loadModelWeights, readWeightsConfig, WEIGHTS_FORMAT } from './model-weights.ts';
