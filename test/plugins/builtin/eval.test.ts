import { describe, expect, it } from 'vitest';
import { ErrorCodes, RpcError } from '../../../protocol/index.js';
import { callOf, componentError, fakeHost, parentScope } from './fake-host.js';

describe('/eval', () => {
  it('runs the flow blob on the input as a child of the calling item and returns its result in Stepflow\'s shape', async () => {
    const { plugin, childRuns } = fakeHost((input) => ({ outcome: 'success', value: { doubled: (input as number) * 2 } }));
    const flowId = `sha256:${'a'.repeat(64)}`;
    const result = await plugin.execute(callOf('/eval', { flow_id: flowId, input: 21 }));
    // Inside a builtin output the payload sits under `result` (flows read `result.result`), not `value`.
    expect(result).toEqual({ outcome: 'success', value: { result: { outcome: 'success', result: { doubled: 42 } }, run_id: 'child-1' } });
    expect(childRuns).toHaveLength(1);
    expect(childRuns[0]).toMatchObject({ flow: { flowId }, inputs: [21], options: { parent: parentScope } });
  });

  it('returns a failure of the nested flow inside a successful result', async () => {
    const nested = { outcome: 'failed', error: { code: 500, message: 'step "x" failed', data: { stepId: 'x' } } } as const;
    const { plugin } = fakeHost(() => nested);
    const result = await plugin.execute(callOf('/eval', { flow_id: 'f', input: null }));
    expect(result).toEqual({ outcome: 'success', value: { result: nested, run_id: 'child-1' } });
  });

  it('returns a skipped nested flow as skipped', async () => {
    const { plugin } = fakeHost(() => ({ outcome: 'skipped' }));
    const result = await plugin.execute(callOf('/eval', { flow_id: 'f', input: 1 }));
    expect(result).toEqual({ outcome: 'success', value: { result: { outcome: 'skipped' }, run_id: 'child-1' } });
  });

  it('passes a null input through and forwards the call signal to the child run', async () => {
    const { plugin, childRuns } = fakeHost();
    const signal = new AbortController().signal;
    await plugin.execute(callOf('/eval', { flow_id: 'f', input: null }, { signal }));
    expect(childRuns[0]!.inputs).toEqual([null]);
    expect(childRuns[0]!.options.signal).toBe(signal);
  });

  it('fails with the runtime error code when the flow cannot run', async () => {
    const { host, plugin } = fakeHost();
    host.runChild = async () => {
      throw new RpcError(ErrorCodes.NotFound, 'Flow not found: sha256:abc', { flowId: 'sha256:abc' });
    };
    const error = await componentError(plugin.execute(callOf('/eval', { flow_id: 'sha256:abc', input: 1 })));
    expect(error).toEqual({ code: -32011, message: 'Flow not found: sha256:abc', data: { flowId: 'sha256:abc' } });
  });

  it('fails with -32602 when input or flow_id is missing', async () => {
    const { plugin, childRuns } = fakeHost();
    expect((await componentError(plugin.execute(callOf('/eval', { flow_id: 'f' })))).message).toContain('"input": required field is missing');
    expect((await componentError(plugin.execute(callOf('/eval', { input: 1 })))).message).toContain('"flow_id"');
    expect(childRuns).toHaveLength(0);
  });
});
