// Loading a metric's adapter from its definition: a local file or folder (Node) or a URL, checked
// against the definition's SHA-256 before it is parsed.

import { IOError, throwIfAborted } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { MemorySource } from "../io/memory.js";
import type { MetricAdapter } from "../metrics/definition.js";
import { downloadBounded } from "./download.js";
import { readGGUFLoraAdapter } from "./gguf-lora.js";
import type { LoraAdapter } from "./lora.js";
import { readPeftAdapter } from "./peft.js";
import { verifySha256 } from "./sha256.js";

/** Returns verified bytes for a URL, from storage or by calling `download`; see `AdapterCache` in ./cache.js. */
export interface AdapterByteStore {
  load(url: string, sha256: string, download: () => Promise<Uint8Array>, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface AdapterLoadOptions {
  /** The fetch implementation for url adapters; the global `fetch` when omitted. */
  fetch?: typeof fetch;
  /** Stores verified downloads so later loads skip the network. */
  cache?: AdapterByteStore;
  signal?: AbortSignal;
  /** Milliseconds one url download may take, DEFAULT_ADAPTER_DOWNLOAD_TIMEOUT_MS when omitted. */
  downloadTimeoutMs?: number;
  /** Max bytes of one downloaded file, DEFAULT_ADAPTER_DOWNLOAD_MAX_BYTES when omitted. */
  downloadMaxBytes?: number;
}

export const DEFAULT_ADAPTER_DOWNLOAD_TIMEOUT_MS = 60_000;
// NOTE: 1 GiB is a guess that fits LoRA adapters of models up to a few billion parameters, so
// larger adapters need downloadMaxBytes raised.
export const DEFAULT_ADAPTER_DOWNLOAD_MAX_BYTES = 1024 * 1024 * 1024;

export const PEFT_CONFIG_FILE = "adapter_config.json";
export const PEFT_WEIGHTS_FILE = "adapter_model.safetensors";

/**
 * Loads the adapter a metric definition names. The SHA-256 covers the GGUF file, or for PEFT the
 * adapter_model.safetensors file.
 * Throws `IntegrityError` on a digest mismatch, `IOError` when reading fails (its subclasses
 * `DownloadTimeoutError` and `DownloadTooLargeError` when a download exceeds its limits), and the
 * format errors of the readers.
 */
export async function loadMetricAdapter(definition: MetricAdapter, options: AdapterLoadOptions = {}): Promise<LoraAdapter> {
  const location = definition.file ?? definition.url!;
  // Remote weights are verified (and cached) by readRemote, local ones right after reading.
  const read = (path: string, verify: boolean): Promise<Uint8Array> =>
    definition.file !== undefined ? readLocal(path) : readRemote(path, verify ? definition.sha256 : undefined, options);
  const weightsPath = definition.format === "peft" ? joinPath(location, PEFT_WEIGHTS_FILE) : location;

  const weights = await read(weightsPath, true);
  if (definition.file !== undefined) await verifySha256(weights, definition.sha256, weightsPath);
  throwIfAborted(options.signal);

  if (definition.format === "gguf") {
    const file = await GGUFFile.open(new MemorySource(location, weights), { signal: options.signal });
    return readGGUFLoraAdapter(file, { scale: definition.scale, signal: options.signal });
  }
  // NOTE: the digest does not cover adapter_config.json, so a changed lora_alpha or r goes
  // unnoticed, and a url config is downloaded on every load without the cache.
  const config = new TextDecoder().decode(await read(joinPath(location, PEFT_CONFIG_FILE), false));
  return readPeftAdapter(config, weights, location, { scale: definition.scale });
}

async function readLocal(path: string): Promise<Uint8Array> {
  const { readFile } = await import("node:fs/promises");
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new IOError(`${path}: failed to read the adapter: ${(cause as Error).message}; check the metric's adapter.file path`, { cause });
  }
}

/**
 * Downloads `url` within the time and size limits; with `sha256` the bytes go through the cache,
 * which verifies them.
 */
async function readRemote(url: string, sha256: string | undefined, options: AdapterLoadOptions): Promise<Uint8Array> {
  const download = (): Promise<Uint8Array> =>
    downloadBounded(url, {
      fetch: options.fetch,
      signal: options.signal,
      timeoutMs: options.downloadTimeoutMs ?? DEFAULT_ADAPTER_DOWNLOAD_TIMEOUT_MS,
      maxBytes: options.downloadMaxBytes ?? DEFAULT_ADAPTER_DOWNLOAD_MAX_BYTES,
      fileLabel: "the adapter",
      hint: "check the metric's adapter.url",
    });

  if (sha256 === undefined) return download();
  if (options.cache !== undefined) return options.cache.load(url, sha256, download, options.signal);
  const bytes = await download();
  await verifySha256(bytes, sha256, url);
  return bytes;
}

function joinPath(base: string, file: string): string {
  return base.endsWith("/") ? `${base}${file}` : `${base}/${file}`;
}
