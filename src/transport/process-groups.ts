/**
 * Process groups of spawned component servers. Each server is started as the leader of its own
 * group, so a wrapper (`sh -c`, `uv run`, `npx`) is stopped together with what it started. Groups
 * still alive when the runtime's process exits are killed then (best effort: nothing runs after a
 * SIGKILL of the runtime itself, but the servers' stdin closes and well-behaved ones exit).
 * See docs/component-servers.md ("Process groups").
 */

import { isMainThread } from 'node:worker_threads';

/** POSIX only: elsewhere a server is signalled alone. */
export const PROCESS_GROUPS_SUPPORTED = process.platform !== 'win32';

/**
 * Not SIGHUP: a listener would replace a disposition inherited as "ignore" (`nohup`), and Node
 * restores the default, not that, once the listener goes.
 */
const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
const live = new Set<number>();
let hooked = false;

/**
 * Sends `signal` to every process of the group led by `pgid` (or to `pgid` alone where groups are
 * not supported). Returns false when no process of the group is left.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(PROCESS_GROUPS_SUPPORTED ? -pgid : pgid, signal);
    return true;
  } catch {
    // ESRCH: none left; EPERM: not ours any more.
    return false;
  }
}

/** Remembers a group to kill if the runtime exits before stopping it. */
export function trackGroup(pgid: number): void {
  live.add(pgid);
  if (!hooked) hook();
}

/** The group is gone (or was stopped): nothing to do for it at exit. */
export function untrackGroup(pgid: number): void {
  live.delete(pgid);
  if (live.size === 0 && hooked) unhook();
}

/** The groups still tracked (for tests and diagnostics). */
export function trackedGroups(): number[] {
  return [...live];
}

function killAll(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
}

function hook(): void {
  hooked = true;
  process.on('exit', killAll);
  // Signals reach the main thread only.
  // First in line, so another handler that listens `once` (serve's) is still counted when ours runs.
  if (isMainThread) for (const signal of EXIT_SIGNALS) process.prependListener(signal, onExitSignal);
}

function unhook(): void {
  hooked = false;
  process.off('exit', killAll);
  if (isMainThread) for (const signal of EXIT_SIGNALS) process.off(signal, onExitSignal);
}

/**
 * A signal that would end the process by default. When another listener handles it (the CLI's
 * Ctrl-C, `serve`'s suspend), that one decides, and the 'exit' hook still runs. When ours is the
 * only one, the process must still die of it: kill the groups, then re-raise with the default.
 */
function onExitSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAll();
  unhook();
  process.kill(process.pid, signal);
}
