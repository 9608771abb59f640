import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fixturePath } from './paths.js';

/** A worker process started with `--connect` and the registrations it printed. */
export interface WorkerProcess {
  readonly name: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every `{workerId, node, pool}` line so far: one per (re)registration. */
  readonly registrations: Array<{ workerId: string; node: string; pool: string }>;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the worker registered `n` times in all. */
  registered(n?: number): Promise<void>;
}

const running = new Set<WorkerProcess>();

/** Options of {@link startWorker}. */
export interface StartWorkerOptions {
  pool?: string;
  capacity?: number;
  token?: string;
  /** Default: the counting worker of test/fixtures/workers. */
  script?: string;
  env?: Record<string, string>;
}

/**
 * Starts `node <script> --connect <url> --name <name> …` and resolves once it registered; rejects
 * if it exits first. Killed by {@link killWorkers}.
 */
export async function startWorker(url: string, name: string, options: StartWorkerOptions = {}): Promise<WorkerProcess> {
  const worker = spawnWorker(url, name, options);
  await worker.registered(1);
  return worker;
}

/** Like {@link startWorker}, without waiting for the registration. */
export function spawnWorker(url: string, name: string, options: StartWorkerOptions = {}): WorkerProcess {
  const args = ['--connect', workersUrl(url), '--name', name, '--pool', options.pool ?? 'default'];
  if (options.capacity !== undefined) args.push('--capacity', String(options.capacity));
  if (options.token !== undefined) args.push('--token', options.token);
  const child = spawn(process.execPath, [options.script ?? fixturePath('workers/counting-worker.mjs'), ...args], {
    env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const registrations: WorkerProcess['registrations'] = [];
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    registrations.push(JSON.parse(line) as WorkerProcess['registrations'][number]);
    waiters = waiters.filter((w) => (registrations.length >= w.n ? (w.resolve(), false) : true));
  });
  const worker: WorkerProcess = {
    name,
    child,
    registrations,
    stderr: () => stderr,
    exited,
    registered: (n = 1) =>
      new Promise<void>((resolve, reject) => {
        if (registrations.length >= n) return resolve();
        waiters.push({ n, resolve });
        void exited.then(({ code, signal }) => reject(new Error(`worker ${name} exited (${code ?? signal}) before registering ${n} time(s): ${stderr}`)));
      }),
  };
  running.add(worker);
  void exited.then(() => running.delete(worker));
  return worker;
}

/** `ws://host:port/` of a served runtime → its worker endpoint `ws://host:port/workers`. */
export function workersUrl(url: string): string {
  return url.endsWith('/workers') ? url : `${url.replace(/\/$/, '')}/workers`;
}

/** SIGKILLs every worker still running and waits for them to go. */
export async function killWorkers(): Promise<void> {
  const all = [...running];
  for (const worker of all) worker.child.kill('SIGKILL');
  await Promise.all(all.map((worker) => worker.exited));
}
