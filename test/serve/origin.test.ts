import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect } from '../../src/client/index.js';
import { flowrun } from '../support/cli.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { createWorkspace, ECHO_FLOW, type Workspace } from '../support/workspace.js';

/**
 * A web page the user opens may try to drive a `flowrun serve` on 127.0.0.1 (browsers let any
 * page open such a WebSocket, sending the page's `Origin`). Only the server's own origin and the
 * allowed ones get in; programs, which send no `Origin`, are unaffected.
 */
let ws: Workspace;
let served: ServedProcess;
let port: number;
beforeAll(async () => {
  ws = await createWorkspace();
  served = await spawnServe(['--config', ws.config, '--allow-origin', 'https://app.example.com', '--allow-origin', 'http://LOCALHOST:5173/']);
  port = Number(new URL(served.url).port);
});
afterAll(async () => {
  await served?.stop();
  await ws?.remove();
});

/** Tries a WebSocket upgrade with the given Origin; resolves with the HTTP status (101 when it opened) and body. */
function upgrade(url: string, origin: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, origin === undefined ? {} : { origin });
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

/** GET `path` with the given Origin header; resolves with status and body. */
function get(path: string, origin: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${served.httpUrl.replace(/\/$/, '')}${path}`, { headers: origin === undefined ? {} : { Origin: origin } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('flowrun serve refuses web pages of foreign origins', () => {
  it('refuses a WebSocket upgrade from a foreign page with 403 and a body naming its origin', async () => {
    const { status, body } = await upgrade(served.url, 'https://evil.example');
    expect(status).toBe(403);
    expect(JSON.parse(body).error).toMatch(/origin "https:\/\/evil\.example" are refused.*--allow-origin/);
    // The log line reaches our pipe on its own schedule: wait for it (bounded).
    for (let i = 0; i < 200 && !served.stderr().includes('refused a request from a foreign web origin'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(served.stderr()).toContain('refused a request from a foreign web origin');
  });

  it('refuses opaque origins and pages of the same host on another port', async () => {
    for (const origin of ['null', `http://127.0.0.1:${port + 1}`, `ftp://127.0.0.1:${port}`, `http://evil.example:${port}`]) {
      expect((await upgrade(served.url, origin)).status, origin).toBe(403);
    }
  });

  it("accepts the server's own origin under any loopback name, http or https", async () => {
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `https://127.0.0.1:${port}`, `http://[::1]:${port}`]) {
      expect((await upgrade(served.url, origin)).status, origin).toBe(101);
    }
  });

  it('accepts the origins given with --allow-origin (compared as origins: case, trailing slash)', async () => {
    expect((await upgrade(served.url, 'https://app.example.com')).status).toBe(101);
    expect((await upgrade(served.url, 'http://localhost:5173')).status).toBe(101);
    expect((await upgrade(served.url, 'http://app.example.com')).status).toBe(403);
  });

  it('leaves clients without an Origin header (CLI, SDK, curl) unaffected', async () => {
    expect((await upgrade(served.url, undefined)).status).toBe(101);
    const client = await connect(served.url);
    try {
      const run = await client.submit({ flow: ECHO_FLOW, inputs: [1] });
      expect((await run.wait()).status).toBe('success');
    } finally {
      client.close();
    }
  });

  it('refuses plain HTTP requests (/health and the rest) from foreign pages alike', async () => {
    const refused = await get('/health', 'https://evil.example');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toContain('https://evil.example');
    expect((await get('/nowhere', 'https://evil.example')).status).toBe(403);
    expect((await get('/health', undefined)).status).toBe(200);
    expect((await get('/health', `http://localhost:${port}`)).status).toBe(200);
    expect((await get('/health', 'https://app.example.com')).status).toBe(200);
  });
});

describe('allowed origins from the config', () => {
  it('accepts the origins of serve.allowOrigins', async () => {
    const config = join(ws.dir, 'origins.yaml');
    await writeFile(config, 'blobStore: { type: memory }\nstateStore: { type: memory }\nserve: { allowOrigins: ["https://dashboard.example.org:8443"] }\n');
    const other = await spawnServe(['--config', config]);
    try {
      expect((await upgrade(other.url, 'https://dashboard.example.org:8443')).status).toBe(101);
      expect((await upgrade(other.url, 'https://dashboard.example.org')).status).toBe(403);
    } finally {
      await other.stop();
    }
  });

  it('refuses an entry that is not an origin, naming the config field or the flag', async () => {
    const config = join(ws.dir, 'bad-origins.yaml');
    await writeFile(config, 'serve:\n  allowOrigins: ["https://ok.example", "https://app.example.com/path"]\n');
    const fromConfig = await flowrun(['serve', '--port', '0', '--config', config]);
    expect(fromConfig.code).toBe(2);
    expect(fromConfig.stderr).toContain(`${config}:2: serve.allowOrigins[1]: "https://app.example.com/path" is not an origin`);

    const fromFlag = await flowrun(['serve', '--port', '0', '--config', ws.config, '--allow-origin', '*']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('--allow-origin: "*" is not an origin');

    const wildcard = await flowrun(['serve', '--port', '0', '--config', ws.config, '--allow-origin', 'https://*.example.com']);
    expect(wildcard.code).toBe(2);
    expect(wildcard.stderr).toContain('--allow-origin: "https://*.example.com": wildcards are not supported');
  });
});
