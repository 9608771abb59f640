import { z } from 'zod';
import type { BlobStore } from '../../../blobstore/blob-store.js';
import type { ComponentInfo, FlowError, FlowInput, FlowResult } from '../../../protocol/index.js';
import type { ComponentCall, ExecutionScope } from '../../calls/plugin.js';
import { invalidInput, toComponentError } from './builtin-errors.js';
import type { LoadFileLimits } from './load-file-limits.js';

/** What the builtins need from the runtime. */
export interface BuiltinHost {
  blobs: BlobStore;
  /** Base directory of relative `/load_file` paths. */
  workingDirectory: string;
  /** Where `/load_file` may read, and how much. */
  loadFile: LoadFileLimits;
  /**
   * Runs a flow over inputs as a child run of `parent`, waits for it, and returns its run id and
   * its results by index. Rejects with an `RpcError` when the flow cannot run (invalid, not found).
   */
  runChild(
    flow: { flow: FlowInput } | { flowId: string },
    inputs: unknown[],
    options: { parent: ExecutionScope; maxConcurrency?: number; signal?: AbortSignal },
  ): Promise<{ runId: string; results: FlowResult[] }>;
  /** Records a blob `/put_blob` stored in the namespace of the run it serves; default: nothing recorded. */
  recordBlob?(blobId: string, scope: ExecutionScope): Promise<void>;
}

/** What a builtin sees of the call it serves. */
export interface BuiltinContext {
  host: BuiltinHost;
  call: ComponentCall;
}

/** A builtin's result: its success output, or a failed/skipped FlowResult it returns as such. */
export type BuiltinResult<Output> =
  | { outcome: 'success'; value: Output }
  | { outcome: 'failed'; error: FlowError }
  | { outcome: 'skipped' };

/** How a builtin is written: its path, schemas and behaviour on a validated input. */
export interface BuiltinSpec<I extends z.ZodType, O extends z.ZodType> {
  /** Plugin-relative path, e.g. `/eval`. */
  path: string;
  description: string;
  input: I;
  output: O;
  run(input: z.output<I>, context: BuiltinContext): Promise<BuiltinResult<z.input<O>>>;
}

/** A builtin as the plugin holds it: typed details erased behind `execute` and `info`. */
export interface BuiltinComponent {
  readonly path: string;
  /** Validates the call's input and runs the builtin; rejects only with `ComponentError`. */
  execute(call: ComponentCall, host: BuiltinHost): Promise<FlowResult>;
  /** Name, description and JSON Schemas of input and output. */
  info(): ComponentInfo;
}

/** Turns a spec into a component: input validation (-32602 naming the field) and error mapping. */
export function defineBuiltin<I extends z.ZodType, O extends z.ZodType>(spec: BuiltinSpec<I, O>): BuiltinComponent {
  return {
    path: spec.path,
    async execute(call, host) {
      const parsed = spec.input.safeParse(call.input, { error: missingFieldMessage });
      if (!parsed.success) throw invalidInput(spec.path, parsed.error);
      try {
        return await spec.run(parsed.data, { host, call });
      } catch (err) {
        throw toComponentError(err, spec.path);
      }
    },
    info() {
      return {
        component: spec.path,
        description: spec.description,
        input_schema: z.toJSONSchema(spec.input, { io: 'input' }) as Record<string, unknown>,
        output_schema: z.toJSONSchema(spec.output, { io: 'output' }) as Record<string, unknown>,
      };
    },
  };
}

/** Says "required" for an absent field, where zod would say "expected nonoptional, received undefined". */
function missingFieldMessage(issue: { code?: string; input?: unknown }): string | undefined {
  return issue.code === 'invalid_type' && issue.input === undefined ? 'required field is missing' : undefined;
}

/** A success result. */
export function success<T>(value: T): { outcome: 'success'; value: T } {
  return { outcome: 'success', value };
}
