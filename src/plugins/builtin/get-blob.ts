import { z } from 'zod';
import { ErrorCodes } from '../../../protocol/index.js';
import { ComponentError } from '../../calls/component-error.js';
import { defineBuiltin, success } from './builtin-component.js';

/** `/get_blob`: reads a blob's value by id (`sha256:<hex>` or Stepflow's bare hex). */
export const getBlobBuiltin = defineBuiltin({
  path: '/get_blob',
  description: 'Returns the value of blob `blob_id`.',
  input: z.object({
    blob_id: z.string().regex(/^(sha256:)?[0-9a-fA-F]{64}$/, 'a blob id: sha256:<64 hex digits> or 64 hex digits'),
  }),
  output: z.object({ data: z.unknown() }),
  async run(input, { host }) {
    const blob = await host.blobs.get(input.blob_id);
    if (blob === undefined) {
      throw new ComponentError(
        { code: ErrorCodes.BlobNotFound, message: `Blob not found: ${input.blob_id}`, data: { blob_id: input.blob_id } },
        { component: '/get_blob' },
      );
    }
    return success({ data: blob.data });
  },
});
