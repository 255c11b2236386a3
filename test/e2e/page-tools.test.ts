import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { startDevServer, type DevServer } from './dev-server';
import { fakeRecords, uniqueTag } from './fake-records';

/**
 * A page that loses its connection while the assistant waits for one of its page-side tools
 * (docs/assistants.md, "Tools that run in the page"), over real sockets under `wrangler dev`:
 * the socket is destroyed right after the `tool-call` frame arrives. Gone for good, the turn ends
 * `cancelled` after the grace period and Gemini is not called again; back within it, the page
 * resumes after the call, answers it, and reads the answer to its end.
 */

const SITE = 'https://tools.example';
const GRACE_MS = 1500;
let dev: DevServer;

beforeAll(async () => {
  dev = await startDevServer(['--var', `RESUME_GRACE_MS:${GRACE_MS}`], { ASSISTANTS_DIR: 'test/fixtures/assistants', ASSISTANT_TOOLS_ALLOW_LOCAL: '1' });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
});

const headers = { 'content-type': 'application/json', origin: SITE };

async function newChat(): Promise<string> {
  const response = await fetch(`${dev.url}/api/chats`, { method: 'POST', headers, body: '{}' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function snapshot(id: string): Promise<ChatSnapshot> {
  return (await (await fetch(`${dev.url}/api/chats/${id}`, { headers: { origin: SITE } })).json()) as ChatSnapshot;
}

/**
 * Sends a message whose answer calls the page's `show_section`, and destroys the socket as soon
 * as the call's frame has arrived. Resolves to that frame's id and the call's id.
 */
function sendAndDrop(id: string, tag: string): Promise<{ frameId: string; toolCallId: string }> {
  const body = JSON.stringify({ message: `Show me the prices [fake:tools call=show_section tag=${tag}]` });
  return new Promise((resolve, reject) => {
    const req = request(`${dev.url}/api/chats/${id}/messages`, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } });
    let seen = '';
    req.on('error', () => {});
    req.on('response', (res) => {
      res.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /id: (\d+)\nevent: tool-call\ndata: (\{.*\})\n\n/.exec(seen);
        if (!match) return;
        const call = JSON.parse(match[2]!) as { toolCallId: string; runsOn?: string };
        req.destroy();
        if (call.runsOn !== 'page') reject(new Error(`not a page call: ${match[2]}`));
        else resolve({ frameId: match[1]!, toolCallId: call.toolCallId });
      });
      res.on('end', () => reject(new Error(`the answer ended before a tool call: ${seen}`)));
    });
    req.end(body);
  });
}

describe('a page that drops its connection while its tool call is pending', () => {
  it('ends the turn cancelled after the grace period, and calls Gemini no more', async () => {
    const id = await newChat();
    const tag = uniqueTag();
    const { toolCallId } = await sendAndDrop(id, tag);
    let chat = await snapshot(id);
    for (let i = 0; i < 60 && chat.messages.at(-1)?.status === 'streaming'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      chat = await snapshot(id);
    }
    expect(chat.messages.at(-1)).toMatchObject({ role: 'model', status: 'cancelled', error: { code: 'cancelled' } });
    expect(chat.messages.at(-1)!.tools).toEqual([{ toolCallId, name: 'show_section', args: expect.any(Object), runsOn: 'page', error: 'the turn was cancelled before the page answered' }]);
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(1);
    // Too late: nothing waits for it any more.
    const late = await fetch(`${dev.url}/api/chats/${id}/tool-results`, { method: 'POST', headers, body: JSON.stringify({ results: [{ toolCallId, result: { shown: 'pricing' } }] }) });
    expect(late.status).toBe(409);
    // The chat takes its next message.
    const next = await fetch(`${dev.url}/api/chats/${id}/messages`, { method: 'POST', headers, body: JSON.stringify({ message: 'Hello again' }) });
    expect(next.status).toBe(200);
    expect(await next.text()).toMatch(/event: done\n/);
  });

  it('lets a page back within the grace period resume after the call, answer it, and read the answer to its end', async () => {
    const id = await newChat();
    const tag = uniqueTag();
    const { frameId, toolCallId } = await sendAndDrop(id, tag);
    const resumed = await fetch(`${dev.url}/api/chats/${id}/stream`, { headers: { origin: SITE, 'last-event-id': frameId } });
    expect(resumed.status).toBe(200);
    const delivered = await fetch(`${dev.url}/api/chats/${id}/tool-results`, { method: 'POST', headers, body: JSON.stringify({ results: [{ toolCallId, result: { shown: 'pricing' } }] }) });
    expect(delivered.status).toBe(200);
    const rest = await resumed.text();
    expect(rest).toContain('event: tool-result');
    expect(rest).toContain('[fake] show_section returned {\\"output\\":{\\"shown\\":\\"pricing\\"}}');
    expect(rest).toMatch(/event: done\n/);
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(2);
    expect((await snapshot(id)).messages.at(-1)).toMatchObject({ status: 'complete', tools: [{ toolCallId, name: 'show_section', runsOn: 'page', result: { shown: 'pricing' } }] });
  });
});
