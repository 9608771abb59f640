import { describeFirstIssue, type ErrorAction, type Flow, type FlowResult } from '../../protocol/index.js';
import { FlowLoadError } from '../errors.js';
import { frozenCopy, stepDependencies, type Expr } from './expressions.js';
import { analyzeFlow, type Diagnostic } from './validate.js';

/**
 * A flow compiled once for execution: expressions are trees with constants folded, step
 * references point at step indices, `onError` has its defaults filled in. Executing an item
 * then never parses anything.
 */

/** `onError` with its defaults applied (docs/flows.md, "onError"). */
export type ResolvedErrorAction =
  | { readonly action: 'fail' }
  | { readonly action: 'useDefault'; readonly result: FlowResult }
  | { readonly action: 'skip' }
  | { readonly action: 'retry'; readonly maxRetries: number; readonly backoffMs: number };

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_BACKOFF_MS = 100;

export interface CompiledStep {
  readonly index: number;
  readonly id: string;
  /** The component path as written in the flow, e.g. `/mock/one_output`. */
  readonly component: string;
  readonly input: Expr;
  readonly skipIf?: Expr;
  readonly onError: ResolvedErrorAction;
  readonly mustExecute: boolean;
  /** Per-call timeout of this step's component, overriding the plugin's (flowrun extension). */
  readonly timeoutMs?: number;
  /** Indices of the steps this step may need (input and skipIf, all branches). */
  readonly dependencies: readonly number[];
}

export interface CompiledFlow {
  readonly flow: Flow;
  readonly name?: string;
  readonly steps: readonly CompiledStep[];
  readonly stepIndex: ReadonlyMap<string, number>;
  readonly output: Expr;
  /** Indices of the `mustExecute` steps, in flow order. */
  readonly mustExecute: readonly number[];
  /** Defaults from the variables schema (`schemas.properties.variables` or `schemas.variables`). */
  readonly variableDefaults: ReadonlyMap<string, unknown>;
  /** Warnings found while validating (errors make compiling fail). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Compiles a flow; throws FlowLoadError carrying the diagnostics when it is invalid. */
export function compileFlow(flow: Flow): CompiledFlow {
  const analysis = analyzeFlow(flow);
  const parsed = analysis.flow;
  if (parsed === undefined) {
    const errors = analysis.diagnostics.filter((d) => d.level === 'error');
    throw new FlowLoadError(`invalid flow: ${describeFirstIssue(errors, ', ')}`, undefined, undefined, analysis.diagnostics);
  }
  const stepIndex = new Map<string, number>(parsed.steps.map((s, i) => [s.id, i]));
  const link = (refs: ReadonlyArray<{ stepId: string; node: { index: number } }>): void => {
    for (const ref of refs) ref.node.index = stepIndex.get(ref.stepId) ?? -1;
  };
  link(analysis.output.stepRefs);
  const steps = parsed.steps.map((step, index): CompiledStep => {
    const { input, skipIf } = analysis.steps[index];
    link(input.stepRefs);
    if (skipIf) link(skipIf.stepRefs);
    const deps = stepDependencies(input.expr);
    if (skipIf) stepDependencies(skipIf.expr, deps);
    return {
      index,
      id: step.id,
      component: step.component,
      input: input.expr,
      ...(skipIf ? { skipIf: skipIf.expr } : {}),
      onError: resolveErrorAction(step.onError),
      mustExecute: step.mustExecute === true,
      ...(step.timeoutMs !== undefined && { timeoutMs: step.timeoutMs }),
      dependencies: [...deps].map((id) => stepIndex.get(id) as number),
    };
  });
  return {
    flow: parsed,
    ...(parsed.name === undefined ? {} : { name: parsed.name }),
    steps,
    stepIndex,
    output: analysis.output.expr,
    mustExecute: steps.filter((s) => s.mustExecute).map((s) => s.index),
    variableDefaults: variableDefaults(parsed),
    diagnostics: analysis.diagnostics,
  };
}

/** Fills in `onError` defaults: fail; retry 3 times from 100 ms, doubling. */
export function resolveErrorAction(action: ErrorAction | null | undefined): ResolvedErrorAction {
  if (!action) return { action: 'fail' };
  switch (action.action) {
    case 'useDefault':
      return { action: 'useDefault', result: Object.freeze({ outcome: 'success', value: frozenCopy(action.defaultValue ?? null) }) };
    case 'retry':
      return { action: 'retry', maxRetries: action.maxRetries ?? DEFAULT_MAX_RETRIES, backoffMs: action.backoffMs ?? DEFAULT_BACKOFF_MS };
    default:
      return { action: action.action };
  }
}

/** `schemas.properties.variables.properties.<v>.default` (Stepflow's form) or `schemas.variables.…`. */
function variableDefaults(flow: Flow): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const schemas = asObject(flow.schemas);
  const schema = asObject(asObject(schemas?.properties)?.variables) ?? asObject(schemas?.variables);
  const props = asObject(schema?.properties);
  if (!props) return out;
  for (const [name, prop] of Object.entries(props)) {
    const p = asObject(prop);
    if (p && Object.prototype.hasOwnProperty.call(p, 'default')) out.set(name, frozenCopy(p.default));
  }
  return out;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
