import type { GenerationConfig } from '@google/generative-ai';
import type { GenerationSettings } from '../protocol/messages';
import { modelInfo } from './models';

/** What a caller may ask of a model's generation, before the model's rules apply: the native settings, and OpenAI's `stop` and `seed`. */
export interface GenerationRequest extends GenerationSettings {
  stopSequences?: string[];
  seed?: number;
}

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
  const config: GenerationConfig & { seed?: number } = {};
  if (modelInfo(model).sampling) {
    for (const field of SAMPLING_FIELDS) if (request[field] !== undefined) config[field] = request[field];
  }
  config.maxOutputTokens = request.maxOutputTokens ?? outputCeiling(model, maxOutputTokens);
  if (request.stopSequences) config.stopSequences = request.stopSequences;
  // Gemini takes a seed (best effort); the SDK's type lacks it but passes it on.
  if (request.seed !== undefined) config.seed = request.seed;
  return config;
}
