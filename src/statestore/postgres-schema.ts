import type pg from 'pg';

/** Key of the advisory lock that serializes schema creation between processes starting together. */
const SCHEMA_LOCK_KEY = 0x666c6f77; // "flow"

/**
 * Schema migrations of the PostgreSQL state store; migration i brings `flowrun_schema.version`
 * from i to i + 1. Append new ones; never edit one that has shipped.
 * JSON columns are `json`, not `jsonb`: nothing queries inside them, and `json` keeps key order
 * and accepts `\u0000`, so values come back exactly as they went in (as with SQLite).
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS runs (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text NOT NULL UNIQUE,
    flow_id text NOT NULL,
    flow_name text,
    flow_label text,
    parent_run_id text,
    created_at bigint NOT NULL,
    total integer NOT NULL,
    max_concurrency integer NOT NULL,
    variables json NOT NULL,
    overrides json,
    status text NOT NULL,
    completed_at bigint,
    cancel_requested boolean NOT NULL DEFAULT false
  );
  CREATE INDEX IF NOT EXISTS runs_unfinished ON runs (seq) WHERE completed_at IS NULL;
  CREATE INDEX IF NOT EXISTS runs_by_flow ON runs (flow_id, seq);
  CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent_run_id, seq) WHERE parent_run_id IS NOT NULL;
  CREATE TABLE IF NOT EXISTS items (
    run_id text NOT NULL,
    item_index integer NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    result json,
    completed_at bigint,
    completion_seq integer,
    input json NOT NULL,
    PRIMARY KEY (run_id, item_index)
  );
  CREATE INDEX IF NOT EXISTS items_by_status ON items (run_id, status);
  `,
  `ALTER TABLE runs ADD COLUMN IF NOT EXISTS parent_item_index integer;`,
  // Cluster membership (docs/cluster.md): times are ms of the database's clock, shared by every node.
  `
  CREATE TABLE IF NOT EXISTS nodes (
    node_id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at bigint NOT NULL,
    heartbeat_at bigint NOT NULL,
    chunks_held integer NOT NULL DEFAULT 0,
    items_in_flight integer NOT NULL DEFAULT 0
  );
  `,
  // Chunks of a run's items, claimed by the nodes of a cluster under a lease; `epoch` fences every
  // journal write of the chunk's items (docs/cluster.md). Completion order is cluster-wide.
  `
  CREATE TABLE IF NOT EXISTS chunks (
    run_id text NOT NULL,
    chunk_index integer NOT NULL,
    run_seq bigint NOT NULL,
    chunk_size integer NOT NULL,
    first_item integer NOT NULL,
    end_item integer NOT NULL,
    state text NOT NULL DEFAULT 'open',
    holder text,
    epoch bigint NOT NULL DEFAULT 0,
    lease_until bigint NOT NULL DEFAULT 0,
    slots integer NOT NULL DEFAULT 0,
    prefetched boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, chunk_index)
  );
  CREATE INDEX IF NOT EXISTS chunks_open ON chunks (run_seq, chunk_index) WHERE state = 'open';
  CREATE INDEX IF NOT EXISTS chunks_held ON chunks (holder) WHERE state = 'open' AND holder IS NOT NULL;
  CREATE INDEX IF NOT EXISTS chunks_held_by_run ON chunks (run_id) WHERE state = 'open' AND holder IS NOT NULL;
  CREATE SEQUENCE IF NOT EXISTS item_completion_seq;
  ALTER TABLE items ALTER COLUMN completion_seq TYPE bigint;
  `,
  // Run lifecycle (docs/protocol.md): idempotency keys, metadata, step records, timings, list filters.
  // `metadata` is jsonb: `runs/list` filters inside it (`@>`, through a GIN index).
  `
  ALTER TABLE runs ADD COLUMN IF NOT EXISTS idempotency_key text;
  ALTER TABLE runs ADD COLUMN IF NOT EXISTS metadata jsonb;
  ALTER TABLE runs ADD COLUMN IF NOT EXISTS record_steps boolean NOT NULL DEFAULT false;
  ALTER TABLE runs ADD COLUMN IF NOT EXISTS rerun_of text;
  ALTER TABLE items ADD COLUMN IF NOT EXISTS started_at bigint;
  ALTER TABLE items ADD COLUMN IF NOT EXISTS steps json;
  CREATE UNIQUE INDEX IF NOT EXISTS runs_by_idempotency_key ON runs (idempotency_key);
  CREATE INDEX IF NOT EXISTS runs_by_flow_name ON runs (flow_name, seq) WHERE flow_name IS NOT NULL;
  CREATE INDEX IF NOT EXISTS runs_by_flow_label ON runs (flow_label, seq) WHERE flow_label IS NOT NULL;
  CREATE INDEX IF NOT EXISTS runs_roots ON runs (seq) WHERE parent_run_id IS NULL;
  CREATE INDEX IF NOT EXISTS runs_by_rerun_of ON runs (rerun_of, seq) WHERE rerun_of IS NOT NULL;
  CREATE INDEX IF NOT EXISTS runs_by_metadata ON runs USING gin (metadata jsonb_path_ops) WHERE metadata IS NOT NULL;
  DROP INDEX IF EXISTS items_by_status;
  CREATE INDEX IF NOT EXISTS items_by_status ON items (run_id, status, started_at);
  `,
  // Reruns (the source run, each item's index in it) and the outbox of completion callbacks
  // (docs/callbacks.md): due_since and next_attempt_at are NULL until the run's finish is recorded;
  // in a cluster one node at a time holds a due callback under a lease.
  `
  ALTER TABLE items ADD COLUMN IF NOT EXISTS source_index integer;
  CREATE TABLE IF NOT EXISTS callbacks (
    run_id text PRIMARY KEY,
    url text NOT NULL,
    secret text,
    headers json,
    delivery_id text NOT NULL,
    due_since bigint,
    next_attempt_at bigint,
    attempts integer NOT NULL DEFAULT 0,
    last_attempt_at bigint,
    status_code integer,
    error text,
    delivered_at bigint,
    holder text,
    lease_until bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
  `,
  // Retention finds terminal runs by when they finished (docs/retention.md).
  `CREATE INDEX IF NOT EXISTS runs_by_completion ON runs (completed_at) WHERE completed_at IS NOT NULL;`,
  // A run's defaults for its component calls (docs/precedence.md).
  `ALTER TABLE runs ADD COLUMN IF NOT EXISTS defaults json;`,
  // Namespaces (docs/security.md): every run belongs to one; runs of earlier versions to `default`.
  // submitted_by names the token that submitted the run (a submitter may cancel only its own);
  // blob_namespaces the namespaces each shared, content-addressed blob was put or used in.
  `
  ALTER TABLE runs ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default';
  ALTER TABLE runs ADD COLUMN IF NOT EXISTS submitted_by text;
  CREATE INDEX IF NOT EXISTS runs_by_namespace ON runs (namespace, seq);
  CREATE TABLE IF NOT EXISTS blob_namespaces (
    blob_id text NOT NULL,
    namespace text NOT NULL,
    PRIMARY KEY (blob_id, namespace)
  );
  `,
  // Run events kept for `events.retention` (docs/events.md); every node reads what any node appended.
  `
  CREATE TABLE IF NOT EXISTS run_events (
    cursor bigserial PRIMARY KEY,
    type text NOT NULL,
    run_id text NOT NULL,
    at bigint NOT NULL,
    run text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS run_events_at ON run_events (at);
  CREATE UNIQUE INDEX IF NOT EXISTS run_events_once ON run_events (run_id, type) WHERE type <> 'run.progress';
  `,
  // Namespaces of events and cluster-wide quotas (docs/security.md): an event carries its run's
  // namespace (events of earlier versions: `default`); a namespace's live runs are counted through
  // a partial index; namespace_submits holds each namespace's bucket of submits per second.
  `
  ALTER TABLE run_events ADD COLUMN IF NOT EXISTS namespace text NOT NULL DEFAULT 'default';
  CREATE INDEX IF NOT EXISTS runs_live_by_namespace ON runs (namespace) WHERE completed_at IS NULL;
  CREATE TABLE IF NOT EXISTS namespace_submits (
    namespace text PRIMARY KEY,
    tokens double precision NOT NULL,
    at bigint NOT NULL
  );
  `,
  // Item transitions update their row in place (a HOT update: no index entry, about half the WAL;
  // bench/HISTORY.md): no index may cover a column a transition changes, and each page keeps room
  // for the new versions of its rows. Counts and filters by status read a run's rows by key.
  `
  DROP INDEX IF EXISTS items_by_status;
  ALTER TABLE items SET (fillfactor = 50);
  `,
  // A done chunk's items by final status, stored by the node that completed it (NULL when another
  // way ended it): progress reads take a done chunk's counts from its row (docs/cluster.md).
  `
  ALTER TABLE chunks ADD COLUMN IF NOT EXISTS done_success integer;
  ALTER TABLE chunks ADD COLUMN IF NOT EXISTS done_failed integer;
  ALTER TABLE chunks ADD COLUMN IF NOT EXISTS done_cancelled integer;
  `,
];

/** Brings the database to the newest schema, holding an advisory lock so concurrent starters do not race. */
export async function migratePostgres(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS flowrun_schema (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT max(version) AS version FROM flowrun_schema');
    const version = rows[0]?.version ?? 0;
    if (version > POSTGRES_MIGRATIONS.length) {
      throw new Error(`state database schema version ${version} is newer than this flowrun supports (${POSTGRES_MIGRATIONS.length})`);
    }
    for (let v = version; v < POSTGRES_MIGRATIONS.length; v++) await client.query(POSTGRES_MIGRATIONS[v]);
    if (version < POSTGRES_MIGRATIONS.length) {
      await client.query('DELETE FROM flowrun_schema');
      await client.query('INSERT INTO flowrun_schema (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
