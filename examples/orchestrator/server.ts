/**
 * Components that orchestrate sub-workflows through the runtime's runs API (docs/protocol.md, "runs/submit"):
 * - /fan_out: stores a sub-flow as a blob, runs it over a list with wait and maxConcurrency 5;
 * - /batch:   runs a sub-flow over a list and reports how many items succeeded and failed;
 * - /async:   submits without waiting, does other work, then long-polls for the results;
 * - /square:  the unit of work the sub-flows call (fails for negative numbers).
 */
import { z } from 'zod';
import { RpcError, createComponentServer, defineComponent } from 'flowrun/sdk';

/** The sub-flow every orchestrator runs: square one number. */
const SQUARE_FLOW = {
  schema: 'https://stepflow.org/schemas/v1/flow.json',
  name: 'square',
  steps: [{ id: 'square', component: '/orchestrator/square', input: { x: { $input: 'x' } } }],
  output: { $step: 'square', path: 'y' },
};

const square = defineComponent({
  name: '/square',
  description: 'Squares x; refuses negative numbers',
  input: z.object({ x: z.number() }),
  output: z.object({ y: z.number() }),
  async handler({ x }) {
    if (x < 0) throw new RpcError(-32004, `cannot square a negative number: ${x}`, { x });
    return { y: x * x };
  },
});

const fanOut = defineComponent({
  name: '/fan_out',
  description: 'Runs the square sub-flow over numbers (stored as a flow blob, maxConcurrency 5) and returns the squares',
  input: z.object({ numbers: z.array(z.number()) }),
  output: z.object({ flow_id: z.string(), squares: z.array(z.unknown()), run_id: z.string() }),
  async handler({ numbers }, ctx) {
    const flowId = await ctx.putBlob(SQUARE_FLOW, 'flow');
    const run = await ctx.submitRun({ flowId, inputs: numbers.map((x) => ({ x })), wait: true, maxConcurrency: 5 });
    const squares = (run.results ?? []).map((r) => (r.result?.outcome === 'success' ? r.result.value : null));
    return { flow_id: flowId, squares, run_id: run.runId };
  },
});

const batch = defineComponent({
  name: '/batch',
  description: 'Runs the square sub-flow over numbers and reports successes and failures',
  input: z.object({ numbers: z.array(z.number()) }),
  output: z.object({ success: z.number(), failed: z.number(), status: z.string() }),
  async handler({ numbers }, ctx) {
    const run = await ctx.submitRun({ flow: SQUARE_FLOW, inputs: numbers.map((x) => ({ x })), wait: true });
    return { success: run.items.success, failed: run.items.failed, status: run.status };
  },
});

const asyncProcessor = defineComponent({
  name: '/async',
  description: 'Submits without waiting, does other work, then waits for the results',
  input: z.object({ numbers: z.array(z.number()) }),
  output: z.object({ sum_of_inputs: z.number(), squares: z.array(z.unknown()), submitted_status: z.string() }),
  async handler({ numbers }, ctx) {
    const submitted = await ctx.submitRun({ flow: SQUARE_FLOW, inputs: numbers.map((x) => ({ x })), wait: false });
    const sumOfInputs = numbers.reduce((a, b) => a + b, 0); // the "other work" done meanwhile
    const done = await ctx.getRun({ runId: submitted.runId, wait: true, includeResults: true });
    const squares = (done.results ?? []).map((r) => (r.result?.outcome === 'success' ? r.result.value : null));
    return { sum_of_inputs: sumOfInputs, squares, submitted_status: submitted.status };
  },
});

await createComponentServer({ name: 'orchestrator', components: [square, fanOut, batch, asyncProcessor] }).serveStdio();
