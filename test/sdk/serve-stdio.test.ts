import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireBuilt } from '../support/paths.js';

// The fixture runs the compiled SDK: `npx tsc -p .` (or `npm test`) builds dist/ first.
const SERVER = 'test/fixtures/stepflow-test-server.mjs';

beforeAll(() => {
  requireBuilt('dist/src/sdk/index.js');
});

/** A component server process driven line by line over raw stdio, as the runtime would. */
class RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdoutLines: string[] = [];
  stderr = '';
  private waiters: Array<{ id: number; resolve: (message: Record<string, unknown>) => void }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor() {
    this.child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.stdoutLines.push(line);
      const message = JSON.parse(line) as Record<string, unknown>;
      const waiter = this.waiters.find((w) => w.id === message.id);
      if (waiter) waiter.resolve(message);
    });
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** Sends a request and resolves with its answer; rejects if the process exits first. */
  request(id: number, method: string, params: unknown): Promise<Record<string, unknown>> {
    const answered = new Promise<Record<string, unknown>>((resolve) => this.waiters.push({ id, resolve }));
    const died = this.exited.then((exit) => {
      throw new Error(`server exited (${JSON.stringify(exit)}) before answering ${method}; stderr: ${this.stderr}`);
    });
    this.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    return Promise.race([answered, died]);
  }
}

const servers: RawServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.child.kill('SIGKILL');
});

function start(): RawServer {
  const server = new RawServer();
  servers.push(server);
  return server;
}

describe('serveStdio', () => {
  it('writes only protocol messages on stdout, even when a component calls console.log', async () => {
    const server = start();
    await server.request(1, 'initialize', { runtime_protocol_version: 1 });
    const answer = await server.request(2, 'components/execute', { component: '/console_log', input: 'hello', attempt: 1 });
    expect(answer).toEqual({ jsonrpc: '2.0', id: 2, result: { output: 'logged' } });
    expect(server.stdoutLines).toHaveLength(2);
    for (const line of server.stdoutLines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    server.child.stdin.end();
    await server.exited;
    expect(server.stderr).toContain('console.log from a component: hello');
    expect(server.stderr).toContain('forged');
  });

  it('keeps serving after a component leaves a promise rejection unhandled', async () => {
    const server = start();
    await server.request(1, 'initialize', { runtime_protocol_version: 1 });
    await expect(server.request(2, 'components/execute', { component: '/leak_rejection', input: null, attempt: 1 })).resolves.toMatchObject({
      result: { output: 'leaked' },
    });
    await expect(server.request(3, 'components/execute', { component: '/echo', input: 5, attempt: 1 })).resolves.toMatchObject({
      result: { output: 5 },
    });
  });

  it('exits with code 0 when the runtime closes stdin', async () => {
    const server = start();
    await server.request(1, 'initialize', { runtime_protocol_version: 1 });
    server.child.stdin.end();
    await expect(server.exited).resolves.toEqual({ code: 0, signal: null });
  });
});
