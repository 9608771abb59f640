import { z } from 'zod';
import { FlowResultSchema, FlowSchema, type FlowInput } from '../../../protocol/index.js';
import { defineBuiltin, success } from './builtin-component.js';

/**
 * `/map`: runs a flow over every item as one child run and returns the results by index.
 * Skipped items count as successful, as an item status does (SPEC §5.5).
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
    results: z.array(FlowResultSchema),
    successful: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
  }),
  async run(input, { host, call }) {
    // The flow as written, not as parsed (defaults filled in), so its id is that of its text.
    const workflow = (call.input as { workflow: FlowInput }).workflow;
    const { results } = await host.runChild({ flow: workflow }, input.items, {
      parent: call.scope,
      maxConcurrency: input.max_concurrency ?? undefined,
      signal: call.signal,
    });
    const failed = results.filter((r) => r.outcome === 'failed').length;
    return success({ results, successful: results.length - failed, failed });
  },
});
