import { z } from 'zod';
import { FlowSchema, type FlowInput } from '../../../protocol/index.js';
import { defineBuiltin, success } from './builtin-component.js';
import { cancelled } from './builtin-errors.js';

/** Stepflow's message when an iteration's output has neither key, kept so Stepflow flow tests match it. */
export const ITERATE_BAD_OUTPUT_MESSAGE = "Workflow result must contain either 'result' or 'next' field";

/**
 * `/iterate`: runs a flow repeatedly, one child run per iteration. An output with `result` stops
 * the loop; one with `next` becomes the next input; at the limit the last input is returned with
 * `terminated: true`. A failed or skipped iteration is this step's result as such.
 */
export const iterateBuiltin = defineBuiltin({
  path: '/iterate',
  description: 'Runs `flow` repeatedly: an output `{next}` feeds the next iteration, `{result}` ends the loop.',
  input: z.object({
    flow: FlowSchema.describe('the flow to iterate, usually written with $literal'),
    initial_input: z.unknown(),
    max_iterations: z.number().int().nonnegative().default(1000),
  }),
  output: z.object({
    result: z.unknown(),
    iterations: z.number().int().nonnegative(),
    terminated: z.boolean().describe('true when max_iterations was reached'),
  }),
  async run(input, { host, call }) {
    // The flow as written, not as parsed, so every iteration stores and runs the same blob.
    const flow = (call.input as { flow: FlowInput }).flow;
    let current = input.initial_input;
    for (let iteration = 1; iteration <= input.max_iterations; iteration++) {
      if (call.signal?.aborted) throw cancelled('/iterate');
      const { results } = await host.runChild({ flow }, [current], { parent: call.scope, signal: call.signal });
      const outcome = results[0];
      if (outcome === undefined) throw new Error(`iteration ${iteration} returned no result`);
      if (outcome.outcome !== 'success') return outcome;
      const output = outcome.value;
      if (isObject(output) && 'result' in output) {
        return success({ result: output.result, iterations: iteration, terminated: false });
      }
      if (!isObject(output) || !('next' in output)) {
        return { outcome: 'failed', error: { code: 400, message: ITERATE_BAD_OUTPUT_MESSAGE } };
      }
      current = output.next;
    }
    return success({ result: current, iterations: input.max_iterations, terminated: true });
  },
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
