/**
 * Micro benchmark: RpcPeer round trips to a real child process vs a raw NDJSON loop.
 * Run: `npx tsc -p . && node dist/bench/peer-echo.js [N]`. Prints items/s and the parent's CPU
 * time per item (`process.cpuUsage()`), for concurrency 16 and 256.
 *
 * The same file is the child: `--child raw` answers each line by hand, `--child peer` serves
 * `components/execute` through RpcPeer + NdjsonMessageReader/Writer.
 */
import { fileURLToPath } from 'node:url';
import { ComponentsExecute } from '../protocol/index.js';
import { RpcPeer } from '../src/rpc/peer.js';
import { spawnStdioProcess } from '../src/transport/child-process.js';
import { NdjsonMessageReader } from '../src/transport/ndjson-reader.js';
import { NdjsonMessageWriter } from '../src/transport/ndjson-writer.js';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  if (process.argv[3] === 'peer') servePeerChild();
  else serveRawChild();
} else {
  await main();
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  const rows: string[] = [];
  for (const concurrency of [16, 256]) {
    // A warm-up pass lets V8 optimise both loops before the measured one.
    await benchRaw(Math.min(n, 20_000), concurrency);
    const raw = await benchRaw(n, concurrency);
    await benchPeer(Math.min(n, 20_000), concurrency);
    const peer = await benchPeer(n, concurrency);
    rows.push(format('raw ndjson', concurrency, n, raw), format('RpcPeer', concurrency, n, peer));
    rows.push(`  → RpcPeer overhead: ${(peer.cpuMicros / n - raw.cpuMicros / n).toFixed(2)} µs parent CPU per item`);
  }
  process.stderr.write(rows.join('\n') + '\n');
}

interface Measure {
  wallMs: number;
  cpuMicros: number;
}

function format(label: string, concurrency: number, n: number, m: Measure): string {
  const perSec = Math.round((n / m.wallMs) * 1000);
  return `${label.padEnd(11)} c=${String(concurrency).padEnd(4)} ${String(perSec).padStart(8)} items/s  ${(m.cpuMicros / n).toFixed(2).padStart(6)} µs CPU/item (parent)`;
}

function measure(run: () => Promise<void>): Promise<Measure> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  return run().then(() => {
    const c = process.cpuUsage(c0);
    return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMicros: c.user + c.system };
  });
}

async function spawnChild(kind: 'raw' | 'peer') {
  return spawnStdioProcess({
    command: process.execPath,
    args: [self, '--child', kind],
    env: { ...process.env },
    name: `echo-${kind}`,
  });
}

/** The baseline: hand-written NDJSON request/response loop with a window of `concurrency`. */
async function benchRaw(n: number, concurrency: number): Promise<Measure> {
  const proc = await spawnChild('raw');
  const stdin = proc.child.stdin!;
  const stdout = proc.child.stdout!;
  const result = await measure(
    () =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let received = 0;
        let partial = '';
        const request = (id: number) =>
          JSON.stringify({ jsonrpc: '2.0', id, method: 'components/execute', params: { component: '/echo', input: { i: id }, attempt: 1 } }) + '\n';
        let out = '';
        while (sent < concurrency && sent < n) out += request(++sent);
        stdin.write(out);
        stdout.setEncoding('utf8');
        stdout.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop()!;
          let batch = '';
          for (const line of lines) {
            const msg = JSON.parse(line) as { id: number; result: { output: unknown } };
            if (msg.result.output === undefined) throw new Error('bad echo');
            received++;
            if (sent < n) batch += request(++sent);
          }
          if (batch !== '') stdin.write(batch);
          if (received === n) resolve();
        });
      }),
  );
  stdin.end();
  await proc.exited;
  return result;
}

/** RpcPeer over the child's stdio, `concurrency` callers each awaiting one request at a time. */
async function benchPeer(n: number, concurrency: number): Promise<Measure> {
  const proc = await spawnChild('peer');
  const peer = new RpcPeer(proc.reader, proc.writer, { name: 'echo-peer' });
  peer.listen();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = ++next;
      const { output } = await peer.sendRequest(ComponentsExecute, { component: '/echo', input: { i }, attempt: 1 });
      if (output === undefined) throw new Error('bad echo');
    }
  };
  const result = await measure(() => Promise.all(Array.from({ length: concurrency }, worker)).then(() => undefined));
  peer.close();
  await proc.exited;
  return result;
}

function serveRawChild(): void {
  let partial = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    let out = '';
    for (const line of lines) {
      const m = JSON.parse(line) as { id: number; params: { input: unknown } };
      out += JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { output: m.params.input } }) + '\n';
    }
    if (out !== '') process.stdout.write(out);
  });
}

function servePeerChild(): void {
  const peer = new RpcPeer(new NdjsonMessageReader(process.stdin), new NdjsonMessageWriter(process.stdout), { name: 'parent' });
  peer.onRequest(ComponentsExecute, (params) => ({ output: params.input }));
  peer.listen();
}
