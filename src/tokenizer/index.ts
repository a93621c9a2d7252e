export { Tokenizer, type EncodePart, type GGUFMetadataSource } from "./tokenizer.js";
export { renderChatTemplate, type ChatMessage, type ChatTemplateLimits, type ChatTemplateOptions } from "./chat-template.js";
export { tokenizerMetadataFromHF, type HFConversionOptions, type HFTokenizerConfig, type HFTokenizerJson } from "./hf-to-gguf.js";
export { TokenType, PRE_TOKENIZER_NAMES, type PreTokenizerKind, type VocabKind } from "./vocab.js";
export { preTokenize } from "./pretokenizers.js";
