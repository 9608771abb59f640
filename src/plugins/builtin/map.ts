import { z } from 'zod';
import { FlowSchema, type FlowInput } from '../../../protocol/index.js';
import { defineBuiltin, success } from './builtin-component.js';
import { StepflowFlowResultSchema, toStepflowResult } from './stepflow-result.js';

/**
 * `/map`: runs a flow over every item as one child run and returns the results by index, in
 * Stepflow's shape (payload under `result`), with one count per outcome (docs/builtins.md).
 */
export const mapBuiltin = defineBuiltin({
  path: '/map',
  description: 'Runs `workflow` over `items` as one child run; returns the FlowResults by index and their counts.',
  input: z.object({
    workflow: FlowSchema.describe('the flow to run, usually written with $literal'),
    items: z.array(z.unknown()),
    max_concurrency: z.number().int().positive().nullish().describe('default: all items at once'),
  }),
  output: z.object({
    results: z.array(StepflowFlowResultSchema),
    successful: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
  }),
  async run(input, { host, call }) {
    // The flow as written, not as parsed (defaults filled in), so its id is that of its text.
    const workflow = (call.input as { workflow: FlowInput }).workflow;
    const { results } = await host.runChild({ flow: workflow }, input.items, {
      parent: call.scope,
      maxConcurrency: input.max_concurrency ?? undefined,
      signal: call.signal,
    });
    const counts = { successful: 0, failed: 0, skipped: 0 };
    for (const r of results) counts[r.outcome === 'success' ? 'successful' : r.outcome]++;
    return success({ results: results.map(toStepflowResult), ...counts });
  },
});
