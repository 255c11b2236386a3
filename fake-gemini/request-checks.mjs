// @ts-check
/**
 * The checks Gemini makes on a request's `contents` and `generationConfig` for the model that
 * answers it, and what the fake derives from them: the thought tokens to spend, and which
 * sampling parameters were honoured or ignored. Messages and sources: docs/fake-gemini.md.
 */
import { BUDGET_THOUGHTS, LEVEL_THOUGHTS, OUTPUT_TOKEN_LIMIT, THINKING_LEVELS } from './models.mjs';

/** The sampling parameters, as the JSON field and as the proto field a message names. */
const SAMPLING = /** @type {const} */ ([
  ['temperature', 'temperature'],
  ['topP', 'top_p'],
  ['topK', 'top_k'],
]);

/**
 * @typedef {object} Settings what a valid request asks of the answering model
 * @property {number} thoughts thought tokens the model spends before capping at maxOutputTokens
 * @property {boolean} includeThoughts thought summaries were asked for
 * @property {number | undefined} maxOutputTokens
 * @property {string[]} ignored sampling parameters sent and ignored (3.6/3.8 Flash, 3.5 Flash-Lite)
 * @property {string[]} honoured sampling parameters sent and honoured
 * @property {number} signaturesReturned thought signatures the request's history sent back
 * @property {number} signaturesForeign of those, signatures another model family made: accepted,
 *   and their thinking left out of the context
 * @property {number} signaturesSkipped signatures sent as `skip_thought_signature_validator` (accepted)
 */

/**
 * Google's JSON parser takes a field in lowerCamelCase or in its proto (snake_case) name: the
 * recorded requests had `fileSearch.file_search_store_names` and `toolResponse.tool_type`
 * accepted (pydantic-ai file-search recordings); that it holds for every field is inference.
 * @param {any} object
 * @param {string} camel
 * @param {string} snake
 */
function field(object, camel, snake) {
  if (!object || typeof object !== 'object') return undefined;
  return object[camel] ?? object[snake];
}

/**
 * Checks the request against the model table. Returns the 400 message, or the settings.
 * @param {any} body the parsed request (contents already checked by the caller)
 * @param {import('./models.mjs').Resolved} model
 * @param {{ rejectSampling: boolean }} options
 * @returns {{ invalid: string, field?: string } | { settings: Settings }}
 */
export function checkRequest(body, model, options) {
  const { rules, answering } = model;
  const gemini3 = answering.generation === '3';
  const config = field(body, 'generationConfig', 'generation_config') ?? {};
  const thinking = field(config, 'thinkingConfig', 'thinking_config');
  const rawLevel = field(thinking, 'thinkingLevel', 'thinking_level');
  const budget = field(thinking, 'thinkingBudget', 'thinking_budget');

  // An unknown enum value fails at parsing, before any rule of the model (inference: the wording
  // is Google's usual one for a bad enum value).
  /** @type {import('./models.mjs').ThinkingLevel | undefined} */
  let level;
  if (rawLevel !== undefined && rawLevel !== null) {
    const upper = String(rawLevel).toUpperCase();
    if (!THINKING_LEVELS.includes(/** @type {any} */ (upper)) && upper !== 'THINKING_LEVEL_UNSPECIFIED') {
      return {
        invalid: `Invalid value at 'generation_config.thinking_config.thinking_level' (type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), ${JSON.stringify(rawLevel)}`,
        field: 'generation_config.thinking_config.thinking_level',
      };
    }
    if (upper !== 'THINKING_LEVEL_UNSPECIFIED') level = /** @type {import('./models.mjs').ThinkingLevel} */ (upper);
  }
  if (budget !== undefined && !Number.isInteger(budget)) {
    // (inference) the same bad-value wording, for an int32 field.
    return {
      invalid: `Invalid value at 'generation_config.thinking_config.thinking_budget' (TYPE_INT32), ${JSON.stringify(budget)}`,
      field: 'generation_config.thinking_config.thinking_budget',
    };
  }

  const maxOutputTokens = field(config, 'maxOutputTokens', 'max_output_tokens');
  if (typeof maxOutputTokens === 'number' && maxOutputTokens > OUTPUT_TOKEN_LIMIT) {
    // (inference) No 2026 text is known; this is the older wording's shape.
    return { invalid: `The requested maxOutputTokens value of ${maxOutputTokens} but the supported range is from 1 (inclusive) to ${OUTPUT_TOKEN_LIMIT + 1} (exclusive)` };
  }
  const candidateCount = field(config, 'candidateCount', 'candidate_count');
  if (gemini3 && typeof candidateCount === 'number' && candidateCount > 1) {
    return { invalid: 'Multiple candidates is not enabled for this model' };
  }

  if (level && budget !== undefined) return { invalid: 'thinking_budget and thinking_level are not supported together' };
  if (level && rules.generation === '2.5') return { invalid: 'Thinking level is not supported for this model.' };
  if (level && !rules.levels?.includes(level)) {
    return { invalid: `Thinking level ${level} is not supported for this model. Please retry with other thinking level.` };
  }
  if (budget !== undefined && !budgetAccepted(budget, rules.budget)) return { invalid: `The thinking budget (${budget}) is invalid.` };

  const sent = SAMPLING.filter(([camel, snake]) => field(config, camel, snake) !== undefined);
  if (answering.samplingIgnored && options.rejectSampling && sent.length) {
    // (inference) No source quotes this 400 ("will return an HTTP 400 error in future model
    // generations", ai.google.dev/gemini-api/docs/latest-model): the wording is ours.
    return {
      invalid: `${sent[0][1]} is not supported for this model. The sampling parameters temperature, top_p and top_k are deprecated: remove them from the request.`,
      field: `generation_config.${sent[0][1]}`,
    };
  }

  if (gemini3 && endsWithModelTurn(body.contents)) return { invalid: 'Requests ending with a model turn are not supported.' };

  const signatures = checkSignatures(body.contents, answering, gemini3);
  if ('invalid' in signatures) return signatures;

  const names = sent.map(([camel]) => camel);
  return {
    settings: {
      thoughts: thoughtTokens(level, budget, answering),
      includeThoughts: field(thinking, 'includeThoughts', 'include_thoughts') === true,
      maxOutputTokens: typeof maxOutputTokens === 'number' && maxOutputTokens > 0 ? maxOutputTokens : undefined,
      ignored: answering.samplingIgnored ? names : [],
      honoured: answering.samplingIgnored ? [] : names,
      signaturesReturned: signatures.returned,
      signaturesForeign: signatures.foreign,
      signaturesSkipped: signatures.skipped,
    },
  };
}

/**
 * A 2.5 budget: 0 (when the model may stop thinking), -1 (dynamic) or within its range. On 3.x
 * (no budget rule) any budget from -1 up is accepted and honoured (mcp-mesh#1346, 2026-07-20).
 * @param {number} budget
 * @param {import('./models.mjs').BudgetRule | undefined} rule
 */
function budgetAccepted(budget, rule) {
  if (!rule) return budget >= -1;
  if (budget === -1) return true;
  if (budget === 0) return rule.canDisable;
  return budget >= rule.min && budget <= rule.max;
}

/**
 * Thought tokens: per level, a budget caps them (0: none; -1: dynamic), else the answering
 * model's default (3.x: its default level; 2.5 Flash-Lite: no thinking).
 * @param {import('./models.mjs').ThinkingLevel | undefined} level
 * @param {number | undefined} budget
 * @param {import('./models.mjs').FakeModel} answering
 */
function thoughtTokens(level, budget, answering) {
  if (level) return LEVEL_THOUGHTS[level];
  if (budget !== undefined) return budget === -1 ? BUDGET_THOUGHTS : Math.min(budget, BUDGET_THOUGHTS);
  if (answering.defaultLevel) return LEVEL_THOUGHTS[answering.defaultLevel];
  return answering.budget?.thinksByDefault ? BUDGET_THOUGHTS : 0;
}

/**
 * "API requests ending with a non-empty `model` role turn return an HTTP 400 error." What counts
 * as empty (only empty texts, thought flags and signatures) is inference.
 * @param {any[]} contents
 */
function endsWithModelTurn(contents) {
  const last = contents[contents.length - 1];
  if (last?.role !== 'model') return false;
  return (last.parts ?? []).some((/** @type {any} */ part) =>
    Object.keys(part ?? {}).some((key) => (key === 'text' ? part.text !== '' : key !== 'thought' && key !== 'thoughtSignature')),
  );
}

/** What the fake's signatures say, base64-encoded: see planAnswer in server.mjs. */
const SIGNATURE_PREFIX = 'fake-gemini thought signature ';

/** The value Gemini documents for a signature it should not check (GEMINI-API-2026 §3). */
const SKIP_VALIDATOR = 'skip_thought_signature_validator';

/**
 * A model's family for signatures: "Thought signatures are only compatible with the model family
 * and tier that generated them … Flash-Lite cannot process thoughts generated by Flash or Pro"
 * (Vertex AI, thought signatures page, "Signatures from other models").
 * @param {string} id
 */
function family(id) {
  return id.includes('flash-lite') ? 'flash-lite' : id.includes('pro') ? 'pro' : 'flash';
}

/**
 * Thought signatures sent back in `contents`, checked as Gemini does (docs/fake-gemini.md,
 * "Thought signatures"):
 * - a signature must come back exactly as it was sent: a truncated, altered or made-up one is a
 *   400 (Vertex AI: "Sending truncated or corrupted signatures returns a 400 (INVALID_ARGUMENT)";
 *   the message, "Corrupted thought signature.", as clients quote it — docs.apiyi.com FAQ);
 * - one from another model family is accepted, its thinking left out of the context (Vertex AI:
 *   "the request still succeeds, but the service omits the incompatible thoughts");
 * - on Gemini 3, the first `functionCall` of each model turn of the current turn (after the last
 *   user text) must carry its signature: a 400 naming `default_api:<name>` and its position
 *   (GEMINI-API-2026 §3; "only the current turn is validated", ai.google.dev thought-signatures).
 * - the documented escape hatch `skip_thought_signature_validator` (for calls the model did not
 *   make, or a history from another model: GEMINI-API-2026 §3, strands-agents/sdk-python#1298)
 *   passes the check, counted in `skipped`; no other made-up value does.
 * Text parts without a signature are never refused: no source reports it.
 * @param {any[]} contents
 * @param {import('./models.mjs').FakeModel} answering
 * @param {boolean} gemini3
 * @returns {{ invalid: string } | { returned: number, foreign: number, skipped: number }}
 */
function checkSignatures(contents, answering, gemini3) {
  let returned = 0;
  let foreign = 0;
  let skipped = 0;
  for (const content of contents ?? []) {
    for (const part of content?.parts ?? []) {
      const signature = field(part, 'thoughtSignature', 'thought_signature');
      if (signature === undefined) continue;
      if (signature === SKIP_VALIDATOR) {
        skipped++;
        continue;
      }
      const decoded = typeof signature === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(signature) ? Buffer.from(signature, 'base64').toString('utf8') : '';
      if (!decoded.startsWith(SIGNATURE_PREFIX)) return { invalid: 'Corrupted thought signature.' };
      returned++;
      const [issuer] = decoded.slice(SIGNATURE_PREFIX.length).split(' ');
      if (family(issuer ?? '') !== family(answering.id)) foreign++;
    }
  }
  if (gemini3) {
    let start = 0;
    (contents ?? []).forEach((/** @type {any} */ content, /** @type {number} */ i) => {
      if (content?.role === 'user' && (content.parts ?? []).some((/** @type {any} */ p) => typeof p?.text === 'string')) start = i;
    });
    for (let i = start; i < (contents ?? []).length; i++) {
      const content = contents[i];
      if (content?.role !== 'model') continue;
      const parts = content.parts ?? [];
      const position = parts.findIndex((/** @type {any} */ p) => field(p, 'functionCall', 'function_call'));
      if (position === -1 || field(parts[position], 'thoughtSignature', 'thought_signature') !== undefined) continue;
      const name = field(parts[position], 'functionCall', 'function_call')?.name ?? '';
      return {
        invalid: `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${position + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
      };
    }
  }
  return { returned, foreign, skipped };
}
