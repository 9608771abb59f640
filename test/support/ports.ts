// The bench starts servers on free ports too; the one implementation lives there.
export * from '../../bench/lib/ports.js';
