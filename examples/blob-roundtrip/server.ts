/**
 * A component that calls back into the runtime while it executes: `/store_and_load` puts its
 * input `data` as a blob, reads it back by id, and reports whether the round trip preserved it.
 * Run compiled: `node dist/examples/blob-roundtrip/server.js`.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { createComponentServer, defineComponent } from 'flowrun/sdk';

const storeAndLoad = defineComponent({
  name: '/store_and_load',
  description: 'Stores data as a blob, loads it back, and compares',
  input: z.object({ data: z.json() }),
  output: z.object({ blob_id: z.string(), data: z.unknown(), same: z.boolean() }),
  async handler(input, ctx) {
    const blobId = await ctx.putBlob(input.data);
    const loaded = await ctx.getBlob(blobId);
    ctx.logger.debug({ blob_id: blobId }, 'blob stored and loaded');
    return { blob_id: blobId, data: loaded, same: isDeepStrictEqual(loaded, input.data) };
  },
});

await createComponentServer({ name: 'blob-roundtrip', components: [storeAndLoad] }).run(process.argv);
