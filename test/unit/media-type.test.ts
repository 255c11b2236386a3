import { describe, expect, it } from 'vitest';
import { FileFacts, TOKENS_PER_IMAGE, TOKENS_PER_PDF_PAGE } from '../../src/files/file-tokens';
import { sniffMediaType, TextCheckStream } from '../../src/files/media-type';
import { bytesWith, exe, jpeg, pdf, png, SVG_WITH_SCRIPT, text } from '../files';

const heic = (brand: string) => bytesWith(new Uint8Array([0, 0, 0, 24, ...new TextEncoder().encode(`ftyp${brand}`)]), 64);

describe('sniffMediaType', () => {
  it.each([
    ['PNG', png(), 'image/png'],
    ['JPEG', jpeg(), 'image/jpeg'],
    ['WebP', bytesWith('RIFF\x00\x00\x00\x00WEBPVP8 ', 64), 'image/webp'],
    ['HEIC', heic('heic'), 'image/heic'],
    ['HEIF', heic('mif1'), 'image/heif'],
    ['PDF', pdf(), 'application/pdf'],
    ['WAV', bytesWith('RIFF\x00\x00\x00\x00WAVEfmt ', 64), 'audio/wav'],
    ['MP3 with an ID3 tag', bytesWith('ID3\x04\x00', 64), 'audio/mpeg'],
    ['an MP3 frame', bytesWith(new Uint8Array([0xff, 0xfb, 0x90, 0x64]), 64), 'audio/mpeg'],
    ['UTF-8 text', text('héllo\nworld\t!\r\n'), 'text/plain'],
  ])('knows %s by its bytes', (_name, bytes, type) => {
    expect(sniffMediaType(bytes)).toEqual({ ok: true, type });
  });

  it.each([
    ['an executable', exe(), /none of the accepted types/],
    ['an MP4 video', heic('isom'), /none of the accepted types/],
    ['AVIF', heic('avif'), /none of the accepted types/],
    ['an SVG', SVG_WITH_SCRIPT, /SVG/],
    ['HTML after a BOM and blank lines', text('\ufeff\n\n  <!DOCTYPE html><p>hi'), /HTML/],
    ['a GIF', text('GIF87a....'), /GIF images are not accepted/],
    ['binary with NUL bytes', new Uint8Array([0x41, 0x00, 0x42]), /none of the accepted types/],
    ['bytes that are not UTF-8', new Uint8Array([0x41, 0xc3, 0x28]), /none of the accepted types/],
    ['nothing', new Uint8Array(0), /none of the accepted types/],
  ])('refuses %s', (_name, bytes, reason) => {
    const result = sniffMediaType(bytes);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('lets a claim agree (aliases and "no idea" included) but never override the bytes', () => {
    expect(sniffMediaType(jpeg(), { type: 'image/jpg', name: 'a.JPG' })).toEqual({ ok: true, type: 'image/jpeg' });
    expect(sniffMediaType(png(), { type: 'application/octet-stream', name: 'noext' })).toEqual({ ok: true, type: 'image/png' });
    expect(sniffMediaType(heic('heic'), { type: 'image/heif' })).toEqual({ ok: true, type: 'image/heic' });
    expect(sniffMediaType(text('# Title'), { name: 'notes.md' })).toEqual({ ok: true, type: 'text/markdown' });
    expect(sniffMediaType(text('# Title'), { type: 'text/x-markdown' })).toEqual({ ok: true, type: 'text/markdown' });
    expect(sniffMediaType(png(), { type: 'image/jpeg' })).toMatchObject({ ok: false, reason: expect.stringMatching(/sent as image\/jpeg but its content is image\/png/) });
    expect(sniffMediaType(text('a,b'), { type: 'text/csv' })).toMatchObject({ ok: false });
    expect(sniffMediaType(png(), { name: 'photo.jpg' })).toMatchObject({ ok: false, reason: expect.stringMatching(/named \.jpg/) });
  });
});

describe('TextCheckStream', () => {
  const through = (chunks: Uint8Array[]) =>
    new Response(
      new ReadableStream({
        start(c) {
          for (const chunk of chunks) c.enqueue(chunk);
          c.close();
        },
      }).pipeThrough(new TextCheckStream(() => new Error('not text'))),
    ).text();

  it('passes UTF-8 text cut inside a character', async () => {
    const bytes = text('€uro');
    expect(await through([bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)])).toBe('€uro');
  });

  it('fails on a control character, a bad byte, or a character cut at the end', async () => {
    await expect(through([text('ok'), new Uint8Array([0x07])])).rejects.toThrow('not text');
    await expect(through([text('ok'), new Uint8Array([0xff])])).rejects.toThrow('not text');
    await expect(through([text('ok'), new Uint8Array([0xe2, 0x82])])).rejects.toThrow('not text');
  });
});

describe('FileFacts', () => {
  it('counts a PDF\'s pages (not its page tree), across chunks cut anywhere', () => {
    const bytes = pdf(7);
    for (let at = 1; at < bytes.byteLength; at += 3) {
      const facts = new FileFacts('application/pdf');
      facts.observe(bytes.subarray(0, at));
      facts.observe(bytes.subarray(at));
      expect(facts.tokens()).toBe(7 * TOKENS_PER_PDF_PAGE);
    }
  });

  it('estimates an image at its fixed count, text by its length, WAV by its byte rate', () => {
    const image = new FileFacts('image/png');
    image.observe(png(50_000));
    expect(image.tokens()).toBe(TOKENS_PER_IMAGE);
    const notes = new FileFacts('text/plain');
    notes.observe(text('x'.repeat(4001)));
    expect(notes.tokens()).toBe(1001);
    // Ten seconds of 16 kHz mono 16-bit audio: 32,000 bytes a second.
    const header = new Uint8Array(44);
    header.set(new TextEncoder().encode('RIFF'), 0);
    header.set(new TextEncoder().encode('WAVEfmt '), 8);
    new DataView(header.buffer).setUint32(28, 32_000, true);
    const wav = new FileFacts('audio/wav');
    wav.observe(header);
    wav.observe(new Uint8Array(320_000 - 44));
    expect(wav.tokens()).toBe(320);
  });
});
