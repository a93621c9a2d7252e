// Public entry of tokenjudge: browser-safe modules only. Node-only helpers (file sources, the
// llama.cpp oracle, fixture generation) are imported from their own paths.

export * from "./errors.js";

export { GGUFFile } from "./gguf/reader.js";
export { writeGGUF, type GGUFWriteInput, type GGUFWriteTensor } from "./gguf/writer.js";
export { meta } from "./gguf/metadata.js";
export { GGMLType, GGUFValueType, SUPPORTED_TENSOR_TYPES, ggmlTypeName, type GGUFMetadataValue, type GGUFTensorInfo } from "./gguf/types.js";
export { dequantize, quantize } from "./gguf/quant.js";

export type { ByteSource } from "./io/source.js";
export { BlobSource } from "./io/blob.js";
export { HttpRangeSource } from "./io/http.js";
export { MemorySource } from "./io/memory.js";

export { Tokenizer, renderChatTemplate, type ChatMessage, type EncodePart } from "./tokenizer/index.js";
export { readModelConfig, type ModelConfig } from "./model/config.js";
export { ReferenceModel, KVCache, logSoftmax } from "./reference/index.js";

export { GPUContext } from "./gpu/context.js";
export { WebGPUUnavailableError } from "./gpu/device.js";
export { WebGPUModel, GPUKVCache } from "./gpu/model.js";
export { createRuntime } from "./runtime/runtime.js";
export type { LoadProgress } from "./runtime/progress.js";
export { createWorkerRuntime } from "./worker/client.js";

export * from "./metrics/index.js";
export * from "./adapters/index.js";
