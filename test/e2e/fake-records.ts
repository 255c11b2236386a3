/** A request the fake Gemini recorded (GET /__fake/requests?tag=…). */
export interface FakeRecord {
  tag: string | null;
  model: string;
  status: string;
  aborted: boolean;
  sentText: string;
  chunksSent: number;
  /** Tokens the fake counted as thinking (in usage, and against maxOutputTokens). */
  thoughtsTokenCount: number;
  /** Thought-summary parts written (`includeThoughts`). */
  thoughtChunksSent: number;
  body: { contents: { role: string; parts: { text: string }[] }[]; systemInstruction?: { parts: { text: string }[] }; generationConfig?: Record<string, unknown> };
  /** The answer's status on the fake (400: refused, a lost thought signature for one). */
  httpStatus?: number;
  /** Thought signatures the request's history sent back, all valid. */
  signaturesReturned?: number;
  /** The function calls the answer made; the first is signed on 3.x. */
  functionCalls?: Array<{ id?: string; name: string; args: Record<string, unknown>; thoughtSignature?: string }>;
  /** The file parts it received, in order (docs/fake-gemini.md, "Files"). */
  files?: Array<{ turn: number; kind: 'inline' | 'uri'; mimeType: string; bytes: number; sha256: string; uri?: string }>;
}

/** What the fake behind `fakeUrl` recorded for requests tagged `tag`. */
export async function fakeRecords(fakeUrl: string, tag: string): Promise<FakeRecord[]> {
  return (await (await fetch(`${fakeUrl}/__fake/requests?tag=${encodeURIComponent(tag)}`)).json()) as FakeRecord[];
}

/** Polls until the one record tagged `tag` matches (the fake sees a closed socket a moment later). */
export async function waitForRecord(fakeUrl: string, tag: string, check: (record: FakeRecord) => boolean): Promise<FakeRecord> {
  for (let i = 0; i < 100; i++) {
    const [record] = await fakeRecords(fakeUrl, tag);
    if (record && check(record)) return record;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`fake record ${tag} never matched: ${JSON.stringify((await fakeRecords(fakeUrl, tag))[0] ?? null)}`);
}

let counter = 0;
/** A tag unique to this run. */
export function uniqueTag(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
}
