// Public entry of metrics: definitions, built-ins, prompt rendering, the pipeline and `Judge`.

export { BUILTIN_METRICS, HALLUCINATION, PII, PROMPT_INJECTION, TOOL_SELECTION, TOXICITY } from "./builtins.js";
export { calibratedProbabilities, decide, type Decision } from "./calibration.js";
export {
  TEMPLATE_SLOTS,
  templateSlots,
  validateMetricDefinition,
  type MetricAdapter,
  type MetricCalibration,
  type MetricDecision,
  type MetricDefinition,
  type MetricLabel,
  type MetricTemplate,
  type TemplateSlot,
} from "./definition.js";
export { Judge, type EvaluateOptions, type JudgeOptions } from "./judge.js";
export { resolveLabelTokens, type ResolvedLabels } from "./labels.js";
export { evaluateMetrics, type MetricResult, type PipelineOptions, type PreparedMetric } from "./pipeline.js";
export { buildPromptLayout, contentSlots, renderMetricPrompt, sharedPrefixLength, type EvaluationContent, type MetricPrompt, type PromptLayout } from "./prompt.js";
