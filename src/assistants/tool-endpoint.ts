import type { ToolSettings } from '../config';
import { readUpTo } from '../limits/read-json-body';
import type { AssistantTool } from './assistant';

/** The header every call to a tool endpoint carries: `sha256=` and the HMAC-SHA256 of the body, hex. */
const SIGNATURE_HEADER = 'X-Gemini-Edge-Signature';

/** What a tool endpoint is POSTed (docs/assistants.md, "Tools"). */
interface ToolRequest {
  name: string;
  arguments: Record<string, unknown>;
  /** The chat's id prefix, as the logs show it: which conversation asks. */
  chat: string;
  /** The call's id, as the `tool-call` frame shows it: the same on a retry of nothing (each call is made once). */
  callId: string;
}

export type ToolOutcome = { result: unknown } | { error: string };

const encoder = new TextEncoder();

/**
 * Calls a tool on its owner's endpoint: `POST` of the JSON {@link ToolRequest}, signed with
 * TOOLS_SIGNING_SECRET, within TOOLS_TIMEOUT_MS (answer and body), redirects not followed, at most
 * TOOLS_MAX_RESPONSE_BYTES read. The endpoint's JSON body is the result. Never throws: whatever
 * goes wrong (no secret, no answer in time, a redirect, a non-2xx status, a body too large or not
 * JSON, the turn cancelled) is `{ error }`, which the model gets as the call's result.
 */
export async function callToolEndpoint(tool: AssistantTool & { endpoint: string }, request: ToolRequest, settings: ToolSettings, signal?: AbortSignal): Promise<ToolOutcome> {
  if (!settings.signingSecret) return { error: 'the tool is not available: the deployment has no TOOLS_SIGNING_SECRET to sign its calls with' };
  const body = JSON.stringify(request);
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const timedOut = () => ({ error: `the tool's endpoint did not answer within ${settings.timeoutMs} ms` });
  try {
    const response = await fetch(tool.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        [SIGNATURE_HEADER]: `sha256=${await hmacHex(settings.signingSecret, body)}`,
      },
      body,
      // A redirect could take the signed arguments anywhere (http included): none is followed.
      redirect: 'manual',
      signal: both,
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      return { error: `the tool's endpoint redirected (HTTP ${response.status}); redirects are not followed` };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return { error: `the tool's endpoint failed: HTTP ${response.status}` };
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > settings.maxResponseBytes) {
      await response.body?.cancel();
      return tooLarge(settings);
    }
    const bytes = await readCapped(response.body, settings.maxResponseBytes);
    if (!bytes) return tooLarge(settings);
    try {
      return { result: JSON.parse(new TextDecoder().decode(bytes)) as unknown };
    } catch {
      return { error: "the tool's endpoint answered with something that is not JSON" };
    }
  } catch (error) {
    if (timeout.aborted) return timedOut();
    if (signal?.aborted) return { error: 'the turn was cancelled before the tool answered' };
    return { error: `the tool's endpoint could not be reached: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function tooLarge(settings: ToolSettings): ToolOutcome {
  return { error: `the tool's endpoint answered with more than ${settings.maxResponseBytes} bytes` };
}

/** The body's bytes, or null as soon as there are more than `max` (the rest is not read). */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const read = await readUpTo(reader, max);
  if ('bytes' in read) return read.bytes;
  await reader.cancel().catch(() => {});
  return null;
}

/** HMAC-SHA256 of `body` under `secret`, hex: what the owner computes to check the signature header. */
async function hmacHex(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(body)));
  let hex = '';
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
