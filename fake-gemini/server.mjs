// @ts-check
/**
 * A fake Gemini API server speaking the real REST wire format, so the real
 * `@google/generative-ai` SDK runs end to end against it. Used by `npm run dev`
 * when no key is set, by the tests (vitest globalSetup) and by the benchmark.
 *
 * It records every model request (and whether the client went away before the
 * answer ended) under `GET /__fake/requests?tag=…`.
 */
import { createServer } from 'node:http';
import { GROUNDING, googleError, parseDirective, replyText, safetyRatings, splitText } from './scenarios.mjs';

export const KNOWN_MODELS = ['gemini-2.5-flash', 'gemini-2.5-flash-lite', 'gemini-2.5-pro', 'gemini-2.0-flash', 'gemini-flash-latest'];

const MODEL_PATH = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;
const MAX_STALL_MS = 5 * 60_000;

/**
 * @typedef {object} FakeRecord
 * @property {number} id
 * @property {string | null} tag
 * @property {string} model
 * @property {'streamGenerateContent' | 'generateContent'} method
 * @property {string} scenario
 * @property {boolean} hasKey
 * @property {any} body the parsed request body, as the client sent it
 * @property {'streaming' | 'completed' | 'aborted' | 'dropped' | 'rejected'} status
 * @property {boolean} aborted the client closed the connection before the answer ended
 * @property {string} sentText all answer text written so far
 * @property {number} chunksSent
 * @property {number[]} sentAt when each chunk was written (epoch ms, sub-ms precision), for delivery delays
 */

/**
 * @typedef {object} FakeOptions
 * @property {string} [host]
 * @property {number} [port] 0 picks a free port
 * @property {number} [delayMs] default pause between chunks (a directive's delay= wins)
 * @property {(line: string) => void} [log]
 */

/**
 * @param {FakeOptions} [options]
 * @returns {Promise<{ url: string, port: number, records: FakeRecord[], close: () => Promise<void> }>}
 */
export async function startFakeGemini(options = {}) {
  const { host = '127.0.0.1', port = 0, delayMs = 0, log } = options;
  /** @type {FakeRecord[]} */
  const records = [];
  const sockets = new Set();

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      log?.(`fake-gemini: handler failed: ${error?.stack ?? error}`);
      if (!res.headersSent) sendJson(res, 500, googleError(500));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  /**
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   */
  async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/__fake/health') return sendJson(res, 200, { ok: true, records: records.length });
    if (url.pathname === '/__fake/requests') {
      if (req.method === 'DELETE') {
        records.length = 0;
        return sendJson(res, 200, { ok: true });
      }
      const tag = url.searchParams.get('tag');
      return sendJson(res, 200, tag === null ? records : records.filter((r) => r.tag === tag));
    }

    const match = MODEL_PATH.exec(url.pathname);
    if (!match || req.method !== 'POST') {
      return sendJson(res, 404, googleError(404, { message: `Method not found: ${req.method} ${url.pathname}` }));
    }
    const [, model, method] = match;
    const streaming = method === 'streamGenerateContent';
    // Google answers errors on ?alt=sse with a JSON body labelled text/event-stream.
    const errorType = streaming && url.searchParams.get('alt') === 'sse' ? 'text/event-stream' : 'application/json';
    const raw = await readBody(req);
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, googleError(400, { message: 'Invalid JSON payload received.' }), errorType);
    }
    const prompt = promptText(body);
    const directive = parseDirective(lastUserText(body));
    const key = req.headers['x-goog-api-key'];
    /** @type {FakeRecord} */
    const record = {
      id: records.length + 1,
      tag: directive.options.tag ?? null,
      model,
      method: /** @type {FakeRecord['method']} */ (method),
      scenario: directive.name,
      hasKey: typeof key === 'string' && key.length > 0,
      body,
      status: 'rejected',
      aborted: false,
      sentText: '',
      chunksSent: 0,
      sentAt: [],
    };
    records.push(record);

    if (!record.hasKey) return sendJson(res, 403, googleError(403), errorType);
    if (String(key).startsWith('invalid')) {
      return sendJson(res, 400, googleError(400, { message: 'API key not valid. Please pass a valid API key.', reason: 'API_KEY_INVALID' }), errorType);
    }
    if (!KNOWN_MODELS.includes(model)) {
      const message = `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`;
      return sendJson(res, 404, googleError(404, { message }), errorType);
    }
    const invalid = validateBody(body);
    if (invalid) return sendJson(res, 400, googleError(400, { message: invalid }), errorType);

    const opts = directive.options;
    if (directive.name === 'http') {
      const status = Number(opts.status ?? 500);
      const { retry, reason, retryin, limit, retryinfo } = opts;
      return sendJson(res, status, googleError(status, { retry, reason, retryin, limit, retryinfo, model }), errorType);
    }

    const plan = planAnswer(directive, prompt, body.generationConfig?.maxOutputTokens);
    if (!streaming) return answerWhole(res, record, plan);
    return streamAnswer(req, res, record, plan, directive, Number(opts.delay ?? delayMs), Number(opts.first ?? 0));
  }

  // A deep accept queue: hundreds of connections may arrive at once (npm run bench), and the
  // default 511 drops the rest, which would look like a Gemini outage.
  await new Promise((resolve) => server.listen({ port, host, backlog: 4096 }, () => resolve(undefined)));
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${actualPort}`,
    port: actualPort,
    records,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * @typedef {object} Plan
 * @property {string[]} pieces
 * @property {string | undefined} finishReason undefined: end without one
 * @property {number} promptTokens
 * @property {any} [afterText] a frame object to write after the text (error object)
 * @property {string | undefined} blockReason
 * @property {boolean} [finishEach] the finish reason on every chunk, as older models sent it
 * @property {string} [modelVersion] what the chunks report as `modelVersion` (`version=`)
 */

/**
 * @param {import('./scenarios.mjs').Directive} directive
 * @param {string} prompt
 * @param {number | undefined} maxOutputTokens
 * @returns {Plan}
 */
function planAnswer(directive, prompt, maxOutputTokens) {
  const { name, options } = directive;
  const chunks = Math.max(0, Number(options.chunks ?? (name === 'long' ? 400 : 5)));
  let text = chunks === 0 ? '' : replyText(name, chunks, prompt.length, Number(options.chunkchars ?? 60));
  let finishReason = options.finish ?? 'STOP';
  // Gemini counts about four characters a token; honour maxOutputTokens like the API.
  if (maxOutputTokens && text.length > maxOutputTokens * 4) {
    text = Array.from(text).slice(0, maxOutputTokens * 4).join('');
    finishReason = 'MAX_TOKENS';
  }
  /** @type {Plan} */
  const plan = {
    pieces: splitText(text, chunks),
    finishReason,
    promptTokens: Math.max(1, Math.ceil(prompt.length / 4)),
    afterText: undefined,
    blockReason: undefined,
    finishEach: options.finisheach === '1',
    modelVersion: options.version,
  };
  switch (name) {
    case 'safety':
      plan.pieces = plan.pieces.slice(0, 2);
      plan.finishReason = 'SAFETY';
      break;
    case 'recitation':
      plan.finishReason = 'RECITATION';
      break;
    case 'blocked':
      plan.pieces = [];
      plan.blockReason = options.reason ?? 'SAFETY';
      break;
    case 'nofinish':
    case 'malformed':
    case 'drop':
    case 'stall':
      plan.finishReason = undefined;
      break;
    case 'error':
      plan.finishReason = undefined;
      plan.afterText = googleError(Number(options.code ?? 500));
      break;
    case 'empty':
      plan.pieces = [];
      plan.finishReason = undefined;
      break;
  }
  return plan;
}

/**
 * One streamed chunk in the shape current models send: usage on every chunk,
 * candidate counts and finishReason only on the last, no `index`.
 * @param {Plan} plan
 * @param {string} text
 * @param {boolean} last
 * @param {number} sentChars
 */
function chunkFrame(plan, text, last, sentChars) {
  const candidate = /** @type {Record<string, unknown>} */ ({ content: { parts: [{ text }], role: 'model' } });
  const usageMetadata = /** @type {Record<string, number>} */ ({ promptTokenCount: plan.promptTokens, totalTokenCount: plan.promptTokens });
  if (!last && plan.finishEach && plan.finishReason) candidate.finishReason = plan.finishReason;
  if (last && plan.finishReason) {
    candidate.finishReason = plan.finishReason;
    if (plan.finishReason === 'SAFETY') candidate.safetyRatings = safetyRatings('HIGH');
    const candidates = Math.max(1, Math.ceil(sentChars / 4));
    usageMetadata.candidatesTokenCount = candidates;
    usageMetadata.totalTokenCount = plan.promptTokens + candidates;
  }
  return { candidates: [candidate], usageMetadata, modelVersion: plan.modelVersion ?? 'fake-gemini', responseId: 'fake-response' };
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {FakeRecord} record
 * @param {Plan} plan
 * @param {import('./scenarios.mjs').Directive} directive
 * @param {number} delay
 * @param {number} firstDelay
 */
async function streamAnswer(req, res, record, plan, directive, delay, firstDelay) {
  record.status = 'streaming';
  let ended = false;
  res.on('close', () => {
    if (!ended) {
      record.aborted = true;
      if (record.status === 'streaming') record.status = 'aborted';
    }
  });
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Content-Disposition': 'attachment',
    Vary: 'Origin, X-Origin, Referer',
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();
  const split = directive.name === 'utf8' || directive.options.split === '1';
  const open = () => !res.destroyed && !res.writableEnded;

  /** @param {string} frame */
  const write = async (frame) => {
    const bytes = Buffer.from(frame, 'utf8');
    if (!split) return void res.write(bytes);
    // Cut inside a multibyte character when there is one, so the reader sees half a character.
    let cut = bytes.findIndex((b) => b >= 0xc0);
    cut = cut > 0 ? cut + 1 : bytes.length >> 1;
    res.write(bytes.subarray(0, cut));
    await sleep(2);
    if (open()) res.write(bytes.subarray(cut));
  };

  if (firstDelay) await sleep(firstDelay);
  if (plan.blockReason) {
    await write(`data: ${JSON.stringify({ promptFeedback: { blockReason: plan.blockReason, safetyRatings: safetyRatings('HIGH') }, usageMetadata: { promptTokenCount: plan.promptTokens, totalTokenCount: plan.promptTokens } })}\r\n\r\n`);
    return finish();
  }

  let sentChars = 0;
  for (let i = 0; i < plan.pieces.length; i++) {
    if (i > 0 && delay) await sleep(delay);
    if (!open()) return;
    const piece = plan.pieces[i];
    if (directive.name === 'grounding' && i === plan.pieces.length - 1) {
      // As in the recording: the metadata on a chunk of its own, content {}, before the finish.
      await write(`data: ${JSON.stringify({ candidates: [{ content: {}, index: 0, groundingMetadata: GROUNDING }], usageMetadata: { promptTokenCount: plan.promptTokens, totalTokenCount: plan.promptTokens }, modelVersion: 'fake-gemini' })}\r\n\r\n`);
    }
    sentChars += piece.length;
    // RECITATION arrives as a final candidate with no content after the text.
    const last = i === plan.pieces.length - 1 && directive.name !== 'recitation';
    record.sentAt.push(performance.timeOrigin + performance.now());
    await write(`data: ${JSON.stringify(chunkFrame(plan, piece, last, sentChars))}\r\n\r\n`);
    record.sentText += piece;
    record.chunksSent++;
  }
  if (!open()) return;

  switch (directive.name) {
    case 'recitation':
      await write(`data: ${JSON.stringify({ candidates: [{ finishReason: 'RECITATION', index: 0 }], usageMetadata: { promptTokenCount: plan.promptTokens, candidatesTokenCount: Math.ceil(sentChars / 4), totalTokenCount: plan.promptTokens + Math.ceil(sentChars / 4) } })}\r\n\r\n`);
      break;
    case 'error':
      await write(`data: ${JSON.stringify(plan.afterText)}\r\n\r\n`);
      // hold=1: the connection stays open after the error object, until the client leaves.
      if (directive.options.hold === '1') return holdOpen();
      break;
    case 'malformed':
      await write('data: {"candidates": [{"content": {"parts": [{"text": "unterminated\r\n\r\n');
      break;
    case 'drop':
      res.write('data: {"candidates": [{"content": {"parts": [{"te');
      record.status = 'dropped';
      ended = true;
      await sleep(5);
      res.socket?.destroy();
      return;
    case 'stall':
      return holdOpen();
  }
  return finish();

  /** Holds the connection until the client leaves (or a long while passes). */
  function holdOpen() {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, MAX_STALL_MS);
      res.on('close', () => resolve(clearTimeout(timer)));
    });
  }

  function finish() {
    ended = true;
    record.status = 'completed';
    res.end();
  }
}

/**
 * `:generateContent`: the whole answer as one JSON response.
 * @param {import('node:http').ServerResponse} res
 * @param {FakeRecord} record
 * @param {Plan} plan
 */
function answerWhole(res, record, plan) {
  record.status = 'completed';
  if (plan.blockReason) {
    return sendJson(res, 200, { promptFeedback: { blockReason: plan.blockReason, safetyRatings: safetyRatings('HIGH') } });
  }
  const text = plan.pieces.join('');
  record.sentText = text;
  record.chunksSent = 1;
  return sendJson(res, 200, chunkFrame({ ...plan, finishReason: plan.finishReason ?? 'STOP' }, text, true, text.length));
}

/**
 * The checks Gemini makes on a request body that matter to a client.
 * @param {any} body
 * @returns {string | undefined}
 */
function validateBody(body) {
  if (!body || !Array.isArray(body.contents) || body.contents.length === 0) {
    return '* GenerateContentRequest.contents: contents is not specified';
  }
  for (const content of body.contents) {
    if (content.role !== undefined && content.role !== 'user' && content.role !== 'model') {
      return 'Please use a valid role: user, model.';
    }
    if (!Array.isArray(content.parts) || content.parts.length === 0) {
      return '* GenerateContentRequest.contents[].parts: contents.parts must not be empty.';
    }
  }
  return undefined;
}

/** @param {any} body */
function lastUserText(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  const last = contents[contents.length - 1];
  return (last?.parts ?? []).map((/** @type {any} */ p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}

/** @param {any} body */
function promptText(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  const system = (body?.systemInstruction?.parts ?? []).map((/** @type {any} */ p) => p?.text ?? '').join('');
  return system + contents.flatMap((/** @type {any} */ c) => (c?.parts ?? []).map((/** @type {any} */ p) => p?.text ?? '')).join('');
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {string} [type]
 */
function sendJson(res, status, body, type = 'application/json') {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': `${type}; charset=UTF-8`, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** @param {import('node:http').IncomingMessage} req */
async function readBody(req) {
  const parts = [];
  for await (const part of req) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

