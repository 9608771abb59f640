import { describe, expect, it } from 'vitest';
import { RunsSubmitParams, parseOrInvalidParams, ErrorCodes, RpcError } from '../../protocol/index.js';

describe('runs/submit params', () => {
  it('reads null as absent, as Stepflow servers send it for unset fields', () => {
    const p = RunsSubmitParams.parse({ flowId: 'sha256:x', inputs: [1], wait: null, maxConcurrency: null, overrides: null, observability: null, variables: null, timeoutMs: null });
    expect(p).toEqual({ flowId: 'sha256:x', inputs: [1], wait: false, variables: {} });
  });

  it('refuses a bad field with -32602 naming it', () => {
    let error: unknown;
    try {
      parseOrInvalidParams(RunsSubmitParams, { flowId: 'sha256:x', inputs: [], maxConcurrency: 0 }, 'runs/submit');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(ErrorCodes.InvalidParams);
    expect((error as RpcError).message).toContain('maxConcurrency');
  });
});
