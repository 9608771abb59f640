import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { SharedWork } from '../runs/shared-work.js';
import { PostgresStateStore } from '../statestore/postgres-state-store.js';
import type { StateStore } from '../statestore/state-store.js';
import { ClusterStateStore } from './cluster-state-store.js';
import { LeaseBook } from './lease-book.js';
import { SingleNodeDirectory, type NodeDirectory } from './node-directory.js';
import { NodeMembership } from './node-membership.js';
import { PostgresSharedWork } from './postgres-shared-work.js';

export type { Membership, MembershipState, NodeDirectory } from './node-directory.js';

/** This process's place in a cluster: its directory, the state store its runs use, and the shared work when it is a node. */
export interface ClusterPlace {
  nodes: NodeDirectory;
  store: StateStore;
  shared?: SharedWork;
}

/**
 * This process's place in a cluster (docs/cluster.md): on a PostgreSQL state store it joins as a
 * node that claims chunks of every run; on any other store, or with `join: false` (a process that
 * executes only the runs it submits itself, such as `flowrun run`), it is the only node.
 */
export async function joinCluster(store: StateStore, cluster: ClusterConfig | undefined, logger: Logger, options: { join?: boolean } = {}): Promise<ClusterPlace> {
  if (!(store instanceof PostgresStateStore) || options.join === false) return { nodes: new SingleNodeDirectory(), store };
  const config = cluster ?? DEFAULT_CLUSTER_CONFIG;
  const nodes = await NodeMembership.join({ query: (sql, params) => store.query(sql, params), cluster: config, logger });
  const book = new LeaseBook();
  const shared = new PostgresSharedWork({ store, nodeId: nodes.nodeId, book, cluster: config, logger });
  const clusterStore = new ClusterStateStore({
    store,
    nodeId: nodes.nodeId,
    book,
    chunkSize: config.chunkSize,
    onLeasesLost: (leases) => shared.leasesLost(leases),
    cancel: (runId) => shared.cancel(runId),
    onRunCreated: (runId, inputs) => shared.runCreated(runId, inputs),
  });
  return { nodes, store: clusterStore, shared };
}
