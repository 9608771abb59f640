import { z } from 'zod';
import { BlobTypeSchema } from '../../../protocol/index.js';
import { defineBuiltin, success } from './builtin-component.js';

/** `/put_blob`: stores a JSON value in the blob store and returns its id. */
export const putBlobBuiltin = defineBuiltin({
  path: '/put_blob',
  description: 'Stores `data` as a content-addressed blob; returns its id.',
  input: z.object({
    data: z.unknown(),
    blob_type: BlobTypeSchema.default('data'),
  }),
  output: z.object({ blob_id: z.string() }),
  async run(input, { host }) {
    return success({ blob_id: await host.blobs.put(input.data, input.blob_type) });
  },
});
