#!/usr/bin/env node
// @ts-check
/**
 * Builds what the Worker serves and what the npm package ships.
 *   node scripts/build.mjs           everything: the static assets and the package (dist/)
 * Both first bundle the site assistants (assistants/ → src/assistants/bundle.generated.ts,
 * scripts/assistants.mjs), which the Worker imports.
 *   node scripts/build.mjs --assets  the static assets only (public/client.js, public/embed.js):
 *                                    `npm test`, `npm run deploy` and `npm run build:check` run
 *                                    this first; `npm run dev` (scripts/dev.mjs) builds them once
 *                                    with {@link watchAssets} and rebuilds them on change
 *
 * public/client.js is the browser client as one minified ES module (eventsource-parser
 * included), for `import { streamChat } from 'https://<worker>/client.js'`.
 * public/embed.js is the chat widget as one classic script (client and Markdown included),
 * for `<script src="https://<worker>/embed.js" async>`; the build fails if it grows past
 * EMBED_BUDGET_BYTES gzipped.
 * dist/ holds the package entry points `gemini-edge/client` and `gemini-edge/react`
 * (ESM, not minified, dependencies left as imports) and their .d.ts.
 *
 * Why not wrangler.toml's `[build]`: wrangler 4.86 runs a custom build command a second
 * time as soon as its file watcher is ready ("The file … changed, restarting build..."),
 * and reloads the Worker after it: two builds and a restart on every `wrangler dev` start
 * (workers-sdk#7934). Without `[build]`, wrangler bundles and watches the Worker itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build, context } from 'esbuild';
import { writeAssistantsModule } from './assistants.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Browsers from early 2023 on: async iteration, TextDecoderStream, adoptedStyleSheets. */
const BROWSERS = ['chrome111', 'firefox111', 'safari16.4'];
/**
 * embed.js, all included, stays under 18 KB: about half of the closest comparable widget
 * (Cloudflare's ai-search-snippet, 34 KB), a seventh of a full chat widget's script (Runtype
 * Persona, ~134 KB brotli). The argument, with its sources: docs/widget.md ("Small").
 */
export const EMBED_BUDGET_BYTES = 18 * 1024;

/** @type {import('esbuild').BuildOptions} */
const CLIENT = {
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
};

/** @type {import('esbuild').BuildOptions} */
const EMBED = { ...CLIENT, entryPoints: { embed: 'src/widget/embed.ts' }, format: 'iife' };

/** public/embed.js's gzipped size, and whether it is within its budget. */
function embedSize() {
  const bytes = gzipSync(readFileSync(`${root}public/embed.js`), { level: 9 }).byteLength;
  return { bytes, ok: bytes <= EMBED_BUDGET_BYTES, line: `public/embed.js: ${bytes} bytes gzipped (budget ${EMBED_BUDGET_BYTES})` };
}

/**
 * Builds public/client.js and public/embed.js once.
 * @returns {Promise<string>} the size line of embed.js
 * @throws {Error} when embed.js is over its budget
 */
export async function buildAssets() {
  await build(CLIENT);
  await build(EMBED);
  const size = embedSize();
  if (!size.ok) throw new Error(`public/embed.js is ${size.bytes} bytes gzipped, over its budget of ${EMBED_BUDGET_BYTES}`);
  return size.line;
}

/**
 * Builds the static assets once, then rebuilds each when a file it is built from
 * changes (esbuild's own watcher: it knows each bundle's inputs); wrangler dev
 * serves the new files at once. Resolves after the first build.
 * @param {(line: string) => void} log
 * @returns {Promise<{ line: string, stop: () => Promise<void> }>}
 */
export async function watchAssets(log) {
  /** @type {() => void} */
  let firstDone = () => {};
  const pending = new Set(['client', 'embed']);
  let firstErrors = 0;
  const first = new Promise((resolve) => (firstDone = () => resolve(undefined)));
  /** @param {'client' | 'embed'} name @returns {import('esbuild').Plugin} */
  const onEnd = (name) => ({
    name: `report-${name}`,
    setup(b) {
      b.onEnd((result) => {
        if (pending.delete(name)) {
          firstErrors += result.errors.length;
          if (pending.size === 0) firstDone();
          return;
        }
        if (result.errors.length > 0) return; // esbuild has printed them
        const size = name === 'embed' ? embedSize() : undefined;
        log(`rebuilt public/${name}.js${size ? `: ${size.line.replace(/^public\/embed\.js: /, '')}${size.ok ? '' : ' — OVER BUDGET'}` : ''}`);
      });
    },
  });
  const contexts = await Promise.all([
    context({ ...CLIENT, plugins: [onEnd('client')] }),
    context({ ...EMBED, plugins: [onEnd('embed')] }),
  ]);
  // watch() runs the first build itself: one build of each, then one per change.
  await Promise.all(contexts.map((ctx) => ctx.watch()));
  await first;
  if (firstErrors > 0) {
    await Promise.all(contexts.map((ctx) => ctx.dispose()));
    throw new Error('the static assets did not build (esbuild printed why)');
  }
  const size = embedSize();
  if (!size.ok) log(`public/embed.js is ${size.bytes} bytes gzipped, over its budget of ${EMBED_BUDGET_BYTES}`);
  return { line: size.line, stop: async () => void (await Promise.all(contexts.map((ctx) => ctx.dispose()))) };
}

/** dist/: the package entry points and their .d.ts. */
async function buildPackage() {
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    // The site assistants go into the Worker's own bundle (scripts/assistants.mjs): checked here too, so a bad one fails the build.
    writeAssistantsModule();
    const line = await buildAssets();
    if (!process.argv.includes('--quiet')) console.log(line);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
  if (!process.argv.includes('--assets')) await buildPackage();
}
