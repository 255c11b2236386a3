/**
 * The parts a message is made of: one model for every kind of content, shared
 * by the Worker, the chat Durable Object and (by type) the browser client.
 * Gemini's `Content.parts` map onto them in the adapter; each protocol's parts
 * (the AI SDK's `UIMessage.parts`, OpenAI's `reasoning_content`) map onto them
 * where that protocol is spoken; the chat store keeps them as one JSON column.
 */
import type { PartEvent, ToolCallEvent, ToolResultEvent, ToolRunner } from './events.js';

/** A run of the answer's text. */
export interface TextPart {
  type: 'text';
  text: string;
  /** Gemini's thought signature, when it came on this part: opaque, sent back exactly as received. */
  signature?: string;
}

/** A run of the model's thought summary (`thinking.show`): never part of the answer. */
export interface ThoughtPart {
  type: 'thought';
  text: string;
  /** As on {@link TextPart}. */
  signature?: string;
}

/**
 * A file the user sent (issue 20): a reference to the bytes, which live in
 * the Worker's object store (R2), never in the message. What Gemini receives
 * for it (the bytes inline, or a Files API URI) is decided per call.
 */
export interface FilePart {
  type: 'file';
  /** The file's id in its chat: `GET /api/chats/:id/files/:fileId`. */
  id: string;
  name: string;
  /** Decided from the bytes, never from the client's claim. */
  mediaType: string;
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  /** Gemini's token count for the file, estimated: what it weighs in the context budget. */
  tokens: number;
}

/**
 * A function call the model made (issue 22): `id` is the call's id as the Worker made it,
 * `args` its arguments, `signature` Gemini's thought signature when it came on this call — sent
 * back on the call, exactly, or Gemini 3 refuses the next request.
 */
export interface ToolCallPart {
  type: 'tool-call';
  id: string;
  name: string;
  args: Record<string, unknown>;
  signature?: string;
  /** Who ran it, when not the Worker (see {@link ToolRunner}): `gemini`'s are sent back as Gemini's own parts, in the model's turn. */
  runsOn?: ToolRunner;
  /** Gemini's own id for the call (Gemini 3 sets one): sent back on the call and on its result's `functionResponse`. */
  geminiId?: string;
}

/**
 * What a function call returned, answering the {@link ToolCallPart} of the same `id` and `name`:
 * Gemini gets it as a `functionResponse` part.
 */
export interface ToolResultPart {
  type: 'tool-result';
  id: string;
  name: string;
  /** The result as JSON: Gemini reads it as `{ output: result }` (or `{ error }` with `isError`). */
  result: unknown;
  isError?: boolean;
  /** As on {@link ToolCallPart}. */
  runsOn?: ToolRunner;
  /** Gemini's thought signature, when it came on this result (a built-in tool's): sent back exactly. */
  signature?: string;
}

/** The longest error a page may report for one of its calls (`POST /api/chats/:id/tool-results`): the client cuts to it. */
export const MAX_TOOL_ERROR_CHARS = 2000;

export type MessagePart = TextPart | ThoughtPart | FilePart | ToolCallPart | ToolResultPart;

/**
 * Collects a message's parts from its events, in order. Neighbouring pieces of
 * one kind join into one part, except where a signature is: Gemini asks that a
 * signed part be sent back as it came, never merged with another, so a signed
 * piece is a part of its own and the next piece starts a new one.
 */
export class PartsBuilder {
  readonly parts: Array<TextPart | ThoughtPart | ToolCallPart | ToolResultPart> = [];

  add(event: PartEvent): void {
    const last = this.parts.at(-1);
    if (last && last.type === event.type && last.signature === undefined && event.signature === undefined) {
      last.text += event.text;
      return;
    }
    const part: TextPart | ThoughtPart = { type: event.type, text: event.text };
    if (event.signature !== undefined) part.signature = event.signature;
    this.parts.push(part);
  }

  /** A function call the model made, its signature kept exactly as it came. */
  addCall(event: ToolCallEvent): void {
    const part: ToolCallPart = { type: 'tool-call', id: event.toolCallId, name: event.name, args: event.args };
    if (event.signature !== undefined) part.signature = event.signature;
    if (event.runsOn !== undefined) part.runsOn = event.runsOn;
    if (event.geminiId !== undefined) part.geminiId = event.geminiId;
    this.parts.push(part);
  }

  /** What a call returned (or why it failed). */
  addResult(event: ToolResultEvent): void {
    const part: ToolResultPart =
      event.error !== undefined
        ? { type: 'tool-result', id: event.toolCallId, name: event.name, result: event.error, isError: true }
        : { type: 'tool-result', id: event.toolCallId, name: event.name, result: event.result };
    if (event.runsOn !== undefined) part.runsOn = event.runsOn;
    if (event.signature !== undefined) part.signature = event.signature;
    this.parts.push(part);
  }

  /** The answer: the text parts' text. */
  get text(): string {
    return textOf(this.parts, 'text');
  }

  /** The thought summary: the thought parts' text. */
  get thoughts(): string {
    return textOf(this.parts, 'thought');
  }

  /**
   * Whether the parts say more than the answer's text does (a thought, a
   * signature, a tool step): only then are they worth storing beside it.
   */
  get meaningful(): boolean {
    return this.parts.some((p) => p.type !== 'text' || p.signature !== undefined);
  }
}

/** The text of the parts of one kind, joined. */
export function textOf(parts: readonly MessagePart[], type: 'text' | 'thought'): string {
  let text = '';
  for (const part of parts) if (part.type === type) text += part.text;
  return text;
}

/**
 * A message's tool steps as readers see them, in order: each call with its
 * result (or error) when one came — what the native `tool-call` and
 * `tool-result` frames carried, without the signatures (those are for Gemini).
 */
export function toolStepsOf(parts: readonly MessagePart[] | undefined): ToolStep[] {
  const steps: ToolStep[] = [];
  if (!parts) return steps;
  const byId = new Map<string, ToolStep>();
  for (const part of parts) {
    if (part.type === 'tool-call') {
      const step: ToolStep = { toolCallId: part.id, name: part.name, args: part.args as ToolStep['args'] };
      if (part.runsOn !== undefined) step.runsOn = part.runsOn;
      byId.set(part.id, step);
      steps.push(step);
    } else if (part.type === 'tool-result') {
      const step = byId.get(part.id);
      if (!step) continue;
      if (part.isError) step.error = String(part.result);
      else step.result = part.result ?? null;
    }
  }
  return steps;
}

/** One tool call of an answer and what it returned. */
export interface ToolStep {
  toolCallId: string;
  name: string;
  // JSON values, typed shallow: a recursive JSON type is too deep for Durable Object RPC's types.
  args: Record<string, {} | null>;
  /** Who ran it, when not the Worker (`page`; `gemini`: one of Gemini's built-in tools). */
  runsOn?: ToolRunner;
  /** What the tool returned (JSON); absent while it runs, or when it failed. */
  result?: {} | null;
  /** Why it failed (a timeout, a refused answer): what the model was told. */
  error?: string;
}

/** The file parts of a message. */
export function filesOf(parts: readonly MessagePart[] | undefined): FilePart[] {
  return parts ? parts.filter((p): p is FilePart => p.type === 'file') : [];
}
