import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../../blobstore/memory.js';
import { parseConfig } from '../../../src/config/index.js';
import { parseFlowText } from '../../../src/flow/index.js';
import { Runtime } from '../../../src/runtime.js';

// Flows written for Stepflow read a nested FlowResult's payload at `result.result`.
const EVAL_FLOW = `
schema: https://stepflow.org/schemas/v1/flow.json
name: eval-shape
steps:
  - id: store
    component: /builtin/put_blob
    input:
      blob_type: flow
      data:
        $literal:
          schema: https://stepflow.org/schemas/v1/flow.json
          steps:
            - id: greet
              component: /builtin/create_messages
              input: { user_prompt: { $input: name } }
          output: { $step: greet, path: messages }
  - id: run
    component: /builtin/eval
    input:
      flow_id: { $step: store, path: blob_id }
      input: { $input: "$" }
output:
  outcome: { $step: run, path: result.outcome }
  messages: { $step: run, path: result.result }
`;

const MAP_FLOW = `
schema: https://stepflow.org/schemas/v1/flow.json
name: map-shape
steps:
  - id: each
    component: /builtin/map
    input:
      items: { $input: items }
      workflow:
        $literal:
          steps:
            - id: greet
              component: /builtin/create_messages
              skipIf: { $input: skip }
              input: { user_prompt: { $input: prompt } }
          output: { $step: greet, path: "messages[0].content" }
output:
  first: { $step: each, path: "results[0].result" }
  second: { $step: each, path: "results[1]" }
  successful: { $step: each, path: successful }
  failed: { $step: each, path: failed }
  skipped: { $step: each, path: skipped }
`;

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

async function builtinRuntime(): Promise<Runtime> {
  const config = parseConfig(
    { plugins: { builtin: { type: 'builtin' } }, routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] } },
    { workingDirectory: process.cwd(), env: {} },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
  return runtime;
}

describe('builtin outputs in Stepflow\'s shape, end to end', () => {
  it('lets a flow read /eval\'s nested payload at result.result', async () => {
    const rt = await builtinRuntime();
    const flow = parseFlowText(EVAL_FLOW, 'eval-shape.yaml');
    const status = await rt.runs.submit({ flow, inputs: [{ name: 'Ada' }], wait: true, variables: {} });
    expect(status.results![0].result).toEqual({
      outcome: 'success',
      value: { outcome: 'success', messages: [{ role: 'user', content: 'Ada' }] },
    });
  });

  it('lets a flow read /map\'s results at results[i].result and count successful, failed and skipped items', async () => {
    const rt = await builtinRuntime();
    const flow = parseFlowText(MAP_FLOW, 'map-shape.yaml');
    const items = [
      { prompt: 'one', skip: false },
      { prompt: 'two', skip: true },
      { prompt: 3, skip: false }, // not a string: create_messages refuses it, so the item fails
      { prompt: 'four', skip: false },
    ];
    const status = await rt.runs.submit({ flow, inputs: [{ items }], wait: true, variables: {} });
    expect(status.results![0].result).toEqual({
      outcome: 'success',
      value: { first: 'one', second: { outcome: 'skipped' }, successful: 2, failed: 1, skipped: 1 },
    });
  });
});
