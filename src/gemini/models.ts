/**
 * The model catalogue: the one place that knows Gemini's model names, and what
 * each accepts. Routes and the config ask it; nothing else names a model.
 *
 * Facts as of 2026-12-02, from Google's changelog, model and deprecation pages
 * (sources in docs/models.md). Where a fact is an inference, the entry says so.
 * A name the catalogue does not know gets the rules of the newest generation
 * (`thinkingLevel`, sampling ignored, 65,536 output tokens): Google's "latest
 * model" page says those rules hold "for all future Gemini model releases".
 */

export type ThinkingLevel = 'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH';

/** How a model's thinking is controlled (`generationConfig.thinkingConfig`). */
export type ThinkingControl =
  /** Gemini 3.x: `thinkingLevel`, one of `levels`; a level not offered is a 400. `thinkingBudget` still works but is not recommended. */
  | { kind: 'level'; levels: readonly ThinkingLevel[]; default: ThinkingLevel }
  /** Gemini 2.5: `thinkingBudget` in tokens; `thinkingLevel` is a 400. `off`: 0 allowed (no thinking). */
  | { kind: 'budget'; min: number; max: number; off: boolean; default: 'dynamic' | 'off' };

/**
 * Where a model is in its life:
 * - `current`: served as itself (GA or preview);
 * - `rerouted`: the name still answers, but another model (`to`) serves it, at that model's price;
 * - `existing-users`: answers only projects that used it before; new projects get a 404;
 * - `retired`: shut down, every call is a 404.
 */
export type Lifecycle =
  | { stage: 'current'; preview?: boolean; shutdown?: string; replacement?: string }
  | { stage: 'rerouted'; to: string; note?: string; replacement?: string }
  | { stage: 'existing-users'; replacement: string }
  | { stage: 'retired'; replacement: string; since: string };

export interface ModelInfo {
  id: string;
  thinking: ThinkingControl;
  /** `temperature`, `topP`, `topK` honoured; `false`: ignored by Gemini (and a 400 in future generations), so never sent. */
  sampling: boolean;
  /** Most output tokens the model takes in `maxOutputTokens` (thinking tokens count against it). */
  maxOutputTokens: number;
  lifecycle: Lifecycle;
}

const LEVELS_ALL: readonly ThinkingLevel[] = ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'];
const LEVELS_NO_MINIMAL: readonly ThinkingLevel[] = ['LOW', 'MEDIUM', 'HIGH'];
const OUTPUT_3X = 65_536;

type Entry = Omit<ModelInfo, 'id'>;

const current = (thinking: ThinkingControl, sampling: boolean, extra: Partial<Extract<Lifecycle, { stage: 'current' }>> = {}): Entry => ({
  thinking,
  sampling,
  maxOutputTokens: OUTPUT_3X,
  lifecycle: { stage: 'current', ...extra },
});

/** The models served as themselves. */
const SERVED: Record<string, Entry> = {
  // GA 2026-09-02; the newest Flash. MINIMAL is a 400 (WritingTools#282).
  'gemini-3.8-flash': current({ kind: 'level', levels: LEVELS_NO_MINIMAL, default: 'MEDIUM' }, false),
  // GA 2026-07-21, previous generation, still production.
  'gemini-3.6-flash': current({ kind: 'level', levels: LEVELS_ALL, default: 'MEDIUM' }, false),
  // GA 2026-07-21.
  'gemini-3.5-flash-lite': current({ kind: 'level', levels: LEVELS_ALL, default: 'MINIMAL' }, false),
  // GA 2026-05-07, shutdown announced for 2027-05-07.
  'gemini-3.1-flash-lite': current({ kind: 'level', levels: LEVELS_ALL, default: 'MINIMAL' }, true, {
    shutdown: '2027-05-07',
    replacement: 'gemini-3.5-flash-lite',
  }),
  // The current Pro: a preview (no Pro is GA on the Developer API); paid tier only since 2026-04-01.
  'gemini-3.1-pro-preview': current({ kind: 'level', levels: LEVELS_NO_MINIMAL, default: 'HIGH' }, true, { preview: true }),
  // Inference: levels and default as Gemini 3 Flash's launch docs gave them (no 2026 source).
  'gemini-3-flash-preview': current({ kind: 'level', levels: LEVELS_ALL, default: 'HIGH' }, true, { preview: true }),
  // Existing users only since mid-2026; "not deprecated … until further notice" (deprecations page, read 2026-11-10).
  'gemini-2.5-flash-lite': {
    thinking: { kind: 'budget', min: 512, max: 24_576, off: true, default: 'off' },
    sampling: true,
    maxOutputTokens: OUTPUT_3X,
    lifecycle: { stage: 'existing-users', replacement: 'gemini-3.5-flash-lite' },
  },
};

/**
 * Names another model answers. The rolling aliases follow Google's choice of model;
 * `gemini-flash-latest` → 3.8 Flash was observed 2026-09-11, the other two targets are inferences.
 */
const ROUTES: Record<string, { to: string; note?: string; replacement?: string }> = {
  'gemini-3.7-flash': { to: 'gemini-3.8-flash' },
  'gemini-3.5-flash': { to: 'gemini-3.6-flash' },
  'gemini-3-pro-preview': { to: 'gemini-3.1-pro-preview' },
  'gemini-flash-latest': { to: 'gemini-3.8-flash', note: 'a rolling alias' },
  'gemini-flash-lite-latest': { to: 'gemini-3.5-flash-lite', note: 'a rolling alias' },
  'gemini-pro-latest': { to: 'gemini-3.1-pro-preview', note: 'a rolling alias' },
  // Shut down 2026-12-01 and routed, for projects that used them; new projects get a 404.
  // The replacement is what Google's own 404 to a new project suggests (seen 2026-08-18), not the route.
  'gemini-2.5-flash': {
    to: 'gemini-3.5-flash-lite',
    note: 'only for projects that used gemini-2.5-flash before; new projects get a 404',
    replacement: 'gemini-3.6-flash',
  },
  'gemini-2.5-pro': { to: 'gemini-3.8-flash', note: 'only for projects that used gemini-2.5-pro before; new projects get a 404' },
};

/** Shut down: every call is a 404. The replacement is the one Google's notices name. */
const RETIRED: Record<string, { replacement: string; since: string }> = {
  'gemini-1.5-pro': { replacement: 'gemini-3.8-flash', since: '2025-09-29' },
  'gemini-1.5-flash': { replacement: 'gemini-3.8-flash', since: '2025-09-29' },
  'gemini-1.5-flash-8b': { replacement: 'gemini-3.5-flash-lite', since: '2025-09-29' },
  'gemini-2.5-pro-preview-03-25': { replacement: 'gemini-3.1-pro-preview', since: '2025-12-02' },
  'gemini-2.5-pro-preview-05-06': { replacement: 'gemini-3.1-pro-preview', since: '2025-12-02' },
  'gemini-2.5-pro-preview-06-05': { replacement: 'gemini-3.1-pro-preview', since: '2025-12-02' },
  'gemini-2.5-flash-preview-09-2025': { replacement: 'gemini-3.8-flash', since: '2026-02-17' },
  'gemini-2.5-flash-lite-preview-09-2025': { replacement: 'gemini-3.5-flash-lite', since: '2026-03-31' },
  'gemini-3.1-flash-lite-preview': { replacement: 'gemini-3.1-flash-lite', since: '2026-05-25' },
  'gemini-2.0-flash': { replacement: 'gemini-3.8-flash', since: '2026-06-01' },
  'gemini-2.0-flash-001': { replacement: 'gemini-3.8-flash', since: '2026-06-01' },
  'gemini-2.0-flash-lite': { replacement: 'gemini-3.5-flash-lite', since: '2026-06-01' },
  'gemini-2.0-flash-lite-001': { replacement: 'gemini-3.5-flash-lite', since: '2026-06-01' },
};

/** What a fresh deployment uses: GA models a new project can call today. */
export const DEFAULT_MODEL = 'gemini-3.8-flash';
/** A Flash, a Flash-Lite and the current Pro. */
export const DEFAULT_ALLOWED_MODELS: readonly string[] = ['gemini-3.8-flash', 'gemini-3.5-flash-lite', 'gemini-3.1-pro-preview'];

/** The newest generation's rules, for a name the catalogue does not know. */
const NEWEST: Entry = current({ kind: 'level', levels: LEVELS_NO_MINIMAL, default: 'MEDIUM' }, false);

/**
 * What the catalogue knows of `id`. A rerouted name has its target's rules
 * (the target is what answers); an unknown name, the newest generation's.
 * @example modelInfo('gemini-flash-latest').lifecycle // { stage: 'rerouted', to: 'gemini-3.8-flash', note: 'a rolling alias' }
 */
export function modelInfo(id: string): ModelInfo {
  const served = SERVED[id];
  if (served) return { id, ...served };
  const route = ROUTES[id];
  if (route) {
    const target = SERVED[route.to]!;
    return { id, ...target, lifecycle: { stage: 'rerouted', ...route } };
  }
  const retired = RETIRED[id];
  if (retired) return { id, ...NEWEST, lifecycle: { stage: 'retired', ...retired } };
  return { id, ...NEWEST };
}

/** The model to suggest instead of `id`, when the catalogue knows one. */
export function replacementFor(id: string): string | undefined {
  const { lifecycle } = modelInfo(id);
  switch (lifecycle.stage) {
    case 'retired':
    case 'existing-users':
      return lifecycle.replacement;
    case 'rerouted':
      return lifecycle.replacement ?? lifecycle.to;
    case 'current':
      return lifecycle.replacement;
  }
}

/**
 * Whether Gemini answered `asked` with another model: its `modelVersion` is
 * neither the name asked for nor that name with a version suffix
 * (`gemini-3.8-flash-001`). What the log calls `answeredBy`, and the doctor a reroute.
 */
export function isReroute(asked: string, answered: string | undefined): answered is string {
  if (answered === undefined || answered === asked) return false;
  return !(answered.startsWith(`${asked}-`) && /^\d{3}$/.test(answered.slice(asked.length + 1)));
}

/**
 * A warning for a model that still answers but should be changed, or
 * `undefined`: what the log and `npm run doctor` print.
 */
export function lifecycleWarning(id: string): string | undefined {
  const { lifecycle } = modelInfo(id);
  switch (lifecycle.stage) {
    case 'rerouted':
      return `${id} is answered by ${lifecycle.to}${lifecycle.note ? ` (${lifecycle.note})` : ''}, at ${lifecycle.to}'s price and rules; name ${lifecycle.to} to pin it`;
    case 'existing-users':
      return `${id} answers only projects that used it before; new projects get a 404: use ${lifecycle.replacement}`;
    case 'current':
      return lifecycle.shutdown ? `${id} shuts down on ${lifecycle.shutdown}; move to ${lifecycle.replacement}` : undefined;
    case 'retired':
      return `${id} was shut down on ${lifecycle.since}; use ${lifecycle.replacement}`;
  }
}

/**
 * A model's paid-tier list price in USD per million tokens, from a UTC day on
 * (`from`; absent: always). Thinking tokens are billed as output. Cached prompt
 * tokens are billed here at the full input price (no 2026 source gives the cache
 * rate), so an estimate errs high.
 */
export interface ModelPrice {
  inputPer1M: number;
  outputPer1M: number;
  from?: string;
  source: string;
}

/** The pricing page as read 2026-10-07 (via a public copy; ../shared/GEMINI-API-2026.md, "Free tier"). */
const PRICING_2026 = 'https://ai.google.dev/gemini-api/docs/pricing, read 2026-10-07 (copy: github.com/api-evangelist/deepmind plans/deepmind-plans-pricing.yml)';

/**
 * List prices, newest last for each name. Models without an entry (3.6 Flash, 3.1 Flash-Lite, the
 * previews, 2.5 Flash-Lite) have no 2026 source: the dashboard counts their tokens as unpriced.
 */
const PRICES: Record<string, readonly ModelPrice[]> = {
  // "$0.75/$3.75 per 1M through December 31, 2026", then $1.50/$7.50.
  'gemini-3.8-flash': [
    { inputPer1M: 0.75, outputPer1M: 3.75, source: PRICING_2026 },
    { inputPer1M: 1.5, outputPer1M: 7.5, from: '2027-01-01', source: PRICING_2026 },
  ],
  'gemini-3.5-flash': [{ inputPer1M: 1.5, outputPer1M: 9, source: PRICING_2026 }],
  'gemini-3.5-flash-lite': [{ inputPer1M: 0.3, outputPer1M: 2.5, source: PRICING_2026 }],
};

/**
 * The price Gemini bills `model` at on `day` (YYYY-MM-DD, UTC), or undefined when the catalogue
 * has none. A version suffix (`-001`) is the model's own price; a rerouted name without a price
 * of its own is billed at its target's ("billed at the new model's rates").
 * @example priceFor('gemini-3.8-flash', '2026-12-02') // { inputPer1M: 0.75, outputPer1M: 3.75, … }
 */
export function priceFor(model: string, day: string): ModelPrice | undefined {
  const name = model.replace(/-\d{3}$/, '');
  let prices = PRICES[name];
  if (!prices) {
    const { lifecycle } = modelInfo(name);
    if (lifecycle.stage === 'rerouted') prices = PRICES[lifecycle.to];
  }
  return prices?.filter((p) => p.from === undefined || p.from <= day).at(-1);
}

/** Every name with a list price, for the dashboard's price table. */
export function pricedModels(): readonly string[] {
  return Object.keys(PRICES);
}
