import { z } from 'zod';
import { MAX_TIMEOUT_MS } from '../../protocol/timeout.js';
import type { ConfigReader } from './config-reader.js';
import type { ClusterConfig } from './types.js';

/** The defaults of `cluster:` (docs/config.md). */
export const DEFAULT_CLUSTER_CONFIG: Readonly<ClusterConfig> = { chunkSize: 256, leaseMs: 10_000, heartbeatMs: 2_000 };

// `${VAR}` substitution yields strings, so numbers are also read from their text.
const integer = (max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(1).max(max));

const ClusterSchema = z.strictObject({
  chunkSize: integer(1_000_000).default(DEFAULT_CLUSTER_CONFIG.chunkSize),
  leaseMs: integer(MAX_TIMEOUT_MS).default(DEFAULT_CLUSTER_CONFIG.leaseMs),
  heartbeatMs: integer(MAX_TIMEOUT_MS).default(DEFAULT_CLUSTER_CONFIG.heartbeatMs),
});

/**
 * `cluster: {chunkSize, leaseMs, heartbeatMs}` with its defaults (docs/config.md). A node must
 * heartbeat at least twice per lease, so one late heartbeat does not cost it its membership.
 */
export function parseClusterConfig(raw: unknown, reader: ConfigReader): ClusterConfig | undefined {
  if (raw === undefined) return undefined;
  const cluster = reader.parse(ClusterSchema, raw === null ? {} : raw, ['cluster']);
  if (cluster.heartbeatMs * 2 >= cluster.leaseMs) {
    reader.fail(['cluster', 'heartbeatMs'], `must be less than half of cluster.leaseMs (${cluster.leaseMs}), got ${cluster.heartbeatMs}`);
  }
  return cluster;
}
