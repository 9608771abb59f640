import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LenientFlowResultSchema, type FlowResult } from '../../protocol/index.js';
import { executeItem, type StepInvoker } from '../../src/executor/item-executor.js';
import { compileFlow } from '../../src/flow/compile.js';
import { loadFlowFile } from '../../src/flow/load.js';
import { MOCK_FLOWS as DIR } from '../support/paths.js';
import { componentError } from './fake-invoker.js';

/**
 * Runs the test cases of the mock-plugin fixture flows (Stepflow's format) through the executor,
 * with a small stand-in for the mock plugin built from the behaviours in their config (the real
 * plugin lives in src/plugins/). Compared as `flowrun test` compares: outcome, code and message;
 * success values partially.
 */

async function mockInvoker(): Promise<StepInvoker> {
  // yaml 2.9.1 refuses a flow-mapping key that follows a nested block value ("Map comment with
  // trailing content", eemeli/yaml#646); the explicit `? key` form reads the same data.
  const text = (await readFile(join(DIR, 'stepflow-config.yml'), 'utf8')).replace(/^(\s*)(\{.*\}):\s*$/gm, '$1? $2\n$1:');
  const config = parse(text, { mapAsMap: true }) as Map<string, unknown>;
  const components = (config.get('plugins') as Map<string, Map<string, unknown>>).get('mock')?.get('components') as Map<string, Map<string, unknown>>;
  return async ({ component, input }) => {
    const name = component.replace(/^\/mock/, '');
    const behaviours = components.get(name)?.get('behaviors') as Map<Map<string, unknown>, Map<string, unknown>> | undefined;
    for (const [key, behaviour] of behaviours ?? []) {
      if (isDeepStrictEqual(Object.fromEntries(key), input)) {
        return LenientFlowResultSchema.parse(toPlain(behaviour));
      }
    }
    throw componentError(-32004, `No behavior defined for ${name} on ${JSON.stringify(input)}`);
  };
}

function toPlain(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

describe("the mock-plugin fixture flows in Stepflow's format", async () => {
  const invoke = await mockInvoker();
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.yaml'));
  for (const file of files) {
    it(`passes the test cases of ${file}`, async () => {
      const flow = await loadFlowFile(join(DIR, file));
      const compiled = compileFlow(flow);
      const cases = (flow.test?.cases ?? []) as Array<{ name: string; input: unknown; output?: FlowResult }>;
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) {
        const { result } = await executeItem(compiled, c.input, { runId: 'r', itemIndex: 0, flowId: 'f', invoke });
        const expected = c.output as FlowResult;
        expect(result.outcome, c.name).toBe(expected.outcome);
        if (expected.outcome === 'success') expect(result, c.name).toMatchObject(expected);
        if (expected.outcome === 'failed' && result.outcome === 'failed') {
          expect({ code: result.error.code, message: result.error.message }, c.name).toEqual({
            code: expected.error.code,
            message: expected.error.message,
          });
        }
      }
    });
  }
});
