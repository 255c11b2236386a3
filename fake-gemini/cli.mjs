#!/usr/bin/env node
// @ts-check
/**
 * Runs the fake Gemini on its own: `node fake-gemini/cli.mjs [--port 8788] [--delay 40] [--reject-sampling]`.
 * Point the Worker at it with GEMINI_BASE_URL=http://127.0.0.1:8788. `--reject-sampling` makes
 * temperature/topP/topK a 400 on the models that ignore them (docs/fake-gemini.md).
 */
import { parseArgs } from 'node:util';
import { startFakeGemini } from './server.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8788' },
    host: { type: 'string', default: '127.0.0.1' },
    delay: { type: 'string', default: '40' },
    'reject-sampling': { type: 'boolean', default: false },
  },
});

const fake = await startFakeGemini({
  host: values.host,
  port: Number(values.port),
  delayMs: Number(values.delay),
  rejectSampling: values['reject-sampling'],
  log: (line) => console.error(line),
});
console.log(`fake Gemini listening on ${fake.url}`);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => void fake.close().then(() => process.exit(0)));
}
