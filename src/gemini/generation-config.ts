import type { GenerationConfig } from '@google/generative-ai';
import { ApiError } from '../errors';
import type { GenerationSettings, ThinkingEffort, ThinkingSettings } from '../protocol/messages';
import { modelInfo, type ThinkingControl, type ThinkingLevel } from './models';

/** What a caller may ask of a model's generation, before the model's rules apply: the native settings, OpenAI's `stop` and `seed`, and how much to think. */
export interface GenerationRequest extends GenerationSettings {
  stopSequences?: string[];
  seed?: number;
  thinking?: ThinkingSettings;
}

/**
 * Gemini's `generationConfig.thinkingConfig`: a level or a budget, never both
 * (Gemini refuses both with a 400), and `includeThoughts` for thought summaries.
 */
export type ThinkingConfig = ({ thinkingLevel: ThinkingLevel } | { thinkingBudget: number } | Record<never, never>) & { includeThoughts?: boolean };

/** The Gemini config the SDK's `GenerationConfig` type lacks fields of; the SDK passes unknown fields on. */
type FullGenerationConfig = GenerationConfig & { seed?: number; thinkingConfig?: ThinkingConfig };

/** The deployment's thinking settings (THINKING_LEVEL, SHOW_THOUGHTS): what a request that says nothing gets. */
export interface ThinkingDefaults {
  /** Undefined: each model's own default. */
  level?: ThinkingEffort;
  show: boolean;
}

/**
 * A level as a budget, for a model that takes only budgets (2.5 Flash-Lite;
 * the table in docs/models.md): `minimal` is no thinking where the model can
 * stop, else its least; `low` 1024; `medium` 8192; `high` its most; clamped
 * into its range.
 */
function levelBudget(level: ThinkingEffort, control: Extract<ThinkingControl, { kind: 'budget' }>): number {
  if (level === 'minimal' && control.off) return 0;
  const budget = { minimal: control.min, low: 1024, medium: 8192, high: control.max }[level];
  return Math.min(control.max, Math.max(control.min, budget));
}

/**
 * `over` on top of `base` (a message's thinking on its chat's): `over`'s level
 * or budget replaces `base`'s (they are one setting), `show` each on its own.
 * @example mergeThinking({ level: 'high', show: true }, { budget: 0 }) // { budget: 0, show: true }
 */
export function mergeThinking(base: ThinkingSettings | undefined, over: ThinkingSettings | undefined): ThinkingSettings | undefined {
  if (!base || !over) return over ?? base;
  const effort = over.level !== undefined || over.budget !== undefined ? over : base;
  const merged: ThinkingSettings = {};
  if (effort.level !== undefined) merged.level = effort.level;
  if (effort.budget !== undefined) merged.budget = effort.budget;
  const show = over.show ?? base.show;
  if (show !== undefined) merged.show = show;
  return merged;
}

const EFFORTS: readonly ThinkingEffort[] = ['minimal', 'low', 'medium', 'high'];

/**
 * What a call thinks with: the caller's level or budget, else the deployment's
 * level (moved to the nearest level the model offers: a deployment default is
 * no caller's mistake), else the model's own default; thoughts shown as the
 * caller says, else as the deployment does.
 * @example resolveThinking('gemini-3.8-flash', undefined, { level: 'minimal', show: true }) // { level: 'low', show: true }
 */
export function resolveThinking(model: string, requested: ThinkingSettings | undefined, defaults: ThinkingDefaults): ThinkingSettings {
  const show = requested?.show ?? defaults.show;
  if (requested?.level !== undefined || requested?.budget !== undefined) return { ...requested, show };
  const control = modelInfo(model).thinking;
  if (defaults.level === undefined || control.kind === 'budget') return defaults.level === undefined ? { show } : { level: defaults.level, show };
  const offered = control.levels.map((l) => l.toLowerCase() as ThinkingEffort);
  const wanted = EFFORTS.indexOf(defaults.level);
  // The nearest offered level; a tie goes to the higher (more thinking, not less).
  const level = offered.reduce((best, l) => {
    const d = Math.abs(EFFORTS.indexOf(l) - wanted);
    const bestD = Math.abs(EFFORTS.indexOf(best) - wanted);
    return d < bestD || (d === bestD && EFFORTS.indexOf(l) > EFFORTS.indexOf(best)) ? l : best;
  });
  return { level, show };
}

/**
 * Gemini's `thinkingConfig` for `thinking` on `model`, by the catalogue: a
 * level to a model that takes levels (one it does not offer is refused), a
 * budget as a budget (within the model's range), and a level to a model that
 * takes only budgets as the budget levelBudget gives it; `includeThoughts`
 * when `show`. Undefined when there is nothing to ask (the model's default,
 * no summaries).
 * `levelField` is the field a refusal names (OpenAI's `reasoning_effort`).
 * @throws {ApiError} 400 `invalid_request` naming the model and what it allows, before any upstream call
 * @example thinkingConfig('gemini-3.8-flash', { level: 'low', show: true }) // { thinkingLevel: 'LOW', includeThoughts: true }
 */
export function thinkingConfig(model: string, thinking: ThinkingSettings, levelField = 'thinking.level'): ThinkingConfig | undefined {
  const config = effortConfig(model, thinking, levelField);
  if (thinking.show) return { ...config, includeThoughts: true };
  return Object.keys(config).length ? config : undefined;
}

function effortConfig(model: string, thinking: ThinkingSettings, levelField: string): ThinkingConfig {
  const { thinking: control, maxOutputTokens } = modelInfo(model);
  if (thinking.level !== undefined) {
    const level = thinking.level.toUpperCase() as ThinkingLevel;
    if (control.kind === 'budget') return { thinkingBudget: levelBudget(thinking.level, control) };
    if (!control.levels.includes(level)) {
      const allowed = control.levels.map((l) => l.toLowerCase()).join(', ');
      throw invalid(`${levelField} "${thinking.level}" is not offered by ${model}; allowed: ${allowed}`);
    }
    return { thinkingLevel: level };
  }
  const { budget } = thinking;
  if (budget === undefined) return {};
  if (control.kind === 'budget') {
    const inRange = (budget === 0 && control.off) || (budget >= control.min && budget <= control.max);
    if (!inRange) {
      throw invalid(`thinking.budget must be ${control.off ? '0 or ' : ''}between ${control.min} and ${control.max} for ${model}`);
    }
  } else if (budget < 0 || budget > maxOutputTokens) {
    // Gemini 3 still honours a budget; thinking tokens count against the output, so more than its ceiling means nothing.
    throw invalid(`thinking.budget must be between 0 and ${maxOutputTokens} for ${model}`);
  }
  return { thinkingBudget: budget };
}

/**
 * The least thinking `model` allows, as settings: none (a budget of 0) where
 * it can stop thinking, else its lowest level. What OpenAI's
 * `reasoning_effort: "none"` means here.
 * @example leastThinking('gemini-3.8-flash') // { level: 'low' }
 */
export function leastThinking(model: string): ThinkingSettings {
  const control = modelInfo(model).thinking;
  if (control.kind === 'budget') return control.off ? { budget: 0 } : { budget: control.min };
  // The catalogue lists levels from least to most.
  return { level: control.levels[0]!.toLowerCase() as ThinkingEffort };
}

const invalid = (message: string) => new ApiError(400, 'invalid_request', message);

/** The sampling parameters Gemini deprecated on 2026-07-21 (ignored by 3.6+ models, a 400 in future ones). */
const SAMPLING_FIELDS = ['temperature', 'topP', 'topK'] as const;

/**
 * Most output tokens a call to `model` may ask for: the model's ceiling, or
 * `MAX_OUTPUT_TOKENS` when that is lower (a cost cap). Thinking tokens count
 * against it.
 */
export function outputCeiling(model: string, maxOutputTokens: number | undefined): number {
  const ceiling = modelInfo(model).maxOutputTokens;
  return maxOutputTokens === undefined ? ceiling : Math.min(ceiling, maxOutputTokens);
}

/**
 * Gemini's `generationConfig` for a call to `model`: `maxOutputTokens` always
 * set (the request's, or the ceiling), and the sampling parameters sent only
 * to models that honour them — the others ignore them today and will refuse
 * them with a 400 tomorrow, so a request that sets them keeps working.
 * @example toGenerationConfig('gemini-3.8-flash', { temperature: 0.2 }, 8192) // { maxOutputTokens: 8192 }
 */
export function toGenerationConfig(model: string, request: GenerationRequest, maxOutputTokens: number | undefined): GenerationConfig {
  const config: FullGenerationConfig = {};
  if (modelInfo(model).sampling) {
    for (const field of SAMPLING_FIELDS) if (request[field] !== undefined) config[field] = request[field];
  }
  config.maxOutputTokens = request.maxOutputTokens ?? outputCeiling(model, maxOutputTokens);
  if (request.stopSequences) config.stopSequences = request.stopSequences;
  // Gemini takes a seed (best effort); the SDK's type lacks it but passes it on.
  if (request.seed !== undefined) config.seed = request.seed;
  const thinking = request.thinking && thinkingConfig(model, request.thinking);
  if (thinking) config.thinkingConfig = thinking;
  return config;
}
