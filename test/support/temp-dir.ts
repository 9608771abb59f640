// The bench makes throw-away directories too; the one implementation lives there.
export * from '../../bench/lib/temp-dir.js';
