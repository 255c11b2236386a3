/// <reference path="./provided-context.d.ts" />
import type { TestProject } from 'vitest/node';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { startAlertReceiver } from './fake/alert-receiver';
import { startFakeTurnstile } from './fake/fake-turnstile';
import { startToolOwner } from './fake/tool-owner';

/** Starts one fake Gemini for the whole run; the Worker under test reaches it over a socket. */
export default async function setup(project: TestProject) {
  const fake = await startFakeGemini({ log: (line) => console.error(line) });
  project.provide('fakeGeminiUrl', fake.url);
  // SPEND_ALERT_URL's stand-in (test/integration/deployment-budget.test.ts).
  const alerts = await startAlertReceiver();
  project.provide('alertReceiverUrl', alerts.url);
  // Turnstile's siteverify (test/integration/turnstile.test.ts).
  const turnstile = await startFakeTurnstile();
  project.provide('fakeTurnstileUrl', turnstile.url);
  // The fixture assistant's tool endpoints (vitest.config.ts chose the port when it bundled them).
  const toolOwner = await startToolOwner(Number(process.env.TOOL_OWNER_PORT ?? 0));
  project.provide('toolOwnerUrl', toolOwner.url);
  return async () => {
    await toolOwner.close();
    await turnstile.close();
    await alerts.close();
    await fake.close();
  };
}
