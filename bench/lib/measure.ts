/** Timing helpers shared by the bench cases: wall time and this process's CPU time. */

/** One timed pass: wall time and the CPU this process used meanwhile (user + system, all threads). */
export interface Measure {
  items: number;
  wallMs: number;
  cpuMicros: number;
  /** CPU µs the peer process used in the same window, when it could report it. */
  peerCpuMicros?: number;
}

/** Times `run` (which processes `items` items) with hrtime and `process.cpuUsage()`. */
export async function measure(items: number, run: () => Promise<void>): Promise<Measure> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { items, wallMs, cpuMicros: c.user + c.system };
}

/** Items per second of a pass. */
export function rate(m: Measure): number {
  return (m.items / m.wallMs) * 1000;
}

/** CPU µs per item of a pass. */
export function cpuPerItem(m: Measure): number {
  return m.cpuMicros / m.items;
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The q-quantile (0..1) of some numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Resolves after the event loop has turned (lets pending I/O and timers settle between passes). */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
