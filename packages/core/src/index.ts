/**
 * @moepp/core — the MoE++ model on TensorFlow.js. Public API; see the README's "Core API".
 */
export * from './config.js';
export * from './experts/expert-kinds.js';
export { ffnForward, type FfnParams } from './experts/ffn-expert.js';
export { constantExpertForward, type ConstantExpertParams } from './experts/constant-expert.js';
export { zeroExpertForward, copyExpertForward } from './experts/zero-computation-experts.js';
export { route, gateWeights, type RouterParams, type RouterSettings, type RouterOutput } from './router.js';
export { topKIndices, planDispatch, heterogeneousCapacity, type DispatchPlan } from './dispatch-plan.js';
export { moeLayerForward, combineExperts, type MoeLayerParams, type MoeLayerOutput } from './moe-layer.js';
export { heterogeneousBalanceLoss, balancedLossValue, balanceWeights, expertTokenFractions, routerZLoss } from './losses.js';
export { computeRoutingStats, type LayerRoutingStats } from './routing-stats.js';
export { gatherRows, scatterAddRows, setDispatchPath, type DispatchPath } from './row-permutation.js';
export { ParameterStore, type Initializer } from './parameters.js';
export { MoeppLM, crossEntropy, type LMOutput, type LossAndGradients } from './model.js';
export { countParameters, forwardFlopsPerToken, balancedFfnExpertsPerToken, type ParameterCounts } from './counting.js';
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type NamedArray, type SafetensorsContents } from './safetensors.js';
export { saveModelWeights, loadModelWeights, readWeightsConfig, WEIGHTS_FORMAT } from './model-weights.js';
