import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { PostgresStateStore } from '../statestore/postgres-state-store.js';
import type { StateStore } from '../statestore/state-store.js';
import { SingleNodeDirectory, type NodeDirectory } from './node-directory.js';
import { NodeMembership } from './node-membership.js';

export type { Membership, MembershipState, NodeDirectory } from './node-directory.js';

/**
 * This process's place in a cluster (docs/cluster.md): on a PostgreSQL state store it joins as a
 * node; on any other store it is the only node.
 */
export function joinCluster(store: StateStore, cluster: ClusterConfig | undefined, logger: Logger): Promise<NodeDirectory> {
  if (!(store instanceof PostgresStateStore)) return Promise.resolve(new SingleNodeDirectory());
  return NodeMembership.join({ query: (sql, params) => store.query(sql, params), cluster: cluster ?? DEFAULT_CLUSTER_CONFIG, logger });
}
