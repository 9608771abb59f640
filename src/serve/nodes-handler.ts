import { ErrorCodes, NodesList, RpcError } from '../../protocol/index.js';
import type { NodeDirectory } from '../cluster/index.js';
import type { RpcPeer } from '../rpc/peer.js';
import { requireRole, type Principal } from '../api/access.js';

/** Serves `nodes/list` (docs/protocol.md) to an admin; a store that cannot be read answers `-32005`. */
export function registerNodesHandler(peer: RpcPeer, nodes: NodeDirectory, principal: Principal): void {
  peer.onRequest(NodesList, async () => {
    requireRole(principal, NodesList.method);
    try {
      return { nodes: await nodes.list() };
    } catch (err) {
      throw new RpcError(ErrorCodes.ResourceUnavailable, `cannot list the nodes: ${(err as Error).message}`);
    }
  });
}

/** What `GET /health` says of this node: its id and membership (docs/serve.md). */
export function nodeHealth(nodes: NodeDirectory | undefined): Record<string, unknown> {
  if (nodes === undefined) return {};
  return { nodeId: nodes.nodeId, membership: nodes.membership() };
}
