/** The flow model: loading, validation, compilation, overrides (docs/flows.md). */
export { loadFlowFile, parseFlowText } from './load.js';
export { validateFlow, type Diagnostic, type ValidationResult } from './validate.js';
export { compileFlow, type CompiledFlow, type CompiledStep, type ResolvedErrorAction } from './compile.js';
export { applyOverrides, mergePatch, type StepOverride } from './overrides.js';
export { parsePath, selectPath, NOT_FOUND, PathSyntaxError, type CompiledPath } from './paths.js';
export { compileExpression, stepDependencies, type Expr } from './expressions.js';
