import { MemoryBlobStore } from '../../blobstore/index.js';
import { describeBlobStoreContract } from './contract.js';

describeBlobStoreContract('memory', async () => ({ store: new MemoryBlobStore(), cleanup: async () => {} }));
