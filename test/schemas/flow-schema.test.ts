import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FlowSchema } from '../../protocol/flow.js';

const flowJson = JSON.parse(readFileSync(new URL('../../schemas/flow.json', import.meta.url), 'utf8'));
const validateFlow = new Ajv2020({ strict: true, allErrors: true }).compile(flowJson);

/** Stepflow's own test flows (SPEC conformance data), kept outside the project. */
const conformanceDir = '/work/shared/conformance/stepflow-mock';
const conformanceFlows = existsSync(conformanceDir)
  ? readdirSync(conformanceDir).filter((f) => f.endsWith('.yaml') && !f.startsWith('stepflow-config'))
  : [];

describe('schemas/flow.json', () => {
  describe.skipIf(conformanceFlows.length === 0)('accepts every Stepflow conformance flow', () => {
    for (const file of conformanceFlows) {
      it(file, () => {
        const flow = parse(readFileSync(join(conformanceDir, file), 'utf8'));
        expect(validateFlow(flow) ? [] : validateFlow.errors).toEqual([]);
        expect(FlowSchema.safeParse(flow).success).toBe(true);
      });
    }
  });

  it('accepts a flow with onError, skipIf, mustExecute and a test section written with `value`', () => {
    const flow = {
      name: 'retrying',
      steps: [
        { id: 'a', component: '/tools/a', onError: { action: 'retry', maxRetries: 2, backoffMs: 50 } },
        { id: 'b', component: '/tools/b', skipIf: { $input: 'skip' }, mustExecute: true, onError: { action: 'useDefault', defaultValue: 0 } },
      ],
      output: { a: { $step: 'a' }, b: { $coalesce: [{ $step: 'b' }, 0] } },
      test: { cases: [{ name: 'ok', input: {}, output: { outcome: 'success', value: { a: 1, b: 0 } } }] },
    };
    expect(validateFlow(flow) ? [] : validateFlow.errors).toEqual([]);
  });

  it('rejects a step without a component, an unknown onError action and a foreign schema URL', () => {
    expect(validateFlow({ steps: [{ id: 'a' }] })).toBe(false);
    expect(validateFlow({ steps: [{ id: 'a', component: '/x', onError: { action: 'ignore' } }] })).toBe(false);
    expect(validateFlow({ schema: 'https://example.com/flow.json', steps: [] })).toBe(false);
  });
});
