import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors';
import { leastThinking, outputCeiling, thinkingConfig, toGenerationConfig } from '../../src/gemini/generation-config';
import {
  DEFAULT_ALLOWED_MODELS,
  DEFAULT_MODEL,
  isReroute,
  lifecycleWarning,
  modelInfo,
  replacementFor,
} from '../../src/gemini/models';

describe('the model catalogue', () => {
  it('defaults to a GA model that is served as itself', () => {
    expect(modelInfo(DEFAULT_MODEL).lifecycle).toEqual({ stage: 'current' });
  });

  it('allows by default a Flash, a Flash-Lite and the current Pro, none of them retired or rerouted', () => {
    expect(DEFAULT_ALLOWED_MODELS).toContain(DEFAULT_MODEL);
    expect(DEFAULT_ALLOWED_MODELS.some((m) => /-flash$/.test(m))).toBe(true);
    expect(DEFAULT_ALLOWED_MODELS.some((m) => /-flash-lite$/.test(m))).toBe(true);
    expect(DEFAULT_ALLOWED_MODELS.some((m) => /-pro(-preview)?$/.test(m))).toBe(true);
    for (const model of DEFAULT_ALLOWED_MODELS) expect(modelInfo(model).lifecycle.stage).toBe('current');
  });

  it('gives a rerouted name the rules of the model that answers it', () => {
    const alias = modelInfo('gemini-flash-latest');
    expect(alias.lifecycle).toMatchObject({ stage: 'rerouted', to: 'gemini-3.8-flash' });
    expect(alias.thinking).toEqual(modelInfo('gemini-3.8-flash').thinking);
    expect(alias.sampling).toBe(false);
    // Shut down on 2026-12-01 and routed to 3.5 Flash-Lite for the projects that used it.
    expect(modelInfo('gemini-2.5-flash')).toMatchObject({ sampling: false, lifecycle: { stage: 'rerouted', to: 'gemini-3.5-flash-lite' } });
  });

  it('knows which models take which thinking levels', () => {
    expect(modelInfo('gemini-3.8-flash').thinking).toEqual({ kind: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'], default: 'MEDIUM' });
    expect(modelInfo('gemini-3.5-flash-lite').thinking).toEqual({ kind: 'level', levels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'], default: 'MINIMAL' });
    expect(modelInfo('gemini-3.1-pro-preview').thinking).toMatchObject({ kind: 'level', default: 'HIGH' });
    expect(modelInfo('gemini-2.5-flash-lite').thinking).toMatchObject({ kind: 'budget', default: 'off' });
  });

  it('honours sampling parameters only where Gemini still does', () => {
    expect(modelInfo('gemini-3.8-flash').sampling).toBe(false);
    expect(modelInfo('gemini-3.6-flash').sampling).toBe(false);
    expect(modelInfo('gemini-3.5-flash-lite').sampling).toBe(false);
    expect(modelInfo('gemini-3.1-flash-lite').sampling).toBe(true);
    expect(modelInfo('gemini-3.1-pro-preview').sampling).toBe(true);
  });

  it('gives a name it does not know the newest generation\'s rules, not an error', () => {
    const future = modelInfo('gemini-4.1-flash');
    expect(future).toMatchObject({ sampling: false, maxOutputTokens: 65_536, lifecycle: { stage: 'current' } });
    expect(future.thinking.kind).toBe('level');
    expect(replacementFor('gemini-4.1-flash')).toBeUndefined();
    expect(lifecycleWarning('gemini-4.1-flash')).toBeUndefined();
  });

  it('tells a reroute from the model asked for, or a version of it', () => {
    expect(isReroute('gemini-flash-latest', 'gemini-3.8-flash')).toBe(true);
    expect(isReroute('gemini-2.5-flash', 'gemini-2.5-flash-lite')).toBe(true);
    expect(isReroute('gemini-3.8-flash', 'gemini-3.8-flash')).toBe(false);
    expect(isReroute('gemini-3.8-flash', 'gemini-3.8-flash-001')).toBe(false);
    expect(isReroute('gemini-3.8-flash', 'gemini-3.8-flash-lite')).toBe(true);
    expect(isReroute('gemini-3.8-flash', undefined)).toBe(false);
  });

  it('names the replacement of a retired, rerouted or existing-users-only model', () => {
    // Google's 404 to a new project names 3.6 Flash, though old projects are routed to 3.5 Flash-Lite.
    expect(replacementFor('gemini-2.5-flash')).toBe('gemini-3.6-flash');
    expect(replacementFor('gemini-flash-latest')).toBe('gemini-3.8-flash');
    expect(replacementFor('gemini-2.0-flash')).toBe('gemini-3.8-flash');
    expect(replacementFor('gemini-2.5-pro')).toBe('gemini-3.8-flash');
    expect(replacementFor('gemini-2.5-flash-lite')).toBe('gemini-3.5-flash-lite');
    expect(replacementFor('gemini-3.1-flash-lite')).toBe('gemini-3.5-flash-lite');
    expect(replacementFor('gemini-3.8-flash')).toBeUndefined();
  });

  it('warns of a model that answers only old projects, or is going away', () => {
    expect(lifecycleWarning('gemini-2.5-flash-lite')).toBe(
      'gemini-2.5-flash-lite answers only projects that used it before; new projects get a 404: use gemini-3.5-flash-lite',
    );
    expect(lifecycleWarning('gemini-3.1-flash-lite')).toBe('gemini-3.1-flash-lite shuts down on 2027-05-07; move to gemini-3.5-flash-lite');
    expect(lifecycleWarning('gemini-3.8-flash')).toBeUndefined();
  });

  it('points every replacement and reroute at a model it serves as itself', () => {
    const names = [
      'gemini-3.1-flash-lite', 'gemini-2.5-flash-lite', 'gemini-3.7-flash', 'gemini-3.5-flash', 'gemini-3-pro-preview',
      'gemini-flash-latest', 'gemini-flash-lite-latest', 'gemini-pro-latest', 'gemini-2.5-flash', 'gemini-2.5-pro',
      'gemini-1.5-pro', 'gemini-1.5-flash', 'gemini-1.5-flash-8b', 'gemini-2.5-pro-preview-06-05', 'gemini-2.5-flash-preview-09-2025',
      'gemini-2.5-flash-lite-preview-09-2025', 'gemini-3.1-flash-lite-preview', 'gemini-2.0-flash', 'gemini-2.0-flash-lite-001',
    ];
    for (const model of names) {
      expect(replacementFor(model), model).toBeDefined();
      const replacement = replacementFor(model);
      if (replacement) expect(modelInfo(replacement).lifecycle.stage, `${model} → ${replacement}`).toBe('current');
    }
  });
});

describe('toGenerationConfig', () => {
  const sampling = { temperature: 0.3, topP: 0.9, topK: 40 };

  it('leaves out the sampling parameters for a model that ignores them', () => {
    expect(toGenerationConfig('gemini-3.8-flash', { ...sampling, maxOutputTokens: 100 }, 8192)).toEqual({ maxOutputTokens: 100 });
    // A rerouted name follows its target: 2.5 Flash is answered by 3.5 Flash-Lite.
    expect(toGenerationConfig('gemini-2.5-flash', sampling, 8192)).toEqual({ maxOutputTokens: 8192 });
  });

  it('sends them to a model that honours them', () => {
    expect(toGenerationConfig('gemini-3.1-pro-preview', sampling, 8192)).toEqual({ ...sampling, maxOutputTokens: 8192 });
  });

  it('passes stop sequences and the seed on to every model', () => {
    expect(toGenerationConfig('gemini-3.8-flash', { stopSequences: ['END'], seed: 7 }, undefined)).toEqual({
      maxOutputTokens: 65_536,
      stopSequences: ['END'],
      seed: 7,
    });
  });

  it('caps output at the model\'s ceiling, or MAX_OUTPUT_TOKENS when lower', () => {
    expect(outputCeiling('gemini-3.8-flash', undefined)).toBe(65_536);
    expect(outputCeiling('gemini-3.8-flash', 4096)).toBe(4096);
    expect(outputCeiling('gemini-3.8-flash', 1_000_000)).toBe(65_536);
  });
});

describe('thinkingConfig', () => {
  /** The 400 that mapping `thinking` on `model` throws, as its message. */
  function refusal(model: string, thinking: Parameters<typeof thinkingConfig>[1], field?: string): string {
    try {
      thinkingConfig(model, thinking, field);
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
      return (error as ApiError).message;
    }
    throw new Error(`expected ${JSON.stringify(thinking)} on ${model} to be refused`);
  }

  describe('a model that takes levels', () => {
    it('sends a level it offers in upper case', () => {
      expect(thinkingConfig('gemini-3.8-flash', { level: 'low' })).toStrictEqual({ thinkingLevel: 'LOW' });
      expect(thinkingConfig('gemini-3.8-flash', { level: 'high' })).toStrictEqual({ thinkingLevel: 'HIGH' });
      expect(thinkingConfig('gemini-3.5-flash-lite', { level: 'minimal' })).toStrictEqual({ thinkingLevel: 'MINIMAL' });
    });

    it('refuses a level it does not offer, naming the model and the allowed levels', () => {
      expect(refusal('gemini-3.8-flash', { level: 'minimal' })).toBe('thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high');
      expect(refusal('gemini-3.1-pro-preview', { level: 'minimal' }, 'reasoning_effort')).toBe(
        'reasoning_effort "minimal" is not offered by gemini-3.1-pro-preview; allowed: low, medium, high',
      );
    });

    it('follows a rerouted name\'s target and an unknown name\'s newest rules', () => {
      expect(thinkingConfig('gemini-2.5-flash', { level: 'minimal' })).toStrictEqual({ thinkingLevel: 'MINIMAL' });
      expect(refusal('gemini-9-flash', { level: 'minimal' })).toContain('allowed: low, medium, high');
    });

    it('sends a budget from 0 to the model\'s output ceiling as a budget', () => {
      expect(thinkingConfig('gemini-3.8-flash', { budget: 0 })).toStrictEqual({ thinkingBudget: 0 });
      expect(thinkingConfig('gemini-3.8-flash', { budget: 65_536 })).toStrictEqual({ thinkingBudget: 65_536 });
      expect(refusal('gemini-3.8-flash', { budget: 65_537 })).toBe('thinking.budget must be between 0 and 65536 for gemini-3.8-flash');
    });
  });

  describe('a model that takes budgets (2.5 Flash-Lite: 512 to 24576, or 0)', () => {
    const model = 'gemini-2.5-flash-lite';

    it('sends a budget in its range, and 0 because it can stop thinking', () => {
      expect(thinkingConfig(model, { budget: 0 })).toStrictEqual({ thinkingBudget: 0 });
      expect(thinkingConfig(model, { budget: 512 })).toStrictEqual({ thinkingBudget: 512 });
      expect(thinkingConfig(model, { budget: 24_576 })).toStrictEqual({ thinkingBudget: 24_576 });
    });

    it('refuses a budget outside it, naming the range', () => {
      expect(refusal(model, { budget: 511 })).toBe('thinking.budget must be 0 or between 512 and 24576 for gemini-2.5-flash-lite');
      expect(refusal(model, { budget: 24_577 })).toBe('thinking.budget must be 0 or between 512 and 24576 for gemini-2.5-flash-lite');
    });

    it('maps each level to a budget by the documented table', () => {
      expect(thinkingConfig(model, { level: 'minimal' })).toStrictEqual({ thinkingBudget: 0 });
      expect(thinkingConfig(model, { level: 'low' })).toStrictEqual({ thinkingBudget: 1024 });
      expect(thinkingConfig(model, { level: 'medium' })).toStrictEqual({ thinkingBudget: 8192 });
      expect(thinkingConfig(model, { level: 'high' })).toStrictEqual({ thinkingBudget: 24_576 });
    });
  });

  it('never sends a level and a budget together', () => {
    const models = ['gemini-3.8-flash', 'gemini-3.6-flash', 'gemini-3.5-flash-lite', 'gemini-3.1-pro-preview', 'gemini-2.5-flash-lite'];
    const settings = [...(['minimal', 'low', 'medium', 'high'] as const).map((level) => ({ level })), { budget: 0 }, { budget: 1024 }];
    for (const model of models) {
      for (const thinking of settings) {
        let config;
        try {
          config = thinkingConfig(model, thinking);
        } catch {
          continue;
        }
        expect(Object.keys(config!)).toHaveLength(1);
      }
    }
  });

  it('reaches Gemini through toGenerationConfig', () => {
    expect(toGenerationConfig('gemini-3.8-flash', { thinking: { level: 'medium' } }, 4096)).toStrictEqual({
      maxOutputTokens: 4096,
      thinkingConfig: { thinkingLevel: 'MEDIUM' },
    });
    expect(toGenerationConfig('gemini-3.8-flash', {}, 4096)).not.toHaveProperty('thinkingConfig');
  });
});

describe('leastThinking', () => {
  it('is no thinking where the model can stop, else its lowest level', () => {
    expect(leastThinking('gemini-2.5-flash-lite')).toStrictEqual({ budget: 0 });
    expect(leastThinking('gemini-3.5-flash-lite')).toStrictEqual({ level: 'minimal' });
    expect(leastThinking('gemini-3.6-flash')).toStrictEqual({ level: 'minimal' });
    expect(leastThinking('gemini-3.8-flash')).toStrictEqual({ level: 'low' });
    expect(leastThinking('gemini-3.1-pro-preview')).toStrictEqual({ level: 'low' });
  });
});
