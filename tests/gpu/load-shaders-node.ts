// Loads and preprocesses every shader outside Vite and prints the result as JSON. The shader
// loading test runs this file with tsx to check the Node file-system path of src/gpu/shaders.ts.

import { shaderLoader, shaderNames, shaderSource } from "../../src/gpu/shaders.js";

const lengths: Record<string, number> = {};
for (const name of shaderNames()) lengths[name] = shaderSource(name).length;
console.log(JSON.stringify({ loader: shaderLoader(), lengths }));
