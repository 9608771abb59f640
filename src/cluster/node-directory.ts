import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { NodeInfo } from '../../protocol/index.js';

/**
 * What this process knows of the cluster it belongs to (docs/cluster.md): its own node id, the
 * nodes of its state store (`nodes/list`) and its membership for `GET /health`.
 */
export interface NodeDirectory {
  readonly nodeId: string;
  /** Every node of the shared state store; a process without one lists just itself. */
  list(): Promise<NodeInfo[]>;
  /** This node's membership, for `GET /health`. */
  membership(): Membership;
  /** Leaves the cluster (removes this node's row); later heartbeats stop. */
  close(): Promise<void>;
}

/**
 * `single`: the state store is not shared (memory, SQLite), so this process is the only node;
 * `joined`: registered and heartbeating; `heartbeatFailing`: the last heartbeat failed (retried);
 * `left`: closed.
 */
export type MembershipState = 'single' | 'joined' | 'heartbeatFailing' | 'left';

export interface Membership {
  state: MembershipState;
  /** ISO time of the last heartbeat that reached the store (`single`: now). */
  lastHeartbeatAt: string;
}

/** A new node's identity: a random id, this machine's name and this process's pid. */
export function newNodeIdentity(): { nodeId: string; host: string; pid: number } {
  return { nodeId: randomUUID(), host: hostname(), pid: process.pid };
}

/** The directory of a process whose state store is its own: one node, itself, always alive. */
export class SingleNodeDirectory implements NodeDirectory {
  private readonly identity = newNodeIdentity();
  private readonly startedAt = new Date().toISOString();
  readonly nodeId = this.identity.nodeId;

  list(): Promise<NodeInfo[]> {
    const { nodeId, host, pid } = this.identity;
    const now = new Date().toISOString();
    return Promise.resolve([{ nodeId, host, pid, startedAt: this.startedAt, heartbeatAt: now, alive: true, chunksHeld: 0, itemsInFlight: 0 }]);
  }

  membership(): Membership {
    return { state: 'single', lastHeartbeatAt: new Date().toISOString() };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
