import { z } from 'zod';
import { BlobTypeSchema, ErrorCodes, describeFirstIssue } from '../../../protocol/index.js';
import { validateFlow } from '../../flow/validate.js';
import { ComponentError } from '../../calls/component-error.js';
import { defineBuiltin, success } from './builtin-component.js';

/** `/put_blob`: stores a JSON value in the blob store and returns its id. A `flow` blob must be a valid flow (docs/builtins.md). */
export const putBlobBuiltin = defineBuiltin({
  path: '/put_blob',
  description: 'Stores `data` as a content-addressed blob; returns its id. A `flow` blob is validated first.',
  input: z.object({
    data: z.unknown(),
    blob_type: BlobTypeSchema.default('data'),
  }),
  output: z.object({ blob_id: z.string() }),
  async run(input, { host, call }) {
    if (input.blob_type === 'flow') {
      const errors = validateFlow(input.data).diagnostics.filter((d) => d.level === 'error');
      if (errors.length > 0) {
        throw new ComponentError({
          code: ErrorCodes.InvalidParams,
          message: `Invalid flow for /put_blob: ${describeFirstIssue(errors)}`,
          data: { component: '/put_blob', diagnostics: errors },
        });
      }
    }
    const blobId = await host.blobs.put(input.data, input.blob_type);
    await host.recordBlob?.(blobId, call.scope);
    return success({ blob_id: blobId });
  },
});
