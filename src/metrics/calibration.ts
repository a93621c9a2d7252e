// Calibration and the decision rule: class logits -> probabilities over the labels -> verdict.

import type { MetricCalibration, MetricDecision } from "./definition.js";

export interface Decision {
  /** Probability of each label, summing to 1. */
  probabilities: Record<string, number>;
  /** The label with the highest probability. */
  label: string;
  /** Probability of the positive label under the threshold rule, of `label` under argmax. */
  score: number;
  /** The label the decision rule picks; differs from `label` only under a threshold other than 0.5. */
  verdict: string;
}

/**
 * Applies the calibration ((logit + bias) / temperature), then a softmax over the class logits only
 * (float64, max subtracted first). Returns one probability per label, in `labels` order.
 */
export function calibratedProbabilities(logits: ArrayLike<number>, labels: string[], calibration: MetricCalibration = {}): number[] {
  const temperature = calibration.temperature ?? 1;
  const scaled = labels.map((label, i) => (logits[i]! + (calibration.bias?.[label] ?? 0)) / temperature);

  const max = Math.max(...scaled);
  const exponentials = scaled.map((value) => Math.exp(value - max));
  const sum = exponentials.reduce((total, value) => total + value, 0);
  return exponentials.map((value) => value / sum);
}

/** Picks the label and verdict from per-label probabilities (in `labels` order). */
export function decide(probabilities: number[], labels: string[], decision: MetricDecision): Decision {
  const byLabel: Record<string, number> = {};
  labels.forEach((label, i) => (byLabel[label] = probabilities[i]!));

  let best = 0;
  probabilities.forEach((probability, i) => {
    if (probability > probabilities[best]!) best = i;
  });
  const label = labels[best]!;

  if (decision.rule === "argmax") return { probabilities: byLabel, label, score: probabilities[best]!, verdict: label };

  const positiveScore = byLabel[decision.positive]!;
  if (positiveScore >= decision.threshold) return { probabilities: byLabel, label, score: positiveScore, verdict: decision.positive };

  // Below the threshold: the most probable of the other labels.
  let other = -1;
  labels.forEach((name, i) => {
    if (name !== decision.positive && (other < 0 || probabilities[i]! > probabilities[other]!)) other = i;
  });
  return { probabilities: byLabel, label, score: positiveScore, verdict: labels[other]! };
}
