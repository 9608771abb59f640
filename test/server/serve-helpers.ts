import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'dist/src/cli/bin.js');
const GATE_SERVER = join(ROOT, 'test/server/fixtures/gate-server.mjs');

/** A throw-away directory under /dev/shm holding a config (`flowrun.yaml`) and the flows the tests run. */
export interface Workspace {
  dir: string;
  config: string;
  /** Echoes each item's input: output = input. */
  echoFlow: string;
  /** Holds each item in `/gate` until the gate answers; input `{url, item}`. */
  gateFlow: string;
  remove(): Promise<void>;
}

/**
 * Writes a config routing `/t/*` to the gate fixture server. Stores are in memory unless
 * `durable`: then blobs go to `<dir>/blobs` and the state store is the command's default
 * (`serve`: sqlite at `.flowrun/state.db` in its working directory).
 */
export async function createWorkspace(options: { durable?: boolean } = {}): Promise<Workspace> {
  const dir = await mkdtemp('/dev/shm/flowrun-serve-');
  const config = join(dir, 'flowrun.yaml');
  await writeFile(
    config,
    `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(GATE_SERVER)}] }
routes:
  "/t/{*component}": [{ plugin: t }]
${options.durable ? 'blobStore: { type: filesystem, path: blobs }' : 'blobStore: { type: memory }\nstateStore: { type: memory }'}
`,
  );
  const echoFlow = join(dir, 'echo.yaml');
  await writeFile(echoFlow, ECHO_FLOW_YAML);
  const gateFlow = join(dir, 'gate.yaml');
  await writeFile(
    gateFlow,
    `name: gated
steps:
  - id: g
    component: /t/gate
    input: { $input: "$" }
output: { $step: g }
`,
  );
  return { dir, config, echoFlow, gateFlow, remove: () => rm(dir, { recursive: true, force: true }) };
}

export const ECHO_FLOW_YAML = `name: echo
steps:
  - id: e
    component: /t/echo
    input: { $input: "$" }
output: { $step: e }
`;

/** The echo flow as submitted inline. */
export const ECHO_FLOW = {
  name: 'echo',
  steps: [{ id: 'e', component: '/t/echo', input: { $input: '$' } }],
  output: { $step: 'e' },
};

/** The gate flow as submitted inline. */
export const GATE_FLOW = {
  name: 'gated',
  steps: [{ id: 'g', component: '/t/gate', input: { $input: '$' } }],
  output: { $step: 'g' },
};

/**
 * An HTTP server on 127.0.0.1 that holds every request until `release()`: items of the gate flow
 * stay running until the test lets them go. `arrived(n)` resolves once n requests are held.
 */
export async function startGate() {
  const held: ServerResponse[] = [];
  let released = false;
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  let count = 0;
  const server = createServer((_req, res) => {
    count++;
    if (released) res.end('open');
    else held.push(res);
    waiters = waiters.filter((w) => (count >= w.n ? (w.resolve(), false) : true));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    /** Resolves once `n` requests reached the gate in total. */
    /** Requests that reached the gate so far. */
    count: () => count,
    arrived: (n: number) => new Promise<void>((r) => (count >= n ? r() : waiters.push({ n, resolve: r }))),
    release() {
      released = true;
      for (const res of held.splice(0)) res.end('open');
    },
    close: () =>
      new Promise<void>((r) => {
        released = true;
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A `flowrun serve` child process and the URL it printed. */
export interface ServedProcess {
  child: ChildProcess;
  url: string;
  httpUrl: string;
  stderr: () => string;
  /** Resolves with the exit code (signal exits as -1). */
  exited: Promise<number>;
  stop(): Promise<number>;
}

/** Spawns the built CLI's `serve` (in `cwd`, default the repo) and waits for its `{"url": …}` line. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ServedProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolveUrl, reject) => {
    lines.once('line', (line) => resolveUrl((JSON.parse(line) as { url: string }).url));
    void exited.then((code) => reject(new Error(`flowrun serve exited with ${code} before listening: ${stderr}`)));
  });
  return {
    child,
    url,
    httpUrl: url.replace(/^ws:/, 'http:'),
    stderr: () => stderr,
    exited,
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs the built CLI to completion; resolves with its exit code and output. */
export function flowrun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}
