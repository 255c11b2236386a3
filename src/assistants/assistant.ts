import type { Source } from '../protocol/events';
import type { ThinkingSettings } from '../protocol/messages';

/** One page of an assistant's knowledge: what it says, and where it is (citations link there). */
export interface KnowledgePage {
  url: string;
  title: string;
  /** The page as Markdown. */
  text: string;
}

/**
 * A function the assistant's model may call (docs/assistants.md, "Tools"): run on the owner's
 * endpoint — the chat's Durable Object POSTs `{ name, arguments, chat, callId }` there, signed —
 * or, with `runs: 'page'`, by the page that holds the chat, which sends its result back.
 */
export type AssistantTool = {
  /** As Gemini takes function names (checked at build time). */
  name: string;
  description: string;
  /** The arguments' JSON Schema (an object schema); none: the function takes no arguments. */
  parameters?: Record<string, unknown>;
} & (
  | {
      /** https (http on this machine only when built with --allow-local-tools). */
      endpoint: string;
      runs?: undefined;
    }
  | { runs: 'page'; endpoint?: undefined }
);

/**
 * One of Gemini's built-in tools, which Gemini runs itself (docs/assistants.md, "Gemini's
 * built-in tools"), named as the request's `tools[]` field: Google Search grounding, URL
 * context, code execution.
 */
export type GeminiTool = 'googleSearch' | 'urlContext' | 'codeExecution';

/**
 * An assistant as `scripts/assistants.mjs` bundles it from `assistants/<name>/`
 * (formats: docs/assistants.md).
 */
export interface AssistantDefinition {
  name: string;
  /** Its instructions: the Markdown of `assistant.md` after the front matter. */
  instructions: string;
  /** The exact origins whose pages it serves. */
  origins: readonly string[];
  /** Its default model; else the deployment's GEMINI_MODEL. */
  model?: string;
  /** Other models a caller may pick. */
  models: readonly string[];
  thinking?: ThinkingSettings;
  greeting?: string;
  starters: readonly string[];
  /** Whether a caller's `system` is taken, after the instructions under a heading of its own. */
  allowSystem: boolean;
  /** The site's pages, numbered 1, 2, … in this order. */
  knowledge: readonly KnowledgePage[];
  /** Functions on the owner's endpoints; absent: none. */
  tools?: readonly AssistantTool[];
  /** Gemini's built-in tools it switches on; absent: none. */
  geminiTools?: readonly GeminiTool[];
}

/**
 * An assistant ready to answer: its definition, and what every call sends.
 * The built-in `default` has no instructions and takes any allowed model and
 * any `system`: the Worker as it is without assistants.
 */
export interface Assistant {
  name: string;
  /** The system instruction every call starts with (instructions, then the numbered pages); empty for `default`. */
  systemPrefix: string;
  allowSystem: boolean;
  /** Its default model; undefined: the deployment's GEMINI_MODEL. */
  model?: string;
  /** Other models a caller may pick with it. */
  models: readonly string[];
  thinking?: ThinkingSettings;
  greeting?: string;
  starters: readonly string[];
  origins: readonly string[];
  /** The pages citations point to: `[1]` is `pages[0]`. */
  pages: readonly Source[];
  /** Its tools (none for `default`). */
  tools: readonly AssistantTool[];
  /** Gemini's built-in tools it switches on (none for `default`). */
  geminiTools: readonly GeminiTool[];
}

/** The name of the assistant a deployment without assistants has, and any request no assistant claims. */
export const DEFAULT_ASSISTANT = 'default';
