import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Starting and stopping the bench's child processes (compiled JS next to this file in dist/). */

/** Absolute path of a compiled child script, `children/<name>.js`. */
export function childScript(name: string): string {
  return fileURLToPath(new URL(`../children/${name}.js`, import.meta.url));
}

/** Spawns `node <script> ...args` with piped stdin/stdout; stderr is passed through. */
export function spawnNode(script: string, args: readonly string[] = []): ChildProcess {
  return spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Waits for the child's first stdout line, `{"port":N}`, and returns N. */
export function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve((JSON.parse(text.slice(0, nl)) as { port: number }).port);
    };
    const onExit = (code: number | null): void => reject(new Error(`child exited (code ${code}) before printing its port`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Resolves once the child has exited; kills it after `graceMs` if it has not. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
