// `tokenjudge tokenize MODEL.gguf TEXT`: token ids as llama.cpp would produce them.

import { parseArgs } from "node:util";

import { UsageError } from "../errors.js";
import { Tokenizer } from "../tokenizer/index.js";
import { openModel } from "./open-model.js";

export async function runTokenize(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "parse-special": { type: "boolean", default: false },
      "no-bos": { type: "boolean", default: false },
      pieces: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const [model, text, extra] = positionals;
  if (text === undefined) throw new UsageError("tokenize", 'missing TEXT; usage: tokenjudge tokenize MODEL.gguf "text"');
  if (extra !== undefined) {
    throw new UsageError("tokenize", `unexpected argument "${extra}"; tokenize takes MODEL and one TEXT, so quote TEXT that contains spaces`);
  }

  const { file } = await openModel(model);
  const tokenizer = Tokenizer.fromGGUF(file);
  const ids = tokenizer.encode([{ text, special: values["parse-special"] }], { addSpecial: !values["no-bos"] });

  if (values.json) {
    const pieces = ids.map((id) => tokenizer.tokenToPiece(id));
    process.stdout.write(JSON.stringify({ ids, pieces }) + "\n");
  } else if (values.pieces) {
    for (const id of ids) process.stdout.write(`${String(id).padStart(7)}  ${JSON.stringify(tokenizer.tokenToPiece(id))}\n`);
  } else {
    process.stdout.write(ids.join(" ") + "\n");
  }
  return 0;
}
