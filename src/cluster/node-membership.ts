import type { NodeInfo } from '../../protocol/index.js';
import type { ClusterConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { newNodeIdentity, type Membership, type MembershipState, type NodeDirectory } from './node-directory.js';
import { HEARTBEAT_NODE, LIST_NODES, REGISTER_NODE, REMOVE_NODE, type NodeRow } from './nodes-sql.js';

/** One statement on the shared database (the PostgreSQL state store's `query`). */
export type NodesQuery = <R extends Record<string, unknown>>(sql: string, params: readonly unknown[]) => Promise<{ rows: R[]; rowCount: number }>;

export interface NodeMembershipOptions {
  query: NodesQuery;
  /** `leaseMs` judges who is alive, `heartbeatMs` paces this node's heartbeat. */
  cluster: Pick<ClusterConfig, 'leaseMs' | 'heartbeatMs'>;
  logger: Logger;
}

/**
 * This process as a node of a cluster on one PostgreSQL database (docs/cluster.md): a row in
 * `nodes`, registered by {@link NodeMembership.join}, heartbeated every `heartbeatMs` (re-inserted
 * if it vanished) and deleted by `close`. A failed heartbeat is logged and retried at the next
 * tick; it never stops the process.
 */
export class NodeMembership implements NodeDirectory {
  private readonly identity = newNodeIdentity();
  readonly nodeId = this.identity.nodeId;
  private state: MembershipState = 'joined';
  private lastHeartbeatAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  private constructor(private readonly options: NodeMembershipOptions) {}

  /** Registers this node and starts its heartbeat; rejects when the row cannot be written. */
  static async join(options: NodeMembershipOptions): Promise<NodeMembership> {
    const node = new NodeMembership(options);
    await node.register();
    node.timer = setInterval(() => node.tick(), options.cluster.heartbeatMs);
    node.timer.unref();
    options.logger.info({ nodeId: node.nodeId }, `joined the cluster as node ${node.nodeId}`);
    return node;
  }

  async list(): Promise<NodeInfo[]> {
    const { rows } = await this.options.query<NodeRow>(LIST_NODES, [this.options.cluster.leaseMs]);
    return rows.map(nodeInfoOfRow);
  }

  membership(): Membership {
    return { state: this.state, lastHeartbeatAt: new Date(this.lastHeartbeatAt).toISOString() };
  }

  async close(): Promise<void> {
    if (this.state === 'left') return;
    this.state = 'left';
    clearInterval(this.timer);
    await this.beating;
    try {
      await this.options.query(REMOVE_NODE, [this.nodeId]);
      this.options.logger.info({ nodeId: this.nodeId }, `node ${this.nodeId} left the cluster`);
    } catch (err) {
      // Its heartbeat stops anyway: the others see it dead after leaseMs.
      this.options.logger.warn({ err, nodeId: this.nodeId }, `cannot remove node ${this.nodeId} from the cluster: ${(err as Error).message}`);
    }
  }

  /** One heartbeat at a time: a tick while the last is still out is skipped. */
  private tick(): void {
    if (this.state === 'left' || this.beating) return;
    this.beating = this.heartbeat().finally(() => (this.beating = undefined));
  }

  private async heartbeat(): Promise<void> {
    try {
      const { rows, rowCount } = await this.options.query<{ heartbeat_at: number }>(HEARTBEAT_NODE, [this.nodeId]);
      if (rowCount === 0) {
        this.options.logger.warn({ nodeId: this.nodeId }, `node ${this.nodeId}: its row was gone; registering again`);
        await this.register();
      } else {
        this.lastHeartbeatAt = rows[0].heartbeat_at;
      }
      if (this.state === 'heartbeatFailing') this.options.logger.info({ nodeId: this.nodeId }, `node ${this.nodeId}: heartbeat restored`);
      if (this.state !== 'left') this.state = 'joined';
    } catch (err) {
      if (this.state === 'joined') this.state = 'heartbeatFailing';
      this.options.logger.warn({ err, nodeId: this.nodeId }, `node ${this.nodeId}: heartbeat failed: ${(err as Error).message}`);
    }
  }

  private async register(): Promise<void> {
    const { nodeId, host, pid } = this.identity;
    const { rows } = await this.options.query<{ heartbeat_at: number }>(REGISTER_NODE, [nodeId, host, pid]);
    this.lastHeartbeatAt = rows[0].heartbeat_at;
  }
}

function nodeInfoOfRow(row: NodeRow): NodeInfo {
  return {
    nodeId: row.node_id,
    host: row.host,
    pid: row.pid,
    startedAt: new Date(row.started_at).toISOString(),
    heartbeatAt: new Date(row.heartbeat_at).toISOString(),
    alive: row.alive,
    chunksHeld: row.chunks_held,
    itemsInFlight: row.items_in_flight,
  };
}
