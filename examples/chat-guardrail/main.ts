// The chat guardrail on a plain chat form. The engine loads the demo model into a worker judge, and every
// message passes `createChatGuardrail` before it joins the chat log.
//
// Query parameters: metric (default toxicity), threshold (default 0.5), action=block|warn
// (default block), backend=auto|webgpu|cpu (default auto).

import { createEngine, type BackendPreference } from "../../src/app/engine.js";
import { DEMO_PRESET } from "../../src/app/presets.js";
import { describeError } from "../../src/app/ui/dom.js";
import { attachToForm, createChatGuardrail, type GuardrailVerdict } from "../../src/guardrail/index.js";

const params = new URLSearchParams(location.search);
const metric = params.get("metric") ?? "toxicity";
const threshold = Number(params.get("threshold") ?? "0.5");
const action = params.get("action") === "warn" ? "warn" : "block";
const backendParam = params.get("backend");
const backend: BackendPreference = backendParam === "cpu" || backendParam === "webgpu" ? backendParam : "auto";

const form = document.getElementById("chat-form") as HTMLFormElement;
const input = document.getElementById("chat-text") as HTMLTextAreaElement;
const log = document.getElementById("chat-log")!;
const status = document.getElementById("guardrail-status")!;
const engineStatus = document.getElementById("engine-status")!;
document.getElementById("rules")!.textContent = `${action} a message when ${metric} has probability ≥ ${threshold}.`;

function describeVerdict(verdict: GuardrailVerdict): string {
  if (verdict.error) return `${verdict.action}: the check failed (${describeError(verdict.error)})`;
  const scores = verdict.results.map((result) => `${result.metric} ${result.score.toFixed(3)}`).join(", ");
  const hits = verdict.hits.map((hit) => `${hit.metric} ${hit.probability.toFixed(3)} ≥ ${hit.threshold}`).join(", ");
  return `${verdict.role} message: ${verdict.action}${hits ? ` (${hits})` : ""}; scores: ${scores}`;
}

function appendMessage(role: string, text: string, verdict: GuardrailVerdict): void {
  const item = document.createElement("li");
  item.dataset.role = role;
  item.dataset.action = verdict.action;
  if (verdict.action === "warn") item.classList.add("chat-warning");
  item.textContent = `${role}: ${text}`;
  log.append(item);
}

async function start(): Promise<void> {
  const engine = createEngine();
  const info = await engine.load({ kind: "url", url: new URL(`../../${DEMO_PRESET.url}`, location.href).href, name: "demo model" }, { backend });
  engineStatus.textContent = `Demo model loaded (backend: ${info.backend}).`;
  engineStatus.dataset.backend = info.backend;

  const guardrail = createChatGuardrail({
    engine,
    metrics: [{ id: metric, threshold, action }],
    onVerdict: (verdict) => {
      if (verdict.role !== "user") return;
      status.textContent = describeVerdict(verdict);
      status.dataset.action = verdict.action;
    },
  });

  attachToForm(form, input, guardrail, {
    async onSend(text, verdict) {
      appendMessage("user", text, verdict);
      // The example has no generator, so the "assistant" echoes the message; its reply is checked too.
      const reply = `You wrote ${text.length} characters.`;
      const replyVerdict = await guardrail.checkAssistantReply(reply, { userMessage: text });
      if (replyVerdict.action !== "block") appendMessage("assistant", reply, replyVerdict);
    },
    confirmWarning: (verdict) => window.confirm(`${describeVerdict(verdict)}\n\nSend anyway?`),
    onBlock: (verdict) => {
      status.textContent = `Not sent. ${describeVerdict(verdict)}`;
    },
  });
  form.querySelector("button")!.disabled = false;
  document.body.dataset.state = "ready";
}

start().catch((error: unknown) => {
  engineStatus.textContent = `The guardrail could not start: ${describeError(error)}`;
  document.body.dataset.state = "failed";
});
