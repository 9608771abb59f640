/**
 * `npm run bench -- --peers` (bench/README.md): the same durable fan-out through flowrun with its
 * PostgreSQL state store and through two PostgreSQL-backed peers, graphile-worker and DBOS
 * Transact, on one throw-away PostgreSQL the bench starts itself. Each pass gets a fresh database
 * on that server; passes run rep by rep through every case and the figures are medians.
 * Prints a markdown table with flowrun's ratio to each peer and writes bench/peers-results.json.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { PostgresStateStore } from '../src/statestore/postgres-state-store.js';
import { flowrunPass, ONE_STEP_FLOW } from './cases/flowrun-runs.js';
import { cpuPerItem, median, rate, settle, type Measure } from './lib/measure.js';
import { peerPass } from './lib/peer-pass.js';
import { createDatabase, startPostgres } from './lib/throwaway-postgres.js';

export interface PeersOptions {
  quick: boolean;
  reps?: number;
  out?: string;
  /** Run on this server's `postgres` URL (the caller stops it); default: a throw-away PostgreSQL of its own. */
  serverUrl?: string;
  progress(line: string): void;
}

interface PeerCase {
  id: 'flowrun-postgres' | 'graphile-worker' | 'dbos';
  unit: string;
  items: number;
  warmup: number;
  run(url: string, items: number, warmup: number): Promise<Measure>;
}

export interface PeerSummary {
  id: string;
  unit: string;
  items: number;
  /** Medians over the reps. */
  perSec: number;
  cpuMicrosPerItem: number;
  /** flowrun's items/s ÷ this case's (1 for flowrun itself). */
  flowrunRatio: number;
  reps: Array<{ perSec: number; cpuMicrosPerItem: number; wallMs: number }>;
  error?: string;
}

/** flowrun's in-flight items, as in the default bench's C=256 cases. */
const FLOWRUN_CONCURRENCY = 256;

/** The cases; DBOS gets fewer items, as it is two orders of magnitude slower here. */
function peerCases(quick: boolean): PeerCase[] {
  const n = quick ? 10_000 : 50_000;
  return [
    {
      id: 'flowrun-postgres', unit: 'items/s', items: n, warmup: 2_000,
      run: async (url, items, warmup) => {
        const store = await PostgresStateStore.connect({ url });
        return flowrunPass({ transport: 'stdio', flow: ONE_STEP_FLOW, payload: 'small', concurrency: FLOWRUN_CONCURRENCY, items, warmup }, store);
      },
    },
    { id: 'graphile-worker', unit: 'jobs/s', items: n, warmup: 2_000, run: (url, items, warmup) => peerPass('graphile-peer', { url, items, warmup }) },
    { id: 'dbos', unit: 'workflows/s', items: quick ? 1_000 : 3_000, warmup: 200, run: (url, items, warmup) => peerPass('dbos-peer', { url, items, warmup }) },
  ];
}

/** Runs every case `reps` times on one throw-away PostgreSQL, prints the table, writes the JSON, returns the summaries. */
export async function runPeers(options: PeersOptions): Promise<PeerSummary[]> {
  const reps = options.reps ?? (options.quick ? 1 : 3);
  const cases = peerCases(options.quick);
  const measures = new Map<string, Measure[]>(cases.map((c) => [c.id, []]));
  const failures = new Map<string, string>();
  const started = Date.now();
  const server = options.serverUrl === undefined ? await startPostgres() : undefined;
  const serverUrl = options.serverUrl ?? server!.url;
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (const c of cases) {
        if (failures.has(c.id)) continue;
        options.progress(`peers rep ${rep}/${reps} ${c.id} (${c.items} items)`);
        try {
          const url = await createDatabase(serverUrl, `${c.id.replace(/-/g, '_')}_${rep}`);
          const m = await c.run(url, c.items, c.warmup);
          measures.get(c.id)!.push(m);
          options.progress(`  ${Math.round(rate(m))} ${c.unit}, ${cpuPerItem(m).toFixed(1)} µs CPU/item`);
        } catch (err) {
          failures.set(c.id, (err as Error).message);
          options.progress(`  FAILED: ${(err as Error).message}`);
        }
        await settle();
      }
    }
  } finally {
    await server?.close();
  }
  const summaries = summarize(cases, measures, failures);
  const report = {
    generatedAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
    plan: { quick: options.quick, reps },
    peers: summaries,
  };
  await new Promise<void>((resolve) => process.stdout.write(renderPeers(summaries) + '\n', () => resolve()));
  const out = options.out ?? fileURLToPath(new URL('../../bench/peers-results.json', import.meta.url));
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  options.progress(`wrote ${out} (${report.durationSeconds.toFixed(0)} s)`);
  return summaries;
}

function summarize(cases: PeerCase[], measures: Map<string, Measure[]>, failures: Map<string, string>): PeerSummary[] {
  const flowrun = median((measures.get('flowrun-postgres') ?? []).map(rate));
  return cases.map((c) => {
    const ms = measures.get(c.id) ?? [];
    const perSec = median(ms.map(rate));
    return {
      id: c.id,
      unit: c.unit,
      items: c.items,
      perSec,
      cpuMicrosPerItem: median(ms.map(cpuPerItem)),
      flowrunRatio: flowrun / perSec,
      reps: ms.map((m) => ({ perSec: rate(m), cpuMicrosPerItem: cpuPerItem(m), wallMs: m.wallMs })),
      error: failures.get(c.id),
    };
  });
}

/** The peers' markdown table. */
export function renderPeers(rows: PeerSummary[]): string {
  const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
  const lines = [
    '## Durable fan-out on one PostgreSQL: flowrun and its peers',
    '',
    '| case | items | per second | process CPU µs/item | flowrun ÷ case |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const rate = r.error ? `FAILED: ${r.error}` : `${fmt(r.perSec)} ${r.unit}`;
    lines.push(`| ${r.id} | ${r.items} | ${rate} | ${fmt(r.cpuMicrosPerItem, 1)} | ${fmt(r.flowrunRatio, 2)}× |`);
  }
  return lines.join('\n');
}
