import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { CallbackReceiver, expectedSignature } from '../support/callback-receiver.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { until } from '../support/wait-for.js';

/**
 * Completion callbacks of a real `flowrun serve` on SQLite, POSTed to a real HTTP receiver on
 * 127.0.0.1 (docs/callbacks.md): signed, retried with backoff until a 2xx, and delivered after a
 * SIGKILL of the server between the run's end and the delivery.
 */
const FLOW = { name: 'flaky', steps: [{ id: 'f', component: '/f/flaky', input: { n: { $input: 'n' } } }], output: { $step: 'f' } };
const SECRET = 'a shared secret';

let dir: string;
let served: ServedProcess | undefined;
let client: FlowrunClient | undefined;
let receiver: CallbackReceiver | undefined;

beforeAll(async () => {
  requireBuilt('dist/src/cli/bin.js');
  dir = await makeTempDir('callbacks');
  await writeFile(join(dir, 'failing.json'), JSON.stringify([2]));
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  f: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('flaky-server.mjs'))}], env: { FLAKY_FAILING: ${JSON.stringify(join(dir, 'failing.json'))} } }
routes:
  "/f/{*component}": [{ plugin: f }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
callbacks: { allowHosts: [127.0.0.1], backoffMs: 50, maxBackoffMs: 200, pollMs: 50, timeoutMs: 2000 }
`,
  );
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await served?.stop();
  served = undefined;
  await receiver?.close();
  receiver = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function serve(): Promise<FlowrunClient> {
  served = await spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir });
  client = await connect(served.url);
  return client;
}

/** The run's status once its callback's delivery state satisfies `ready`. */
function callbackState(c: FlowrunClient, runId: string, ready: (callback: NonNullable<RunStatus['callback']>) => boolean, what: string): Promise<RunStatus> {
  return until(
    async () => {
      const status = await c.run(runId).status();
      return status.callback && ready(status.callback) ? status : undefined;
    },
    { what, timeoutMs: 30_000 },
  );
}

describe('completion callbacks', () => {
  it('retries a receiver that fails twice, then delivers once: same delivery id, signed body, given headers', async () => {
    receiver = await CallbackReceiver.start((k) => (k < 2 ? [503, 500][k] : 204));
    const c = await serve();
    const run = await c.submit({
      flow: FLOW,
      inputs: [{ n: 1 }, { n: 2 }, { n: 3 }],
      callback: { url: receiver.url, secret: SECRET, headers: { 'X-Team': 'ml', 'Content-Type': 'text/plain' } },
    });
    expect(run.submitted?.callback).toEqual({ url: receiver.url, attempts: 0 });
    const final = await run.wait();
    expect(final.status).toBe('success');

    await receiver.waitDelivered(1);
    const attempts = receiver.received;
    expect(attempts.map((a) => a.answered)).toEqual([503, 500, 204]);
    const deliveryId = attempts[0].headers['x-flowrun-delivery'];
    expect(deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    for (const attempt of attempts) {
      expect(attempt.headers['x-flowrun-delivery']).toBe(deliveryId);
      expect(attempt.headers['content-type']).toBe('application/json');
      expect(attempt.headers['x-team']).toBe('ml');
      expect(attempt.headers['x-flowrun-signature']).toBe(expectedSignature(SECRET, attempt.body));
    }
    const { event, run: sent } = attempts[2].json;
    expect(event).toBe('run.finished');
    expect(sent).toMatchObject({ runId: run.runId, status: 'success', items: { total: 3, success: 2, failed: 1 } });
    expect(sent.results).toBeUndefined();
    expect(attempts[2].body).not.toContain(SECRET);

    const status = await callbackState(c, run.runId, (cb) => cb.deliveredAt !== undefined, 'the delivery recorded');
    expect(status.callback).toMatchObject({ url: receiver.url, attempts: 3, statusCode: 204 });
    expect(Date.parse(status.callback!.deliveredAt!)).toBeGreaterThanOrEqual(Date.parse(status.completedAt!));
    expect(JSON.stringify(status)).not.toContain(SECRET);
    expect(JSON.stringify(status)).not.toContain('X-Team');
    // A listing shows the delivery state too.
    const listed = (await c.list()).runs.find((r) => r.runId === run.runId);
    expect(listed?.callback).toEqual(status.callback);
    expect(receiver.received).toHaveLength(3);
  }, 60_000);

  it('refuses a callback that is not http(s), names a host the config does not allow, or a bad header, naming the field', async () => {
    const c = await serve();
    const runsBefore = (await c.list()).runs.length;
    const refused = async (callback: { url: string; headers?: Record<string, string> }) => {
      const error = await c.submit({ flow: FLOW, inputs: [{ n: 1 }], callback }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.InvalidParams });
      return (error as Error).message;
    };
    expect(await refused({ url: 'ftp://127.0.0.1/x' })).toMatch(/"callback\.url": must be an http: or https: URL/);
    expect(await refused({ url: 'not a url' })).toMatch(/"callback\.url"/);
    expect(await refused({ url: 'http://localhost:9/x' })).toMatch(/"callback\.url": host localhost is not in callbacks\.allowHosts/);
    expect(await refused({ url: 'http://127.0.0.1:9/x', headers: { 'X-A': 'line\r\nbreak' } })).toMatch(/"callback\.headers\.X-A"/);
    expect(await refused({ url: 'http://user:pw@127.0.0.1:9/x' })).toMatch(/"callback\.url": may not hold credentials/);
    expect(await refused({ url: 'http://127.0.0.1:9/x', headers: { Host: 'elsewhere' } })).toMatch(/"callback\.headers\.Host": a header the HTTP client sets itself/);
    expect(await refused({ url: 'http://127.0.0.1:9/x', headers: { 'X A': 'v' } })).toMatch(/"callback\.headers\.X A": not an HTTP header name/);
    // Nothing was stored and the server goes on serving.
    expect((await c.list()).runs).toHaveLength(runsBefore);
    expect((await (await c.submit({ flow: FLOW, inputs: [{ n: 1 }] })).wait()).status).toBe('success');
  }, 60_000);

  it('delivers after a SIGKILL of serve between the run\'s end and the delivery', async () => {
    // The receiver is down (connection refused) while the run ends and the first server retries.
    receiver = await CallbackReceiver.start();
    await receiver.close();
    let c = await serve();
    const run = await c.submit({ flow: FLOW, inputs: [{ n: 1 }, { n: 2 }], callback: { url: receiver.url, secret: SECRET } });
    expect((await run.wait()).status).toBe('success');
    const failing = await callbackState(c, run.runId, (cb) => cb.attempts >= 2, 'two failed attempts');
    expect(failing.callback?.deliveredAt).toBeUndefined();
    expect(failing.callback?.error).toMatch(/ECONNREFUSED/);

    served!.child.kill('SIGKILL');
    await served!.exited;
    await client!.close();
    client = undefined;
    await receiver.listen();
    expect(receiver.received).toHaveLength(0);

    c = await serve();
    await receiver.waitDelivered(1);
    const [delivery] = receiver.delivered();
    expect(delivery.json.run).toMatchObject({ runId: run.runId, status: 'success', items: { total: 2, success: 1, failed: 1 } });
    expect(delivery.headers['x-flowrun-signature']).toBe(expectedSignature(SECRET, delivery.body));
    const status = await callbackState(c, run.runId, (cb) => cb.deliveredAt !== undefined, 'the delivery recorded after the restart');
    expect(status.callback!.attempts).toBeGreaterThan(failing.callback!.attempts);
    expect(status.callback!.statusCode).toBe(200);
    expect(receiver.delivered()).toHaveLength(1);
  }, 90_000);
});
