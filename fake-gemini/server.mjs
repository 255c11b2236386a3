// @ts-check
/**
 * A fake Gemini API server speaking the real REST wire format as of December 2026, so the real
 * `@google/generative-ai` SDK runs end to end against it and fails where production would.
 * Used by `npm run dev` when no key is set, by the tests (vitest globalSetup) and by the
 * benchmark. Reference: docs/fake-gemini.md.
 *
 * It records every model request (and whether the client went away before the answer ended)
 * under `GET /__fake/requests?tag=…`, and serves the Files API (files.mjs; uploads listed under
 * `GET /__fake/files`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { googleError, invalidArgument, quotaError } from './errors.mjs';
import { FileStore, checkFileParts, handleFiles, promptDetails, receivedLine } from './files.mjs';
import { checkKey } from './keys.mjs';
import { FAKE_MODELS, LISTED_MODELS, modelResource, resolveModel } from './models.mjs';
import { checkRequest } from './request-checks.mjs';
import { checkBuiltins, checkFunctionResponses, checkTools, lastFunctionResponses, plannedCalls, responseLines, urlsIn } from './tools.mjs';
import { GROUNDING, parseDirective, replyText, safetyRatings, splitText, thoughtSummaries } from './scenarios.mjs';

export { FAKE_MODELS } from './models.mjs';

const MODEL_PATH = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;
const MODELS_PATH = /^\/v1beta\/models(?:\/([^/:]+))?$/;
const MAX_STALL_MS = 5 * 60_000;
/** (inference) No source gives the list's default or largest page size. */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
/** Tool-use prompt tokens of `[fake:grounding]` (the search results the model read). */
const GROUNDING_TOOL_TOKENS = 412;
/** How many thought-summary events `includeThoughts` gets unless `thoughts=N` says otherwise. */
const DEFAULT_THOUGHT_EVENTS = 2;
/** The scenarios that end with a finish reason of their own, not with the 3.x signature event. */
const OWN_ENDING = new Set(['safety', 'recitation']);

/**
 * @typedef {object} FakeRecord
 * @property {number} id
 * @property {string | null} tag
 * @property {string} model the model ID the URL named
 * @property {string | null} modelVersion the model that answered (a reroute's target); null when refused before
 * @property {string | null} responseId the answer's `responseId`, the same on every chunk
 * @property {'streamGenerateContent' | 'generateContent'} method
 * @property {string} scenario
 * @property {boolean} hasKey
 * @property {'free' | 'paid' | null} tier the key's project tier (null: the key was refused)
 * @property {boolean} existingUser the key's project used the 2.5 models before
 * @property {any} body the parsed request body, as the client sent it
 * @property {number} httpStatus the status the fake answered with
 * @property {'streaming' | 'completed' | 'aborted' | 'dropped' | 'rejected'} status
 * @property {boolean} aborted the client closed the connection before the answer ended
 * @property {string[]} ignored sampling parameters (temperature, topP, topK) sent and ignored by the model
 * @property {string[]} honoured sampling parameters sent and honoured
 * @property {number} thoughtsTokenCount thought tokens the answer reported
 * @property {number} thoughtChunksSent thought-summary events written
 * @property {number} signaturesReturned thought signatures the request's history sent back (all valid)
 * @property {number} signaturesForeign of those, the ones another model family made (accepted, unused)
 * @property {number} signaturesSkipped signatures sent as `skip_thought_signature_validator` (accepted, unchecked)
 * @property {string} sentText all answer text written so far
 * @property {number} chunksSent answer text chunks written (thought and signature events not counted)
 * @property {number[]} sentAt when each text chunk was written (epoch ms, sub-ms precision), for delivery delays
 * @property {import('./files.mjs').FileEntry[]} files one entry per file part the request carried
 *   (`inlineData` or `fileData`), in order; empty when refused before the files were read
 * @property {any} tools the request's `tools`, as sent (null: none)
 * @property {any} toolConfig the request's `toolConfig`, as sent (null: none)
 * @property {Array<{ id?: string, name: string, args: Record<string, unknown>, thoughtSignature?: string }>} functionCalls
 *   the function calls the answer made (empty: it answered in text); on 3.x each with its `id`
 * @property {Array<string | null>} functionResponseIds the `id` each function response of the
 *   request's last turn carried (null: none), in order: whether the client echoed the calls' ids
 * @property {string[]} builtins the built-in tools the request switched on (`googleSearch`, `urlContext`, `codeExecution`)
 * @property {any[]} builtinParts the parts the model's own tools made in the answer (`executableCode`,
 *   `codeExecutionResult`, `toolCall`, `toolResponse`), as sent
 * @property {Array<{ retrievedUrl: string, urlRetrievalStatus: string }>} urlMetadata what `urlContext` retrieved (empty: nothing)
 */

/**
 * @typedef {object} FakeOptions
 * @property {string} [host]
 * @property {number} [port] 0 picks a free port
 * @property {number} [delayMs] default pause between chunks (a directive's delay= wins)
 * @property {boolean} [rejectSampling] temperature/topP/topK get a 400 on the models that ignore
 *   them, as "future generations" will (a directive's sampling=accept wins)
 * @property {(line: string) => void} [log]
 * @property {number} [inlineLimitBytes] the largest request payload, in bytes of the JSON body
 *   (default 100 MiB, Gemini's inline limit); over it: 400 "Request payload size exceeds the limit"
 * @property {number} [pdfInlineLimitBytes] the largest PDF sent inline, decoded (default 50 MiB)
 * @property {number} [fileTtlMs] how long an uploaded file lives (default 48 h)
 * @property {number} [processingPolls] uploads come back PROCESSING and turn ACTIVE on the N-th
 *   `GET /v1beta/files/{id}` (default 0: ACTIVE at once)
 */

/**
 * @param {FakeOptions} [options]
 * @returns {Promise<{ url: string, port: number, records: FakeRecord[], files: FileStore, close: () => Promise<void> }>}
 */
export async function startFakeGemini(options = {}) {
  const { host = '127.0.0.1', port = 0, delayMs = 0, rejectSampling = false, log } = options;
  /** @type {FakeRecord[]} */
  const records = [];
  const files = new FileStore(options);
  const sockets = new Set();
  let answers = 0;

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
    if (await handleFiles(files, req, res, url, sendRaw)) return;
    const listing = req.method === 'GET' ? MODELS_PATH.exec(url.pathname) : null;
    if (listing) return listing[1] === undefined ? listModels(req, res, url) : getModel(req, res, url, listing[1]);

    const match = MODEL_PATH.exec(url.pathname);
    if (!match || req.method !== 'POST') {
      // (inference) the wording of a 404 for a path or method the API does not have
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
      // (inference) The recorded 400 for an unknown field begins "Invalid JSON payload received."
      // and goes on to name it; for a body that does not parse the fake stops there.
      return sendJson(res, 400, invalidArgument('Invalid JSON payload received.'), errorType);
    }
    const prompt = promptText(body);
    // A turn of function responses has no text: the directive is in the text that started the turn.
    const directive = parseDirective(lastUserText(body) || turnText(body));
    const opts = directive.options;
    const headerKey = req.headers['x-goog-api-key'];
    const queryKey = url.searchParams.get('key');
    /** @type {FakeRecord} */
    const record = {
      id: records.length + 1,
      tag: opts.tag ?? null,
      model,
      modelVersion: null,
      responseId: null,
      method: /** @type {FakeRecord['method']} */ (method),
      scenario: directive.name,
      hasKey: (typeof headerKey === 'string' && headerKey.length > 0) || !!queryKey,
      tier: null,
      existingUser: false,
      body,
      httpStatus: 200,
      status: 'rejected',
      aborted: false,
      ignored: [],
      honoured: [],
      thoughtsTokenCount: 0,
      thoughtChunksSent: 0,
      signaturesReturned: 0,
      signaturesForeign: 0,
      signaturesSkipped: 0,
      sentText: '',
      chunksSent: 0,
      sentAt: [],
      files: [],
      tools: body?.tools ?? null,
      toolConfig: body?.toolConfig ?? body?.tool_config ?? null,
      functionCalls: [],
      functionResponseIds: [],
      builtins: [],
      builtinParts: [],
      urlMetadata: [],
    };
    records.push(record);
    /**
     * @param {number} status
     * @param {unknown} error
     */
    const refuse = (status, error) => {
      record.httpStatus = status;
      sendJson(res, status, error, errorType);
    };

    // Inline data counts against the request payload: "100 MB per request or payload"
    // (file-input-methods); the message is the one of the 20 MB era with the new figure (inference).
    const limit = files.options.inlineLimitBytes;
    if (Buffer.byteLength(raw) > limit) return refuse(400, invalidArgument(`Request payload size exceeds the limit: ${limit} bytes.`));

    const auth = checkKey(headerKey, queryKey, `GenerativeService.${streaming ? 'StreamGenerateContent' : 'GenerateContent'}`);
    if ('status' in auth) return refuse(auth.status, auth.body);
    record.tier = auth.project.tier;
    record.existingUser = auth.project.existingUser;
    const resolved = resolveModel(model, auth.project);
    if ('notFound' in resolved) return refuse(404, googleError(404, { message: resolved.notFound }));
    const { answering } = resolved;
    const invalid = validateBody(body);
    if (invalid) return refuse(400, invalidArgument(invalid));
    const fileParts = checkFileParts(body, files, auth.key, answering.generation ?? '3');
    if ('status' in fileParts) return refuse(fileParts.status, fileParts.body);
    record.files = fileParts.files;
    const builtin = checkBuiltins(body, answering.generation ?? '3');
    if ('invalid' in builtin) {
      const details = builtin.field ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: builtin.field, description: builtin.invalid }] }] : undefined;
      return refuse(400, googleError(400, { message: builtin.invalid, details }));
    }
    record.builtins = builtin.builtins;
    const tools = checkTools(body);
    if (tools && 'invalid' in tools) {
      const details = tools.field ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: tools.field, description: tools.invalid }] }] : undefined;
      return refuse(400, googleError(400, { message: tools.invalid, details }));
    }
    const unanswered = checkFunctionResponses(body.contents);
    if (unanswered) return refuse(400, invalidArgument(unanswered));
    const checked = checkRequest(body, resolved, { rejectSampling: opts.sampling === 'reject' || (rejectSampling && opts.sampling !== 'accept') });
    if ('invalid' in checked) {
      const details = checked.field
        ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: checked.field, description: checked.invalid }] }]
        : undefined;
      return refuse(400, googleError(400, { message: checked.invalid, details }));
    }
    const { settings } = checked;
    record.ignored = settings.ignored;
    record.honoured = settings.honoured;
    record.signaturesReturned = settings.signaturesReturned;
    record.signaturesForeign = settings.signaturesForeign;
    record.signaturesSkipped = settings.signaturesSkipped;
    // Pro models have no free-tier quota since 2026-04-01.
    if (auth.project.tier === 'free' && answering.paidOnly) return refuse(429, quotaError({ model: answering.id, limit: 0 }));

    if (directive.name === 'http') {
      const status = Number(opts.status ?? 500);
      if (status === 429) return refuse(429, quotaError({ model: answering.id, retry: opts.retry, retryInfo: opts.retryinfo !== 'none', limit: opts.limit === undefined ? undefined : Number(opts.limit) }));
      return refuse(status, googleError(status, { reason: opts.reason }));
    }
    if (directive.name === 'backend404') {
      return refuse(404, googleError(404, { message: `Model not found: models/${opts.build ?? 'gemini-v4p1s-rev24-ajax-sentinel'}` }));
    }

    record.modelVersion = answering.id;
    record.responseId = responseIdFor(++answers);
    // The answer starts with a line per file of the last user turn, so tests can see what arrived.
    const lastUser = lastUserTurn(body);
    // …and a line per function response of the last turn: the model answers from them.
    const responses = lastFunctionResponses(body);
    record.functionResponseIds = responses.map((/** @type {any} */ r) => (typeof r.id === 'string' ? r.id : null));
    const received = record.files.filter((f) => f.turn === lastUser).map((f) => `${receivedLine(f)}\n`).join('') + responseLines(responses);
    const plan = planAnswer(directive, prompt, settings, answering, record.responseId, record.files, received, body, builtin);
    record.builtinParts = plan.leadingParts;
    record.urlMetadata = plan.urlMetadata;
    // `[fake:fallback]`: a model that finds no answer in the pages it was given says what its
    // instructions say to say then: their "If the pages do not answer …" sentence, quoted.
    if (directive.name === 'fallback') plan.pieces = splitText(received + fallbackAnswer(body), Math.max(1, plan.pieces.length));
    record.thoughtsTokenCount = plan.thoughts;
    if (tools && (directive.name === 'tools' || directive.name === 'reply')) {
      // `[fake:tools finish=MALFORMED_FUNCTION_CALL]` (or UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS):
      // a candidate with that finish and no content, as pydantic-ai#3095 recorded it.
      if (directive.name === 'tools' && opts.finish && opts.finish !== 'STOP') return answerCalls(res, record, plan, [], streaming, opts);
      const calls = plannedCalls(body, tools, opts);
      if (calls.length) return answerCalls(res, record, plan, calls, streaming, opts);
    }
    if (!streaming) return answerWhole(res, record, plan);
    return streamAnswer(res, record, plan, directive, Number(opts.delay ?? delayMs), Number(opts.first ?? 0));
  }

  /**
   * `GET /v1beta/models?pageSize=&pageToken=`: a page of the listed models.
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   * @param {URL} url
   */
  function listModels(req, res, url) {
    const auth = checkKey(req.headers['x-goog-api-key'], url.searchParams.get('key'), 'ModelService.ListModels');
    if ('status' in auth) return sendJson(res, auth.status, auth.body);
    const size = Number(url.searchParams.get('pageSize') ?? DEFAULT_PAGE_SIZE);
    const pageSize = Number.isInteger(size) && size > 0 ? Math.min(size, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    const token = url.searchParams.get('pageToken');
    let offset = 0;
    if (token) {
      offset = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
      // (inference) the wording of a bad page token
      if (!Number.isInteger(offset) || offset < 0) return sendJson(res, 400, invalidArgument('Invalid page token.'));
    }
    const models = LISTED_MODELS.slice(offset, offset + pageSize);
    const next = offset + pageSize;
    return sendJson(res, 200, {
      models,
      ...(next < LISTED_MODELS.length ? { nextPageToken: Buffer.from(`offset:${next}`).toString('base64url') } : {}),
    });
  }

  /**
   * `GET /v1beta/models/{id}`: a listed model (the 2.5 family too: listed ≠ callable).
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   * @param {URL} url
   * @param {string} id
   */
  function getModel(req, res, url, id) {
    const auth = checkKey(req.headers['x-goog-api-key'], url.searchParams.get('key'), 'ModelService.GetModel');
    if ('status' in auth) return sendJson(res, auth.status, auth.body);
    const model = FAKE_MODELS[id];
    if (!model || model.stage === 'shutdown') {
      // (inference) the generateContent wording, with the get method named
      return sendJson(res, 404, googleError(404, { message: `models/${id} is not found for API version v1beta, or is not supported for get. Call ListModels to see the list of available models and their supported methods.` }));
    }
    return sendJson(res, 200, modelResource(model));
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
    files,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A `responseId` like Google's (23 base64url characters): the n-th answer of this server gets
 * the same one in every run.
 * @param {number} n
 */
function responseIdFor(n) {
  return createHash('sha256').update(`fake-gemini answer ${n}`).digest('base64url').slice(0, 23);
}

/**
 * @typedef {object} Plan
 * @property {string[]} pieces
 * @property {string | undefined} finishReason undefined: end without one
 * @property {number} promptTokens text and files
 * @property {Array<{ modality: string, tokenCount: number }>} promptDetails `promptTokensDetails`
 * @property {any} [afterText] a frame object to write after the text (error object)
 * @property {string | undefined} blockReason
 * @property {boolean} [finishEach] the finish reason on every chunk, as older models sent it
 * @property {number} thoughts thought tokens reported (capped at maxOutputTokens)
 * @property {string[]} thoughtParts thought summaries to send before the answer (includeThoughts)
 * @property {number} unshownThoughts `unshown=wait` without includeThoughts: the thought events
 *   whose time still passes, in silence, before the answer
 * @property {number} toolUseTokens toolUsePromptTokenCount (0: not reported)
 * @property {boolean} closing the answer ends with an event of its own, an empty text part with
 *   the finish (3.x)
 * @property {'event' | 'first' | undefined} signature where the thought signature goes: on the
 *   closing event (3.x when thinking), or the first answer part (2.5 when thinking); none when the
 *   model did not think
 * @property {string} signatureValue
 * @property {boolean} emptyEnding no answer text: the finish comes on a candidate whose content has no parts
 * @property {string} modelVersion
 * @property {string} responseId
 * @property {'3' | '2.5'} generation the answering model's generation: the shape of the usage
 *   on thought events
 * @property {any[]} leadingParts parts the model's own tools make before the text, each written
 *   as a chunk of its own (`executableCode`, `codeExecutionResult`; `toolCall`, `toolResponse`)
 * @property {Array<{ retrievedUrl: string, urlRetrievalStatus: string }>} urlMetadata the
 *   candidate's `urlContextMetadata.urlMetadata`, on the last text chunk (empty: none)
 */

/**
 * @param {import('./scenarios.mjs').Directive} directive
 * @param {string} prompt
 * @param {import('./request-checks.mjs').Settings} settings
 * @param {import('./models.mjs').FakeModel} model the answering model
 * @param {string} responseId
 * @param {import('./files.mjs').FileEntry[]} files the request's file parts
 * @param {string} received the `[fake] received …` lines the answer starts with
 * @param {any} body the request (the order of its parts orders promptTokensDetails)
 * @param {import('./tools.mjs').BuiltinSettings} builtin the request's built-in tools
 * @returns {Plan}
 */
function planAnswer(directive, prompt, settings, model, responseId, files, received, body, builtin) {
  const { name, options } = directive;
  const chunks = Math.max(0, Number(options.chunks ?? (name === 'long' ? 400 : 5)));
  // `[fake:code]` runs code only with `codeExecution` declared: a model cannot run what it was not given.
  const run = name === 'code' && builtin.builtins.includes('codeExecution') ? codeRun(prompt, options) : undefined;
  let text = chunks === 0 ? '' : received + (run ? `[fake] the code printed ${JSON.stringify(run.output)}\n` : '') + replyText(name, chunks, prompt.length, Number(options.chunkchars ?? 60));
  // A site assistant's answer cites its pages as [n] after a sentence: `cite=2,1,2` writes one
  // sentence per number, in that order, spread over the answer (so markers may fall across chunks).
  if (options.cite && text) text = withCitations(text, String(options.cite).split(',').map(Number));
  let finishReason = options.finish ?? 'STOP';
  let thoughts = settings.thoughts;
  const max = settings.maxOutputTokens;
  // Thought tokens count against maxOutputTokens; the answer gets what is left (about four
  // characters a token). Thinking that reaches the limit leaves no answer at all. (inference) The
  // split and the no-text ending: no recording shows either.
  if (max && thoughts >= max) {
    thoughts = max;
    text = '';
    finishReason = 'MAX_TOKENS';
  } else if (max && text.length > (max - thoughts) * 4) {
    text = Array.from(text).slice(0, (max - thoughts) * 4).join('');
    finishReason = 'MAX_TOKENS';
  }
  const summaries = options.thoughts === 'none' ? 0 : Number(options.thoughts ?? DEFAULT_THOUGHT_EVENTS);
  // Text at about four characters a token; each file by its modality (files.mjs).
  const textTokens = files.length ? Math.ceil(prompt.length / 4) : Math.max(1, Math.ceil(prompt.length / 4));
  const details = promptDetails(body, textTokens, files);
  /** @type {Plan} */
  const plan = {
    pieces: splitText(text, chunks),
    finishReason,
    promptTokens: details.reduce((sum, d) => sum + d.tokenCount, 0),
    promptDetails: details,
    afterText: undefined,
    blockReason: undefined,
    finishEach: options.finisheach === '1',
    thoughts,
    thoughtParts: settings.includeThoughts && thoughts > 0 ? thoughtSummaries(Math.max(0, summaries || 0), prompt.length) : [],
    unshownThoughts: options.unshown === 'wait' && !settings.includeThoughts && thoughts > 0 ? Math.max(0, summaries || 0) : 0,
    toolUseTokens: name === 'grounding' ? GROUNDING_TOOL_TOKENS : 0,
    closing: false,
    signature: undefined,
    signatureValue: Buffer.from(`fake-gemini thought signature ${model.id} ${responseId}`).toString('base64'),
    emptyEnding: false,
    modelVersion: model.id,
    responseId,
    generation: model.generation ?? '3',
    leadingParts: [],
    urlMetadata: builtin.builtins.includes('urlContext') ? urlsIn(lastUserText(body)).map(urlStatus) : [],
  };
  if (run) {
    // On Gemini 3 the code part carries the step's thought signature, as a function call does
    // (inference: no recording of code execution on 3.x was found); the result follows it.
    const code = /** @type {Record<string, unknown>} */ ({ executableCode: { language: 'PYTHON', code: run.code } });
    if (plan.generation === '3') code.thoughtSignature = plan.signatureValue;
    plan.leadingParts.push(code, { codeExecutionResult: { outcome: run.outcome, output: run.output } });
  }
  if (plan.urlMetadata.length) {
    // The pages read count as tool-use prompt tokens, as in the url-context recording.
    plan.toolUseTokens = GROUNDING_TOOL_TOKENS;
    if (builtin.serverSide) {
      // includeServerSideToolInvocations: the server's call and response as parts of their own,
      // one `id` pairing them.
      const id = responseId.slice(0, 8).toLowerCase();
      // As pydantic-ai-file-search-gemini3-stream.sse shows them: `toolType` and `id` only, each
      // part signed (that recording's tool is FILE_SEARCH; URL context's are taken to be alike).
      plan.leadingParts.push(
        { toolCall: { toolType: 'URL_CONTEXT', id }, thoughtSignature: plan.signatureValue },
        { toolResponse: { toolType: 'URL_CONTEXT', id }, thoughtSignature: plan.signatureValue },
      );
    }
  }
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
      plan.thoughtParts = [];
      plan.unshownThoughts = 0;
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
      plan.thoughtParts = [];
      plan.unshownThoughts = 0;
      plan.finishReason = undefined;
      break;
  }
  const ordinaryEnd = plan.finishReason !== undefined && !OWN_ENDING.has(name);
  const thoughtsExhausted = max !== undefined && thoughts >= max;
  // 3.x: the closing event carries a signature only when the model thought (with thinking:
  // vercel-ai-google-thinking-gemini3.chunks.txt, pydantic-ai-file-search-gemini3-stream.sse;
  // without: the answer turn of pydantic-ai-gemini3-function-call-roundtrip.exchange.json).
  plan.closing = model.generation === '3' && ordinaryEnd && !thoughtsExhausted && options.signature !== 'none';
  if (plan.closing && thoughts > 0) plan.signature = 'event';
  else if (model.generation === '2.5' && thoughts > 0 && plan.pieces.length > 0) plan.signature = 'first';
  plan.emptyEnding = ordinaryEnd && plan.pieces.length === 0 && !plan.closing;
  return plan;
}

/**
 * `usageMetadata` in the order Gemini writes it (the 2.5 and 3.x recordings): prompt,
 * candidates, total, the prompt's per-modality details, tool-use prompt and its details,
 * thoughts. The total counts thoughts and tool-use tokens.
 * @param {Plan} plan
 * @param {number} thoughts
 * @param {number} [candidates] omitted until the answer has text
 */
function usage(plan, thoughts, candidates) {
  const metadata = /** @type {Record<string, unknown>} */ ({ promptTokenCount: plan.promptTokens });
  if (candidates !== undefined) metadata.candidatesTokenCount = candidates;
  metadata.totalTokenCount = plan.promptTokens + (candidates ?? 0) + thoughts + plan.toolUseTokens;
  metadata.promptTokensDetails = plan.promptDetails;
  if (plan.toolUseTokens) {
    metadata.toolUsePromptTokenCount = plan.toolUseTokens;
    metadata.toolUsePromptTokensDetails = [{ modality: 'TEXT', tokenCount: plan.toolUseTokens }];
  }
  if (thoughts) metadata.thoughtsTokenCount = thoughts;
  return metadata;
}

/**
 * The usage of the i-th of n thought-summary events. Each generation as recorded:
 * - 2.5 (`pydantic-ai-thinking-2.5-pro-stream.sse`, `vercel-ai-google-thinking-2.5-flash.chunks.txt`):
 *   the thoughts so far, growing to the full count, in `thoughtsTokenCount` and the total; no candidates.
 * - 3.x (`vercel-ai-google-thinking-gemini3.chunks.txt`): the prompt alone, `totalTokenCount` =
 *   the prompt, no `thoughtsTokenCount` (the full count comes with the first answer chunk); the
 *   recording has one thought event, the same usage on each of several is inference.
 * Neither counts tool-use tokens (inference: thoughts come before the search; the first event of
 * the file-search recordings has no tool-use count either).
 * @param {Plan} plan
 * @param {number} i
 * @param {number} n
 */
function thoughtUsage(plan, i, n) {
  const soFar = plan.generation === '2.5' ? Math.round((plan.thoughts * (i + 1)) / n) : 0;
  const metadata = /** @type {Record<string, unknown>} */ ({
    promptTokenCount: plan.promptTokens,
    totalTokenCount: plan.promptTokens + soFar,
    promptTokensDetails: plan.promptDetails,
  });
  if (soFar) metadata.thoughtsTokenCount = soFar;
  return metadata;
}

/** @param {number} chars answer characters sent; undefined when there is no answer text */
const candidateTokens = (chars) => (chars > 0 ? Math.max(1, Math.ceil(chars / 4)) : undefined);

/**
 * A whole response object (a frame's JSON, or the `:generateContent` body).
 * @param {Plan} plan
 * @param {Record<string, unknown>} candidate
 * @param {Record<string, unknown>} usageMetadata
 */
function response(plan, candidate, usageMetadata) {
  return { candidates: [candidate], usageMetadata, modelVersion: plan.modelVersion, responseId: plan.responseId };
}

/**
 * The last text chunk: the finish reason (unless the signature event carries it) and the
 * answer's token count.
 * @param {Plan} plan
 * @param {string} text
 * @param {boolean} first
 * @param {number} sentChars
 */
function lastTextFrame(plan, text, first, sentChars) {
  const part = /** @type {Record<string, unknown>} */ ({ text });
  if (first && plan.signature === 'first') part.thoughtSignature = plan.signatureValue;
  const candidate = /** @type {Record<string, unknown>} */ ({ content: { parts: [part], role: 'model' } });
  if (plan.finishReason && !plan.closing) candidate.finishReason = plan.finishReason;
  candidate.index = 0;
  if (candidate.finishReason === 'SAFETY') candidate.safetyRatings = safetyRatings('HIGH');
  if (plan.urlMetadata.length) candidate.urlContextMetadata = { urlMetadata: plan.urlMetadata };
  return response(plan, candidate, usage(plan, plan.thoughts, candidateTokens(sentChars)));
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {FakeRecord} record
 * @param {Plan} plan
 * @param {import('./scenarios.mjs').Directive} directive
 * @param {number} delay
 * @param {number} firstDelay
 */
async function streamAnswer(res, record, plan, directive, delay, firstDelay) {
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
    if (!split) return void res.write(frame);
    // Cut inside a multibyte character when there is one, so the reader sees half a character.
    const bytes = Buffer.from(frame, 'utf8');
    let cut = bytes.findIndex((b) => b >= 0xc0);
    cut = cut > 0 ? cut + 1 : bytes.length >> 1;
    res.write(bytes.subarray(0, cut));
    await sleep(2);
    if (open()) res.write(bytes.subarray(cut));
  };
  /** @param {unknown} object */
  const writeObject = (object) => write(`data: ${JSON.stringify(object)}\r\n\r\n`);

  if (firstDelay) await sleep(firstDelay);
  if (plan.blockReason) {
    await writeObject({ promptFeedback: { blockReason: plan.blockReason, safetyRatings: safetyRatings('HIGH') }, usageMetadata: usage(plan, 0) });
    return finish();
  }

  // Thought summaries first, with their generation's usage (thoughtUsage).
  for (let i = 0; i < plan.thoughtParts.length; i++) {
    if (i > 0 && delay) await sleep(delay);
    if (!open()) return;
    await writeObject(response(plan, { content: { parts: [{ text: plan.thoughtParts[i], thought: true }], role: 'model' }, index: 0 }, thoughtUsage(plan, i, plan.thoughtParts.length)));
    record.thoughtChunksSent++;
  }
  // The model's own tools (code execution, server-side tool invocations): a chunk per part, before the text.
  for (const part of plan.leadingParts) {
    if (delay) await sleep(delay);
    if (!open()) return;
    await writeObject(response(plan, { content: { parts: [part], role: 'model' }, index: 0 }, usage(plan, plan.thoughts)));
  }
  // unshown=wait: the model thinks as long whether or not it shows its summaries, so the answer
  // starts when it would have after them (inference: no source times both).
  if (plan.unshownThoughts && delay) {
    await sleep(plan.unshownThoughts * delay);
    if (!open()) return;
  }

  // The hot path: every frame but the last is the text plus strings made once here. Each answer
  // chunk's usage has the running candidatesTokenCount (the answer so far) and the full
  // thoughtsTokenCount, on 2.5 and 3.x alike (every 2.5 and 3.x stream recording); only the two
  // numbers change from chunk to chunk.
  const meta = `,"modelVersion":${JSON.stringify(plan.modelVersion)},"responseId":"${plan.responseId}"}\r\n\r\n`;
  const candidateEnd = plan.finishEach && plan.finishReason ? `}],"role":"model"},"finishReason":"${plan.finishReason}","index":0}],` : '}],"role":"model"},"index":0}],';
  const usageHead = `${candidateEnd}"usageMetadata":{"promptTokenCount":${plan.promptTokens},"candidatesTokenCount":`;
  const usageJson = JSON.stringify(usage(plan, plan.thoughts, 0));
  const usageRest = `${usageJson.slice(usageJson.indexOf(',"promptTokensDetails"'))}${meta}`;
  const uncounted = plan.promptTokens + plan.thoughts + plan.toolUseTokens;
  const firstSignature = plan.signature === 'first' ? `,"thoughtSignature":"${plan.signatureValue}"` : '';
  let sentChars = 0;
  const count = plan.pieces.length;
  for (let i = 0; i < count; i++) {
    if ((i > 0 || plan.thoughtParts.length > 0) && delay) await sleep(delay);
    if (!open()) return;
    const piece = plan.pieces[i];
    if (directive.name === 'grounding' && i === count - 1) {
      // As in the recording: the metadata on a chunk of its own, content {}, before the finish.
      await writeObject(response(plan, { content: {}, index: 0, groundingMetadata: GROUNDING }, usage(plan, plan.thoughts, candidateTokens(sentChars))));
    }
    sentChars += piece.length;
    // RECITATION arrives as a final candidate with no content after the text.
    const last = i === count - 1 && directive.name !== 'recitation';
    record.sentAt.push(performance.timeOrigin + performance.now());
    if (last) await writeObject(lastTextFrame(plan, piece, i === 0, sentChars));
    else {
      const candidates = Math.ceil(sentChars / 4);
      await write(`data: {"candidates":[{"content":{"parts":[{"text":${JSON.stringify(piece)}${i === 0 ? firstSignature : ''}${usageHead}${candidates},"totalTokenCount":${uncounted + candidates}${usageRest}`);
    }
    record.sentText += piece;
    record.chunksSent++;
  }
  if (!open()) return;

  if (plan.closing) {
    // Gemini 3 ends with an event of its own: an empty text part (with the signature when the
    // model thought), and the finish. Written right after the last text, so paced timings stay
    // those of the text.
    const part = plan.signature === 'event' ? { text: '', thoughtSignature: plan.signatureValue } : { text: '' };
    const candidate = { content: { parts: [part], role: 'model' }, finishReason: plan.finishReason, index: 0 };
    await writeObject(response(plan, candidate, usage(plan, plan.thoughts, candidateTokens(sentChars))));
  } else if (plan.emptyEnding) {
    await writeObject(response(plan, { content: { role: 'model' }, finishReason: plan.finishReason, index: 0 }, usage(plan, plan.thoughts)));
  }

  switch (directive.name) {
    case 'recitation':
      await writeObject({ candidates: [{ finishReason: 'RECITATION', index: 0 }], usageMetadata: usage(plan, plan.thoughts, candidateTokens(sentChars)), modelVersion: plan.modelVersion, responseId: plan.responseId });
      break;
    case 'error':
      await writeObject(plan.afterText);
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
 * `:generateContent`: the whole answer as one JSON response. Thought summaries come as one
 * `thought` part; the signature rides on the answer part (the non-stream recording).
 * @param {import('node:http').ServerResponse} res
 * @param {FakeRecord} record
 * @param {Plan} plan
 */
function answerWhole(res, record, plan) {
  record.status = 'completed';
  if (plan.blockReason) {
    return sendJson(res, 200, { promptFeedback: { blockReason: plan.blockReason, safetyRatings: safetyRatings('HIGH') }, usageMetadata: usage(plan, 0) });
  }
  const text = plan.pieces.join('');
  record.sentText = text;
  record.chunksSent = 1;
  const parts = [];
  if (plan.thoughtParts.length) {
    parts.push({ text: plan.thoughtParts.join(''), thought: true });
    record.thoughtChunksSent = 1;
  }
  parts.push(...plan.leadingParts);
  if (text) parts.push(plan.signature ? { text, thoughtSignature: plan.signatureValue } : { text });
  const finishReason = plan.finishReason ?? 'STOP';
  const candidate = /** @type {Record<string, unknown>} */ ({ content: parts.length ? { parts, role: 'model' } : { role: 'model' }, finishReason, index: 0 });
  if (finishReason === 'SAFETY') candidate.safetyRatings = safetyRatings('HIGH');
  if (plan.urlMetadata.length) candidate.urlContextMetadata = { urlMetadata: plan.urlMetadata };
  return sendJson(res, 200, response(plan, candidate, usage(plan, plan.thoughts, candidateTokens(text.length))));
}

/**
 * An answer of function calls (tools.mjs): the `functionCall` parts, the first with the thought
 * signature on Gemini 3 ("Gemini 3 returns thought signatures for all model responses with a
 * function call"; parallel calls: "only attached to the first functionCall part") and on 2.5 when
 * the model thought; finishReason STOP. Streamed as one chunk, or a chunk per call with `each=1`,
 * then on 3.x the closing `{"text":""}` event with the finish.
 * No calls: the candidate has the directive's finish and no content.
 * @param {import('node:http').ServerResponse} res
 * @param {FakeRecord} record
 * @param {Plan} plan
 * @param {Array<{ name: string, args: Record<string, unknown> }>} calls
 * @param {boolean} streaming
 * @param {Record<string, string>} options
 */
function answerCalls(res, record, plan, calls, streaming, options) {
  const signed = plan.generation === '3' || plan.thoughts > 0;
  // "Gemini 3 now always returns a unique `id` with every `functionCall`. Include this exact `id`
  // in your `functionResponse`" (ai.google.dev function-calling, as quoted in
  // NousResearch/hermes-agent#46077 and earendil-works/pi#7494). 2.x sends none.
  const withIds = plan.generation === '3' ? calls.map((call) => ({ id: randomBytes(6).toString('base64url').toLowerCase(), ...call })) : calls;
  const parts = withIds.map((call, i) => (i === 0 && signed ? { functionCall: call, thoughtSignature: plan.signatureValue } : { functionCall: call }));
  record.functionCalls = parts.map((p) => ({ ...p.functionCall, ...(p.thoughtSignature ? { thoughtSignature: p.thoughtSignature } : {}) }));
  record.status = 'completed';
  const tokens = candidateTokens(JSON.stringify(calls).length);
  const finishReason = calls.length ? 'STOP' : (options.finish ?? 'STOP');
  const candidate = (/** @type {any[]} */ chunkParts, /** @type {boolean} */ last) => {
    const c = /** @type {Record<string, unknown>} */ ({});
    if (chunkParts.length) c.content = { parts: chunkParts, role: 'model' };
    if (last) c.finishReason = finishReason;
    c.index = 0;
    return c;
  };
  if (!streaming) return sendJson(res, 200, response(plan, candidate(parts, true), usage(plan, plan.thoughts, tokens)));
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Content-Disposition': 'attachment' });
  const chunks = options.each === '1' && parts.length > 1 ? parts.map((p) => [p]) : [parts];
  // Gemini 3 streams end with an event of their own, `{"text":""}` and the finish, after the calls
  // too (pydantic-ai-gemini3-function-call-stream.sse: the signature rode on the functionCall part).
  const closing = plan.generation === '3' && calls.length > 0;
  const events = chunks.map((chunkParts, i) => response(plan, candidate(chunkParts, !closing && i === chunks.length - 1), usage(plan, plan.thoughts, tokens)));
  if (closing) events.push(response(plan, candidate([{ text: '' }], true), usage(plan, plan.thoughts, tokens)));
  record.chunksSent = chunks.length;
  // `delay=MS`: a slow stream, each event after the first that long after the one before (as text answers take it).
  const delay = Number(options.delay ?? 0);
  const write = (/** @type {number} */ i) => {
    if (res.destroyed) return;
    if (i === events.length) return res.end();
    res.write(`data: ${JSON.stringify(events[i])}\r\n\r\n`);
    if (delay > 0) setTimeout(() => write(i + 1), delay);
    else write(i + 1);
  };
  write(0);
}

/**
 * The checks Gemini makes on a request body's shape that matter to a client. The messages are
 * kept from the 2025 fake: (inference) no 2026 source quotes them.
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

/**
 * The index of the last `user` turn (a turn without a role counts as the user's), or -1.
 * @param {any} body
 */
function lastUserTurn(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  for (let i = contents.length - 1; i >= 0; i--) if ((contents[i]?.role ?? 'user') === 'user') return i;
  return -1;
}

/** @param {any} body */
function lastUserText(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  const last = contents[contents.length - 1];
  return (last?.parts ?? []).map((/** @type {any} */ p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}

/**
 * The text of the last user turn that has text: where the current turn started (a turn of
 * function responses has none).
 * @param {any} body
 */
function turnText(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  for (let i = contents.length - 1; i >= 0; i--) {
    const texts = (contents[i]?.parts ?? []).filter((/** @type {any} */ p) => typeof p?.text === 'string');
    if ((contents[i]?.role ?? 'user') === 'user' && texts.length) return texts.map((/** @type {any} */ p) => p.text).join('');
  }
  return '';
}

/** @param {any} body */
function promptText(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  const system = (body?.systemInstruction?.parts ?? []).map((/** @type {any} */ p) => p?.text ?? '').join('');
  return system + contents.flatMap((/** @type {any} */ c) => (c?.parts ?? []).map((/** @type {any} */ p) => p?.text ?? '')).join('');
}

/**
 * A response with extra headers; a string body is sent as is (the upload protocol's empty
 * answers), anything else as JSON.
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
function sendRaw(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...(typeof body === 'string' ? {} : { 'Content-Type': 'application/json; charset=UTF-8' }),
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
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

/**
 * `text` with a cited sentence per number, each `Page N says so [N].`, at even intervals (a
 * model's citations come after the sentence they support).
 * @param {string} text
 * @param {number[]} numbers
 */
function withCitations(text, numbers) {
  const chars = Array.from(text);
  const step = Math.max(1, Math.floor(chars.length / (numbers.length + 1)));
  let out = '';
  numbers.forEach((n, i) => {
    out += chars.slice(i * step, (i + 1) * step).join('') + ` Page ${n} says so [${n}].`;
  });
  return out + chars.slice(numbers.length * step).join('');
}

/**
 * What an assistant's instructions say to answer when its pages have none: the rest of the
 * sentence after "If the pages do not answer the question, " in the system instruction, or a
 * plain admission when there is no such sentence.
 * @param {any} body
 */
function fallbackAnswer(body) {
  const system = (body?.systemInstruction?.parts ?? []).map((/** @type {any} */ p) => p?.text ?? '').join('');
  const match = /If the pages do not answer the question, ([^\n]*?\.)(?:\s|$)/.exec(system);
  if (!match) return "I don't know.";
  const rule = match[1];
  return rule.charAt(0).toUpperCase() + rule.slice(1);
}

/**
 * What `[fake:code]` runs: a sum the prompt's length decides, printed (`outcome=OUTCOME_FAILED`
 * or `OUTCOME_DEADLINE_EXCEEDED`: that outcome, with a traceback or nothing as its output).
 * @param {string} prompt
 * @param {Record<string, string>} options
 */
function codeRun(prompt, options) {
  const n = (prompt.length % 20) + 5;
  const outcome = options.outcome ?? 'OUTCOME_OK';
  const output =
    outcome === 'OUTCOME_OK'
      ? `${(n * (n + 1)) / 2}\n`
      : outcome === 'OUTCOME_FAILED'
        ? 'Traceback (most recent call last):\n  File "<string>", line 1\nZeroDivisionError: division by zero\n'
        : '';
  return { code: `print(sum(range(1, ${n + 1})))\n`, outcome, output };
}

/**
 * One URL's `urlMetadata` entry: retrieved, unless its address says it cannot be
 * (`…/unreachable…` → `URL_RETRIEVAL_STATUS_ERROR`, `…/unsafe…` → `URL_RETRIEVAL_STATUS_UNSAFE`).
 * @param {string} url
 */
function urlStatus(url) {
  const status = /unsafe/i.test(url) ? 'URL_RETRIEVAL_STATUS_UNSAFE' : /unreachable/i.test(url) ? 'URL_RETRIEVAL_STATUS_ERROR' : 'URL_RETRIEVAL_STATUS_SUCCESS';
  return { retrievedUrl: url, urlRetrievalStatus: status };
}
