import jsonPatch from 'fast-json-patch';
import { RpcError, type Flow } from '../../protocol/index.js';
import { validateFlow } from './validate.js';

/**
 * Run overrides (docs/flows.md, "Overrides"): per step id, an RFC 7396 merge patch (default) or an RFC 6902 JSON
 * patch applied to the step's JSON. The patched flow is validated again.
 */

export interface StepOverride {
  $type?: 'merge_patch' | 'json_patch';
  value: unknown;
}

/**
 * Applies overrides to a copy of `flow` (`flow` itself when there are none); throws RpcError
 * -32602 on an unknown step, a patch that does not apply, or a patched flow that is invalid.
 */
export function applyOverrides(flow: Flow, overrides: Readonly<Record<string, StepOverride>>): Flow {
  const entries = Object.entries(overrides);
  if (entries.length === 0) return flow;
  const steps = flow.steps.map((s) => s as unknown);
  for (const [stepId, override] of entries) {
    const index = flow.steps.findIndex((s) => s.id === stepId);
    if (index < 0) throw RpcError.invalidParams(`override names unknown step "${stepId}"`, { stepId });
    const type = override.$type ?? 'merge_patch';
    steps[index] = type === 'json_patch'
      ? applyJsonPatch(steps[index], override.value, stepId)
      : mergePatch(steps[index], override.value);
  }
  const { flow: patched, diagnostics } = validateFlow({ ...flow, steps });
  if (!patched) {
    const first = diagnostics.find((d) => d.level === 'error');
    const where = first ? `${first.stepId === undefined ? '' : `step "${first.stepId}", `}field "${first.field}": ${first.message}` : 'malformed';
    throw RpcError.invalidParams(`overrides make the flow invalid: ${where}`, { diagnostics });
  }
  return patched;
}

/** RFC 7396: objects merge key by key, `null` removes a key, anything else replaces. Does not mutate. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    // defineProperty, so a `__proto__` key is data, never a prototype change.
    else Object.defineProperty(out, key, { value: mergePatch(out[key], value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function applyJsonPatch(step: unknown, operations: unknown, stepId: string): unknown {
  if (!Array.isArray(operations)) {
    throw RpcError.invalidParams(`json_patch override for step "${stepId}" must be an array of operations`, { stepId });
  }
  try {
    // Validate each operation; work on a clone so a failed patch leaves the flow untouched.
    return jsonPatch.applyPatch(jsonPatch.deepClone(step), operations, true, true, true).newDocument;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw RpcError.invalidParams(`json_patch override for step "${stepId}" failed: ${message}`, { stepId });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
