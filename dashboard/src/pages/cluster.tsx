import { useCallback, useEffect, useState } from 'preact/hooks';
import type { NodeInfo, WorkerInfo } from '../api.js';
import { roleAtLeast } from '../auth.js';
import { formatAbsolute, formatCount, formatRelative } from '../format.js';
import { useSession } from '../session.js';

interface Listing {
  nodes?: NodeInfo[];
  workers?: WorkerInfo[];
  problem?: string;
  readAt?: number;
}

/**
 * The nodes sharing the state store and the workers dialled in (docs/dashboard.md), for admins.
 * There is no event for them, so the page reads them again on "Refresh" and whenever it becomes
 * visible again, never on a timer.
 */
export function Cluster() {
  const { api, identity } = useSession();
  const admin = roleAtLeast(identity.role, 'admin');
  const [listing, setListing] = useState<Listing>({});
  const [loading, setLoading] = useState(false);
  const refresh = useCallback(() => {
    setLoading(true);
    Promise.all([api.listNodes({}), api.listWorkers({})]).then(
      ([nodes, workers]) => setListing({ nodes: nodes.nodes, workers: workers.workers, readAt: Date.now() }),
      (error: Error) => setListing((l) => ({ ...l, problem: error.message })),
    ).finally(() => setLoading(false));
  }, [api]);
  useEffect(() => {
    if (!admin) return;
    refresh();
    const onVisible = () => document.visibilityState === 'visible' && refresh();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [admin, refresh]);

  if (!admin) {
    return (
      <section data-testid="cluster-page">
        <h1>Cluster</h1>
        <p class="notice" data-testid="needs-admin">The nodes and workers are shown to an admin token only: this token ({identity.name}) has role {identity.role}.</p>
      </section>
    );
  }
  const now = listing.readAt ?? Date.now();
  return (
    <section class="cluster" data-testid="cluster-page">
      <div class="toolbar">
        <h1>Cluster</h1>
        <div class="actions">
          {listing.readAt !== undefined && <span class="hint">read {new Date(listing.readAt).toLocaleTimeString()}</span>}
          <button type="button" onClick={refresh} disabled={loading} data-testid="cluster-refresh">Refresh</button>
        </div>
      </div>
      {listing.problem !== undefined && <p class="error" role="alert" data-testid="cluster-error">{listing.problem}</p>}
      {listing.nodes !== undefined && <Nodes nodes={listing.nodes} now={now} />}
      {listing.workers !== undefined && <Workers workers={listing.workers} now={now} />}
    </section>
  );
}

function Nodes({ nodes, now }: { nodes: NodeInfo[]; now: number }) {
  return (
    <section class="card">
      <h2>Nodes ({nodes.length})</h2>
      <div class="scroll">
        <table data-testid="nodes-table">
          <thead>
            <tr><th>Node</th><th>Host</th><th class="hide-narrow">Pid</th><th class="hide-narrow">Started</th><th>Heartbeat</th><th>Chunks held</th><th>Items in flight</th></tr>
          </thead>
          <tbody>
            {nodes.map((node) => (
              <tr data-testid="node-row" data-node-id={node.nodeId} data-alive={String(node.alive)} class={node.alive ? undefined : 'differs'}>
                <td class="mono">{node.nodeId}{!node.alive && <span class="pill pill-failed">silent</span>}</td>
                <td>{node.host}</td>
                <td class="hide-narrow mono">{node.pid}</td>
                <td class="hide-narrow" title={formatAbsolute(node.startedAt)}>{formatRelative(node.startedAt, now)}</td>
                <td title={formatAbsolute(node.heartbeatAt)}>{formatRelative(node.heartbeatAt, now)}</td>
                <td>{formatCount(node.chunksHeld)}</td>
                <td>{formatCount(node.itemsInFlight)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Workers({ workers, now }: { workers: WorkerInfo[]; now: number }) {
  return (
    <section class="card">
      <h2>Workers ({workers.length})</h2>
      {workers.length === 0 ? (
        <p class="hint" data-testid="no-workers">No worker has dialled in (docs: workers).</p>
      ) : (
        <div class="scroll">
          <table data-testid="workers-table">
            <thead>
              <tr><th>Pool</th><th>Name</th><th class="hide-narrow">Components</th><th>In flight / capacity</th><th>Done</th><th>Failed</th><th class="hide-narrow">Node</th><th class="hide-narrow">Connected</th></tr>
            </thead>
            <tbody>
              {workers.map((worker) => (
                <tr data-testid="worker-row" data-worker-id={worker.workerId}>
                  <td>{worker.pool}</td>
                  <td>{worker.name}{worker.draining && <span class="pill pill-cancelled">draining</span>}</td>
                  <td class="hide-narrow mono">{worker.components.join(', ')}</td>
                  <td>{formatCount(worker.inFlight)} / {formatCount(worker.capacity)}</td>
                  <td class="c-success">{formatCount(worker.callsDone)}</td>
                  <td class={worker.callsFailed > 0 ? 'c-failed' : undefined}>{formatCount(worker.callsFailed)}</td>
                  <td class="hide-narrow mono">{worker.node}</td>
                  <td class="hide-narrow" title={formatAbsolute(worker.connectedAt)}>{formatRelative(worker.connectedAt, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
