import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FlowSchema } from '../../protocol/flow.js';
import { MOCK_FLOWS } from '../support/paths.js';

const flowJson = JSON.parse(readFileSync(new URL('../../schemas/flow.json', import.meta.url), 'utf8'));
const validateFlow = new Ajv2020({ strict: true, allErrors: true }).compile(flowJson);

/** The project's mock-plugin flows, written as Stepflow writes flows. */
const fixtureFlows = readdirSync(MOCK_FLOWS).filter((f) => f.endsWith('.yaml'));

describe('schemas/flow.json', () => {
  describe("accepts every fixture flow in Stepflow's format", () => {
    it('finds them', () => expect(fixtureFlows.length).toBeGreaterThanOrEqual(5));
    for (const file of fixtureFlows) {
      it(file, () => {
        const flow = parse(readFileSync(join(MOCK_FLOWS, file), 'utf8'));
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
