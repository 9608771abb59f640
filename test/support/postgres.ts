// The bench starts throw-away PostgreSQL clusters too (its peers' cases); the one implementation lives there.
export * from '../../bench/lib/throwaway-postgres.js';
