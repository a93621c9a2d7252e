// Web Worker entry of the judge: runs a Judge off the main thread and exposes it through comlink.
// Start it with `createWorkerJudge()` from ./judge-client.ts.

import * as Comlink from "comlink";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import { createJudgeWorkerApi } from "./judge-worker-api.js";

installErrorTransfer();
Comlink.expose(createJudgeWorkerApi());
