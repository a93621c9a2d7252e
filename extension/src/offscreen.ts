// Entry of the offscreen document: the page that keeps the model loaded while the popup is
// closed. The background service worker creates it (a service worker cannot start a Worker) and
// forwards evaluation requests to it. An offscreen document may use only chrome.runtime among the
// extension APIs, so every request carries what it needs from chrome.storage.

import { AdapterCache } from "../../src/adapters/cache.js";
import { JudgeHost } from "./judge-host.js";
import { isRequestFor, type EvaluationReply, type HostStatus, type RegistrationReply } from "./messages.js";

/** Path of the bundled model inside the extension; the extension build writes it there. */
const MODEL_PATH = "models/demo.gguf";
/** Max bytes of adapter data kept in IndexedDB; least recently used adapters are evicted first. */
const ADAPTER_CACHE_BYTES = 512 * 1024 * 1024;
/** Milliseconds an adapter download may take before the metric fails with DownloadTimeoutError. */
const ADAPTER_DOWNLOAD_TIMEOUT_MS = 60_000;

const host = JudgeHost.start({
  modelUrl: chrome.runtime.getURL(MODEL_PATH),
  adapterCache: new AdapterCache({ budgetBytes: ADAPTER_CACHE_BYTES, databaseName: "tokenjudge-adapters" }),
  adapterDownloadTimeoutMs: ADAPTER_DOWNLOAD_TIMEOUT_MS,
  // A larger adapter would not fit the cache, so it would be downloaded again on every load.
  adapterDownloadMaxBytes: ADAPTER_CACHE_BYTES,
});

chrome.runtime.onMessage.addListener((message: unknown, _sender, sendResponse: (reply: HostStatus | RegistrationReply | EvaluationReply) => void) => {
  if (!isRequestFor(message, "offscreen")) return false;

  let reply: Promise<HostStatus | RegistrationReply | EvaluationReply>;
  if (message.type === "status") reply = host.status();
  else if (message.type === "register") reply = host.register(message.customMetrics);
  else reply = host.evaluate(message.text, message.metrics, message.customMetrics);
  void reply.then(sendResponse);
  // Keeps the message channel open until sendResponse runs.
  return true;
});
