import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The browser side shares only src/protocol with the server: a client that
 * imported a server module would drag Worker code (and its dependencies)
 * into every page.
 */

const src = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every module specifier a folder's files import or re-export. */
function importsOf(folder: string): { file: string; specifier: string }[] {
  return readdirSync(`${src}${folder}`)
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => {
      const code = readFileSync(`${src}${folder}/${name}`, 'utf8');
      return [...code.matchAll(/(?:import|export)\s[^;]*?from\s+'([^']+)'/g)].map((m) => ({ file: `${folder}/${name}`, specifier: m[1] }));
    });
}

describe('the browser side', () => {
  it('the client imports only itself, src/protocol and eventsource-parser', () => {
    const imports = importsOf('client');
    expect(imports.length).toBeGreaterThan(10);
    const outside = imports.filter(({ specifier }) => !/^\.\/[\w-]+\.js$|^\.\.\/protocol\/[\w-]+\.js$|^eventsource-parser\/stream$/.test(specifier));
    expect(outside).toEqual([]);
  });

  it('the hook imports only the client, src/protocol and react', () => {
    const outside = importsOf('react').filter(({ specifier }) => !/^\.\/[\w-]+\.js$|^\.\.\/(client|protocol)\/[\w-]+\.js$|^react$/.test(specifier));
    expect(outside).toEqual([]);
  });

  it('src/protocol imports nothing but itself', () => {
    const outside = importsOf('protocol').filter(({ specifier }) => !/^\.\/[\w-]+\.js$/.test(specifier));
    expect(outside).toEqual([]);
  });
});
