import { describe, expect, it } from 'vitest';
import { parseFlowText, validateFlow } from '../../src/flow/index.js';

// The keys Stepflow's own test flows carry and its runtime ignores.
const STEPFLOW_FLOW = `
schema: https://stepflow.org/schemas/v1/flow.json
name: legacy
inputSchema: { type: object, properties: { x: { type: integer } } }
outputSchema: { type: integer }
input_schema: { type: object }
output_schema: { type: integer }
variables_schema: { type: object }
input: { x: 1 }
steps:
  - id: add
    component: /calc/add
    inputSchema: { type: object }
    outputSchema: { type: integer }
    input_schema: { type: object }
    output_schema: { type: integer }
    input: { a: { $input: x }, b: 2 }
output: { $step: add }
`;

describe('legacy keys of Stepflow flows', () => {
  it('loads a flow with inputSchema, outputSchema, their snake_case spellings and a top-level input without a warning', () => {
    const warnings: string[] = [];
    const flow = parseFlowText(STEPFLOW_FLOW, 'legacy.yaml', { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(flow.steps.map((s) => s.id)).toEqual(['add']);
  });

  it('still warns about other unknown keys beside them, naming the key', () => {
    const { flow, diagnostics } = validateFlow({
      input: { x: 1 },
      colour: 'blue',
      steps: [{ id: 'a', component: '/c', inputSchema: {}, on_error: 'skip' }],
      output: { $step: 'a' },
    });
    expect(flow).toBeDefined();
    expect(diagnostics).toEqual([
      { level: 'warning', field: 'colour', message: 'unknown key "colour" is ignored' },
      { level: 'warning', stepId: 'a', field: 'steps[0].on_error', message: 'unknown step key "on_error" is ignored' },
    ]);
  });

  it('keeps a top-level input in the parsed flow as inert data, not as an error', () => {
    const { flow } = validateFlow({ input: { x: 1 }, output: { $input: 'x' } });
    expect(flow).toMatchObject({ input: { x: 1 }, output: { $input: 'x' } });
  });
});
