// Messages between the extension's popup, its background service worker and its offscreen
// document, sent with chrome.runtime.sendMessage. Every message names its receiver in `target`,
// because a message sent from one extension page reaches every other one. Every value here is
// JSON-safe, since extension messaging serializes it as JSON.

import type { MetricDefinition, MetricResult } from "../../src/metrics/index.js";

/** The origin of the checked text: the tab's selection, or the whole page's visible text. */
export type TextSource = "selection" | "page";

/** The forward pass that evaluates metrics: the WebGPU kernels, or the float32 CPU reference. */
export type ExtensionBackend = "webgpu" | "cpu";

/** Built-in metrics ticked when the user has not chosen any: the ones that need only the checked text. */
export const DEFAULT_METRICS = ["toxicity", "prompt-injection", "pii"];

/** Max characters of page or selection text sent to the model; longer text is cut at the end. */
export const MAX_TEXT_CHARACTERS = 20_000;

/** Keys in chrome.storage. */
export const STORAGE_KEYS = {
  /** chrome.storage.session: the latest CheckReport, read by the popup when it opens. */
  lastReport: "lastReport",
  /** chrome.storage.local: ids of the metrics the user ticked in the popup. */
  selectedMetrics: "selectedMetrics",
  /** chrome.storage.local: custom metric definitions the user added in the popup. */
  customMetrics: "customMetrics",
} as const;

/** A caught error in JSON form: its class name, its tokenjudge error code when it has one, and its message. */
export interface ErrorReport {
  name: string;
  code?: string;
  message: string;
}

/** The model host's state, from the offscreen document. */
export interface HostStatus {
  state: "loading" | "ready" | "failed";
  /** Set once the model is loaded. */
  backend?: ExtensionBackend;
  /** Whether the offscreen document got a WebGPU adapter; undefined while the probe runs. */
  webgpu?: boolean;
  /** Reason WebGPU is not used, when the backend is "cpu". */
  fallbackReason?: string;
  /** Set when `state` is "failed". */
  error?: ErrorReport;
  /** Registered metric ids once the model is loaded. */
  metricIds?: string[];
}

/** The outcome of one check, shown in the popup and stored as the latest report. */
export interface CheckReport {
  source: TextSource;
  /** Title and URL of the checked tab, when the extension may read them. */
  title?: string;
  url?: string;
  /** Characters of text evaluated, after cutting to MAX_TEXT_CHARACTERS. */
  characters: number;
  /** True when the text was longer than MAX_TEXT_CHARACTERS and was cut. */
  cut: boolean;
  /** The first characters of the checked text, for the popup. */
  excerpt: string;
  /** ISO 8601 time the check finished. */
  checkedAt: string;
  backend?: ExtensionBackend;
  results?: MetricResult[];
  /** Metrics that failed while the others in `results` were evaluated. */
  failures?: MetricFailure[];
  error?: ErrorReport;
}

/** Requests the background service worker handles. */
export type BackgroundRequest =
  /** Starts the offscreen document if needed and returns its HostStatus once the model has loaded or failed. */
  | { target: "background"; type: "status" }
  /** Reads the text of tab `tabId` and evaluates it; returns a CheckReport. The context menu runs the same check. */
  | { target: "background"; type: "check-tab"; tabId: number; source: TextSource; metrics: string[] }
  /** Registers custom metrics on the loaded model, downloading their adapters now rather than during a check; returns a RegistrationReply. */
  | { target: "background"; type: "register-metrics"; customMetrics: MetricDefinition[] };

/** Requests the offscreen document handles. */
export type OffscreenRequest =
  /** Returns the HostStatus once the model has loaded or failed. */
  | { target: "offscreen"; type: "status" }
  /** Registers `customMetrics` (new or changed ones); returns a RegistrationReply. */
  | { target: "offscreen"; type: "register"; customMetrics: MetricDefinition[] }
  /** Registers `customMetrics` (new or changed ones), then evaluates `text`; returns an EvaluationReply. */
  | { target: "offscreen"; type: "evaluate"; text: string; metrics: string[]; customMetrics: MetricDefinition[] };

export type RegistrationReply = { ok: true; metricIds: string[] } | { ok: false; error: ErrorReport };

/** One metric that could not be evaluated while the others were. */
export interface MetricFailure {
  metric: string;
  error: ErrorReport;
}

/** `failures` lists the metrics that failed when at least one other metric has a result. */
export type EvaluationReply = { ok: true; backend: ExtensionBackend; results: MetricResult[]; failures?: MetricFailure[] } | { ok: false; error: ErrorReport };

/** Converts a caught value to an ErrorReport; tokenjudge errors keep their `code`. */
export function toErrorReport(error: unknown): ErrorReport {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? { name: error.name, code, message: error.message } : { name: error.name, message: error.message };
  }
  return { name: "Error", message: String(error) };
}

/** Formats an ErrorReport for the popup: "Name (CODE): message". */
export function describeErrorReport(error: ErrorReport): string {
  return `${error.name}${error.code ? ` (${error.code})` : ""}: ${error.message}`;
}

/**
 * The offscreen document that runs the model closed while a request was in flight, for example
 * because Chrome closed it or the extension reloaded. The next request starts a new document.
 */
export class ModelHostClosedError extends Error {
  readonly code = "MODEL_HOST_CLOSED";

  constructor(
    readonly request: string,
    options?: { cause?: unknown },
  ) {
    super(`the model's offscreen document closed before the "${request}" request finished; run the check again, which starts a new one`, options);
    this.name = "ModelHostClosedError";
  }
}

/** Returns true for Chrome's error when the receiver of a message closed before it replied. */
export function isChannelClosedError(error: unknown): boolean {
  return error instanceof Error && /message channel closed before a response was received|message port closed before a response was received/.test(error.message);
}

/** Returns true when `message` is a request for `target`. Other extension pages' messages are ignored. */
export function isRequestFor<T extends "background" | "offscreen">(message: unknown, target: T): message is Extract<BackgroundRequest | OffscreenRequest, { target: T }> {
  return typeof message === "object" && message !== null && (message as { target?: unknown }).target === target;
}

/**
 * Keeps the last MAX_TEXT_CHARACTERS of `text` and collapses runs of blank lines, which page text is
 * full of. The end is kept because the Judge, when content exceeds the context window, also drops
 * the start and keeps the end. Lone surrogates become U+FFFD, and the cut never splits a surrogate
 * pair, because evaluation rejects text that is not well-formed UTF-16. Returns the text to
 * evaluate and whether it was cut.
 */
export function prepareText(text: string): { text: string; cut: boolean } {
  const collapsed = replaceLoneSurrogates(text).replace(/\r\n?/g, "\n").replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
  if (collapsed.length <= MAX_TEXT_CHARACTERS) return { text: collapsed, cut: false };
  return { text: sliceLastCodePoints(collapsed, MAX_TEXT_CHARACTERS), cut: true };
}

/** Returns at most the last `length` UTF-16 code units of `text`, one fewer when the cut would split a surrogate pair. */
export function sliceLastCodePoints(text: string, length: number): string {
  let start = Math.max(0, text.length - length);
  if (start > 0 && isLowSurrogate(text.charCodeAt(start)) && isHighSurrogate(text.charCodeAt(start - 1))) start++;
  return text.slice(start);
}

/** Returns the first `length` characters of `text` on one line, with an ellipsis when cut. */
export function excerptOf(text: string, length = 160): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= length ? line : `${sliceCodePoints(line, length - 1)}…`;
}

/** Returns at most `length` UTF-16 code units of `text`, one fewer when the cut would split a surrogate pair. */
export function sliceCodePoints(text: string, length: number): string {
  const end = length > 0 && isHighSurrogate(text.charCodeAt(length - 1)) && isLowSurrogate(text.charCodeAt(length)) ? length - 1 : length;
  return text.slice(0, end);
}

function replaceLoneSurrogates(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
