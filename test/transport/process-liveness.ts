import { readFileSync } from 'node:fs';

/**
 * True while `pid` names a running process. A zombie (exited, not yet reaped: in a container the
 * init process may reap late or never) counts as gone.
 */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return procAbsentFallback(pid);
  }
  // `pid (comm) S …`: the state follows the last ')' (comm may contain spaces and parentheses).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Without /proc (macOS): signal 0 tells whether the pid exists. */
function procAbsentFallback(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (generous bound, polling) until none of `pids` is alive; throws naming the survivors otherwise. */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() - start > timeoutMs) throw new Error(`processes still alive: ${alive.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits (generous bound, polling) until `done()` holds. */
export async function waitUntil(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
