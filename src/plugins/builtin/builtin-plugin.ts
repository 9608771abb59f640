import { ErrorCodes, type ComponentInfo, type FlowResult } from '../../../protocol/index.js';
import { ComponentError } from '../../calls/component-error.js';
import type { ComponentCall, Plugin } from '../../calls/plugin.js';
import type { BuiltinComponent, BuiltinHost } from './builtin-component.js';
import { createMessagesBuiltin } from './create-messages.js';
import { evalBuiltin } from './eval.js';
import { getBlobBuiltin } from './get-blob.js';
import { iterateBuiltin } from './iterate.js';
import { loadFileBuiltin } from './load-file.js';
import { mapBuiltin } from './map.js';
import { putBlobBuiltin } from './put-blob.js';

/** Every builtin component (docs/builtins.md), by plugin-relative path. */
export const BUILTIN_COMPONENTS: readonly BuiltinComponent[] = [
  createMessagesBuiltin,
  evalBuiltin,
  getBlobBuiltin,
  iterateBuiltin,
  loadFileBuiltin,
  mapBuiltin,
  putBlobBuiltin,
];

/** The `builtin` plugin: components that run inside the runtime, over its blob store and runs. */
export class BuiltinPlugin implements Plugin {
  private readonly components = new Map(BUILTIN_COMPONENTS.map((c) => [c.path, c]));
  private infos: ComponentInfo[] | undefined;

  constructor(
    private readonly host: BuiltinHost,
    readonly name = 'builtin',
  ) {}

  async start(): Promise<void> {}

  /** Runs a builtin; rejects with `ComponentError` (-32001 for an unknown path, -32602 for a bad input). */
  execute(call: ComponentCall): Promise<FlowResult> {
    const component = this.components.get(call.component);
    if (component === undefined) {
      return Promise.reject(
        new ComponentError(
          { code: ErrorCodes.ComponentNotFound, message: `Component not found: builtin ${call.component}`, data: { component: call.component } },
          { component: call.component, plugin: this.name },
        ),
      );
    }
    return component.execute(call, this.host);
  }

  async listComponents(): Promise<ComponentInfo[]> {
    this.infos ??= [...this.components.values()].map((c) => c.info());
    return this.infos;
  }

  async close(): Promise<void> {}
}
