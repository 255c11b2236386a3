import { toBase64url } from './base64url.js';

/**
 * The id of a function call on the OpenAI API, carrying Gemini's thought signature.
 *
 * Gemini 3 refuses (400) a history whose function call lost its signature, and an OpenAI client
 * keeps no such thing: it keeps the call's `id`, and sends it back unchanged on the assistant
 * message's `tool_calls` and on each `tool` message's `tool_call_id` (the `openai` client stores
 * what it was given). So the signature rides in the id:
 *
 * ```
 * call_3pY0QmZ9c1rT8xWq                     a call without a signature
 * call_3pY0QmZ9c1rT8xWq_s_ZmFrZS1nZW1pbmk…  a signed call: `_s_`, then the signature in base64url
 * ```
 *
 * Only `A–Z a–z 0–9 _ -`, so ids survive frameworks that sanitise them (Anthropic's tool ids
 * allow no more); the random part has a fixed length, so the split is unambiguous. Gemini sends
 * the signature in standard base64 with padding (proto3 JSON's `bytes` encoding); base64url
 * without padding is the same bytes, 25% longer than the signature's raw bytes, and an id is as
 * long as its signature (the Worker is stateless on `/v1`, so there is nowhere else to keep it).
 * Gemini signs only the first call of a step, so parallel calls after it have short ids.
 */

const SIGNED = /^(call_[A-Za-z0-9_-]{16})_s_([A-Za-z0-9_-]+)$/;

/** A new call's id: `call_` and 96 random bits in base64url, the 16 characters {@link SIGNED} expects; as unguessable as OpenAI's own call ids, and as short. */
export function newCallId(): string {
  return `call_${toBase64url(crypto.getRandomValues(new Uint8Array(12)))}`;
}

/** The id a client sees for a call: `toolCallId`, and the signature when there is one. */
export function wireToolCallId(toolCallId: string, signature?: string): string {
  if (!signature) return toolCallId;
  return `${toolCallId}_s_${signature.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
}

/**
 * The signature an id carries, in standard base64 as Gemini sent it; undefined for an id that
 * carries none (a call made without one, an id some other API made, or one cut short so that its
 * signature is no longer base64).
 */
export function signatureOf(wireId: string): string | undefined {
  const match = SIGNED.exec(wireId);
  if (!match) return undefined;
  const base64 = match[2]!.replaceAll('-', '+').replaceAll('_', '/');
  // One character past a whole group is no byte at all: Gemini would refuse the history (400).
  if (base64.length % 4 === 1) return undefined;
  return base64 + '='.repeat((4 - (base64.length % 4)) % 4);
}

/**
 * What a step's first call is sent with when its id carries no signature (a history another
 * model or API wrote, or a client that rewrote the id): the value Gemini documents for a call it
 * should not check ("skip_thought_signature_validator", GEMINI-API-2026 §3). Gemini 3 refuses such
 * a call without any signature (400); with this one it answers, without the lost reasoning.
 */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';
