import { FlowSchema, formatPath, type Flow } from '../../protocol/index.js';
import { compileExpression, NULL_EXPR, type CompiledExpression } from './expressions.js';

/**
 * Flow validation (docs/flows.md): structure through `FlowSchema`, then references, cycles and
 * expression forms, each reported with the step id and the field it concerns. Unlike Stepflow,
 * a step may reference a step defined later: the steps form a DAG, not a sequence.
 */

/** One problem found in a flow. `field` is a path such as `steps[1].input.x.$step`. */
export interface Diagnostic {
  level: 'error' | 'warning';
  stepId?: string;
  field: string;
  message: string;
}

export interface ValidationResult {
  /** The parsed flow; absent when there is any error-level diagnostic. */
  flow?: Flow;
  diagnostics: Diagnostic[];
}

/** What validation learnt about a flow, kept so compiling does not parse expressions twice. */
export interface FlowAnalysis extends ValidationResult {
  /** Per entry of `steps` (in order): its compiled input and skipIf. */
  steps: Array<{ input: CompiledExpression; skipIf?: CompiledExpression }>;
  output: CompiledExpression;
}

/**
 * Keys Stepflow's own flows carry and its runtime ignores without a word (schema spellings of its
 * older docs, a top-level example `input`): accepted silently, with no effect, so those flows load
 * unchanged and without noise. Every other unknown key is warned about.
 */
const LEGACY_TOP_LEVEL_KEYS = ['inputSchema', 'outputSchema', 'input_schema', 'output_schema', 'variables_schema', 'input'];
const LEGACY_STEP_KEYS = ['inputSchema', 'outputSchema', 'input_schema', 'output_schema'];

const TOP_LEVEL_KEYS = new Set([
  'schema', 'name', 'description', 'version', 'schemas',
  'steps', 'output', 'test', 'examples', 'metadata', ...LEGACY_TOP_LEVEL_KEYS,
]);
const STEP_KEYS = new Set(['id', 'component', 'input', 'onError', 'skipIf', 'mustExecute', 'metadata', 'timeoutMs', ...LEGACY_STEP_KEYS]);

/** Validates a flow value (parsed YAML/JSON); never throws. */
export function validateFlow(value: unknown): ValidationResult {
  const { flow, diagnostics } = analyzeFlow(value);
  return flow === undefined ? { diagnostics } : { flow, diagnostics };
}

/** Validates a flow and keeps the compiled expressions (used by `compileFlow`). */
export function analyzeFlow(value: unknown): FlowAnalysis {
  const diagnostics: Diagnostic[] = [];
  const emptyOutput = compileExpression(null, 'output');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    diagnostics.push({ level: 'error', field: '(root)', message: 'a flow must be an object' });
    return { diagnostics, steps: [], output: emptyOutput };
  }
  const raw = value as Record<string, unknown>;
  const rawSteps = Array.isArray(raw.steps) ? (raw.steps as unknown[]) : [];
  const stepIdAt = (i: unknown): string | undefined => {
    const s = typeof i === 'number' ? rawSteps[i] : undefined;
    return isObject(s) && typeof s.id === 'string' ? s.id : undefined;
  };

  const parsed = FlowSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const inStep = issue.path[0] === 'steps' && issue.path.length > 1;
      diagnostics.push(withStep(
        { level: 'error', field: formatPath(issue.path) || '(root)', message: issue.message },
        inStep ? stepIdAt(issue.path[1]) : undefined,
      ));
    }
  }
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL_KEYS.has(key)) diagnostics.push({ level: 'warning', field: key, message: `unknown key "${key}" is ignored` });
  }

  const analysis = analyzeSteps(rawSteps, raw.output, diagnostics);
  const hasError = diagnostics.some((d) => d.level === 'error');
  return hasError || !parsed.success
    ? { diagnostics, ...analysis }
    : { flow: parsed.data, diagnostics, ...analysis };
}

function analyzeSteps(rawSteps: unknown[], rawOutput: unknown, diagnostics: Diagnostic[]): Omit<FlowAnalysis, 'diagnostics' | 'flow'> {
  const firstIndex = new Map<string, number>();
  const compiled: FlowAnalysis['steps'] = [];
  rawSteps.forEach((step, i) => {
    if (!isObject(step)) {
      compiled.push({ input: { expr: NULL_EXPR, issues: [], stepRefs: [] } });
      return; // the schema reported it
    }
    const id = typeof step.id === 'string' ? step.id : undefined;
    const report = (field: string, message: string, level: Diagnostic['level'] = 'error'): void => {
      diagnostics.push(withStep({ level, field, message }, id));
    };
    if (id === '') report(`steps[${i}].id`, 'a step id must not be empty');
    else if (id !== undefined) {
      const earlier = firstIndex.get(id);
      if (earlier !== undefined) report(`steps[${i}].id`, `duplicate step id "${id}" (also steps[${earlier}])`);
      else firstIndex.set(id, i);
    }
    if (typeof step.component === 'string' && !step.component.startsWith('/')) {
      report(`steps[${i}].component`, `component "${step.component}" must start with "/"`);
    }
    for (const key of Object.keys(step)) {
      if (!STEP_KEYS.has(key)) report(`steps[${i}].${key}`, `unknown step key "${key}" is ignored`, 'warning');
    }
    const input = compileExpression(step.input ?? null, `steps[${i}].input`);
    const skipIf = step.skipIf === undefined ? undefined : compileExpression(step.skipIf, `steps[${i}].skipIf`);
    for (const issue of [...input.issues, ...(skipIf?.issues ?? [])]) report(issue.field, issue.message);
    compiled.push(skipIf === undefined ? { input } : { input, skipIf });
  });

  const output = compileExpression(rawOutput ?? null, 'output');
  for (const issue of output.issues) diagnostics.push({ level: 'error', field: issue.field, message: issue.message });

  checkReferences(rawSteps, compiled, output, firstIndex, diagnostics);
  return { steps: compiled, output };
}

/** Unknown and self references, cycles, and steps nothing needs. */
function checkReferences(
  rawSteps: unknown[],
  compiled: FlowAnalysis['steps'],
  output: CompiledExpression,
  indexOf: Map<string, number>,
  diagnostics: Diagnostic[],
): void {
  const ids = rawSteps.map((s) => (isObject(s) && typeof s.id === 'string' ? s.id : undefined));
  // edges[i]: the steps step i needs, each with the field of (the first) reference.
  const edges: Array<Map<number, string>> = compiled.map(() => new Map());
  compiled.forEach((c, i) => {
    const own = ids[i];
    for (const ref of [...c.input.stepRefs, ...(c.skipIf?.stepRefs ?? [])]) {
      const target = indexOf.get(ref.stepId);
      if (ref.stepId === own) {
        diagnostics.push(withStep({ level: 'error', field: ref.field, message: `step "${own}" references itself` }, own));
      } else if (target === undefined) {
        diagnostics.push(withStep({ level: 'error', field: ref.field, message: `"$step" names unknown step "${ref.stepId}"` }, own));
      } else if (!edges[i].has(target)) {
        edges[i].set(target, ref.field);
      }
    }
  });
  for (const ref of output.stepRefs) {
    if (!indexOf.has(ref.stepId)) {
      diagnostics.push({ level: 'error', field: ref.field, message: `"$step" names unknown step "${ref.stepId}"` });
    }
  }
  reportCycles(ids, edges, diagnostics);

  // Reachability: what output and mustExecute steps need, transitively.
  const reached = new Set<number>();
  const visit = (i: number): void => {
    if (reached.has(i)) return;
    reached.add(i);
    for (const t of edges[i].keys()) visit(t);
  };
  for (const ref of output.stepRefs) {
    const t = indexOf.get(ref.stepId);
    if (t !== undefined) visit(t);
  }
  rawSteps.forEach((s, i) => {
    if (isObject(s) && s.mustExecute === true) visit(i);
  });
  rawSteps.forEach((s, i) => {
    const id = ids[i];
    if (id === undefined || id === '' || reached.has(i) || indexOf.get(id) !== i) return;
    diagnostics.push({
      level: 'warning',
      stepId: id,
      field: `steps[${i}]`,
      message: `step "${id}" is unreachable: neither the output nor a mustExecute step needs it, so it never runs`,
    });
  });
}

/** Depth-first search; each cycle is reported once, on the step whose reference closes it. */
function reportCycles(ids: Array<string | undefined>, edges: Array<Map<number, string>>, diagnostics: Diagnostic[]): void {
  const state = new Uint8Array(edges.length); // 0 new, 1 on the stack, 2 done
  const stack: number[] = [];
  const dfs = (i: number): void => {
    state[i] = 1;
    stack.push(i);
    for (const [t, field] of edges[i]) {
      if (state[t] === 1) {
        const cycle = stack.slice(stack.indexOf(t)).map((k) => `"${ids[k]}"`);
        diagnostics.push(withStep(
          { level: 'error', field, message: `cycle between steps ${[...cycle, `"${ids[t]}"`].join(' → ')}` },
          ids[i],
        ));
      } else if (state[t] === 0) {
        dfs(t);
      }
    }
    stack.pop();
    state[i] = 2;
  };
  for (let i = 0; i < edges.length; i++) if (state[i] === 0) dfs(i);
}

function withStep(d: Diagnostic, stepId: string | undefined): Diagnostic {
  return stepId === undefined ? d : { level: d.level, stepId, field: d.field, message: d.message };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
