// Web Worker entry of the demo engine: exposes `createEngineService()` through comlink. Start it
// with `createEngine()` from ./engine.ts.

import * as Comlink from "comlink";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import type { EngineProgress, EngineWorkerApi } from "./engine-protocol.js";
import { createEngineService } from "./engine-service.js";

type ProgressProxy = ((progress: EngineProgress) => unknown) & { [Comlink.releaseProxy]?: () => void };

installErrorTransfer();
const service = createEngineService();

const api: EngineWorkerApi = {
  ...service,
  // The progress callback is a comlink proxy with its own port, released once the load settles.
  load: (request, options, onProgress) => service.load(request, options, onProgress).finally(() => (onProgress as ProgressProxy | undefined)?.[Comlink.releaseProxy]?.()),
};
Comlink.expose(api);
