import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subprotocolBearerOf } from '../../src/serve/bearer-token.js';
import { requireBuilt } from '../support/paths.js';
import { serveWorkspace, type ServedWorkspace } from '../support/served-workspace.js';

/**
 * What `flowrun serve` answers the dashboard (docs/dashboard.md, docs/security.md): its static files
 * with a strict Content-Security-Policy, `GET /whoami`, and the token offered as a WebSocket subprotocol.
 */
const TOKEN = 'dash-secret-token';
const subprotocol = (token: string) => `flowrun.bearer.${Buffer.from(token, 'utf8').toString('base64url')}`;

/** Opens a WebSocket offering `protocols`; resolves with the protocol selected, or the HTTP status refusing it. */
function dial(url: string, protocols: string[]): Promise<{ protocol: string } | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => {
      resolve({ protocol: ws.protocol });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('error', () => undefined);
  });
}

describe('dashboard routes', () => {
  let env: ServedWorkspace;
  beforeAll(async () => {
    requireBuilt('dist/dashboard/index.html');
    env = await serveWorkspace(TOKEN);
  }, 60_000);
  afterAll(() => env?.close());

  it('serves index.html at / without a token, with a strict Content-Security-Policy', async () => {
    const res = await fetch(env.served.httpUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self' ws: wss:");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(new URL(script!, env.served.httpUrl));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(new URL(style!, env.served.httpUrl))).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for an unknown asset and 405 for a POST', async () => {
    const missing = await fetch(new URL('/assets/nothing-here.js', env.served.httpUrl));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not found: /assets/nothing-here.js' });
    expect((await fetch(env.served.httpUrl, { method: 'POST' })).status).toBe(405);
    expect((await fetch(new URL('/whoami', env.served.httpUrl), { method: 'POST' })).status).toBe(405);
  });

  it('GET /whoami names the token, or answers 401 JSON for a wrong or missing one', async () => {
    const whoami = new URL('/whoami', env.served.httpUrl);
    const ok = await fetch(whoami, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ name: 'token', namespace: 'default', role: 'admin', tokenRequired: true });
    const wrong = await fetch(whoami, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()) as object).toHaveProperty('error');
    expect((await fetch(whoami)).status).toBe(401);
  });

  it('takes the token from the flowrun.bearer subprotocol and selects flowrun.v1, never the token', async () => {
    expect(await dial(env.served.url, ['flowrun.v1', subprotocol(TOKEN)])).toEqual({ protocol: 'flowrun.v1' });
    expect(await dial(env.served.url, ['flowrun.v1', subprotocol('wrong')])).toEqual({ status: 401 });
    expect(await dial(env.served.url, ['flowrun.v1'])).toEqual({ status: 401 });
    expect(env.served.stderr()).not.toContain(TOKEN);
  });
});

describe('GET /whoami without tokens', () => {
  let env: ServedWorkspace;
  beforeAll(async () => {
    env = await serveWorkspace();
  }, 60_000);
  afterAll(() => env?.close());

  it('answers the anonymous admin with tokenRequired: false', async () => {
    const res = await fetch(new URL('/whoami', env.served.httpUrl));
    expect(await res.json()).toEqual({ name: 'anonymous', namespace: 'default', role: 'admin', tokenRequired: false });
  });
});

describe('subprotocolBearerOf', () => {
  it('reads a token of any UTF-8 text from flowrun.bearer.<base64url>, among other subprotocols', () => {
    const token = 'tëam-ä/🔑+=';
    expect(subprotocolBearerOf(`flowrun.v1, ${subprotocol(token)}`)).toBe(token);
    expect(subprotocolBearerOf(`${subprotocol('x')},flowrun.v1`)).toBe('x');
  });

  it('finds none without the subprotocol, with an empty token or with characters outside base64url', () => {
    expect(subprotocolBearerOf(undefined)).toBeUndefined();
    expect(subprotocolBearerOf('flowrun.v1')).toBeUndefined();
    expect(subprotocolBearerOf('flowrun.v1, flowrun.bearer.')).toBeUndefined();
    expect(subprotocolBearerOf('flowrun.bearer.abc+def')).toBeUndefined();
  });
});
