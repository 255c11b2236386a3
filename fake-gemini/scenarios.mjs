// @ts-check
/**
 * What the fake Gemini answers, chosen by a directive in the last user message:
 * `[fake:<scenario> key=value …]`. Without one it writes an ordinary reply. The model, the key
 * and `generationConfig` decide the rest (model table, thinking, sampling: docs/fake-gemini.md).
 *
 * Scenarios mirror what the real API does (docs/fake-gemini.md has the sources):
 *   reply (default)  several chunks of text, finishReason STOP (or `finish=…`, any value,
 *                    e.g. TOO_MANY_TOOL_CALLS); on 3.x models a last event of its own carries
 *                    the finish: `{"text":"","thoughtSignature":…}` when the model thought,
 *                    `{"text":""}` when it did not
 *   long             a reply of `chunks` chunks (default 400)
 *   utf8             multibyte text, every frame split inside a character across writes
 *   markdown         a Markdown answer (heading, list, code block, link) with raw HTML and a
 *                    javascript: link in it, as a model might write them
 *   grounding        a grounded answer (Google Search): the text, then a chunk with
 *                    `content: {}` and `groundingMetadata` (two web sources, one of them
 *                    named twice), then the finish — the shape of the real recording; usage
 *                    counts `toolUsePromptTokenCount` on every chunk
 *   safety           partial text, then finishReason SAFETY
 *   recitation       text, then a candidate with finishReason RECITATION and no content
 *   blocked          promptFeedback.blockReason (`reason=…`, default SAFETY), no candidates
 *   http             an HTTP error before streaming (`status=429|500|503|…`). 429 is the 2026
 *                    quota body (Help, QuotaFailure, RetryInfo; "Please retry in Ns." in the
 *                    message): `retry=12.5s` sets the delay, `limit=N` the quota's value
 *                    (0: no quota for this model), `retryinfo=none` leaves only the
 *                    Help detail, `retry=none` also drops the hint from the message;
 *                    `reason=API_KEY_INVALID` adds an ErrorInfo detail to other statuses
 *   backend404       404 "Model not found: models/<build>", the alias backend failure
 *                    (`build=…`, default gemini-v4p1s-rev24-ajax-sentinel)
 *   error            text, then an in-stream `{"error":{…}}` object (`code=500`; `hold=1`
 *                    keeps the connection open after it)
 *   malformed        text, then a frame that is not JSON
 *   drop             text, then the connection is destroyed mid-frame
 *   stall            text, then nothing until the client leaves
 *   nofinish         text, then a clean end with no finishReason
 *   empty            HTTP 200 and no frames at all
 *   tools            with `tools` in the request (tools.mjs): function calls instead of text —
 *                    `call=a,b` (names, cycled), `args={…}` (JSON, no spaces), `parallel=N`,
 *                    `rounds=N` (steps of the turn that call), `each=1` (a chunk per call),
 *                    `finish=MALFORMED_FUNCTION_CALL|…` (that finish, no content). Without a
 *                    directive a request with tools gets the same default: one call of the first
 *                    declared function when the turn starts, an answer from the function
 *                    responses (a `[fake] <name> returned <json>` line each) after them
 *   code             with `codeExecution` among the request's tools (tools.mjs): an
 *                    `executableCode` part (signed on 3.x), its `codeExecutionResult`
 *                    (`outcome=OUTCOME_FAILED|OUTCOME_DEADLINE_EXCEEDED`), then the reply; without
 *                    it an ordinary reply. `urlContext` in the tools adds `urlContextMetadata` for
 *                    the URLs of the last message, whatever the scenario
 *   fallback         a site assistant's answer when its pages have none: the sentence its
 *                    instructions give for that ("If the pages do not answer the question, …"),
 *                    no citation
 * Options for every scenario: chunks=N (0: no text), chunkchars=N (about N characters
 * a chunk; default 60), delay=MS (between chunks), first=MS
 * (before the first chunk), finisheach=1 (the finish reason on every chunk, not only
 * the last, as older models sent it), split=1 (every frame written in two pieces),
 * tag=ID (to find the request in the record), thoughts=N|none (how many thought-summary
 * events `includeThoughts` gets, default 2; none: no thought parts at all), unshown=wait
 * (without includeThoughts the answer still waits the thought events' time, thoughts × delay,
 * as a model thinks whether or not it shows it), signature=none
 * (no closing event on 3.x models), sampling=reject|accept (temperature/topP/topK
 * on the models that ignore them: a 400, or accepted whatever the server's rejectSampling),
 * cite=N,M,… (a site assistant's citation markers: a sentence ending ` [N].` per number, spread
 * over the answer, so a marker can fall across two chunks).
 */

const DIRECTIVE = /\[fake:([a-z0-9_-]+)((?:\s+[a-z_]+=[^\s\]]+)*)\s*\]/i;

/** @typedef {{ name: string, options: Record<string, string> }} Directive */

/**
 * @param {string} text
 * @returns {Directive}
 */
export function parseDirective(text) {
  const match = DIRECTIVE.exec(text);
  if (!match) return { name: 'reply', options: {} };
  /** @type {Record<string, string>} */
  const options = {};
  for (const pair of match[2].trim().split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    options[pair.slice(0, eq).toLowerCase()] = pair.slice(eq + 1);
  }
  return { name: match[1].toLowerCase(), options };
}

const SENTENCES = [
  'Streaming lets the reader see the answer while it is still being written.',
  'Each piece arrives as a small Server-Sent Event frame.',
  'The last frame carries the finish reason and the token usage.',
  'A stopped stream saves the tokens that nobody would read.',
  'Edge workers keep the key on the server and the latency low.',
];

const MULTIBYTE = 'Grüße aus Zürich — 你好，世界！ Ἀθῆναι · 🌍🚀 👩‍👩‍👧 naïve café. ';

/** What `[fake:markdown]` writes: the usual Markdown of a model's answer, and two traps. */
export const MARKDOWN = [
  '## Streaming, briefly',
  '',
  'Server-Sent Events send **text** as it is _written_:',
  '',
  '- one frame per piece',
  '- a `done` frame at the end',
  '- an `error` frame if it breaks',
  '',
  '1. Open the stream',
  '2. Read the frames',
  '',
  '```js',
  "const source = new EventSource('/stream');",
  'source.onmessage = (event) => console.log(event.data);',
  '```',
  '',
  'Read more on [MDN](https://developer.mozilla.org/en-US/docs/Web/API/Server-sent_events).',
  'Raw HTML stays text: <img src=x onerror="window.__pwned=1"> and [a trap](javascript:window.__pwned=2).',
].join('\n');

/**
 * The reply text the fake writes, deterministic for a given prompt and directive.
 * @param {string} name
 * @param {number} chunks
 * @param {number} promptChars
 * @param {number} [charsPerChunk]
 */
export function replyText(name, chunks, promptChars, charsPerChunk = 60) {
  if (name === 'utf8') return MULTIBYTE.repeat(Math.max(2, chunks));
  if (name === 'markdown') return MARKDOWN;
  const opening = `Hello from the fake Gemini (no API key is set). Your message was ${promptChars} characters long. `;
  const parts = [opening];
  let length = opening.length;
  // About 60 characters a chunk by default, so long answers have many distinct frames.
  for (let i = 0; length < chunks * charsPerChunk; i++) {
    const sentence = SENTENCES[i % SENTENCES.length] + ' ';
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('').trimEnd();
}

/**
 * Cuts `text` into `count` pieces of near-equal length without splitting a
 * surrogate pair (the JSON would still be valid, but the text would not).
 * @param {string} text
 * @param {number} count
 */
export function splitText(text, count) {
  if (count === 0) return [];
  // ASCII has no surrogate pairs: slice directly (fast for megabyte answers).
  if (/^[\x00-\x7f]*$/.test(text)) {
    const size = Math.max(1, Math.ceil(text.length / count));
    const pieces = [];
    for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
    return pieces;
  }
  const chars = Array.from(text);
  const size = Math.max(1, Math.ceil(chars.length / count));
  const pieces = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

const THOUGHT_TITLES = ['Reading the request', 'Planning the answer', 'Checking the details', 'Drafting the reply'];

/**
 * The thought summaries `includeThoughts: true` gets, one per event: a bold title, then a
 * paragraph, as Gemini writes them (`**Title**\n\n…\n\n\n`).
 * @param {number} count
 * @param {number} promptChars
 */
export function thoughtSummaries(count, promptChars) {
  return Array.from({ length: count }, (_, i) => {
    const title = THOUGHT_TITLES[i % THOUGHT_TITLES.length];
    return `**${title}**\n\nThe message is ${promptChars} characters long. I am working out step ${i + 1} of ${count} before I answer.\n\n\n`;
  });
}

/** Safety ratings as the API attaches them to a candidate. */
export function safetyRatings(hateProbability = 'NEGLIGIBLE') {
  return [
    { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
    { category: 'HARM_CATEGORY_HATE_SPEECH', probability: hateProbability },
    { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
    { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'NEGLIGIBLE' },
  ];
}

/**
 * The `groundingMetadata` of `[fake:grounding]`, shaped as Gemini sends it: search entry point,
 * chunks (the first source is named twice), supports and queries.
 */
export const GROUNDING = {
  searchEntryPoint: { renderedContent: '<div class="fake-search-chip">fake search</div>' },
  groundingChunks: [
    { web: { uri: 'https://example.com/fake-source-1', title: 'example.com' } },
    { web: { uri: 'https://example.org/fake-source-2', title: 'example.org' } },
    { web: { uri: 'https://example.com/fake-source-1', title: 'example.com' } },
  ],
  groundingSupports: [
    { segment: { startIndex: 0, endIndex: 20, text: 'Hello from the fake' }, groundingChunkIndices: [0, 2], confidenceScores: [0.9, 0.9] },
    { segment: { startIndex: 21, endIndex: 40, text: 'Gemini (no API key' }, groundingChunkIndices: [1], confidenceScores: [0.7] },
  ],
  webSearchQueries: ['fake gemini grounding'],
};
