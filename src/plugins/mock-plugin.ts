import { ErrorCodes, type ComponentInfo, type FlowResult } from '../../protocol/index.js';
import type { MockComponentConfig, MockPluginConfig } from '../config/types.js';
import { ComponentError } from '../calls/component-error.js';
import { jsonEqual } from '../values/json-equal.js';
import type { ComponentCall, Plugin } from '../calls/plugin.js';

/**
 * Answers component calls from canned behaviours (docs/config.md, "type: mock"): the behaviour whose input
 * deep-equals the call's input (key order irrelevant) gives the result. A FlowResult behaviour is
 * returned as is (a `failed` one propagates with its own code); `{error}` fails the call.
 */
export class MockPlugin implements Plugin {
  readonly #components: ReadonlyMap<string, MockComponentConfig>;

  constructor(
    readonly name: string,
    config: Pick<MockPluginConfig, 'components'>,
  ) {
    this.#components = new Map(Object.entries(config.components));
  }

  async start(): Promise<void> {}

  async execute(call: ComponentCall): Promise<FlowResult> {
    const context = { component: call.component, plugin: this.name, ...call.scope };
    if (call.signal?.aborted) {
      throw new ComponentError({ code: ErrorCodes.RequestCancelled, message: `${call.component} was cancelled` }, context);
    }
    const component = this.#components.get(call.component);
    if (!component) {
      throw new ComponentError(
        {
          code: ErrorCodes.ComponentNotFound,
          message: `component "${call.component}" not found in mock plugin "${this.name}"`,
          data: { component: call.component, plugin: this.name },
        },
        context,
      );
    }
    const match = component.behaviors.find((entry) => jsonEqual(entry.input, call.input));
    if (!match) {
      throw new ComponentError(
        {
          code: ErrorCodes.ComponentExecutionFailed,
          message: `No behavior defined for ${call.component} on ${JSON.stringify(call.input) ?? 'undefined'}`,
          data: { component: call.component, input: call.input },
        },
        context,
      );
    }
    const behavior = match.behavior;
    if ('outcome' in behavior) {
      // A copy: callers may change the value, the canned one must stay as configured.
      return structuredClone(behavior);
    }
    throw new ComponentError({ code: ErrorCodes.ComponentExecutionFailed, message: behavior.error }, context);
  }

  async listComponents(): Promise<ComponentInfo[]> {
    return [...this.#components].map(([component, config]) => ({
      component,
      ...(config.description === undefined ? {} : { description: config.description }),
      ...(config.inputSchema === undefined ? {} : { input_schema: config.inputSchema }),
      ...(config.outputSchema === undefined ? {} : { output_schema: config.outputSchema }),
    }));
  }

  async close(): Promise<void> {}
}
