// Public entry of the in-page chat guardrail.

export {
  createChatGuardrail,
  matchRules,
  type ChatGuardrail,
  type ChatGuardrailOptions,
  type GuardrailAction,
  type GuardrailEngine,
  type GuardrailHit,
  type GuardrailRule,
  type GuardrailVerdict,
} from "./guardrail.js";
export { attachToForm, type AttachOptions } from "./form.js";
