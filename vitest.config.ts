import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { writeAssistantsModule } from './scripts/assistants.mjs';

// The Worker under test bundles the fixture assistants (test/fixtures/assistants), never the
// project's own: `#assistants` points at a module built from them here.
const fixtureAssistants = fileURLToPath(new URL('./test/fixtures/.generated/assistants.ts', import.meta.url));
// The fixtures' tool endpoints (http://127.0.0.1:0/…) point at the owner endpoint test/global-setup.ts
// starts on this port (test/fake/tool-owner.ts): local endpoints are allowed for the tests only.
const toolOwnerPort = await freePort();
process.env.TOOL_OWNER_PORT = String(toolOwnerPort);
writeAssistantsModule({
  dir: fileURLToPath(new URL('./test/fixtures/assistants', import.meta.url)),
  out: fixtureAssistants,
  allowLocalTools: true,
  mapEndpoint: (url) => url.replace('http://127.0.0.1:0/', `http://127.0.0.1:${toolOwnerPort}/`),
});

/** A port free on this machine now (the owner endpoint takes it moments later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default defineConfig({
  resolve: { alias: { '#assistants': fixtureAssistants } },
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Tests talk to the fake Gemini over a real socket; these bindings win
        // over .dev.vars, so a real key never reaches a test.
        bindings: {
          GEMINI_BASE_URL: inject('fakeGeminiUrl'),
          GEMINI_API_KEY: 'test-key-not-secret',
          GOOGLE_AI_API_KEY: '',
          ALLOWED_MODELS: 'gemini-3.8-flash,gemini-3.5-flash-lite,gemini-3.1-pro-preview,gemini-flash-latest,gemini-retired',
          MAX_MESSAGE_CHARS: '2000',
          MAX_BODY_BYTES: '65536',
          MAX_OUTPUT_TOKENS: '4096',
          UPSTREAM_TIMEOUT_MS: '3000',
          UPSTREAM_IDLE_TIMEOUT_MS: '1500',
          RESUME_GRACE_MS: '500',
          MAX_CONTEXT_CHARS: '3000',
          ALLOWED_ORIGINS: 'https://allowed.example,http://localhost:5173',
          // Every test request comes from one client; the limits' own tests turn them on.
          RATE_LIMIT_PER_MINUTE: '0',
          CHAT_CREATE_PER_MINUTE: '0',
          DAILY_TOKEN_BUDGET: '0',
          // Attachments: over R2's 5 MiB part (a multipart upload), few files, a small inline budget
          // (larger files go by the Files API); limits.test.ts turns the daily allowance on.
          MAX_FILE_BYTES: '6291456',
          MAX_FILES_PER_MESSAGE: '3',
          MAX_INLINE_BYTES: '262144',
          DAILY_UPLOAD_BYTES: '0',
          // Off, whatever .dev.vars says; test/integration/openai.test.ts turns it on per env.
          OPENAI_COMPAT_KEYS: '',
          // Assistants' tools (test/integration/assistant-tools.test.ts): a short timeout, few rounds.
          TOOLS_SIGNING_SECRET: 'tools-test-secret',
          TOOLS_TIMEOUT_MS: '1500',
          TOOLS_MAX_ROUNDS: '2',
          TOOLS_PAGE_TIMEOUT_MS: '2000',
        },
      },
    })),
  ],
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 20_000,
    reporters: ['default', ['json', { outputFile: '.vitest/workers.json' }]],
  },
});
