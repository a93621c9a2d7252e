// Renders metric results: one card per metric with its verdict, a bar per label probability,
// latency and token count. Cards carry data attributes so tests can read the exact values.

import type { MetricResult } from "../../metrics/index.js";
import { element } from "./dom.js";

/** Replaces the contents of `container` with one card per result. */
export function renderResults(container: HTMLElement, results: MetricResult[], backend: string): void {
  container.replaceChildren(...results.map((result) => resultCard(result, backend)));
}

function resultCard(result: MetricResult, backend: string): HTMLElement {
  const card = element("article", {
    class: "result",
    "data-metric": result.metric,
    "data-verdict": result.verdict,
    "data-probabilities": JSON.stringify(result.probabilities),
    "aria-label": `${result.metric}: ${result.verdict}`,
  });

  const heading = element("h3", {}, `${result.metric} `);
  heading.append(element("span", { class: "verdict" }, result.verdict));
  card.append(heading);

  const bars = element("dl", { class: "bars" });
  for (const [label, probability] of Object.entries(result.probabilities)) {
    const percent = (probability * 100).toFixed(1);
    bars.append(element("dt", {}, label));
    const value = element("dd");
    const bar = element("span", {
      class: `bar${label === result.verdict ? " bar-verdict" : ""}`,
      role: "meter",
      "aria-valuemin": "0",
      "aria-valuemax": "1",
      "aria-valuenow": String(probability),
      "aria-label": `probability of ${label}`,
    });
    bar.style.setProperty("--fraction", String(probability));
    value.append(bar, element("span", { class: "bar-value" }, `${percent}%`));
    bars.append(value);
  }
  card.append(bars);

  const facts = [`${result.latencyMs.toFixed(1)} ms`, `${result.tokens} tokens`, `backend ${backend}`, `v${result.version}`];
  if (result.truncated) facts.push(`${result.truncated.droppedTokens} tokens dropped from the start to fit the context`);
  card.append(element("p", { class: "facts" }, facts.join(" · ")));
  return card;
}
