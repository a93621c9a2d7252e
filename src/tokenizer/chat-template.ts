// Chat template rendering with @huggingface/jinja, the Jinja subset that Hugging Face chat
// templates (`tokenizer.chat_template`) are written in. A template comes from the model file, so
// it is untrusted: rendering runs under limits on steps, time and value size (`ChatTemplateLimits`).

import { Environment, Interpreter, Template } from "@huggingface/jinja";

import { TemplateError, TemplateLimitError } from "../errors.js";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Appends the header that opens the assistant's turn. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Further template variables, such as `enable_thinking` for Qwen3. */
  [variable: string]: unknown;
}

/** Bounds on one render. A render that exceeds one throws `TemplateLimitError`. */
export interface ChatTemplateLimits {
  /** Maximum evaluation steps: one per expression or statement and one per rendered block; default 1,000,000. */
  maxSteps?: number;
  /** Maximum wall-clock time of the render in milliseconds, checked every 1024 steps; default 2000. */
  maxMilliseconds?: number;
  /**
   * Maximum length of any one string (in UTF-16 code units) or list (in items) the template
   * builds, `range()` results included. Default: 1,000,000 plus 4 times the characters of all
   * message contents, so templates may repeat long messages a few times.
   */
  maxValueLength?: number;
}

const DEFAULT_MAX_STEPS = 1_000_000;
const DEFAULT_MAX_MILLISECONDS = 2000;
const DEFAULT_MAX_VALUE_LENGTH = 1_000_000;
const CONTENT_REPEATS_ALLOWED = 4;
const STEPS_PER_CLOCK_CHECK = 1024;

const parsedTemplates = new Map<string, Template>();

function parseTemplate(template: string): Template {
  let parsed = parsedTemplates.get(template);
  if (parsed !== undefined) return parsed;

  try {
    parsed = new Template(template);
  } catch (cause) {
    throw new TemplateError(`chat template failed to parse: ${(cause as Error).message}. Check the template text in tokenizer.chat_template.`, { cause });
  }
  parsedTemplates.set(template, parsed);
  return parsed;
}

type Statement = Parameters<Interpreter["evaluate"]>[0];
type RuntimeValue = ReturnType<Interpreter["evaluate"]>;

type RenderBlock = (statements: Statement[], environment: Environment) => string;

// `Interpreter.renderBlock` (private in the typings of @huggingface/jinja 0.5.13) renders text, if,
// for and set statements without calling `evaluate`, so a loop over plain text would go uncounted.
const baseRenderBlock = (Interpreter.prototype as unknown as { renderBlock?: RenderBlock }).renderBlock;

/**
 * An interpreter that counts evaluated nodes and rendered blocks, watches the clock and measures
 * every value it returns.
 */
class LimitedInterpreter extends Interpreter {
  private steps = 0;

  constructor(
    environment: Environment,
    private readonly limits: Required<ChatTemplateLimits>,
    private readonly deadline: number,
  ) {
    super(environment);
    if (typeof baseRenderBlock !== "function") {
      throw new TemplateError("@huggingface/jinja has no Interpreter.renderBlock, so chat templates cannot be rendered under limits; install the version in package.json");
    }
    // An own property, because TypeScript forbids overriding a private method in a subclass.
    (this as unknown as { renderBlock: RenderBlock }).renderBlock = (statements, blockEnvironment) => {
      this.countSteps(1 + statements.length);
      const text = baseRenderBlock.call(this, statements, blockEnvironment);
      checkValueLength(text, this.limits.maxValueLength);
      return text;
    };
  }

  override evaluate(statement: Statement, environment: Environment): RuntimeValue {
    this.countSteps(1);
    const result = super.evaluate(statement, environment);
    checkValueLength(result.value, this.limits.maxValueLength);
    return result;
  }

  private countSteps(count: number): void {
    const before = this.steps;
    this.steps += count;
    if (this.steps > this.limits.maxSteps) {
      throw new TemplateLimitError("maxSteps", this.limits.maxSteps, `chat template took more than ${this.limits.maxSteps} evaluation steps; the template loops too long, so check tokenizer.chat_template or raise maxSteps`);
    }
    const crossedCheck = Math.floor(this.steps / STEPS_PER_CLOCK_CHECK) !== Math.floor(before / STEPS_PER_CLOCK_CHECK);
    if (crossedCheck && performance.now() > this.deadline) {
      throw new TemplateLimitError(
        "maxMilliseconds",
        this.limits.maxMilliseconds,
        `chat template rendering took more than ${this.limits.maxMilliseconds} ms; the template loops too long, so check tokenizer.chat_template or raise maxMilliseconds`,
      );
    }
  }
}

function checkValueLength(value: unknown, maxValueLength: number): void {
  const length = typeof value === "string" || Array.isArray(value) ? value.length : 0;
  if (length > maxValueLength) {
    const kind = typeof value === "string" ? "string" : "list";
    throw new TemplateLimitError(
      "maxValueLength",
      maxValueLength,
      `chat template built a ${kind} of ${length} ${kind === "string" ? "characters" : "items"}, more than the maximum of ${maxValueLength}; check tokenizer.chat_template or raise maxValueLength`,
    );
  }
}

/** Returns `range(start, stop, step)` as Python builds it, after checking its length against the limit. */
function boundedRange(maxValueLength: number): (...args: unknown[]) => number[] {
  return (...args: unknown[]): number[] => {
    if (args.length < 1 || args.length > 3 || !args.every((arg) => typeof arg === "number" && Number.isInteger(arg))) {
      throw new Error(`range() takes one to three integers, got (${args.map((arg) => JSON.stringify(arg)).join(", ")})`);
    }
    const [start, stop, step] = args.length === 1 ? [0, args[0] as number, 1] : [args[0] as number, args[1] as number, (args[2] as number | undefined) ?? 1];
    if (step === 0) throw new Error("range() step must not be zero");

    const length = Math.max(0, Math.ceil((stop - start) / step));
    if (length > maxValueLength) {
      throw new TemplateLimitError(
        "maxValueLength",
        maxValueLength,
        `chat template called range() for ${length} items, more than the maximum of ${maxValueLength}; check tokenizer.chat_template or raise maxValueLength`,
      );
    }
    return Array.from({ length }, (_, i) => start + i * step);
  };
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/**
 * Formats the current local time with the strftime codes @huggingface/jinja 0.5.13 implements:
 * %Y %m %d %b %B %H %M %%. Other codes stay as written. Month names are English whatever the system
 * locale, where the library's own version follows the locale.
 */
function strftimeNow(format: unknown): string {
  const now = new Date();
  const twoDigits = (value: number): string => String(value).padStart(2, "0");
  const month = MONTHS[now.getMonth()]!;
  const codes: Record<string, string> = {
    "%Y": String(now.getFullYear()),
    "%m": twoDigits(now.getMonth() + 1),
    "%d": twoDigits(now.getDate()),
    "%b": month.slice(0, 3),
    "%B": month,
    "%H": twoDigits(now.getHours()),
    "%M": twoDigits(now.getMinutes()),
    "%%": "%",
  };
  return String(format).replace(/%./g, (code) => codes[code] ?? code);
}

/** Returns a global environment with the variables @huggingface/jinja's own `Template.render` defines, `range` bounded. */
function globalEnvironment(maxValueLength: number): Environment {
  const environment = new Environment();
  environment.set("false", false);
  environment.set("true", true);
  environment.set("none", null);
  environment.set("False", false);
  environment.set("True", true);
  environment.set("None", null);
  environment.set("raise_exception", (message: unknown) => {
    throw new Error(String(message));
  });
  environment.set("range", boundedRange(maxValueLength));
  environment.set("strftime_now", strftimeNow);
  return environment;
}

function resolveLimits(limits: ChatTemplateLimits, messages: ChatMessage[]): Required<ChatTemplateLimits> {
  const contentLength = messages.reduce((sum, message) => sum + (typeof message.content === "string" ? message.content.length : 0), 0);
  const resolved = {
    maxSteps: limits.maxSteps ?? DEFAULT_MAX_STEPS,
    maxMilliseconds: limits.maxMilliseconds ?? DEFAULT_MAX_MILLISECONDS,
    maxValueLength: limits.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH + CONTENT_REPEATS_ALLOWED * contentLength,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(value > 0)) throw new TemplateError(`chat template limit ${name} is ${value}; pass a positive number`);
  }
  return resolved;
}

/**
 * Renders `messages` with a Jinja chat template. The template receives the variables `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token`, and every extra option under its own name.
 * Throws `TemplateError` when the template fails to parse or render, and its subclass
 * `TemplateLimitError` when the render exceeds one of `limits`.
 * NOTE: one filter call such as `indent(width)`, `center(width)` or `replace` is not bounded before
 * it runs, so it can allocate a string up to V8's maximum length before `maxValueLength` rejects it.
 */
export function renderChatTemplate(template: string, messages: ChatMessage[], options: ChatTemplateOptions = {}, limits: ChatTemplateLimits = {}): string {
  const { addGenerationPrompt, bosToken, eosToken, ...extra } = options;
  const resolved = resolveLimits(limits, messages);
  const parsed = parseTemplate(template);

  const environment = globalEnvironment(resolved.maxValueLength);
  const variables: Record<string, unknown> = {
    ...extra,
    messages,
    add_generation_prompt: addGenerationPrompt ?? false,
    bos_token: bosToken ?? "",
    eos_token: eosToken ?? "",
  };

  try {
    for (const [name, value] of Object.entries(variables)) environment.set(name, value);
    const interpreter = new LimitedInterpreter(environment, resolved, performance.now() + resolved.maxMilliseconds);
    const result = interpreter.run(parsed.parsed);
    return String(result.value);
  } catch (cause) {
    if (cause instanceof TemplateLimitError) throw cause;
    throw new TemplateError(`chat template failed to render ${messages.length} message(s): ${(cause as Error).message}. Check the message roles and the variables the template expects.`, { cause });
  }
}
