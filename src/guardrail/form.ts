// Connects a guardrail to a plain chat form: the submit event is intercepted, the message is
// checked, and only an allowed (or confirmed) message reaches `onSend`.

import type { ChatGuardrail, GuardrailVerdict } from "./guardrail.js";

export interface AttachOptions {
  /** Sends the message; called for "allow", and for "warn" when `confirmWarning` resolves true. */
  onSend: (text: string, verdict: GuardrailVerdict) => void | Promise<void>;
  /** Decides whether a warned message is sent anyway; sends it when omitted. */
  confirmWarning?: (verdict: GuardrailVerdict) => boolean | Promise<boolean>;
  /** Called when a message is blocked (or a warning is declined); the text stays in the input. */
  onBlock?: (verdict: GuardrailVerdict) => void;
  /** Called with every verdict, after the action above. */
  onChecked?: (verdict: GuardrailVerdict) => void;
  /** Called when the check is aborted or `onSend` throws; the text stays in the input. Defaults to `reportError`. */
  onError?: (error: unknown) => void;
}

/**
 * Intercepts `form`'s submit events. While a check runs, the form has `aria-busy="true"` and its
 * submit buttons are disabled. The input is cleared after a message is sent, and gets
 * `aria-invalid="true"` while its text is blocked. Returns a function that detaches the listener.
 */
export function attachToForm(form: HTMLFormElement, input: HTMLInputElement | HTMLTextAreaElement, guardrail: ChatGuardrail, options: AttachOptions): () => void {
  let checking = false;

  const setBusy = (busy: boolean): void => {
    checking = busy;
    form.setAttribute("aria-busy", String(busy));
    for (const button of form.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button[type="submit"], button:not([type]), input[type="submit"]')) {
      button.disabled = busy;
    }
  };

  const onSubmit = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    const text = input.value;
    if (checking || text.trim() === "") return;

    setBusy(true);
    try {
      const verdict = await guardrail.checkUserMessage(text);
      let send = verdict.action === "allow";
      if (verdict.action === "warn") send = options.confirmWarning ? await options.confirmWarning(verdict) : true;

      if (send) {
        input.removeAttribute("aria-invalid");
        await options.onSend(text, verdict);
        input.value = "";
      } else {
        input.setAttribute("aria-invalid", "true");
        options.onBlock?.(verdict);
      }
      options.onChecked?.(verdict);
    } catch (error) {
      (options.onError ?? globalThis.reportError)(error);
    } finally {
      setBusy(false);
    }
  };

  const listener = (event: Event): void => void onSubmit(event as SubmitEvent);
  form.addEventListener("submit", listener);
  return () => form.removeEventListener("submit", listener);
}
