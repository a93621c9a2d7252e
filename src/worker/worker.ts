// Web Worker entry: runs a TokenjudgeRuntime off the main thread and exposes it through comlink.
// Start it with `createWorkerRuntime()` from ./client.ts.

import * as Comlink from "comlink";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import { createRuntime } from "../runtime/runtime.js";
import { createWorkerApi } from "./worker-api.js";

installErrorTransfer();
Comlink.expose(createWorkerApi(createRuntime()));
