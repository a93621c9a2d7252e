#!/usr/bin/env node
// Command-line entry. The sources are TypeScript run through tsx, so no build step is needed.
import { register } from "tsx/esm/api";

register();

// A reader that closes early, as in `tokenjudge logits ... | head`, is not an error.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
