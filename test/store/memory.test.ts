import { MemoryStateStore } from '../../src/store/index.js';
import { describeStateStoreContract } from './contract.js';

describeStateStoreContract('memory', { durable: false }, async () => ({ open: async () => new MemoryStateStore(), cleanup: async () => {} }));
