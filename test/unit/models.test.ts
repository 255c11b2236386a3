import { describe, expect, it } from 'vitest';
import { outputCeiling, toGenerationConfig } from '../../src/gemini/generation-config';
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
