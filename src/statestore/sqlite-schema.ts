import type Database from 'better-sqlite3';

/**
 * Schema migrations of the SQLite state store; migration i brings `PRAGMA user_version` from i to i + 1.
 * Append new ones; never edit one that has shipped.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    -- AUTOINCREMENT: never reused, so creation order and list cursors stay stable.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    flow_id TEXT NOT NULL,
    flow_name TEXT,
    flow_label TEXT,
    parent_run_id TEXT,
    created_at INTEGER NOT NULL,
    total INTEGER NOT NULL,
    max_concurrency INTEGER NOT NULL,
    variables TEXT NOT NULL,
    overrides TEXT,
    status TEXT NOT NULL,
    completed_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX runs_unfinished ON runs (seq) WHERE completed_at IS NULL;
  CREATE INDEX runs_by_flow ON runs (flow_id, seq);
  CREATE INDEX runs_by_parent ON runs (parent_run_id, seq) WHERE parent_run_id IS NOT NULL;
  CREATE TABLE items (
    run_id TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    completed_at INTEGER,
    completion_seq INTEGER,
    input TEXT NOT NULL,
    PRIMARY KEY (run_id, item_index)
  );
  -- Covers the per-run GROUP BY status that derives counters for lists.
  CREATE INDEX items_by_status ON items (run_id, status);
  `,
  `ALTER TABLE runs ADD COLUMN parent_item_index INTEGER;`,
  // Run lifecycle (docs/protocol.md): idempotency keys, metadata, step records, timings, list filters.
  `
  ALTER TABLE runs ADD COLUMN idempotency_key TEXT;
  ALTER TABLE runs ADD COLUMN metadata TEXT;
  ALTER TABLE runs ADD COLUMN record_steps INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN rerun_of TEXT;
  ALTER TABLE items ADD COLUMN started_at INTEGER;
  ALTER TABLE items ADD COLUMN steps TEXT;
  -- Decides between concurrent submits of one key.
  CREATE UNIQUE INDEX runs_by_idempotency_key ON runs (idempotency_key);
  CREATE INDEX runs_by_flow_name ON runs (flow_name, seq) WHERE flow_name IS NOT NULL;
  CREATE INDEX runs_by_flow_label ON runs (flow_label, seq) WHERE flow_label IS NOT NULL;
  CREATE INDEX runs_roots ON runs (seq) WHERE parent_run_id IS NULL;
  CREATE INDEX runs_by_rerun_of ON runs (rerun_of, seq) WHERE rerun_of IS NOT NULL;
  -- Also covers the first start of each run that lists read with the counters.
  DROP INDEX items_by_status;
  CREATE INDEX items_by_status ON items (run_id, status, started_at);
  `,
  // Reruns (the source run, each item's index in it) and the outbox of completion callbacks
  // (docs/callbacks.md): due_since and next_attempt_at are NULL until the run's finish is recorded.
  `
  ALTER TABLE items ADD COLUMN source_index INTEGER;
  CREATE TABLE callbacks (
    run_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT,
    headers TEXT,
    delivery_id TEXT NOT NULL,
    due_since INTEGER,
    next_attempt_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER,
    status_code INTEGER,
    error TEXT,
    delivered_at INTEGER,
    holder TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX callbacks_due ON callbacks (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
  `,
  // Retention finds terminal runs by when they finished (docs/retention.md).
  `CREATE INDEX runs_by_completion ON runs (completed_at) WHERE completed_at IS NOT NULL;`,
  // A run's defaults for its component calls (docs/precedence.md).
  `ALTER TABLE runs ADD COLUMN defaults TEXT;`,
  // Namespaces (docs/security.md): every run belongs to one; runs of earlier versions to `default`.
  // submitted_by names the token that submitted the run (a submitter may cancel only its own);
  // blob_namespaces the namespaces each shared, content-addressed blob was put or used in.
  `
  ALTER TABLE runs ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
  ALTER TABLE runs ADD COLUMN submitted_by TEXT;
  CREATE INDEX runs_by_namespace ON runs (namespace, seq);
  CREATE TABLE blob_namespaces (
    blob_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    PRIMARY KEY (blob_id, namespace)
  ) WITHOUT ROWID;
  `,
  // Run events kept for `events.retention` (docs/events.md): the cursor is never reused, pruned rows included.
  `
  CREATE TABLE run_events (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    run_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    run TEXT NOT NULL
  );
  CREATE INDEX run_events_at ON run_events (at);
  `,
  // An event carries its run's namespace (docs/security.md); events of earlier versions: `default`.
  `ALTER TABLE run_events ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';`,
];

/** Brings the database to the newest schema, in one immediate transaction so concurrent openers do not race. */
export function migrateSqlite(db: Database.Database): void {
  const versionOf = () => db.pragma('user_version', { simple: true }) as number;
  if (versionOf() === SQLITE_MIGRATIONS.length) return;
  db.transaction(() => {
    const version = versionOf();
    if (version > SQLITE_MIGRATIONS.length) throw newerSchemaError(version);
    for (let v = version; v < SQLITE_MIGRATIONS.length; v++) db.exec(SQLITE_MIGRATIONS[v]);
    // PRAGMA takes no bound parameters; the value is our own integer.
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
  }).immediate();
}

function newerSchemaError(version: number): Error {
  return new Error(`state database schema version ${version} is newer than this flowrun supports (${SQLITE_MIGRATIONS.length})`);
}
