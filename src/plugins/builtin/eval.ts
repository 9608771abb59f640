import { z } from 'zod';
import { FlowResultSchema } from '../../../protocol/index.js';
import { defineBuiltin, success } from './builtin-component.js';

/**
 * `/eval`: runs a stored flow on one input as a child run and returns its result. A failure of
 * the nested flow is returned inside `result`; the step itself succeeds (reference §14).
 */
export const evalBuiltin = defineBuiltin({
  path: '/eval',
  description: 'Runs the flow blob `flow_id` on `input` as a child run; returns its FlowResult and run id.',
  input: z.object({
    flow_id: z.string().min(1).describe('blob id of a flow'),
    input: z.unknown().describe('the input of the nested flow'),
  }),
  output: z.object({
    result: FlowResultSchema,
    run_id: z.string().describe('id of the child run'),
  }),
  async run(input, { host, call }) {
    const { runId, results } = await host.runChild({ flowId: input.flow_id }, [input.input], {
      parent: call.scope,
      signal: call.signal,
    });
    const result = results[0];
    if (result === undefined) throw new Error(`child run ${runId} returned no result`);
    return success({ result, run_id: runId });
  },
});
