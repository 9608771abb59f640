import type { RunStatus } from './api.js';

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatRelative(iso: string, now: number): string {
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export const formatAbsolute = (iso: string): string => new Date(iso).toLocaleString();

export const formatCount = (n: number): string => n.toLocaleString('en-US');

export const isActive = (run: RunStatus): boolean => run.status === 'pending' || run.status === 'running';

/** How long a run took, or has been going while active. */
export function runDurationMs(run: RunStatus, now: number): number {
  if (run.durationMs !== undefined) return run.durationMs;
  const end = run.completedAt !== undefined ? Date.parse(run.completedAt) : now;
  return Math.max(0, end - Date.parse(run.createdAt));
}

export const settledOf = (run: RunStatus): number => run.items.success + run.items.failed + run.items.cancelled;

/** The fresher of two statuses of one run: a terminal one, else the one with more items settled. */
export function fresher(a: RunStatus, b: RunStatus): RunStatus {
  if (isActive(a) !== isActive(b)) return isActive(a) ? b : a;
  return settledOf(b) >= settledOf(a) ? b : a;
}

export const shortId = (runId: string): string => runId.slice(0, 8);
