/// <reference path="./provided-context.d.ts" />
import type { TestProject } from 'vitest/node';
import { startFakeGemini } from '../fake-gemini/server.mjs';

/** Starts one fake Gemini for the whole run; the Worker under test reaches it over a socket. */
export default async function setup(project: TestProject) {
  const fake = await startFakeGemini({ log: (line) => console.error(line) });
  project.provide('fakeGeminiUrl', fake.url);
  return () => fake.close();
}
