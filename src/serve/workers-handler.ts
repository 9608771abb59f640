import { WorkersList } from '../../protocol/index.js';
import type { WorkerIntake } from '../api/worker-intake.js';
import type { RpcPeer } from '../rpc/peer.js';

/** Serves `workers/list` (docs/workers.md): the workers connected to this process. */
export function registerWorkersHandler(peer: RpcPeer, workers: WorkerIntake): void {
  peer.onRequest(WorkersList, () => ({ workers: workers.list() }));
}
