// The in-page chat guardrail: checks each user message (and optionally each assistant reply) with
// chosen metrics before it is sent or shown, and maps the metric probabilities to allow, warn or block.

import { InvalidInputError } from "../errors.js";
import type { EvaluationContent, MetricResult } from "../metrics/index.js";

/** The evaluator the guardrail calls. The demo's `Engine` and a CPU `Judge` both fit. */
export interface GuardrailEngine {
  evaluate(content: EvaluationContent, options?: { metrics?: string[]; signal?: AbortSignal }): Promise<MetricResult[]>;
}

export type GuardrailAction = "allow" | "warn" | "block";

export interface GuardrailRule {
  /** Id of a metric registered on the engine. */
  id: string;
  /** The rule fires when the flagged probability is at least this value, in [0, 1]. */
  threshold: number;
  action: "block" | "warn";
  /**
   * Label whose probability is compared with `threshold`. When omitted, the result's `score` is
   * used, which is the positive label's probability for a metric with the threshold decision rule.
   */
  label?: string;
}

export interface GuardrailHit {
  metric: string;
  action: "block" | "warn";
  /** The probability compared with the threshold. */
  probability: number;
  threshold: number;
}

export interface GuardrailVerdict {
  action: GuardrailAction;
  /** Role of the checked message. */
  role: "user" | "assistant";
  text: string;
  results: MetricResult[];
  /** Rules that fired, in rule order. */
  hits: GuardrailHit[];
  /** Set when evaluation failed; the action is then `failAction`. */
  error?: Error;
}

export interface ChatGuardrailOptions {
  engine: GuardrailEngine;
  metrics: GuardrailRule[];
  /** Called after every check with its verdict. */
  onVerdict?: (verdict: GuardrailVerdict) => void;
  /** Action when the engine throws: "block" (fail closed, the default) or "allow". */
  failAction?: "block" | "allow";
}

export interface ChatGuardrail {
  readonly rules: readonly GuardrailRule[];
  /** Checks a message before it is sent. The metrics read it from `{input}`. */
  checkUserMessage(text: string, options?: { signal?: AbortSignal }): Promise<GuardrailVerdict>;
  /**
   * Checks a reply before it is shown. The metrics read the reply from `{input}`, and the user
   * message it replies to (when given) from `{context}`.
   */
  checkAssistantReply(text: string, options?: { userMessage?: string; signal?: AbortSignal }): Promise<GuardrailVerdict>;
}

/** Creates a guardrail. Throws InvalidInputError for a rule with an invalid threshold or action, or with a duplicate id. */
export function createChatGuardrail(options: ChatGuardrailOptions): ChatGuardrail {
  const rules = validateRules(options.metrics);
  const failAction = options.failAction ?? "block";
  const metricIds = rules.map((rule) => rule.id);

  const check = async (role: "user" | "assistant", text: string, content: EvaluationContent, signal?: AbortSignal): Promise<GuardrailVerdict> => {
    let verdict: GuardrailVerdict;
    try {
      const results = await options.engine.evaluate(content, { metrics: metricIds, signal });
      const hits = matchRules(rules, results);
      verdict = { action: strongestAction(hits), role, text, results, hits };
    } catch (error) {
      if ((error as Error).name === "AbortError" || signal?.aborted) throw error;
      verdict = { action: failAction, role, text, results: [], hits: [], error: error as Error };
    }
    options.onVerdict?.(verdict);
    return verdict;
  };

  return {
    rules,
    checkUserMessage: (text, callOptions = {}) => check("user", text, { input: text }, callOptions.signal),
    checkAssistantReply(text, callOptions = {}) {
      const content: EvaluationContent = { input: text };
      if (callOptions.userMessage) content.context = callOptions.userMessage;
      return check("assistant", text, content, callOptions.signal);
    },
  };
}

/** Returns the rules that fire for `results`. Throws InvalidInputError when a rule's metric or label is missing from them. */
export function matchRules(rules: readonly GuardrailRule[], results: MetricResult[]): GuardrailHit[] {
  const hits: GuardrailHit[] = [];
  for (const rule of rules) {
    const result = results.find((candidate) => candidate.metric === rule.id);
    if (!result) throw new InvalidInputError(`guardrail: the engine returned no result for metric "${rule.id}"; register it on the engine`);

    const probability = rule.label === undefined ? result.score : result.probabilities[rule.label];
    if (probability === undefined) {
      throw new InvalidInputError(`guardrail: metric "${rule.id}" has no label "${rule.label}"; its labels are ${Object.keys(result.probabilities).join(", ")}`);
    }
    if (probability >= rule.threshold) hits.push({ metric: rule.id, action: rule.action, probability, threshold: rule.threshold });
  }
  return hits;
}

function strongestAction(hits: GuardrailHit[]): GuardrailAction {
  if (hits.some((hit) => hit.action === "block")) return "block";
  return hits.length > 0 ? "warn" : "allow";
}

function validateRules(rules: GuardrailRule[]): GuardrailRule[] {
  if (!Array.isArray(rules) || rules.length === 0) throw new InvalidInputError("createChatGuardrail: metrics is empty; pass at least one { id, threshold, action } rule");
  const seen = new Set<string>();
  for (const [index, rule] of rules.entries()) {
    if (typeof rule.id !== "string" || rule.id === "") throw new InvalidInputError(`createChatGuardrail: metrics[${index}].id is missing; use a registered metric id`);
    if (seen.has(rule.id)) throw new InvalidInputError(`createChatGuardrail: metric "${rule.id}" appears twice; give each metric one rule`);
    seen.add(rule.id);
    if (!(typeof rule.threshold === "number" && rule.threshold >= 0 && rule.threshold <= 1)) {
      throw new InvalidInputError(`createChatGuardrail: metrics[${index}].threshold is ${String(rule.threshold)}; use a probability in [0, 1]`);
    }
    if (rule.action !== "block" && rule.action !== "warn") {
      throw new InvalidInputError(`createChatGuardrail: metrics[${index}].action is ${JSON.stringify(rule.action)}; use "block" or "warn"`);
    }
  }
  return rules.map((rule) => ({ ...rule }));
}
