// Metric definitions: the versioned JSON document that describes one metric (prompt template,
// labels, calibration, decision rule, optional LoRA adapter) and its validation.

import { MetricDefinitionError } from "../errors.js";

/** Content fields a template may reference, written `{input}`, `{output}`, `{context}`, `{tools}`, `{tool_call}`. */
export const TEMPLATE_SLOTS = ["input", "output", "context", "tools", "tool_call"] as const;
export type TemplateSlot = (typeof TEMPLATE_SLOTS)[number];

export interface MetricTemplate {
  /** The content part: user turn text with slots. Metrics with the same content part share its prefill. */
  content: string;
  /** The metric's question, placed after the content in the same user turn. It contains no slots. */
  suffix: string;
  /**
   * Start of the answer, placed after the chat template's generation prompt (or after the
   * question on its own line without a chat template), e.g. "Answer:". The label token follows it.
   */
  answerPrefix?: string;
}

export interface MetricLabel {
  /** Name reported in `probabilities` and `label`, e.g. "toxic". */
  name: string;
  /** Text whose first token is this label's class token, e.g. " Yes". */
  text: string;
}

export interface MetricCalibration {
  /** Added to each label's logit before the softmax; labels not listed get 0. */
  bias?: Record<string, number>;
  /** Divides the biased logits; 1 leaves them unchanged. */
  temperature?: number;
}

export type MetricDecision =
  /** The verdict is `positive` when its probability is at least `threshold`, else the most probable other label. */
  | { rule: "threshold"; positive: string; threshold: number }
  /** The verdict is the most probable label. */
  | { rule: "argmax" };

export interface MetricAdapter {
  /** URL of the adapter (http, https or a path relative to the page). Set exactly one of url and file. */
  url?: string;
  /** Local path (Node) of the adapter: a GGUF file, or a PEFT folder with adapter_config.json and adapter_model.safetensors. */
  file?: string;
  /** Lowercase hex SHA-256 of the adapter bytes (the GGUF file, or adapter_model.safetensors for PEFT). */
  sha256: string;
  /** "activated": the adapter acts on the metric's suffix tokens only; "classic": on every token. */
  mode: "activated" | "classic";
  format: "peft" | "gguf";
  /** Multiplies the adapter's own alpha / rank scale; 1 when omitted. */
  scale?: number;
}

export interface MetricDefinition {
  /** Lowercase identifier: letters, digits, "-" and "_". */
  id: string;
  /** Semantic version string of this definition, e.g. "1.0.0". */
  version: string;
  description: string;
  template: MetricTemplate;
  labels: MetricLabel[];
  calibration?: MetricCalibration;
  decision: MetricDecision;
  adapter?: MetricAdapter;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const SLOT_PATTERN = /\{([a-z_]+)\}/g;

/** Returns the slots a template string references, in order of first use. */
export function templateSlots(text: string): TemplateSlot[] {
  const slots: TemplateSlot[] = [];
  for (const match of text.matchAll(SLOT_PATTERN)) {
    const slot = match[1] as TemplateSlot;
    if ((TEMPLATE_SLOTS as readonly string[]).includes(slot) && !slots.includes(slot)) slots.push(slot);
  }
  return slots;
}

/**
 * Checks that `value` is a well-formed metric definition and returns it typed. Throws
 * `MetricDefinitionError` naming the metric and the field on the first problem found.
 */
export function validateMetricDefinition(value: unknown): MetricDefinition {
  if (!isObject(value)) throw new MetricDefinitionError("<unknown>", "(root)", `expected an object, got ${describe(value)}`);

  const id = typeof value.id === "string" ? value.id : "<unknown>";
  const fail = (field: string, message: string): never => {
    throw new MetricDefinitionError(id, field, message);
  };

  if (typeof value.id !== "string" || !ID_PATTERN.test(value.id)) {
    fail("id", `${describe(value.id)} is invalid; use 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit`);
  }
  if (typeof value.version !== "string" || !VERSION_PATTERN.test(value.version)) {
    fail("version", `${describe(value.version)} is invalid; use a version string such as "1.0.0"`);
  }
  if (typeof value.description !== "string") fail("description", `expected a string, got ${describe(value.description)}`);

  validateTemplate(value.template, fail);
  const labels = validateLabels(value.labels, fail);
  validateCalibration(value.calibration, labels, fail);
  validateDecision(value.decision, labels, fail);
  if (value.adapter !== undefined) validateAdapter(value.adapter, fail);

  return value as unknown as MetricDefinition;
}

type Fail = (field: string, message: string) => never;

function validateTemplate(template: unknown, fail: Fail): void {
  if (!isObject(template)) fail("template", `expected an object with content and suffix, got ${describe(template)}`);
  const { content, suffix, answerPrefix } = template as Record<string, unknown>;

  if (typeof content !== "string") fail("template.content", `expected a string, got ${describe(content)}`);
  if (typeof suffix !== "string" || suffix.trim() === "") fail("template.suffix", `expected a non-empty question string, got ${describe(suffix)}`);
  if (answerPrefix !== undefined && typeof answerPrefix !== "string") fail("template.answerPrefix", `expected a string, got ${describe(answerPrefix)}`);

  for (const match of (content as string).matchAll(SLOT_PATTERN)) {
    if (!(TEMPLATE_SLOTS as readonly string[]).includes(match[1]!)) {
      fail("template.content", `unknown slot {${match[1]}}; known slots are ${TEMPLATE_SLOTS.map((slot) => `{${slot}}`).join(", ")}`);
    }
  }
  if (templateSlots(content as string).length === 0) fail("template.content", "references no slot; use at least one of {input}, {output}, {context}, {tools}, {tool_call}");

  // The suffix and answer prefix follow the shared content, so they must not depend on it.
  for (const [field, text] of [["template.suffix", suffix], ["template.answerPrefix", answerPrefix ?? ""]] as const) {
    const slots = templateSlots(text as string);
    if (slots.length > 0) fail(field, `contains slot {${slots[0]}}; slots belong in template.content only`);
  }
}

function validateLabels(labels: unknown, fail: Fail): string[] {
  if (!Array.isArray(labels) || labels.length < 2) fail("labels", `expected an array of at least 2 labels, got ${describe(labels)}`);
  const names: string[] = [];

  (labels as unknown[]).forEach((label, index) => {
    const field = `labels[${index}]`;
    if (!isObject(label)) fail(field, `expected { name, text }, got ${describe(label)}`);
    const { name, text } = label as Record<string, unknown>;
    if (typeof name !== "string" || name === "") fail(`${field}.name`, `expected a non-empty string, got ${describe(name)}`);
    if (typeof text !== "string" || text === "") fail(`${field}.text`, `expected a non-empty string, got ${describe(text)}`);
    if (names.includes(name as string)) fail(`${field}.name`, `"${name as string}" is used by another label; label names must be unique`);
    names.push(name as string);
  });
  return names;
}

function validateCalibration(calibration: unknown, labels: string[], fail: Fail): void {
  if (calibration === undefined) return;
  if (!isObject(calibration)) fail("calibration", `expected an object, got ${describe(calibration)}`);
  const { bias, temperature } = calibration as Record<string, unknown>;

  if (temperature !== undefined && !(typeof temperature === "number" && Number.isFinite(temperature) && temperature > 0)) {
    fail("calibration.temperature", `${describe(temperature)} is invalid; use a finite number greater than 0`);
  }
  if (bias === undefined) return;
  if (!isObject(bias)) fail("calibration.bias", `expected an object of label name to number, got ${describe(bias)}`);
  for (const [label, amount] of Object.entries(bias as Record<string, unknown>)) {
    if (!labels.includes(label)) fail(`calibration.bias.${label}`, `no label is named "${label}"; labels are ${labels.join(", ")}`);
    if (typeof amount !== "number" || !Number.isFinite(amount)) fail(`calibration.bias.${label}`, `${describe(amount)} is invalid; use a finite number`);
  }
}

function validateDecision(decision: unknown, labels: string[], fail: Fail): void {
  if (!isObject(decision)) fail("decision", `expected { rule: "threshold", positive, threshold } or { rule: "argmax" }, got ${describe(decision)}`);
  const { rule, positive, threshold } = decision as Record<string, unknown>;

  if (rule === "argmax") return;
  if (rule !== "threshold") fail("decision.rule", `${describe(rule)} is invalid; use "threshold" or "argmax"`);
  if (typeof positive !== "string" || !labels.includes(positive)) {
    fail("decision.positive", `${describe(positive)} names no label; labels are ${labels.join(", ")}`);
  }
  if (typeof threshold !== "number" || !(threshold >= 0 && threshold <= 1)) {
    fail("decision.threshold", `${describe(threshold)} is invalid; use a probability in [0, 1]`);
  }
}

function validateAdapter(adapter: unknown, fail: Fail): void {
  if (!isObject(adapter)) fail("adapter", `expected an object, got ${describe(adapter)}`);
  const { url, file, sha256, mode, format, scale } = adapter as Record<string, unknown>;

  const hasUrl = typeof url === "string" && url !== "";
  const hasFile = typeof file === "string" && file !== "";
  if (hasUrl === hasFile) fail("adapter", "set exactly one of url and file");
  if (url !== undefined && !hasUrl) fail("adapter.url", `expected a non-empty string, got ${describe(url)}`);
  if (file !== undefined && !hasFile) fail("adapter.file", `expected a non-empty string, got ${describe(file)}`);
  if (typeof sha256 !== "string" || !SHA256_PATTERN.test(sha256)) fail("adapter.sha256", `${describe(sha256)} is invalid; use 64 lowercase hex digits`);
  if (mode !== "activated" && mode !== "classic") fail("adapter.mode", `${describe(mode)} is invalid; use "activated" or "classic"`);
  if (format !== "peft" && format !== "gguf") fail("adapter.format", `${describe(format)} is invalid; use "peft" or "gguf"`);
  if (scale !== undefined && !(typeof scale === "number" && Number.isFinite(scale))) fail("adapter.scale", `${describe(scale)} is invalid; use a finite number`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  if (text.length > 60) return `${text.slice(0, 57)}...`;
  return text;
}
