import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_FLOW, startClusterBackends, startTestCluster, type ClusterBackends } from './cluster.js';
import { postgresAvailable } from './postgres.js';
import { until } from './wait-for.js';

/** Whether `pid` is a live process (a zombie left for its parent to reap is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());

describe.skipIf(!postgresAvailable())('startTestCluster', () => {
  it('cleans up whatever the test did: a paused node is continued and stopped, the server of a killed node is killed', async () => {
    const cluster = await startTestCluster(backends!, { nodes: 2 });
    let closed = false;
    try {
      const run = await cluster.nodes[0].client.submit({ flow: RECORD_FLOW, inputs: [{ i: 0, delayMs: 600_000, log: true }] });
      const call = await until(async () => cluster.calls().find((c) => c.runId === run.runId && c.event === 'start'), { what: 'the call started' });
      // Kill the node running the call: its component server may outlive it, holding the call.
      const runner = cluster.nodeOfPid(call.ppid)!;
      const other = cluster.nodes.find((node) => node !== runner)!;
      expect(await cluster.kill(runner, 'SIGKILL')).toBe(-1);
      // Its server may notice its stdin closed and exit by itself; if not, the cleanup must kill it.
      await cluster.pause(other);

      await cluster.close();
      closed = true;
      expect(other.served.child.exitCode ?? other.served.child.signalCode).not.toBeNull();
      expect(other.state).toBe('exited');
      expect(alive(call.pid)).toBe(false);
    } finally {
      if (!closed) await cluster.close();
    }
  }, 120_000);
});
