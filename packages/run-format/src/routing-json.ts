/**
 * `routing.json`: held-out routing statistics of a run's final model (`L` MoE layers, `E`
 * experts in each). Expert kinds are plain strings, the names of core's kind registry: a new kind
 * needs no change here.
 */
import { z } from 'zod';

/** Per-group FFN experts per token (a POS class, or a BPE piece position). */
export const groupRoutingSchema = z.object({
  tokens: z.number(),
  ffnExpertsPerToken: z.number(),
});
export type GroupRouting = z.infer<typeof groupRoutingSchema>;

export const layerRoutingSchema = z.object({
  /** Index among MoE layers. */
  layer: z.number().int().nonnegative(),
  /** Index of the decoder block holding it; readers fall back to `layer`. */
  block: z.number().int().nonnegative().optional(),
  /** Routing slots per expert after capacity (length E). */
  tokensPerExpert: z.array(z.number()),
  /** Mean FFN experts computed per token. */
  ffnExpertsPerToken: z.number(),
  /** Share of all N·K slots per expert kind, plus `dropped` for slots over capacity. */
  slotShare: z.record(z.string(), z.number()),
  droppedSlots: z.number().default(0),
  routerLogitMean: z.number(),
  routerLogitStd: z.number(),
  /** Variance of the routing probabilities over tokens and experts. */
  routingScoreVariance: z.number(),
  /** Balance loss over its value under perfect heterogeneous balance (1 = balanced). */
  balanceLossNormalised: z.number().optional(),
  // The measures of core's routing-measures.ts (absent in run folders written before them).
  /** max_e load_e / balanced target_e − 1 (the mean load for FFN experts only; 0 = balanced). */
  maxVio: z.number().optional(),
  /** Entropy of the slot shares over experts / log E (1 = uniform load). */
  loadEntropy: z.number().optional(),
  /** Mean over tokens of the entropy (nats) of the routing scores. */
  routingEntropy: z.number().optional(),
  /** Experts below `deadExpertThreshold` of their balanced share of the slots. */
  deadExperts: z.number().int().nonnegative().optional(),
  deadExpertThreshold: z.number().optional(),
  /** Slots dropped by capacity over all N·K slots. */
  dropRate: z.number().optional(),
});
export type LayerRouting = z.infer<typeof layerRoutingSchema>;

/** Expert pairs chosen by the same token in MoE layers `fromLayer` and `fromLayer + 1`. */
export const coActivationSchema = z.object({
  fromLayer: z.number().int().nonnegative(),
  /** (E_from × E_to) tokens that chose expert i in the first layer and j in the next (top-K choices). */
  counts: z.array(z.array(z.number().nonnegative())),
});
export type CoActivation = z.infer<typeof coActivationSchema>;

/**
 * Router saturation over training (OLMoE, for top-1): at each periodic evaluation, the share of
 * a fixed held-out slice's tokens whose top-1 expert equals the final model's, per MoE layer.
 */
export const routerSaturationSchema = z.object({
  /** Tokens in the slice (the periodic evaluation's windows). */
  tokens: z.number().int().positive(),
  steps: z.array(z.number().int().positive()),
  /** (steps × layers) top-1 agreement with the final model. */
  top1AgreementWithFinal: z.array(z.array(z.number().min(0).max(1))),
});
export type RouterSaturation = z.infer<typeof routerSaturationSchema>;

/**
 * Expert load over training: at each periodic evaluation, the routing slots per expert of every
 * MoE layer on the same held-out slice (the first `evalWindows` validation windows), so readers
 * can follow MaxVio and dead experts as the run trains.
 */
export const loadOverTrainingSchema = z.object({
  /** Tokens in the slice. */
  tokens: z.number().int().positive(),
  steps: z.array(z.number().int().positive()),
  /** (steps × layers × experts) routing slots. */
  tokensPerExpert: z.array(z.array(z.array(z.number().nonnegative()))),
});
export type LoadOverTraining = z.infer<typeof loadOverTrainingSchema>;

const kindList = z.array(z.string());
const KINDS_SHAPE = 'is neither a list of expert kinds nor one such list per layer';

export const routingFileSchema = z
  .object({
    formatVersion: z.literal(1),
    /**
     * One list for every layer, or one list per MoE layer (what the trainer writes, since the
     * experts may vary with depth).
     */
    expertKinds: z.union([kindList, z.array(kindList)], { error: KINDS_SHAPE }),
    layers: z.array(layerRoutingSchema),
    /** By POS class of the input token (mean over MoE layers). */
    byPos: z.record(z.string(), groupRoutingSchema).default({}),
    /** `initial` (first BPE piece of a word) and `fragment` (a later piece). */
    byPiece: z.record(z.string(), groupRoutingSchema).default({}),
    /** One entry per pair of adjacent MoE layers; absent in older run folders. */
    coActivation: z.array(coActivationSchema).optional(),
    /** Absent in older run folders, and when the run had no periodic evaluation. */
    routerSaturation: routerSaturationSchema.optional(),
    /** Absent in older run folders, and when the run had no periodic evaluation. */
    loadOverTraining: loadOverTrainingSchema.optional(),
  })
  .superRefine((file, ctx) => {
    const perLayer = isNested(file.expertKinds) ? file.expertKinds : null;
    if (perLayer && perLayer.length !== file.layers.length) {
      ctx.addIssue({ code: 'custom', path: ['expertKinds'], message: `${KINDS_SHAPE} (${file.layers.length} layers)` });
      return;
    }
    file.layers.forEach((layer, i) => {
      const kinds = perLayer ? perLayer[i] : (file.expertKinds as string[]);
      if (layer.tokensPerExpert.length !== kinds.length) {
        ctx.addIssue({ code: 'custom', path: ['layers', i, 'tokensPerExpert'], message: `is not ${kinds.length} numbers` });
      }
    });
    const history = file.loadOverTraining;
    if (history && history.steps.length !== history.tokensPerExpert.length) {
      ctx.addIssue({ code: 'custom', path: ['loadOverTraining', 'tokensPerExpert'], message: `has ${history.tokensPerExpert.length} entries for ${history.steps.length} steps` });
    }
    history?.tokensPerExpert.forEach((layers, s) => {
      if (layers.length !== file.layers.length || layers.some((loads, l) => loads.length !== file.layers[l].tokensPerExpert.length)) {
        ctx.addIssue({ code: 'custom', path: ['loadOverTraining', 'tokensPerExpert', s], message: `is not one load per expert of each of the ${file.layers.length} layers` });
      }
    });
  });
export type RoutingFile = z.infer<typeof routingFileSchema>;

function isNested(kinds: string[] | string[][]): kinds is string[][] {
  return kinds.length > 0 && Array.isArray(kinds[0]);
}

/**
 * The expert kinds of each layer, whichever of the two shapes the file uses.
 *
 * @example
 * expertKindsPerLayer({ expertKinds: ['ffn', 'ffn'], layers: [l0, l1] }); // [['ffn', 'ffn'], ['ffn', 'ffn']]
 */
export function expertKindsPerLayer(routing: Pick<RoutingFile, 'expertKinds' | 'layers'>): string[][] {
  return isNested(routing.expertKinds) ? routing.expertKinds : routing.layers.map(() => routing.expertKinds as string[]);
}
