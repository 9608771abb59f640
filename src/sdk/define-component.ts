import type { z } from 'zod';
import type { ComponentContext } from './component-context.js';

/** What a user writes to define one component (docs/sdk.md). */
export interface ComponentDefinition<I extends z.ZodType, O extends z.ZodType> {
  /** The component path, with or without the leading `/` (`greet` and `/greet` name the same component). */
  name: string;
  description?: string;
  /** Validates and parses the input; omitted means any JSON value. */
  input?: I;
  /** Describes the output; checked against what the handler returns when `validateOutput` is on. */
  output?: O;
  handler(input: z.output<I>, ctx: ComponentContext): z.input<O> | Promise<z.input<O>>;
}

/** A component as the server holds it: its name normalized to a leading `/`. */
export interface Component<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description?: string;
  readonly input?: I;
  readonly output?: O;
  handler(input: z.output<I>, ctx: ComponentContext): z.input<O> | Promise<z.input<O>>;
}

/** Defines a component; the handler's input type is inferred from the `input` schema. */
export function defineComponent<I extends z.ZodType = z.ZodUnknown, O extends z.ZodType = z.ZodUnknown>(
  definition: ComponentDefinition<I, O>,
): Component<I, O> {
  const name = normalizeComponentName(definition.name);
  if (name === '/') throw new Error('defineComponent: "name" must not be empty');
  if (typeof definition.handler !== 'function') {
    throw new Error(`defineComponent: component "${name}" needs a "handler" function`);
  }
  return Object.freeze({ ...definition, name });
}

/** `greet` and `/greet` both become `/greet`. */
export function normalizeComponentName(name: string): string {
  const trimmed = name.trim();
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
