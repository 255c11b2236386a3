#!/usr/bin/env node
// @ts-check
/**
 * Builds what the Worker serves and what the npm package ships.
 *   node scripts/build.mjs           everything: the static assets and the package (dist/)
 *   node scripts/build.mjs --assets  the static assets only (public/client.js): wrangler.toml's
 *                                    [build] runs this before every `wrangler dev` and `wrangler deploy`
 *
 * public/client.js is the browser client as one minified ES module (eventsource-parser
 * included), for `import { streamChat } from 'https://<worker>/client.js'`.
 * dist/ holds the package entry points `gemini-edge/client` and `gemini-edge/react`
 * (ESM, not minified, dependencies left as imports) and their .d.ts.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const assetsOnly = process.argv.includes('--assets');

/** Browsers from early 2023 on: async iteration, TextDecoderStream, AbortSignal. */
const BROWSERS = ['chrome111', 'firefox111', 'safari16.4'];

await build({
  absWorkingDir: root,
  entryPoints: { client: 'src/client/index.ts' },
  outdir: 'public',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: BROWSERS,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});

if (!assetsOnly) {
  rmSync(`${root}dist`, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { client: 'src/client/index.ts', react: 'src/react/index.ts' },
    outdir: 'dist',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: BROWSERS,
    // Installed next to the package by npm: not copied into it.
    external: ['react', 'eventsource-parser', 'eventsource-parser/*'],
    logLevel: 'warning',
  });
  execFileSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.client.json', '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--outDir', 'dist/types'],
    { cwd: root, stdio: 'inherit' },
  );
}
