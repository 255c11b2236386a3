// @ts-check
/**
 * The fake's own model table: which Gemini model IDs exist on the Developer API as of
 * December 2026, which model answers each, and what each accepts. The fake emulates Google,
 * so this table is independent of the Worker's allow-list. Sources: docs/fake-gemini.md
 * ("Models"); every value not taken from a source is marked (inference) there and here. All
 * displayName, version and description values are inference (the 2.5 ones as Google listed them
 * in 2025, not in a 2026 source), and so are the rerouted and alias descriptions of
 * modelResource.
 */

/** @typedef {'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH'} ThinkingLevel */

/**
 * Gemini 2.5 thinking budgets (the 2.5 family has no levels).
 * @typedef {object} BudgetRule
 * @property {number} min the smallest positive budget
 * @property {number} max
 * @property {boolean} canDisable whether a budget of 0 (no thinking) is accepted
 * @property {boolean} thinksByDefault whether the model thinks when no budget is given
 */

/**
 * @typedef {object} FakeModel
 * @property {string} id
 * @property {'current' | 'rerouted' | 'alias' | 'legacy' | 'shutdown'} stage
 *   current: answers as itself; rerouted/alias: answered by `target`; legacy: the 2.5 family,
 *   listed, 404 for new users, answered by `target` for existing users; shutdown: 404, not listed
 * @property {string} [target] the model that answers (its id is the `modelVersion`)
 * @property {string} [suggest] legacy: the model the "no longer available to new users" 404 names
 * @property {'3' | '2.5'} [generation] the API rules that apply to requests naming this id
 * @property {ThinkingLevel[]} [levels] on Gemini 3, the thinking levels the model offers
 * @property {ThinkingLevel} [defaultLevel] on Gemini 3, the level used when the request names none
 * @property {BudgetRule} [budget] on Gemini 2.5, the thinking budgets accepted
 * @property {boolean} [samplingIgnored] temperature/topP/topK are accepted and ignored
 * @property {boolean} [paidOnly] no free-tier quota (a free key gets 429 with `limit: 0`)
 * @property {string} [shutdown] announced (future) or past shutdown date
 * @property {string} [displayName]
 * @property {string} [description]
 * @property {string} [version]
 * @property {string[]} [inference] the fields of this entry that are our inference, not a source's
 */

/** Thought tokens the fake spends at each level (deterministic, so tests can add them up). */
export const LEVEL_THOUGHTS = /** @type {Record<ThinkingLevel, number>} */ ({ MINIMAL: 0, LOW: 48, MEDIUM: 160, HIGH: 480 });

/** Thought tokens for a positive or dynamic (-1) budget: min(budget, this). */
export const BUDGET_THOUGHTS = LEVEL_THOUGHTS.MEDIUM;

export const THINKING_LEVELS = /** @type {ThinkingLevel[]} */ (['MINIMAL', 'LOW', 'MEDIUM', 'HIGH']);
const NOT_MINIMAL = /** @type {ThinkingLevel[]} */ (['LOW', 'MEDIUM', 'HIGH']);

/**
 * The output ceiling of 3.5–3.8 Flash, 3.5/3.1 Flash-Lite and 3.1 Pro (the model tables); the
 * same for every other model is inference.
 */
export const OUTPUT_TOKEN_LIMIT = 65536;
/** The input limit of the one real list entry in the sources; for every model: inference. */
const INPUT_TOKEN_LIMIT = 1048576;

/** @type {FakeModel[]} */
const TABLE = [
  // Current models.
  {
    id: 'gemini-3.8-flash', stage: 'current', generation: '3', levels: NOT_MINIMAL, defaultLevel: 'MEDIUM', samplingIgnored: true,
    displayName: 'Gemini 3.8 Flash', version: '3.8', description: 'Gemini 3.8 Flash, our latest stable Flash model, released in September of 2026.',
  },
  {
    id: 'gemini-3.6-flash', stage: 'current', generation: '3', levels: THINKING_LEVELS, defaultLevel: 'MEDIUM', samplingIgnored: true,
    displayName: 'Gemini 3.6 Flash', version: '3.6', description: 'Gemini 3.6 Flash, released in July of 2026.',
  },
  {
    id: 'gemini-3.5-flash-lite', stage: 'current', generation: '3', levels: THINKING_LEVELS, defaultLevel: 'MINIMAL', samplingIgnored: true,
    displayName: 'Gemini 3.5 Flash-Lite', version: '3.5', description: 'Gemini 3.5 Flash-Lite, released in July of 2026.',
  },
  {
    id: 'gemini-3.1-flash-lite', stage: 'current', generation: '3', levels: THINKING_LEVELS, defaultLevel: 'MINIMAL', shutdown: '2027-05-07',
    displayName: 'Gemini 3.1 Flash-Lite', version: '3.1', description: 'Gemini 3.1 Flash-Lite, released in May of 2026. Shutdown: May 7, 2027.',
  },
  {
    id: 'gemini-3.1-pro-preview', stage: 'current', generation: '3', levels: NOT_MINIMAL, defaultLevel: 'HIGH', paidOnly: true,
    displayName: 'Gemini 3.1 Pro Preview', version: '3.1-preview', description: 'Preview release of Gemini 3.1 Pro (February 2026).',
  },
  {
    id: 'gemini-3-flash-preview', stage: 'current', generation: '3', levels: THINKING_LEVELS, defaultLevel: 'HIGH',
    displayName: 'Gemini 3 Flash Preview', version: '3-preview', description: 'Preview release of Gemini 3 Flash.',
    inference: ['levels', 'defaultLevel'],
  },
  // Deprecated IDs Google routes to their replacement.
  { id: 'gemini-3.7-flash', stage: 'rerouted', target: 'gemini-3.8-flash', displayName: 'Gemini 3.7 Flash', version: '3.7' },
  { id: 'gemini-3.5-flash', stage: 'rerouted', target: 'gemini-3.6-flash', displayName: 'Gemini 3.5 Flash', version: '3.5' },
  { id: 'gemini-3-pro-preview', stage: 'rerouted', target: 'gemini-3.1-pro-preview', displayName: 'Gemini 3 Pro Preview', version: '3-preview' },
  // Aliases.
  { id: 'gemini-flash-latest', stage: 'alias', target: 'gemini-3.8-flash', displayName: 'Gemini Flash Latest', version: 'latest' },
  { id: 'gemini-flash-lite-latest', stage: 'alias', target: 'gemini-3.5-flash-lite', displayName: 'Gemini Flash-Lite Latest', version: 'latest', inference: ['target'] },
  { id: 'gemini-pro-latest', stage: 'alias', target: 'gemini-3.1-pro-preview', displayName: 'Gemini Pro Latest', version: 'latest', inference: ['target'] },
  // The 2.5 family: listed, closed to new users; existing users are answered by `target`.
  {
    id: 'gemini-2.5-flash', stage: 'legacy', target: 'gemini-3.5-flash-lite', suggest: 'gemini-3.6-flash', generation: '2.5',
    budget: { min: 1, max: 24576, canDisable: true, thinksByDefault: true },
    displayName: 'Gemini 2.5 Flash', version: '001',
    description: 'Stable version of Gemini 2.5 Flash, our mid-size multimodal model that supports up to 1 million tokens, released in June of 2025.',
    inference: ['target'],
  },
  {
    id: 'gemini-2.5-pro', stage: 'legacy', target: 'gemini-3.8-flash', suggest: 'gemini-3.8-flash', generation: '2.5',
    budget: { min: 128, max: 32768, canDisable: false, thinksByDefault: true },
    displayName: 'Gemini 2.5 Pro', version: '2.5', description: 'Stable release (June 17th, 2025) of Gemini 2.5 Pro',
    inference: ['target', 'suggest'],
  },
  {
    // Not deprecated: an existing user is still answered by 2.5 Flash-Lite itself, with 2.5 rules.
    id: 'gemini-2.5-flash-lite', stage: 'legacy', target: 'gemini-2.5-flash-lite', suggest: 'gemini-3.5-flash-lite', generation: '2.5',
    budget: { min: 512, max: 24576, canDisable: true, thinksByDefault: false },
    displayName: 'Gemini 2.5 Flash-Lite', version: '001', description: 'Stable version of Gemini 2.5 Flash-Lite, released in July of 2025',
    inference: ['suggest'],
  },
  // Shut down: a hard 404, no routing, not listed.
  ...[
    'gemini-2.0-flash', 'gemini-2.0-flash-001', 'gemini-2.0-flash-lite', 'gemini-2.0-flash-lite-001',
    'gemini-1.5-pro', 'gemini-1.5-flash', 'gemini-1.5-flash-8b',
    'gemini-2.5-pro-preview-03-25', 'gemini-2.5-pro-preview-05-06', 'gemini-2.5-pro-preview-06-05',
    'gemini-2.5-flash-preview-09-2025', 'gemini-2.5-flash-lite-preview-09-2025', 'gemini-3.1-flash-lite-preview',
  ].map((id) => /** @type {FakeModel} */ ({ id, stage: 'shutdown' })),
];

/** The model table, by ID. */
export const FAKE_MODELS = /** @type {Readonly<Record<string, Readonly<FakeModel>>>} */ (
  Object.freeze(Object.fromEntries(TABLE.map((model) => [model.id, Object.freeze(model)])))
);

/**
 * Who is asking: the key tells the fake's "projects" apart (fake-gemini/keys.mjs).
 * @typedef {{ tier: 'free' | 'paid', existingUser: boolean }} Project
 */

/**
 * @typedef {object} Resolved
 * @property {Readonly<FakeModel>} requested the entry the URL names
 * @property {Readonly<FakeModel>} answering the model that answers (a current model, or 2.5 Flash-Lite)
 * @property {Readonly<FakeModel>} rules whose thinking rules apply: the requested 2.5 entry, else the answering model
 */

/**
 * Which model answers a request for `id`, or the 404 message Google gives instead.
 * @param {string} id
 * @param {Project} project
 * @returns {Resolved | { notFound: string }}
 */
export function resolveModel(id, project) {
  const requested = FAKE_MODELS[id];
  if (!requested) {
    return { notFound: `models/${id} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.` };
  }
  if (requested.stage === 'shutdown') {
    return { notFound: `This model models/${id} is no longer available. Please update your code to use a newer model for the latest features and improvements.` };
  }
  if (requested.stage === 'legacy' && !project.existingUser) {
    return { notFound: `This model models/${id} is no longer available to new users. Please update your code to use models/${requested.suggest} for the latest features and improvements.` };
  }
  const answering = requested.target ? FAKE_MODELS[requested.target] : requested;
  return { requested, answering, rules: requested.generation ? requested : answering };
}

/**
 * The `Model` resource `GET /v1beta/models` lists, for a listed entry.
 * @param {Readonly<FakeModel>} model
 */
export function modelResource(model) {
  const answering = model.target ? FAKE_MODELS[model.target] : model;
  let description = model.description ?? answering.description;
  if (model.stage === 'rerouted') description = `Deprecated: requests to ${model.id} are automatically routed to ${model.target}.`;
  if (model.stage === 'alias') description = `Latest release of the family; currently points to ${model.target}.`;
  return {
    name: `models/${model.id}`,
    version: model.version ?? answering.version,
    displayName: model.displayName ?? answering.displayName,
    description,
    inputTokenLimit: INPUT_TOKEN_LIMIT,
    outputTokenLimit: OUTPUT_TOKEN_LIMIT,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
    // The real entry's values (habeat-server models.json); the same for every model: inference.
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
    thinking: true,
  };
}

/** What `GET /v1beta/models` lists, in order: listed ≠ callable (the 2.5 family is here). */
export const LISTED_MODELS = TABLE.filter((model) => model.stage !== 'shutdown').map(modelResource);
