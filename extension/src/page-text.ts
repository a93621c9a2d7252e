// The function the extension injects into a tab with chrome.scripting.executeScript to read its
// text. Chrome serializes it to source text and runs it in the page, so it may use nothing from
// outside its body. It must also define no inner functions, because the build's keepNames setting
// wraps each one in a helper function that the page lacks.

import type { TextSource } from "./messages.js";

/** The text read from a tab. */
export interface TabText {
  text: string;
  title: string;
  url: string;
}

/** Returns the tab's selected text (including a selection inside a text field) or its visible page text. */
export function readTabText(source: TextSource): TabText {
  if (source === "page") return { text: document.body?.innerText ?? "", title: document.title, url: location.href };

  let text = window.getSelection()?.toString() ?? "";
  const active = document.activeElement;
  if (text === "" && (active instanceof HTMLTextAreaElement || active instanceof HTMLInputElement)) {
    text = active.value.slice(active.selectionStart ?? 0, active.selectionEnd ?? 0);
  }
  return { text, title: document.title, url: location.href };
}
