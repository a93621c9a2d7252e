// Public entry of the reference forward pass.

export { ReferenceModel, logSoftmax, type ForwardOptions, type ReferenceModelOptions } from "./model.js";
export { KVCache } from "./kv-cache.js";
export type { LayerMatrixName, LayerWeights, ReferenceWeights } from "./weights.js";
