import type { FlowResult } from '../../protocol/index.js';
import type { StepInvocation, StepInvoker } from '../../src/executor/item-executor.js';
import { ComponentError } from '../../src/calls/component-error.js';
import { compileFlow, type CompiledFlow } from '../../src/flow/compile.js';
import { parseFlowText } from '../../src/flow/load.js';

/** What a fake step does on one call: return a result, or throw (the invoker then rejects). */
export type FakeBehaviour = (inv: StepInvocation) => FlowResult | Promise<FlowResult>;

interface HeldCall {
  inv: StepInvocation;
  resolve: (r: FlowResult) => void;
  reject: (e: unknown) => void;
}

/**
 * An in-memory StepInvoker: records every call, answers per step id (default: success with
 * `{step, input}`), and can hold calls until the test releases them. Held calls reject with a
 * -32800 ComponentError when their signal aborts, like a real plugin.
 */
export class FakeInvoker {
  readonly calls: StepInvocation[] = [];
  readonly aborted: string[] = [];
  private readonly behaviours = new Map<string, FakeBehaviour>();
  private readonly holding = new Set<string>();
  private readonly held: HeldCall[] = [];
  private readonly callWaiters: Array<{ stepId: string; count: number; resolve: () => void }> = [];

  /** Sets what calls of `stepId` do. */
  on(stepId: string, behaviour: FakeBehaviour): this {
    this.behaviours.set(stepId, behaviour);
    return this;
  }

  /** Calls of `stepId` stay pending until `release`. */
  hold(...stepIds: string[]): this {
    for (const id of stepIds) this.holding.add(id);
    return this;
  }

  /** Answers the oldest held call of `stepId` (with its behaviour's result unless `result` is given). */
  release(stepId: string, result?: FlowResult): void {
    const index = this.held.findIndex((h) => h.inv.stepId === stepId);
    if (index < 0) throw new Error(`no held call of ${stepId}`);
    const [call] = this.held.splice(index, 1);
    if (result) call.resolve(result);
    else Promise.resolve().then(() => this.answer(call.inv)).then(call.resolve, call.reject);
  }

  /** Resolves once `stepId` has been called `count` times. */
  called(stepId: string, count = 1): Promise<void> {
    if (this.callsOf(stepId).length >= count) return Promise.resolve();
    return new Promise((resolve) => this.callWaiters.push({ stepId, count, resolve }));
  }

  callsOf(stepId: string): StepInvocation[] {
    return this.calls.filter((c) => c.stepId === stepId);
  }

  stepIds(): string[] {
    return this.calls.map((c) => c.stepId);
  }

  heldStepIds(): string[] {
    return this.held.map((h) => h.inv.stepId);
  }

  readonly invoke: StepInvoker = (inv) => {
    this.calls.push(inv);
    for (const w of [...this.callWaiters]) {
      if (w.stepId === inv.stepId && this.callsOf(inv.stepId).length >= w.count) {
        this.callWaiters.splice(this.callWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
    if (!this.holding.has(inv.stepId)) return Promise.resolve().then(() => this.answer(inv));
    return new Promise<FlowResult>((resolve, reject) => {
      const call: HeldCall = { inv, resolve, reject };
      this.held.push(call);
      inv.signal?.addEventListener('abort', () => {
        this.aborted.push(inv.stepId);
        const i = this.held.indexOf(call);
        if (i >= 0) this.held.splice(i, 1);
        reject(new ComponentError({ code: -32800, message: 'request cancelled' }));
      }, { once: true });
    });
  };

  private answer(inv: StepInvocation): FlowResult | Promise<FlowResult> {
    const behaviour = this.behaviours.get(inv.stepId);
    return behaviour ? behaviour(inv) : { outcome: 'success', value: { step: inv.stepId, input: inv.input } };
  }
}

/** Compiles flow YAML written in a test. */
export function flowOf(yaml: string): CompiledFlow {
  return compileFlow(parseFlowText(yaml, 'test.yaml'));
}

/** A success result. */
export const ok = (value: unknown): FlowResult => ({ outcome: 'success', value });

/** A ComponentError with `code`: an error the component answered. */
export const componentError = (code: number, message = 'boom', data?: unknown): ComponentError =>
  new ComponentError(data === undefined ? { code, message } : { code, message, data });

/** A call lost with its connection (-32005, marked as a transport failure by the plugin). */
export const transportError = (message = 'connection lost'): ComponentError =>
  ComponentError.transport({ code: -32005, message });
