import { MemoryBlobStore } from '../../../blobstore/memory.js';
import type { FlowResult } from '../../../protocol/index.js';
import { BuiltinPlugin, DEFAULT_LOAD_FILE_MAX_BYTES, type BuiltinHost, type LoadFileLimits } from '../../../src/plugins/builtin/index.js';
import { ComponentError } from '../../../src/calls/component-error.js';
import type { ComponentCall, ExecutionScope } from '../../../src/calls/plugin.js';
import { rejectionOf } from '../../support/errors.js';

type ChildFlow = Parameters<BuiltinHost['runChild']>[0];
type ChildOptions = Parameters<BuiltinHost['runChild']>[2];

/** One call of `runChild`, as the fake host recorded it. */
export interface ChildRunCall {
  runId: string;
  flow: ChildFlow;
  inputs: unknown[];
  options: ChildOptions;
}

/** Runs one item of a child run: the fake host's stand-in for a real flow. */
export type FakeFlow = (input: unknown, flow: ChildFlow) => FlowResult | Promise<FlowResult>;

export const parentScope: ExecutionScope = { runId: 'parent-run', itemIndex: 3, stepId: 'caller', flowId: `sha256:${'0'.repeat(64)}` };

/** A BuiltinHost whose child runs apply `flow` to each input, recording every call; load_file reads below `workingDirectory`. */
export function fakeHost(
  flow: FakeFlow = (input) => ({ outcome: 'success', value: input }),
  workingDirectory = '/nonexistent',
  loadFile: Partial<LoadFileLimits> = {},
) {
  const blobs = new MemoryBlobStore();
  const childRuns: ChildRunCall[] = [];
  const host: BuiltinHost = {
    blobs,
    workingDirectory,
    loadFile: { roots: [workingDirectory], maxBytes: DEFAULT_LOAD_FILE_MAX_BYTES, ...loadFile },
    async runChild(childFlow, inputs, options) {
      const runId = `child-${childRuns.length + 1}`;
      childRuns.push({ runId, flow: childFlow, inputs, options });
      const results: FlowResult[] = [];
      for (const input of inputs) results.push(await flow(input, childFlow));
      return { runId, results };
    },
  };
  return { host, blobs, childRuns, plugin: new BuiltinPlugin(host) };
}

/** A call of a builtin from step `caller` of item 3 of run `parent-run`. */
export function callOf(component: string, input: unknown, extra: Partial<ComponentCall> = {}): ComponentCall {
  return { component, input, attempt: 1, scope: parentScope, ...extra };
}

/** Awaits a call that must reject with a ComponentError, and returns its wire error. */
export async function componentError(promise: Promise<unknown>): Promise<ComponentError['error']> {
  return (await rejectionOf(promise, ComponentError)).error;
}
