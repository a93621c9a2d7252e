// The function the extension injects into a tab with chrome.scripting.executeScript to read its
// text. Chrome serializes it to source text and runs it in the page, so it may use nothing from
// outside its body. It must also define no inner functions, because the build's keepNames setting
// wraps each one in a helper function that the page lacks. pickTabText runs in the extension.

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

/**
 * Picks the text to check from the injection results of every frame: the main frame's (frame 0)
 * selection when it has one, else the first non-empty selection of another frame. The title and
 * URL always come from the main frame when it returned a result.
 */
export function pickTabText(frames: { frameId: number; text: TabText | undefined }[]): TabText {
  const results = frames.filter((frame): frame is { frameId: number; text: TabText } => frame.text !== undefined);
  const main = results.find((frame) => frame.frameId === 0)?.text ?? results[0]?.text ?? { text: "", title: "", url: "" };
  if (main.text.trim() !== "") return main;

  const framed = results.find((frame) => frame.text.text.trim() !== "");
  return framed === undefined ? main : { ...main, text: framed.text.text };
}
