import type { FlowResult } from '../../protocol/index.js';
import { parsePath, PathSyntaxError, ROOT_PATH, type CompiledPath } from './paths.js';

/**
 * Value expressions (docs/flows.md, "Expressions") compiled once into a tree the executor walks per item. Any JSON
 * without a special key is a literal resolved element-wise; a subtree with no expression inside
 * compiles to one constant, so per-item work is proportional to the expressions, not the JSON.
 */

export type Expr =
  | ConstExpr
  | InputExpr
  | StepExpr
  | VariableExpr
  | IfExpr
  | CoalesceExpr
  | ObjectExpr
  | ArrayExpr;

export interface ConstExpr {
  readonly kind: 'const';
  /** Deep-frozen: shared by every item, so nobody may mutate it. */
  readonly value: unknown;
  /** `{outcome: 'success', value}`, frozen and shared. */
  readonly result: FlowResult;
}

export interface InputExpr {
  readonly kind: 'input';
  readonly path: CompiledPath;
}

export interface StepExpr {
  readonly kind: 'step';
  readonly stepId: string;
  readonly path: CompiledPath;
  /** Index of the step in the flow; set by `compileFlow` when it links references (-1 before). */
  index: number;
}

export interface VariableExpr {
  readonly kind: 'variable';
  /** First path segment. */
  readonly name: string;
  /** The rest of the path, applied to the variable's value. */
  readonly rest: CompiledPath;
  readonly fallback?: Expr;
}

export interface IfExpr {
  readonly kind: 'if';
  readonly condition: Expr;
  readonly then: Expr;
  readonly otherwise: Expr;
}

export interface CoalesceExpr {
  readonly kind: 'coalesce';
  readonly items: readonly Expr[];
}

export interface ObjectExpr {
  readonly kind: 'object';
  readonly keys: readonly string[];
  readonly values: readonly Expr[];
}

export interface ArrayExpr {
  readonly kind: 'array';
  readonly items: readonly Expr[];
}

/** A malformed expression; `field` is its location, e.g. `steps[1].input.x.$step`. */
export interface ExpressionIssue {
  field: string;
  message: string;
}

/** A `$step` reference and where it is written. */
export interface StepReference {
  stepId: string;
  field: string;
  node: StepExpr;
}

export interface CompiledExpression {
  expr: Expr;
  issues: ExpressionIssue[];
  /** Every `$step` reference, including those in untaken `$if` branches (the static dependencies). */
  stepRefs: StepReference[];
}

/** The constant `null`. */
export const NULL_EXPR: ConstExpr = constant(null);

/** Compiles an expression; `field` names where it sits in the flow (used in issues). */
export function compileExpression(value: unknown, field: string): CompiledExpression {
  const ctx: CompileContext = { issues: [], stepRefs: [] };
  const expr = compileNode(value, field, ctx);
  return { expr, issues: ctx.issues, stepRefs: ctx.stepRefs };
}

/** The ids of every step an expression may need, lazily or not. */
export function stepDependencies(expr: Expr, into: Set<string> = new Set()): Set<string> {
  switch (expr.kind) {
    case 'step':
      into.add(expr.stepId);
      break;
    case 'variable':
      if (expr.fallback) stepDependencies(expr.fallback, into);
      break;
    case 'if':
      stepDependencies(expr.condition, into);
      stepDependencies(expr.then, into);
      stepDependencies(expr.otherwise, into);
      break;
    case 'coalesce':
    case 'array':
      for (const item of expr.items) stepDependencies(item, into);
      break;
    case 'object':
      for (const v of expr.values) stepDependencies(v, into);
      break;
    default:
      break;
  }
  return into;
}

/** True when the expression's value does not depend on the item (no `$input`, `$step`, `$variable`). */
export function isConstant(expr: Expr): expr is ConstExpr {
  return expr.kind === 'const';
}

interface CompileContext {
  issues: ExpressionIssue[];
  stepRefs: StepReference[];
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function compileNode(value: unknown, field: string, ctx: CompileContext): Expr {
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileNode(v, `${field}[${i}]`, ctx));
    return items.every(isConstant) ? constant(items.map((e) => e.value), true) : { kind: 'array', items };
  }
  if (typeof value !== 'object' || value === null) return constant(value);
  const obj = value as Record<string, unknown>;
  // Precedence when several special keys are present, as in Stepflow (docs/flows.md, "Expressions").
  if (has(obj, '$literal')) return constant(obj.$literal);
  if (has(obj, '$if')) return compileIf(obj, field, ctx);
  if (has(obj, '$coalesce')) return compileCoalesce(obj, field, ctx);
  if (has(obj, '$step')) return compileStep(obj.$step, obj.path, `${field}.$step`, `${field}.path`, ctx);
  if (has(obj, '$input')) return compileInput(obj.$input, `${field}.$input`, ctx);
  if (has(obj, '$variable')) return compileVariable(obj, field, ctx);
  if (has(obj, '$from')) return compileFrom(obj, field, ctx);
  const keys = Object.keys(obj);
  const values = keys.map((k) => compileNode(obj[k], `${field}.${k}`, ctx));
  if (values.every(isConstant)) {
    const out: Record<string, unknown> = {};
    // defineProperty, so a `__proto__` key from JSON stays data instead of changing the prototype.
    keys.forEach((k, i) => Object.defineProperty(out, k, { value: (values[i] as ConstExpr).value, enumerable: true, writable: true, configurable: true }));
    return constant(out, true);
  }
  return { kind: 'object', keys, values };
}

function compileIf(obj: Record<string, unknown>, field: string, ctx: CompileContext): Expr {
  if (!has(obj, 'then')) {
    ctx.issues.push({ field: `${field}.then`, message: '"$if" requires "then"' });
    return NULL_EXPR;
  }
  const condition = compileNode(obj.$if, `${field}.$if`, ctx);
  const then = compileNode(obj.then, `${field}.then`, ctx);
  const otherwise = has(obj, 'else') ? compileNode(obj.else, `${field}.else`, ctx) : NULL_EXPR;
  return { kind: 'if', condition, then, otherwise };
}

function compileCoalesce(obj: Record<string, unknown>, field: string, ctx: CompileContext): Expr {
  const list = obj.$coalesce;
  if (!Array.isArray(list)) {
    ctx.issues.push({ field: `${field}.$coalesce`, message: '"$coalesce" must be an array of expressions' });
    return NULL_EXPR;
  }
  return { kind: 'coalesce', items: list.map((v, i) => compileNode(v, `${field}.$coalesce[${i}]`, ctx)) };
}

function compileStep(id: unknown, path: unknown, idField: string, pathField: string, ctx: CompileContext): Expr {
  if (typeof id !== 'string' || id === '') {
    ctx.issues.push({ field: idField, message: 'a step reference must be a non-empty string (the step id)' });
    return NULL_EXPR;
  }
  const compiledPath = compilePath(path, pathField, ctx);
  const node: StepExpr = { kind: 'step', stepId: id, path: compiledPath, index: -1 };
  ctx.stepRefs.push({ stepId: id, field: idField, node });
  return node;
}

function compileInput(path: unknown, field: string, ctx: CompileContext): Expr {
  return { kind: 'input', path: compilePath(path, field, ctx) };
}

function compileVariable(obj: Record<string, unknown>, field: string, ctx: CompileContext): Expr {
  const path = compilePath(obj.$variable, `${field}.$variable`, ctx);
  const [name, ...rest] = path.segments;
  if (typeof name !== 'string') {
    ctx.issues.push({
      field: `${field}.$variable`,
      message: name === undefined ? 'variable path is empty: name a variable' : 'a variable path must start with the variable name',
    });
    return NULL_EXPR;
  }
  const fallback = has(obj, 'default') ? compileNode(obj.default, `${field}.default`, ctx) : undefined;
  const restPath: CompiledPath = rest.length === 0 ? ROOT_PATH : { text: path.text, segments: rest };
  return fallback === undefined ? { kind: 'variable', name, rest: restPath } : { kind: 'variable', name, rest: restPath, fallback };
}

function compileFrom(obj: Record<string, unknown>, field: string, ctx: CompileContext): Expr {
  const from = obj.$from;
  if (typeof from === 'object' && from !== null && !Array.isArray(from)) {
    const source = from as Record<string, unknown>;
    if (has(source, 'step')) return compileStep(source.step, obj.path, `${field}.$from.step`, `${field}.path`, ctx);
    if (source.workflow === 'input') return compileInput(obj.path ?? null, `${field}.path`, ctx);
  }
  ctx.issues.push({ field: `${field}.$from`, message: '"$from" must be {step: <id>} or {workflow: input}' });
  return NULL_EXPR;
}

function compilePath(path: unknown, field: string, ctx: CompileContext): CompiledPath {
  if (path === undefined || path === null) return ROOT_PATH;
  if (typeof path !== 'string') {
    ctx.issues.push({ field, message: 'a path must be a string or null' });
    return ROOT_PATH;
  }
  try {
    return parsePath(path);
  } catch (err) {
    if (!(err instanceof PathSyntaxError)) throw err;
    ctx.issues.push({ field, message: err.message });
    return ROOT_PATH;
  }
}

/** A deep-frozen copy of a JSON value, safe to share between items. */
export function frozenCopy<T>(value: T): T {
  return typeof value !== 'object' || value === null ? value : deepFreeze(structuredClone(value));
}

/** `owned`: the value was built here; otherwise it is part of the caller's flow and is copied before freezing. */
function constant(value: unknown, owned = false): ConstExpr {
  const frozen = owned ? deepFreeze(value) : frozenCopy(value);
  return { kind: 'const', value: frozen, result: Object.freeze({ outcome: 'success', value: frozen }) as FlowResult };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
