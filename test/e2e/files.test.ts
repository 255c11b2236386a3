import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exe, formBody, png, sha256 } from '../files';
import { joinedText, parseSse } from '../sse';
import { startDevServer, type DevServer } from './dev-server';

/**
 * Files through real `npm run dev` (wrangler dev, its local R2, the fake Gemini) over real
 * sockets: the bytes reach Gemini intact, survive a restart of the dev server, and an upload cut
 * mid-body (a TCP connection closed by the client) leaves nothing behind.
 */

let persistDir: string;
let dev: DevServer;
const start = () => startDevServer(['--persist-to', persistDir]);

beforeAll(async () => {
  persistDir = await mkdtemp(join(tmpdir(), 'gemini-edge-files-'));
  dev = await start();
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
});

async function createChat(): Promise<string> {
  const response = await fetch(`${dev.url}/api/chats`, { method: 'POST' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

function upload(chat: string, bytes: Uint8Array<ArrayBuffer>, name: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new File([bytes], name));
  return fetch(`${dev.url}/api/chats/${chat}/files`, { method: 'POST', body: form });
}

interface FileInfo {
  id: string;
  name: string;
  type: string;
  size: number;
  url: string;
}

describe('files under wrangler dev', () => {
  it('reach Gemini intact, show in the chat, and survive a restart of the dev server', async () => {
    const chat = await createChat();
    const bytes = png(40_000, 5);
    const response = await upload(chat, bytes, 'error.png');
    expect(response.status).toBe(201);
    const file = (await response.json()) as FileInfo;
    const answer = await fetch(`${dev.url}/api/chats/${chat}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'What is this?', files: [file.id] }),
    });
    expect(answer.status).toBe(200);
    const text = joinedText(parseSse(await answer.text()));
    expect(text).toContain(`[fake] received image/png, 40000 bytes, sha256 ${(await sha256(bytes)).slice(0, 16)}`);

    await dev.stop();
    dev = await start();
    const snapshot = (await (await fetch(`${dev.url}/api/chats/${chat}`)).json()) as { messages: Array<{ files?: FileInfo[] }> };
    expect(snapshot.messages[0].files).toEqual([file]);
    const back = await fetch(`${dev.url}${file.url}`);
    expect(back.status).toBe(200);
    expect(back.headers.get('content-type')).toBe('image/png');
    expect(await sha256(await back.arrayBuffer())).toBe(await sha256(bytes));
  });

  it('gives every refused upload its own answer, and the next request on the connection its own', async () => {
    const chat = await createChat();
    for (let i = 0; i < 3; i++) {
      const refused = await upload(chat, exe(200_000), 'setup.png');
      expect(refused.status).toBe(415);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
      expect((await upload(chat, png(2000, i + 1), `ok-${i}.png`)).status).toBe(201);
    }
  });

  it('stores nothing of an upload whose connection is cut mid-body, and frees its slot', async () => {
    const chat = await createChat();
    const { body, contentType } = formBody([{ filename: 'cut.png', type: 'image/png', bytes: png(300_000, 9) }]);
    const { port } = new URL(dev.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /api/chats/${chat}/files HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.byteLength}\r\n\r\n`,
        );
        socket.write(body.subarray(0, 120_000), () => setTimeout(() => (socket.destroy(), resolve()), 300));
      });
      socket.on('error', reject);
    });
    // The cut upload's slot came back: the chat still takes its ten unsent files (twice MAX_FILES_PER_MESSAGE).
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < 10; i++) expect((await upload(chat, png(1000, 20 + i), `f${i}.png`)).status).toBe(201);
    expect((await upload(chat, png(1000, 40), 'eleventh.png')).status).toBe(409);
  });

  it('deletes a chat\'s files with the chat', async () => {
    const chat = await createChat();
    const file = (await (await upload(chat, png(3000, 3), 'gone.png')).json()) as FileInfo;
    expect((await fetch(`${dev.url}${file.url}`)).status).toBe(200);
    expect((await fetch(`${dev.url}/api/chats/${chat}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${dev.url}${file.url}`)).status).toBe(404);
  });
});
