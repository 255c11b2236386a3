import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_MODELS, DEFAULT_MODEL } from '../../src/gemini/models';

/** A `[vars]` value of wrangler.toml, as written there. */
function wranglerVar(name: string): string | undefined {
  const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  const vars = toml.slice(toml.indexOf('\n[vars]\n'));
  return new RegExp(`^${name} = "([^"]*)"$`, 'm').exec(vars)?.[1];
}

describe('the defaults a fresh clone deploys with', () => {
  it('are the model catalogue\'s: wrangler.toml names DEFAULT_MODEL and DEFAULT_ALLOWED_MODELS', () => {
    expect(wranglerVar('GEMINI_MODEL')).toBe(DEFAULT_MODEL);
    expect(wranglerVar('ALLOWED_MODELS')?.split(',')).toEqual(DEFAULT_ALLOWED_MODELS);
  });

  it('leave MAX_OUTPUT_TOKENS unset, so each model\'s own ceiling applies', () => {
    expect(wranglerVar('MAX_OUTPUT_TOKENS')).toBeUndefined();
  });
});
