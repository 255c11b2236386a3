#!/usr/bin/env node
// @ts-check
/**
 * Builds what the Worker serves and what the npm package ships.
 *   node scripts/build.mjs           everything: the static assets and the package (dist/)
 *   node scripts/build.mjs --assets  the static assets only (public/client.js, public/embed.js):
 *                                    wrangler.toml's [build] runs this before every `wrangler dev`
 *                                    and `wrangler deploy`
 *
 * public/client.js is the browser client as one minified ES module (eventsource-parser
 * included), for `import { streamChat } from 'https://<worker>/client.js'`.
 * public/embed.js is the chat widget as one classic script (client and Markdown included),
 * for `<script src="https://<worker>/embed.js" async>`; the build fails if it grows past
 * EMBED_BUDGET_BYTES gzipped.
 * dist/ holds the package entry points `gemini-edge/client` and `gemini-edge/react`
 * (ESM, not minified, dependencies left as imports) and their .d.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const assetsOnly = process.argv.includes('--assets');

/** Browsers from early 2023 on: async iteration, TextDecoderStream, adoptedStyleSheets. */
const BROWSERS = ['chrome111', 'firefox111', 'safari16.4'];
/** embed.js, all included, stays under half of the closest comparable widget (34 KB). */
const EMBED_BUDGET_BYTES = 16 * 1024;

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

await build({
  absWorkingDir: root,
  entryPoints: { embed: 'src/widget/embed.ts' },
  outdir: 'public',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: BROWSERS,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const embedGzip = gzipSync(readFileSync(`${root}public/embed.js`), { level: 9 }).byteLength;
if (embedGzip > EMBED_BUDGET_BYTES) {
  console.error(`public/embed.js is ${embedGzip} bytes gzipped, over its budget of ${EMBED_BUDGET_BYTES}`);
  process.exit(1);
}
if (!process.argv.includes('--quiet')) console.log(`public/embed.js: ${embedGzip} bytes gzipped (budget ${EMBED_BUDGET_BYTES})`);

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
