import { inject } from 'vitest';

/** A request the fake Gemini received, as it recorded it. */
export interface FakeRecord {
  id: number;
  tag: string | null;
  /** The model ID the URL named. */
  model: string;
  /** The model that answered (a reroute's target); null when the request was refused first. */
  modelVersion: string | null;
  responseId: string | null;
  method: 'streamGenerateContent' | 'generateContent';
  scenario: string;
  hasKey: boolean;
  /** The key's project: 'free' for a key containing "-free"; null when the key was refused. */
  tier: 'free' | 'paid' | null;
  /** The key contains "-existing": the 2.5 models still answer it. */
  existingUser: boolean;
  httpStatus: number;
  /** Sampling parameters (temperature, topP, topK) sent and ignored / honoured by the model. */
  ignored: string[];
  honoured: string[];
  thoughtsTokenCount: number;
  thoughtChunksSent: number;
  /** Thought signatures the request's history sent back (all of them valid: a bad one is a 400). */
  signaturesReturned: number;
  /** Of those, the ones another model family made (accepted, their thinking unused). */
  signaturesForeign: number;
  /** Signatures sent as `skip_thought_signature_validator` (Gemini's documented escape hatch). */
  signaturesSkipped: number;
  body: {
    contents: Array<{
      role?: string;
      parts: Array<{
        text?: string;
        thought?: boolean;
        thoughtSignature?: string;
        functionCall?: { id?: string; name: string; args?: Record<string, unknown> };
        functionResponse?: { id?: string; name: string; response: Record<string, unknown> };
        executableCode?: { language: string; code: string };
        codeExecutionResult?: { outcome: string; output?: string };
      }>;
    }>;
    systemInstruction?: { parts: Array<{ text?: string }> };
    generationConfig?: Record<string, unknown>;
  };
  /** The request's `tools` and `toolConfig`, as sent (null: none). */
  tools: unknown;
  toolConfig: unknown;
  /** The function calls the answer made (empty: it answered in text); the first is signed on 3.x. */
  /** On 3.x each call carries Gemini's `id`, which the client is to send back on its functionResponse. */
  functionCalls: Array<{ id?: string; name: string; args: Record<string, unknown>; thoughtSignature?: string }>;
  /** The `id` each function response of the request's last turn carried (null: none). */
  functionResponseIds: Array<string | null>;
  /** The built-in tools the request switched on (`googleSearch`, `urlContext`, `codeExecution`). */
  builtins: string[];
  /** The parts the model's own tools made in the answer (`executableCode`, `codeExecutionResult`, `toolCall`, `toolResponse`), as sent. */
  builtinParts: Array<Record<string, unknown>>;
  /** What URL context retrieved (empty: nothing). */
  urlMetadata: Array<{ retrievedUrl: string; urlRetrievalStatus: string }>;
  status: 'streaming' | 'completed' | 'aborted' | 'dropped' | 'rejected';
  aborted: boolean;
  sentText: string;
  chunksSent: number;
  /**
   * One entry per file part the request carried (`inlineData` or `fileData`), in order: which
   * turn, its role, the MIME type the model reads it as, the decoded size and the hex SHA-256 of
   * the bytes (for a URI, of the uploaded file). Empty when the request was refused first.
   */
  files: FakeFile[];
}

/** A file part as the fake Gemini received it (docs/fake-gemini.md, "Files"). */
export interface FakeFile {
  /** Index into `contents`. */
  turn: number;
  role: string;
  kind: 'inline' | 'uri';
  mimeType: string;
  bytes: number;
  /** Hex SHA-256 of the decoded bytes, or of the uploaded file for a URI. */
  sha256: string;
  /** The `fileUri` as sent (kind 'uri'). */
  uri?: string;
  /** The file's resource name, `files/<id>` (kind 'uri'). */
  name?: string;
  /** The uploaded file's own MIME type (kind 'uri'). */
  fileMimeType?: string;
  /** The prompt tokens the file counted for, and their modality. */
  tokens: number;
  modality: string;
}

export const fakeUrl = () => inject('fakeGeminiUrl');

/** What the fake Gemini recorded for requests whose directive carried `tag=<tag>`. */
export async function fakeRequests(tag: string): Promise<FakeRecord[]> {
  const response = await fetch(`${fakeUrl()}/__fake/requests?tag=${encodeURIComponent(tag)}`);
  return (await response.json()) as FakeRecord[];
}

/** Polls the record until `check` holds (the fake notices a closed socket a moment later). */
export async function waitForRecord(tag: string, check: (record: FakeRecord) => boolean, tries = 100): Promise<FakeRecord> {
  for (let i = 0; i < tries; i++) {
    const [record] = await fakeRequests(tag);
    if (record && check(record)) return record;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const [record] = await fakeRequests(tag);
  throw new Error(`fake record for tag ${tag} never matched: ${JSON.stringify(record ?? null)}`);
}

let counter = 0;
/** A tag unique to this test run, to find one request in the fake's record. */
export function uniqueTag(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
