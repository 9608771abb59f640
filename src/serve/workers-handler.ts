import { WorkersList } from '../../protocol/index.js';
import type { WorkerIntake } from '../api/worker-intake.js';
import type { RpcPeer } from '../rpc/peer.js';
import { requireRole, type Principal } from '../api/access.js';

/** Serves `workers/list` (docs/workers.md) to an admin: the workers connected to this process. */
export function registerWorkersHandler(peer: RpcPeer, workers: WorkerIntake, principal: Principal): void {
  peer.onRequest(WorkersList, () => {
    requireRole(principal, WorkersList.method);
    return { workers: workers.list() };
  });
}
