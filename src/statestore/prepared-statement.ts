import { createHash } from 'node:crypto';

/** A statement sent by name (node-postgres `QueryConfig`): PostgreSQL parses it once per connection. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const byText = new Map<string, PreparedStatement>();

/**
 * `text` as a named prepared statement. PostgreSQL parses it once per connection and, after a
 * few executions, keeps a generic plan instead of planning every call: planning the statements a
 * cluster node sends per chunk and per journal batch cost ≈6 µs of PostgreSQL CPU an item
 * (bench/HISTORY.md, tenth pass). Only for constant texts: every name stays prepared on every
 * connection that used it. The name is a hash of the text, so it is the same on every connection.
 */
export function prepared(text: string): PreparedStatement {
  let statement = byText.get(text);
  if (statement === undefined) {
    statement = { name: `flowrun_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    byText.set(text, statement);
  }
  return statement;
}
