import { z } from 'zod';
import { defineBuiltin, success } from './builtin-component.js';
import { StepflowFlowResultSchema, toStepflowResult } from './stepflow-result.js';

/**
 * `/eval`: runs a stored flow on one input as a child run and returns its result, in Stepflow's
 * shape (payload under `result.result`). A failure of the nested flow is returned inside
 * `result`; the step itself succeeds (docs/builtins.md).
 */
export const evalBuiltin = defineBuiltin({
  path: '/eval',
  description: 'Runs the flow blob `flow_id` on `input` as a child run; returns its FlowResult and run id.',
  input: z.object({
    flow_id: z.string().min(1).describe('blob id of a flow'),
    input: z.unknown().describe('the input of the nested flow'),
  }),
  output: z.object({
    result: StepflowFlowResultSchema.describe('the nested FlowResult; its success payload is under `result`'),
    run_id: z.string().describe('id of the child run'),
  }),
  async run(input, { host, call }) {
    const { runId, results } = await host.runChild({ flowId: input.flow_id }, [input.input], {
      parent: call.scope,
      signal: call.signal,
    });
    const result = results[0];
    if (result === undefined) throw new Error(`child run ${runId} returned no result`);
    return success({ result: toStepflowResult(result), run_id: runId });
  },
});
