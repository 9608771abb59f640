import { z } from 'zod';
import {
  ErrorObjectSchema,
  ErrorResponseSchema,
  JsonRpcIdSchema,
  NotificationMessageSchema,
  RequestMessageSchema,
  SuccessResponseSchema,
} from '../protocol/jsonrpc.js';
import { NOTIFICATION_METHODS, REQUEST_METHODS } from '../protocol/methods.js';
import { RunsSubmitParams } from '../protocol/messages.js';
import { FlowSchema } from '../protocol/flow.js';
import {
  ComponentInfoSchema,
  FlowErrorSchema,
  FlowResultSchema,
  ItemCountsSchema,
  ItemResultSchema,
  ObservabilitySchema,
  RunStatusSchema,
  StatusSchema,
} from '../protocol/types.js';

/**
 * JSON Schema (draft 2020-12) generated from the zod schemas of protocol/ (docs/protocol.md).
 *
 * A message is described as its receiver reads it. Params (and the request/notification
 * envelopes) use io `input`: a sender may omit defaulted fields, and transforms are described by
 * what they accept. Results (and the response envelopes) use io `output`: what the responder
 * sends once its defaults are applied, with no extra keys.
 */

export type JsonSchema = Record<string, unknown>;

/** The generated documents, by file name under `schemas/`. */
export interface GeneratedSchemas {
  'protocol.json': JsonSchema;
  'flow.json': JsonSchema;
}

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const defRef = (id: string): string => `#/$defs/${id}`;

/**
 * Constraints zod checks with `.refine()`, which JSON Schema conversion drops; restated here in
 * JSON Schema so the documents are as strict as the parser.
 */
const REFINEMENTS = new Map<z.ZodType, JsonSchema>([
  [RunsSubmitParams, { oneOf: [{ required: ['flowId'] }, { required: ['flow'] }] }],
]);

/** Builds both documents from the current protocol schemas. Pure: same sources, same output. */
export function buildSchemas(): GeneratedSchemas {
  return { 'protocol.json': buildProtocolSchema(), 'flow.json': buildFlowSchema() };
}

/** Renders the documents as the committed files are written: 2-space JSON, trailing newline. */
export function renderSchemaFiles(schemas: GeneratedSchemas = buildSchemas()): Map<string, string> {
  return new Map(Object.entries(schemas).map(([file, doc]) => [file, `${JSON.stringify(doc, null, 2)}\n`]));
}

/** PascalCase name of a method: `components/execute` → `ComponentsExecute`, `$/cancelRequest` → `CancelRequest`. */
export function methodTypeName(method: string): string {
  return method
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** `schemas/flow.json`: the flow file format (docs/flows.md), as a flow author may write it. */
function buildFlowSchema(): JsonSchema {
  const body = convert(FlowSchema, 'input');
  return {
    $schema: DRAFT_2020_12,
    title: 'flowrun flow (Stepflow v1 flow format)',
    ...withoutKeys(body, ['$schema']),
  };
}

/** `schemas/protocol.json`: one `$defs` entry per wire message and shared type (docs/protocol.md). */
function buildProtocolSchema(): JsonSchema {
  const received = new DefRegistry('input');
  const sent = new DefRegistry('output');

  // A def may be in both registries when both ios give it the same schema (checked on merge).
  received.add('JsonRpcId', JsonRpcIdSchema);
  received.add('Observability', ObservabilitySchema);
  received.add('RequestMessage', RequestMessageSchema);
  received.add('NotificationMessage', NotificationMessageSchema);

  sent.add('JsonRpcId', JsonRpcIdSchema);
  sent.add('Status', StatusSchema);
  sent.add('ItemCounts', ItemCountsSchema);
  sent.add('FlowError', FlowErrorSchema);
  sent.add('FlowResult', FlowResultSchema);
  sent.add('ItemResult', ItemResultSchema);
  sent.add('RunStatus', RunStatusSchema);
  sent.add('ComponentInfo', ComponentInfoSchema);
  sent.add('ErrorObject', ErrorObjectSchema);
  sent.add('SuccessResponse', SuccessResponseSchema);
  sent.add('ErrorResponse', ErrorResponseSchema);

  // Typed envelopes tie each method name to its params and result.
  const envelopes: Record<string, JsonSchema> = {};
  for (const descriptor of REQUEST_METHODS) {
    const name = methodTypeName(descriptor.method);
    const params = received.add(`${name}Params`, descriptor.params);
    const result = sent.add(`${name}Result`, descriptor.result);
    envelopes[`${name}Request`] = typedEnvelope('RequestMessage', descriptor.method, descriptor.params, params);
    envelopes[`${name}Response`] = {
      type: 'object',
      allOf: [{ $ref: defRef('SuccessResponse') }],
      properties: { result: { $ref: defRef(result) } },
    };
  }
  for (const descriptor of NOTIFICATION_METHODS) {
    const name = methodTypeName(descriptor.method);
    const params = received.add(`${name}Params`, descriptor.params);
    envelopes[`${name}Notification`] = typedEnvelope('NotificationMessage', descriptor.method, descriptor.params, params);
  }

  const defs = mergeDefs([received.emit(), sent.emit(), envelopes]);
  return {
    $schema: DRAFT_2020_12,
    title: 'flowrun protocol v1 (Stepflow JSON-RPC protocol v1)',
    description:
      'Wire messages of flowrun. `<Method>Params`/`<Method>Result` are the params and result of each method; ' +
      '`<Method>Request`/`<Method>Response`/`<Method>Notification` are the complete JSON-RPC messages.',
    $defs: defs,
  };
}

/** A request or notification envelope whose `method` is fixed and whose `params` are typed. */
function typedEnvelope(envelope: string, method: string, paramsSchema: z.ZodType, paramsDef: string): JsonSchema {
  // JSON-RPC lets a message omit params; it may only when the params schema accepts that.
  const paramsOptional = paramsSchema.safeParse(undefined).success;
  return {
    type: 'object',
    allOf: [{ $ref: defRef(envelope) }],
    properties: { method: { const: method }, params: { $ref: defRef(paramsDef) } },
    required: paramsOptional ? ['method'] : ['method', 'params'],
  };
}

/**
 * Named zod schemas converted together with one io, so that a schema used inside another becomes
 * a `$ref` to its def. A schema registered twice (`runs/get` returns `RunStatus`) becomes an alias.
 */
class DefRegistry {
  private readonly registry = z.registry<{ id: string }>();
  private readonly names = new Map<z.ZodType, string>();
  private readonly aliases = new Map<string, string>();

  constructor(private readonly io: 'input' | 'output') {}

  /** Registers `schema` as def `name`; returns the def name to reference (the first name of an alias). */
  add(name: string, schema: z.ZodType): string {
    const existing = this.names.get(schema);
    if (existing !== undefined) {
      this.aliases.set(name, existing);
      return existing;
    }
    this.names.set(schema, name);
    this.registry.add(schema, { id: name });
    return name;
  }

  /** Converts every registered schema; returns the defs by name. */
  emit(): Record<string, JsonSchema> {
    const converted = z.toJSONSchema(this.registry, {
      target: 'draft-2020-12',
      io: this.io,
      uri: defRef,
      override: addRefinements,
    }).schemas as Record<string, JsonSchema>;
    if (converted.__shared !== undefined) {
      throw new Error('schema generation produced unnamed shared defs; register the reused schema with a name');
    }
    const defs: Record<string, JsonSchema> = {};
    for (const [name, schema] of Object.entries(converted)) defs[name] = anyOfForTypeLists(withoutKeys(schema, ['$schema', '$id'])) as JsonSchema;
    for (const [alias, target] of this.aliases) defs[alias] = { $ref: defRef(target) };
    return defs;
  }
}

/** Converts one schema on its own (no shared defs). */
function convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return anyOfForTypeLists(z.toJSONSchema(schema, { target: 'draft-2020-12', io, override: addRefinements })) as JsonSchema;
}

/**
 * A union of primitives comes out as `type: [a, b]`, which strict validators refuse; `anyOf` of
 * one type each says the same (metadata values: string, number or boolean).
 */
function anyOfForTypeLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(anyOfForTypeLists);
  if (typeof value !== 'object' || value === null) return value;
  const out: JsonSchema = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'type' && Array.isArray(child)) out.anyOf = child.map((type) => ({ type }));
    else out[key] = anyOfForTypeLists(child);
  }
  return out;
}

function addRefinements(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const extra = REFINEMENTS.get(ctx.zodSchema as z.ZodType);
  if (extra !== undefined) Object.assign(ctx.jsonSchema, extra);
}

/** Merges def maps sorted by name; a name defined twice must have the same schema. */
function mergeDefs(parts: Array<Record<string, JsonSchema>>): Record<string, JsonSchema> {
  const all = new Map<string, JsonSchema>();
  for (const part of parts) {
    for (const [name, schema] of Object.entries(part)) {
      const existing = all.get(name);
      if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(schema)) {
        throw new Error(`def "${name}" is generated twice with different schemas`);
      }
      all.set(name, schema);
    }
  }
  return Object.fromEntries([...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function withoutKeys(schema: JsonSchema, keys: string[]): JsonSchema {
  return Object.fromEntries(Object.entries(schema).filter(([key]) => !keys.includes(key)));
}
