import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from '../support/paths.js';

/** A running `flowrun` child process whose output the test reads as it comes. */
export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout holds at least `n` lines, or rejects when the process exits first. */
  stdoutLines(n: number): Promise<string[]>;
  /** Resolves once stderr matches `pattern`, or rejects when the process exits first. */
  stderrMatch(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Exit code (a signal exit is -1), with everything printed. */
  exited: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Spawns the built CLI with stdin from `input` (or nothing: /dev/null). Logs at warn unless `env` says. */
export function spawnCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '', FLOWRUN_URL: '', ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((stdout += d), changed()));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((stderr += d), changed()));
  if (options.input !== undefined) child.stdin!.end(options.input);
  const exited = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
  const until = <T>(check: () => T | undefined, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const test = () => {
        const value = check();
        if (value === undefined) return;
        listeners.delete(test);
        resolve(value);
      };
      listeners.add(test);
      test();
      void exited.then(() => {
        if (!listeners.has(test)) return;
        test();
        if (listeners.delete(test)) reject(new Error(`flowrun exited before ${what}; stdout:\n${stdout}\nstderr:\n${stderr}`));
      });
    });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stdoutLines: (n) => until(() => (lines(stdout).length >= n ? lines(stdout) : undefined), `${n} stdout lines`),
    stderrMatch: (pattern) => until(() => stderr.match(pattern) ?? undefined, `stderr matched ${pattern}`),
    exited,
  };
}

/** Runs the CLI to its end. */
export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  return spawnCli(args, options).exited;
}

/** Complete (newline-terminated) non-blank lines. */
export function lines(text: string): string[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((l) => l.trim() !== '');
}
