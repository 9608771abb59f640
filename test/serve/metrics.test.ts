import { request } from 'node:http';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { startRuntimeServer } from '../../src/serve/ws-server.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `GET /metrics` of a real `flowrun serve` (its default SQLite store, a stdio component server)
 * after runs with a failing item and a component server that cannot start: the counters say
 * what happened, and the route is guarded like the WebSocket endpoint.
 */
const TOKEN = 'metrics-s3cret';
const CHECK_FLOW = { name: 'check', steps: [{ id: 'c', component: '/m/check', input: { $input: '$' } }], output: { $step: 'c' } };
const BROKEN_FLOW = { name: 'broken', steps: [{ id: 'b', component: '/broken/anything', input: { $input: '$' } }], output: { $step: 'b' } };

let dir: string;
let served: ServedProcess;
let client: FlowrunClient;
beforeAll(async () => {
  requireBuilt('dist/src/sdk/index.js');
  dir = await makeTempDir('metrics');
  const config = join(dir, 'flowrun.yaml');
  await writeFile(
    config,
    `plugins:
  m: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('metrics-server.mjs'))}] }
  broken: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('dies-at-start-server.mjs'))}] }
routes:
  "/m/{*component}": [{ plugin: m }]
  "/broken/{*component}": [{ plugin: broken }]
blobStore: { type: memory }
`,
  );
  served = await spawnServe(['--config', config, '--token', TOKEN], { cwd: dir });
  client = await connect(served.url, { token: TOKEN });
  await (await client.submit({ flow: CHECK_FLOW, inputs: [{ n: 1 }, { fail: 'no' }, { n: 3 }] })).result();
  await (await client.submit({ flow: BROKEN_FLOW, inputs: [{ n: 1 }] })).result();
}, 60_000);
afterAll(async () => {
  await client?.close();
  await served?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends `method /metrics` with the given headers (to `httpUrl`, default the served process). */
function metrics(headers: Record<string, string> = {}, method = 'GET', httpUrl = served.httpUrl): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/metrics', httpUrl), { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

const authorized = { Authorization: `Bearer ${TOKEN}` };

/** The samples of an exposition by `name{labels}` as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('GET /metrics', () => {
  it('answers Prometheus text with HELP and TYPE for every metric', async () => {
    const reply = await metrics(authorized);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const [name, type] of [
      ['flowrun_runs', 'gauge'],
      ['flowrun_live_runs', 'gauge'],
      ['flowrun_items_total', 'counter'],
      ['flowrun_items_per_second', 'gauge'],
      ['flowrun_calls_total', 'counter'],
      ['flowrun_nodes', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
    ]) {
      expect(reply.body).toMatch(new RegExp(`^# HELP ${name} \\S.*\\n# TYPE ${name} ${type}$`, 'm'));
    }
  });

  it('counts the runs by status, the items settled and the calls by component and outcome', async () => {
    const values = samples((await metrics(authorized)).body);
    // The check run succeeds with one failed item; the broken run fails: its server never starts.
    expect(['pending', 'running', 'success', 'failed', 'cancelled'].map((s) => values.get(`flowrun_runs{status="${s}"}`))).toEqual([0, 0, 1, 1, 0]);
    expect(['success', 'failed', 'cancelled'].map((s) => values.get(`flowrun_items_total{status="${s}"}`))).toEqual([2, 2, 0]);
    expect(['success', 'failed', 'error'].map((o) => values.get(`flowrun_calls_total{component="/m/check",outcome="${o}"}`))).toEqual([2, 1, 0]);
    expect(['success', 'failed', 'error'].map((o) => values.get(`flowrun_calls_total{component="/broken/anything",outcome="${o}"}`))).toEqual([0, 0, 1]);
    expect(values.get('flowrun_nodes{state="alive"}')).toBe(1);
    expect(values.get('flowrun_nodes{state="dead"}')).toBe(0);
    expect(values.get('flowrun_metrics_source_up{source="runs"}')).toBe(1);
    expect(values.get('flowrun_items_per_second')).toBeGreaterThanOrEqual(0);
    expect(values.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts the calls of a later run on top', async () => {
    await (await client.submit({ flow: CHECK_FLOW, inputs: [{ n: 4 }] })).result();
    const values = samples((await metrics(authorized)).body);
    expect(values.get('flowrun_calls_total{component="/m/check",outcome="success"}')).toBe(3);
    expect(values.get('flowrun_runs{status="success"}')).toBe(2);
    expect(values.get('flowrun_items_total{status="success"}')).toBe(3);
  });

  it('refuses a request without the token, or with a wrong one, with 401', async () => {
    const refused: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong' }, { Authorization: TOKEN }];
    for (const headers of refused) {
      const reply = await metrics(headers);
      expect(reply.status, JSON.stringify(headers)).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Bearer');
      expect(JSON.parse(reply.body).error).toMatch(/Authorization: Bearer/);
    }
  });

  it('refuses a web page of a foreign origin with 403, token or not', async () => {
    const reply = await metrics({ ...authorized, Origin: 'https://evil.example' });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body).error).toMatch(/origin "https:\/\/evil\.example" are refused/);
  });

  it('answers other methods with 405', async () => {
    const reply = await metrics(authorized, 'POST');
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('GET, HEAD');
  });
});

describe('GET /metrics with the state store unreadable', () => {
  it('leaves out the run counts, says so in flowrun_metrics_source_up, and serves the rest', async () => {
    const storeDir = await makeTempDir('metrics-store');
    const configPath = join(storeDir, 'flowrun.yaml');
    await writeFile(configPath, 'stateStore: { type: sqlite, path: state.db }\nblobStore: { type: memory }\n');
    const runtime = await Runtime.create({ config: await loadConfig({ configPath }) });
    const server = await startRuntimeServer({ runtime, port: 0 });
    try {
      await runtime.store.close(); // every later read of the store fails
      const reply = await metrics({}, 'GET', server.url.replace(/^ws:/, 'http:'));
      expect(reply.status).toBe(200);
      const values = samples(reply.body);
      expect(values.get('flowrun_metrics_source_up{source="runs"}')).toBe(0);
      expect(values.get('flowrun_metrics_source_up{source="nodes"}')).toBe(1);
      expect(reply.body).not.toMatch(/^flowrun_runs/m);
      expect(values.get('flowrun_items_total{status="success"}')).toBe(0);
      expect(values.get('flowrun_nodes{state="alive"}')).toBe(1);
    } finally {
      await server.close();
      await runtime.close();
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});
