import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FlowErrorSchema } from '../../protocol/index.js';
import type { ConfigReader, FieldPath } from './config-reader.js';
import type { MockBehavior, MockBehaviorEntry, MockComponentConfig } from './types.js';

const JsonObject = z.record(z.string(), z.unknown());

const ComponentSchema = z.object({
  description: z.string().optional(),
  input_schema: JsonObject.optional(),
  inputSchema: JsonObject.optional(),
  output_schema: JsonObject.optional(),
  outputSchema: JsonObject.optional(),
  behaviors: z.unknown().optional(),
});

const SuccessSchema = z.object({ outcome: z.literal('success'), value: z.unknown().optional(), result: z.unknown().optional() });
const FailedSchema = z.object({ outcome: z.literal('failed'), error: FlowErrorSchema });

const BEHAVIOR_FORMS =
  'expected {outcome: success, result: …}, {outcome: failed, error: {code, message}} or {error: "<message>"}';

/** Parses a mock plugin's `components` (docs/config.md, "type: mock"): component path → schemas and behaviours. */
export function parseMockComponents(raw: unknown, path: FieldPath, reader: ConfigReader): Record<string, MockComponentConfig> {
  const components = reader.parse(z.record(z.string(), z.unknown()), toPlainKeys(raw), path);
  const parsed: Record<string, MockComponentConfig> = {};
  for (const [name, value] of Object.entries(components)) {
    const at = [...path, name];
    const component = reader.parse(ComponentSchema, toPlainKeys(value), at);
    // Components are called by their plugin-relative path, which routing always starts with "/".
    const key = name.startsWith('/') ? name : `/${name}`;
    parsed[key] = {
      ...(component.description === undefined ? {} : { description: component.description }),
      ...optionalSchema('inputSchema', component.inputSchema ?? component.input_schema),
      ...optionalSchema('outputSchema', component.outputSchema ?? component.output_schema),
      behaviors: parseBehaviors(component.behaviors, [...at, 'behaviors'], reader),
    };
  }
  return parsed;
}

/**
 * Behaviours come in three shapes: a YAML mapping with mapping keys (a Map here, see
 * yaml-values.ts), a plain mapping (JSON, or YAML whose loader turned complex keys into strings),
 * or an array of `{input, outcome, result|error}` / `{input, error: "<message>"}`.
 */
function parseBehaviors(raw: unknown, path: FieldPath, reader: ConfigReader): MockBehaviorEntry[] {
  if (raw === undefined || raw === null) return [];
  if (raw instanceof Map) {
    return [...raw].map(([input, behavior], i) => ({ input: toPlainJson(input), behavior: parseBehavior(behavior, [...path, i], reader) }));
  }
  if (Array.isArray(raw)) {
    return raw.map((entry, i) => {
      if (typeof entry !== 'object' || entry === null || !('input' in entry)) {
        return reader.fail([...path, i], 'each behavior needs an `input` (use `input: null` to match null)');
      }
      const { input, ...behavior } = entry as Record<string, unknown>;
      return { input: toPlainJson(input), behavior: parseBehavior(behavior, [...path, i], reader) };
    });
  }
  if (typeof raw === 'object') {
    return Object.entries(raw).map(([key, behavior]) => ({
      input: inputFromStringKey(key),
      behavior: parseBehavior(behavior, [...path, key], reader),
    }));
  }
  return reader.fail(path, 'expected a mapping from input to behavior, or a list of {input, outcome, result | error}');
}

function parseBehavior(raw: unknown, path: FieldPath, reader: ConfigReader): MockBehavior {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Map) return reader.fail(path, BEHAVIOR_FORMS);
  const record = raw as Record<string, unknown>;
  if (record.outcome === 'success') {
    if (!('result' in record) && !('value' in record)) return reader.fail(path, 'a success behavior needs `result` (or `value`)');
    const success = reader.parse(SuccessSchema, record, path);
    return { outcome: 'success', value: toPlainJson('value' in record ? success.value : success.result) };
  }
  if (record.outcome === 'failed') {
    const failed = reader.parse(FailedSchema, toPlainJson(record), path);
    return { outcome: 'failed', error: failed.error };
  }
  if (record.outcome !== undefined) return reader.fail([...path, 'outcome'], 'outcome must be "success" or "failed"');
  if (typeof record.error === 'string') return { error: record.error };
  return reader.fail(path, BEHAVIOR_FORMS);
}

/**
 * A string key that reads as a flow mapping or sequence (`{ input: "a" }`, `{"input":"a"}`) is
 * taken as that value: JSON cannot write any other key, and YAML loaders that do not keep
 * complex keys stringify them this way. Every other key is the string itself.
 */
function inputFromStringKey(key: string): unknown {
  const trimmed = key.trim();
  const looksLikeCollection = (trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'));
  if (!looksLikeCollection) return key;
  try {
    return parseYaml(trimmed);
  } catch {
    return key;
  }
}

function optionalSchema(name: 'inputSchema' | 'outputSchema', schema: Record<string, unknown> | undefined) {
  return schema === undefined ? {} : { [name]: schema };
}

/** A Map with only scalar keys becomes a plain object, so zod can check it like one. */
function toPlainKeys(value: unknown): unknown {
  return value instanceof Map ? toPlainJson(value) : value;
}

/** Converts any Map left in a value to a plain object (non-string keys written as JSON). */
export function toPlainJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([key, item]) => [typeof key === 'string' ? key : JSON.stringify(key), toPlainJson(item)]));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toPlainJson(item)]));
  }
  return value;
}
