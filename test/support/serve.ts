import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BIN, ROOT } from './paths.js';

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

export interface ServeOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Default: the repository root. */
  cwd?: string;
}

/**
 * Spawns the built CLI's `serve --port 0` and waits for its `{"url": …}` line; rejects with its
 * stderr if it exits before listening.
 */
export async function spawnServe(args: string[], options: ServeOptions = {}): Promise<ServedProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '', ...options.env },
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
