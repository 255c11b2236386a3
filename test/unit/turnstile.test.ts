import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { checkSession, isChallenged, signSession, type TurnstileSettings } from '../../src/limits/turnstile';

const settings: TurnstileSettings = { siteKey: 'site', secretKey: 'secret-one', verifyUrl: 'http://verify', scriptUrl: 'http://script', sessionMinutes: 30 };
const binding = '203.0.113.9\nhttps://allowed.example';
const now = Date.UTC(2026, 11, 3, 12);

describe('Turnstile settings', () => {
  it('is off without keys, and on with both, with the documented defaults', () => {
    expect(loadConfig({}).turnstile).toBeUndefined();
    expect(loadConfig({ TURNSTILE_SITE_KEY: '0x4AAA', TURNSTILE_SECRET_KEY: '0x4BBB' }).turnstile).toEqual({
      siteKey: '0x4AAA',
      secretKey: '0x4BBB',
      verifyUrl: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      scriptUrl: 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit',
      sessionMinutes: 30,
    });
  });

  it('refuses one key without the other, a bad URL and a session longer than a day, naming the setting', () => {
    expect(() => loadConfig({ TURNSTILE_SITE_KEY: 'a' })).toThrow(new ConfigError('TURNSTILE_SITE_KEY is set but TURNSTILE_SECRET_KEY is not: set both (or neither, for no Turnstile)'));
    expect(() => loadConfig({ TURNSTILE_SECRET_KEY: 'a' })).toThrow(/TURNSTILE_SECRET_KEY is set but TURNSTILE_SITE_KEY is not/);
    expect(() => loadConfig({ TURNSTILE_SITE_KEY: 'a', TURNSTILE_SECRET_KEY: 'b', TURNSTILE_VERIFY_URL: 'challenges.cloudflare.com' })).toThrow(/TURNSTILE_VERIFY_URL must be an absolute http\(s\) URL/);
    expect(() => loadConfig({ TURNSTILE_SITE_KEY: 'a', TURNSTILE_SECRET_KEY: 'b', TURNSTILE_SESSION_MINUTES: '1441' })).toThrow(/TURNSTILE_SESSION_MINUTES must be at most 1440/);
    expect(() => loadConfig({ TURNSTILE_SITE_KEY: 'a', TURNSTILE_SECRET_KEY: 'b', TURNSTILE_SESSION_MINUTES: '0' })).toThrow(/TURNSTILE_SESSION_MINUTES must be a positive whole number/);
  });
});

describe('Turnstile sessions', () => {
  it('are accepted for their binding until they expire', async () => {
    const session = await signSession(settings, binding, now);
    expect(session).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(await checkSession(settings, session, binding, now)).toBe(true);
    expect(await checkSession(settings, session, binding, now + 29 * 60_000)).toBe(true);
    expect(await checkSession(settings, session, binding, now + 30 * 60_000)).toBe(false);
  });

  it('are refused for another client or origin, another secret, a changed expiry or signature, and a shorter setting', async () => {
    const session = await signSession(settings, binding, now);
    expect(await checkSession(settings, session, '203.0.113.10\nhttps://allowed.example', now)).toBe(false);
    expect(await checkSession(settings, session, '203.0.113.9\nhttps://other.example', now)).toBe(false);
    expect(await checkSession({ ...settings, secretKey: 'secret-two' }, session, binding, now)).toBe(false);
    const [, expires, signature] = session.split('.');
    expect(await checkSession(settings, `v1.${Number(expires) + 60}.${signature}`, binding, now)).toBe(false);
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(await checkSession(settings, `v1.${expires}.${flipped}`, binding, now)).toBe(false);
    expect(await checkSession({ ...settings, sessionMinutes: 5 }, session, binding, now)).toBe(false);
    expect(await checkSession(settings, 'not a session', binding, now)).toBe(false);
  });
});

describe('which requests are challenged', () => {
  it('all of /api/* but preflights, GET /api/assistant and a stored chat’s own routes', () => {
    for (const [method, path] of [['POST', '/api/chat/stream'], ['POST', '/api/chat'], ['POST', '/api/chats'], ['POST', '/api/ai-sdk/chat'], ['GET', '/api/ai-sdk/chat/abc/stream'], ['POST', '/api/assistant']]) {
      expect(isChallenged(method, path), `${method} ${path}`).toBe(true);
    }
    for (const [method, path] of [['OPTIONS', '/api/chat/stream'], ['GET', '/api/assistant'], ['HEAD', '/api/assistant'], ['POST', '/api/chats/abc/messages'], ['GET', '/api/chats/abc'], ['GET', '/api/chats/abc/files/f1']]) {
      expect(isChallenged(method, path), `${method} ${path}`).toBe(false);
    }
  });
});
