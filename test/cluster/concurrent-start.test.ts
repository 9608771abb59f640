import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_MIGRATIONS } from '../../src/statestore/postgres-schema.js';
import { cleanupAfterEach } from '../support/cleanups.js';
import { startClusterBackends, startTestCluster, type ClusterBackends } from '../support/cluster.js';
import { postgresAvailable } from '../support/postgres.js';

/** Three nodes started at the same moment on an empty database: the schema is migrated once, under its lock. */
let backends: ClusterBackends | undefined;
beforeAll(async () => {
  if (postgresAvailable()) backends = await startClusterBackends();
});
afterAll(() => backends?.close());
const cleanups = cleanupAfterEach();

describe.skipIf(!postgresAvailable())('cluster: nodes started at once on an empty database', () => {
  it('all come up, the schema is at the newest version in one row, and each node lists three live nodes', async () => {
    const cluster = await startTestCluster(backends!, { nodes: 3 });
    cleanups.push(() => cluster.close());

    const schema = await cluster.sql<{ version: number }>('SELECT version FROM flowrun_schema');
    expect(schema).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
    const tables = await cluster.sql<{ name: string | null }>("SELECT to_regclass('chunks')::text AS name");
    expect(tables).toEqual([{ name: 'chunks' }]);

    const pids = cluster.nodes.map((node) => node.pid).sort();
    for (const node of cluster.nodes) {
      const listed = await cluster.nodesList(node);
      expect(listed.map((n) => n.nodeId).sort(), node.name).toEqual(cluster.nodes.map((n) => n.nodeId).sort());
      expect(listed.map((n) => n.pid).sort()).toEqual(pids);
      expect(listed.every((n) => n.alive)).toBe(true);
    }
  });
});
