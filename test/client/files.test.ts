import { describe, expect, it } from 'vitest';
import { fileRefusal, type FileLimits } from '../../src/client/files';
import { fileSize, format } from '../../src/widget/strings';

/** The limits `GET /api/assistant` gives under wrangler.toml's settings. */
const LIMITS: FileLimits = {
  maxBytes: 10 * 1024 * 1024,
  maxPerMessage: 5,
  types: ['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif', 'application/pdf', 'text/plain', 'text/markdown', 'audio/wav', 'audio/mpeg'],
};

describe('fileRefusal', () => {
  it.each([
    ['image/png', 1000],
    ['image/jpeg', 1],
    ['application/pdf', LIMITS.maxBytes],
    ['text/plain;charset=utf-8', 10],
    ['IMAGE/PNG', 10],
  ])('lets a %s file of %i bytes through', (type, size) => {
    expect(fileRefusal({ type, size }, LIMITS)).toBeUndefined();
  });

  it.each(['image/jpg', 'image/pjpeg', 'audio/x-wav', 'audio/wave', 'audio/mp3', 'text/x-markdown', 'text/md'])('takes %s, a name browsers give an accepted type', (type) => {
    expect(fileRefusal({ type, size: 10 }, LIMITS)).toBeUndefined();
  });

  it('leaves a type the browser does not know to the Worker, which decides from the bytes', () => {
    expect(fileRefusal({ type: '', size: 10 }, LIMITS)).toBeUndefined();
    expect(fileRefusal({ type: 'application/octet-stream', size: 10 }, LIMITS)).toBeUndefined();
  });

  it.each(['image/gif', 'image/svg+xml', 'text/html', 'application/zip', 'video/mp4'])('refuses %s', (type) => {
    expect(fileRefusal({ type, size: 10 }, LIMITS)).toBe('unsupported_media_type');
  });

  it('refuses a file one byte over the limit, and an empty one', () => {
    expect(fileRefusal({ type: 'image/png', size: LIMITS.maxBytes + 1 }, LIMITS)).toBe('too_large');
    expect(fileRefusal({ type: 'image/gif', size: LIMITS.maxBytes + 1 }, LIMITS)).toBe('too_large');
    expect(fileRefusal({ type: 'text/plain', size: 0 }, LIMITS)).toBe('invalid_request');
  });
});

describe('the widget: file sizes and sentences', () => {
  it.each([
    [0, '0 byte'],
    [512, '512 byte'],
    [1536, '1.5 kB'],
    [340 * 1024, '340 kB'],
    [1024 * 1024, '1 MB'],
    [2.45 * 1024 * 1024, '2.5 MB'],
    [10 * 1024 * 1024, '10 MB'],
  ])('writes %i bytes as "%s" in English', (bytes, text) => {
    expect(fileSize(bytes, 'en').replace(/\s/g, ' ')).toMatch(new RegExp(`^${text.replace('.', '\\.')}`));
  });

  it('writes sizes in the widget’s language', () => {
    expect(fileSize(1.5 * 1024 * 1024, 'de').replace(/\s/g, ' ')).toBe('1,5 MB');
  });

  it('fills placeholders, and keeps unknown ones as written', () => {
    expect(format('{name} is too large (at most {max}).', { name: 'a.png', max: '1 MB' })).toBe('a.png is too large (at most 1 MB).');
    expect(format('{name} and {other}', { name: 'x' })).toBe('x and {other}');
  });
});
