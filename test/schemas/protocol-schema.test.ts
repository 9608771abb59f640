import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as M from '../../protocol/messages.js';
import { RunStatusSchema } from '../../protocol/types.js';

const protocol = JSON.parse(readFileSync(new URL('../../schemas/protocol.json', import.meta.url), 'utf8'));

let ajv: InstanceType<typeof Ajv2020>;
beforeAll(() => {
  // date-time strings are also constrained by a `pattern`, so the format itself needs no checker.
  // strictRequired is off: `oneOf: [{required: [a]}, {required: [b]}]` is the idiom for "exactly one of".
  ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, formats: { 'date-time': true } });
  ajv.addSchema(protocol, 'protocol');
});

/** Validates `value` against `$defs/<def>`; returns the Ajv errors (empty when valid). */
function errorsFor(def: string, value: unknown): unknown[] {
  const validate = ajv.getSchema(`protocol#/$defs/${def}`);
  if (!validate) throw new Error(`no def ${def}`);
  return validate(value) ? [] : (validate.errors ?? []);
}

/** Asserts that the JSON Schema and the zod schema agree that `value` is valid. */
function expectValid(def: string, value: unknown, zodSchema?: z.ZodType): void {
  expect(errorsFor(def, value)).toEqual([]);
  if (zodSchema) expect(zodSchema.safeParse(value).success).toBe(true);
}

/** Asserts that the JSON Schema (and the zod schema) reject `value`. */
function expectInvalid(def: string, value: unknown, zodSchema?: z.ZodType): void {
  expect(errorsFor(def, value)).not.toEqual([]);
  if (zodSchema) expect(zodSchema.safeParse(value).success).toBe(false);
}

const runStatus = {
  runId: '0190f5b2-7c1e-7a3e-9d52-3f7d2c1a9b01',
  flowId: `sha256:${'ab'.repeat(32)}`,
  flowName: 'greeter',
  status: 'success',
  items: { total: 3, pending: 0, running: 0, success: 2, failed: 1, cancelled: 0 },
  createdAt: '2025-11-21T10:00:00.000Z',
  completedAt: '2025-11-21T10:00:01.250Z',
  results: [
    { itemIndex: 0, status: 'success', result: { outcome: 'success', value: { greeting: 'hi a' } }, completedAt: '2025-11-21T10:00:01.000Z', attempts: 1 },
    { itemIndex: 1, status: 'failed', result: { outcome: 'failed', error: { code: 500, message: 'step "greet" failed', data: { stepId: 'greet' } } } },
    { itemIndex: 2, status: 'success', result: { outcome: 'skipped' } },
  ],
};

const inlineFlow = {
  schema: 'https://stepflow.org/schemas/v1/flow.json',
  name: 'greeter',
  steps: [{ id: 'greet', component: '/tools/greet', input: { name: { $input: 'name' } } }],
  output: { $step: 'greet' },
};

describe('schemas/protocol.json', () => {
  it('accepts a real initialize request and its response', () => {
    expectValid('InitializeRequest', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { runtime_protocol_version: 1 } });
    expectValid('InitializeParams', { runtime_protocol_version: 1 }, M.InitializeParams);
    expectValid('InitializeResponse', { jsonrpc: '2.0', id: 1, result: { server_protocol_version: 1 } });
    expectValid('InitializedNotification', { jsonrpc: '2.0', method: 'initialized', params: {} });
  });

  it('rejects an initialize request without params or with another method name', () => {
    expectInvalid('InitializeRequest', { jsonrpc: '2.0', id: 1, method: 'initialize' });
    expectInvalid('InitializeRequest', { jsonrpc: '2.0', id: 1, method: 'components/list', params: { runtime_protocol_version: 1 } });
    expectInvalid('InitializeResponse', { jsonrpc: '2.0', id: 1, result: {} });
  });

  it('accepts components/execute params without the defaulted attempt, and its result', () => {
    const params = {
      component: '/greet',
      input: { name: 'a' },
      observability: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', run_id: 'r1', step_id: 'greet' },
    };
    expectValid('ComponentsExecuteParams', params, M.ComponentsExecuteParams);
    expectValid('ComponentsExecuteParams', { ...params, attempt: 2 }, M.ComponentsExecuteParams);
    expectValid('ComponentsExecuteRequest', { jsonrpc: '2.0', id: 'x-7', method: 'components/execute', params });
    expectValid('ComponentsExecuteResult', { output: { greeting: 'hi a' } }, M.ComponentsExecuteResult);
    expectValid('ComponentsExecuteResponse', { jsonrpc: '2.0', id: 'x-7', result: { output: null } });
  });

  it('rejects components/execute params with attempt 0, no input, or an upper-case trace id', () => {
    expectInvalid('ComponentsExecuteParams', { component: '/greet', input: 1, attempt: 0 }, M.ComponentsExecuteParams);
    expectInvalid('ComponentsExecuteParams', { component: '/greet' }, M.ComponentsExecuteParams);
    expectInvalid('ComponentsExecuteParams', { component: '/g', input: 1, observability: { trace_id: 'A'.repeat(32) } }, M.ComponentsExecuteParams);
  });

  it('accepts blobs/put with and without blob_type, and rejects an unknown blob_type', () => {
    expectValid('BlobsPutRequest', { jsonrpc: '2.0', id: 3, method: 'blobs/put', params: { data: { a: 1 } } });
    expectValid('BlobsPutParams', { data: inlineFlow, blob_type: 'flow' }, M.BlobsPutParams);
    expectValid('BlobsPutResult', { blob_id: `sha256:${'0f'.repeat(32)}` }, M.BlobsPutResult);
    expectInvalid('BlobsPutParams', { data: 1, blob_type: 'Json' }, M.BlobsPutParams);
  });

  it('accepts runs/submit by flowId and with an inline flow', () => {
    expectValid('RunsSubmitParams', { flowId: runStatus.flowId, inputs: [{ name: 'a' }], wait: true, timeoutMs: 5000 }, M.RunsSubmitParams);
    expectValid(
      'RunsSubmitParams',
      {
        flow: inlineFlow,
        inputs: [{ name: 'a' }, { name: 'b' }],
        maxConcurrency: 4,
        overrides: { greet: { value: { input: { name: 'z' } } } },
        variables: { lang: 'en' },
        flowLabel: 'nightly',
      },
      M.RunsSubmitParams,
    );
    expectValid('RunsSubmitRequest', { jsonrpc: '2.0', id: 9, method: 'runs/submit', params: { flowId: 'abc', inputs: [] } });
  });

  it('rejects runs/submit without inputs, with both flowId and flow, or with neither', () => {
    expectInvalid('RunsSubmitParams', { flowId: runStatus.flowId }, M.RunsSubmitParams);
    expectInvalid('RunsSubmitParams', { flowId: runStatus.flowId, flow: inlineFlow, inputs: [] }, M.RunsSubmitParams);
    expectInvalid('RunsSubmitParams', { inputs: [] }, M.RunsSubmitParams);
    expectInvalid('RunsSubmitParams', { flowId: runStatus.flowId, inputs: [], maxConcurrency: 0 }, M.RunsSubmitParams);
  });

  it('accepts a RunStatus with results as the result of runs/submit, runs/get and runs/cancel', () => {
    expectValid('RunStatus', runStatus, RunStatusSchema);
    for (const def of ['RunsSubmitResult', 'RunsGetResult', 'RunsCancelResult']) expectValid(def, runStatus);
    expectValid('RunsGetResponse', { jsonrpc: '2.0', id: 4, result: runStatus });
  });

  it('rejects a RunStatus with an unknown status, in a result or in the run', () => {
    expectInvalid('RunStatus', { ...runStatus, status: 'done' }, RunStatusSchema);
    expectInvalid('RunStatus', { ...runStatus, results: [{ itemIndex: 0, status: 'completed' }] }, RunStatusSchema);
    expectInvalid('RunStatus', { ...runStatus, results: [{ itemIndex: 0, status: 'success', result: { outcome: 'ok' } }] }, RunStatusSchema);
    expectInvalid('RunStatus', { ...runStatus, items: { total: 3 } }, RunStatusSchema);
  });

  it('accepts runs/get params in both spellings of resultOrder', () => {
    expectValid('RunsGetParams', { runId: runStatus.runId, wait: true, includeResults: true, resultOrder: 'byCompletion' }, M.RunsGetParams);
    expectValid('RunsGetParams', { runId: runStatus.runId, resultOrder: 'by_index', offset: 10, limit: 10 }, M.RunsGetParams);
    expectInvalid('RunsGetParams', { runId: runStatus.runId, resultOrder: 'random' }, M.RunsGetParams);
  });

  it('accepts a runs/list request and result', () => {
    expectValid('RunsListParams', { status: ['running', 'pending'], createdAfter: '2025-11-21T00:00:00Z', limit: 10 }, M.RunsListParams);
    expectValid('RunsListRequest', { jsonrpc: '2.0', id: 5, method: 'runs/list' });
    const { results: _results, completedAt: _completedAt, ...running } = runStatus;
    const finished = { ...running, completedAt: runStatus.completedAt };
    expectValid('RunsListResult', { runs: [{ ...running, runId: 'r2', status: 'running' }, finished], nextCursor: 'c2' }, M.RunsListResult);
    expectValid('RunsListResult', { runs: [] }, M.RunsListResult);
    expectInvalid('RunsListParams', { status: ['finished'] }, M.RunsListParams);
    expectInvalid('RunsListParams', { limit: 5000 }, M.RunsListParams);
  });

  it('accepts error responses and $/cancelRequest', () => {
    expectValid('ErrorResponse', { jsonrpc: '2.0', id: 2, error: { code: -32008, message: 'Blob not found', data: { blob_id: 'x' } } });
    expectValid('ErrorResponse', { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    expectInvalid('ErrorResponse', { jsonrpc: '2.0', id: 2, error: { message: 'no code' } });
    expectValid('CancelRequestNotification', { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 7 } });
  });

  it('accepts components/list and components/info results carrying ComponentInfo', () => {
    const info = { component: '/greet', description: 'Greets', input_schema: { type: 'object' }, output_schema: { type: 'object' } };
    expectValid('ComponentsListResult', { components: [info, { component: '/bare' }] }, M.ComponentsListResult);
    expectValid('ComponentsInfoResult', { info }, M.ComponentsInfoResult);
    expectInvalid('ComponentsInfoResult', { info: { description: 'no name' } }, M.ComponentsInfoResult);
  });
});
