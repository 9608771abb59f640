/**
 * CPU time of other processes, read from Linux's /proc: `utime + stime` of /proc/<pid>/stat, in
 * clock ticks of 10 ms (CLK_TCK 100, what Linux reports on every common architecture). Where there is
 * no /proc (macOS), every figure is NaN and the bench reports it as missing.
 */
import { readdirSync, readFileSync } from 'node:fs';

const MICROS_PER_TICK = 10_000;

/** One line of /proc/<pid>/stat, the fields the bench needs. */
interface ProcStat {
  pid: number;
  ppid: number;
  cpuMicros: number;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: the fields after it start past the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ppid = Number(rest[1]);
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { pid, ppid, cpuMicros: ticks * MICROS_PER_TICK };
}

/** CPU µs used so far by each of `pids` together (a process that is gone counts 0); NaN without /proc. */
export function processesCpuMicros(pids: readonly number[]): number {
  if (!hasProc()) return NaN;
  let sum = 0;
  for (const pid of pids) sum += readStat(pid)?.cpuMicros ?? 0;
  return sum;
}

/**
 * CPU µs used so far by `root` and every process whose parent chain leads to it (a PostgreSQL
 * postmaster and its backends, a serve process and its component servers). Processes that already
 * exited are not counted. NaN without /proc.
 */
export function treeCpuMicros(root: number): number {
  if (!hasProc()) return NaN;
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.set(stat.pid, stat);
  }
  let sum = 0;
  for (const stat of stats.values()) {
    if (descendsFrom(stat, root, stats)) sum += stat.cpuMicros;
  }
  return sum;
}

/** The parent of `pid`, from /proc; undefined when it is gone or there is no /proc. */
export function parentPid(pid: number): number | undefined {
  return hasProc() ? readStat(pid)?.ppid : undefined;
}

function descendsFrom(stat: ProcStat, root: number, stats: Map<number, ProcStat>): boolean {
  // Bounded walk: a parent chain is short, and pid 1 (or a vanished parent) ends it.
  let current: ProcStat | undefined = stat;
  for (let hops = 0; current !== undefined && hops < 64; hops++) {
    if (current.pid === root) return true;
    if (current.ppid <= 1) return false;
    current = stats.get(current.ppid);
  }
  return false;
}

function hasProc(): boolean {
  return process.platform === 'linux';
}
