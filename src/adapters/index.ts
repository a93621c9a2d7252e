// Public entry of LoRA adapters: readers, validation, the LoRA-aware forward pass and the cache.
// The cache imports idb-keyval and the fixture writers are for tests, so both stay separate
// imports ("./cache.js", "./fixtures.js").

export { LoraReferenceModel, type LoraForwardOptions } from "./forward.js";
export { ADAPTER_ALPHA_KEY, ADAPTER_TYPE_KEY, readGGUFLoraAdapter } from "./gguf-lora.js";
export { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, loadMetricAdapter, type AdapterByteStore, type AdapterLoadOptions } from "./load.js";
export { LORA_TARGETS, loraDelta, loraWeightName, parseLoraWeightName, type LoraAdapter, type LoraMatrix, type LoraTarget } from "./lora.js";
export { mergeLoraWeights } from "./merge.js";
export { HF_MODULE_TARGETS, parsePeftConfig, peftScale, readPeftAdapter, type PeftConfig } from "./peft.js";
export { MAX_HEADER_BYTES, parseSafetensors, writeSafetensors, type SafetensorsDType, type SafetensorsTensor, type SafetensorsWriteTensor } from "./safetensors.js";
export { sha256Hex, verifySha256 } from "./sha256.js";
export { checkFinite, targetShape, validateAdapterForModel } from "./validate.js";
