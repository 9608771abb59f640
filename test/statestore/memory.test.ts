import { MemoryStateStore } from '../../src/statestore/index.js';
import { describeStateStoreContract } from './contract.js';

describeStateStoreContract('memory', { durable: false }, async () => ({ open: async () => new MemoryStateStore(), cleanup: async () => {} }));
