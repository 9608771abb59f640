// The bench finds PostgreSQL's binaries too; the one implementation lives there.
export * from '../../bench/lib/postgres-bin.js';
