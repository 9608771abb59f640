import type { Observability } from '../../../protocol/index.js';
import type { ComponentCall } from '../../calls/plugin.js';

/** Step ids whose shared observability one cache keeps. */
const MAX_SHARED_OBSERVABILITY = 256;

/**
 * The observability sent with each execute: the call's own, completed with the scope's run, flow
 * and step ids. Calls without their own share one frozen object per step, so the calls of a step
 * of a run send one object whose JSON text is made once (protocol/wire-json.ts).
 */
export class SharedObservability {
  private readonly byStep = new Map<string, Observability>();

  for(call: ComponentCall): Observability {
    const { runId, flowId, stepId } = call.scope;
    if (call.observability !== undefined) return { run_id: runId, flow_id: flowId, step_id: stepId, ...definedEntries(call.observability) };
    const shared = this.byStep.get(stepId);
    if (shared !== undefined && shared.run_id === runId && shared.flow_id === flowId) return shared;
    // Bounded: the steps of the flows running now; older entries are made again when needed.
    if (this.byStep.size >= MAX_SHARED_OBSERVABILITY) this.byStep.clear();
    const created = Object.freeze<Observability>({ run_id: runId, flow_id: flowId, step_id: stepId });
    this.byStep.set(stepId, created);
    return created;
  }
}

/** The entries of `own` whose value is defined (they override the scope's ids). */
function definedEntries(own: Observability): Observability {
  const entries: Observability = {};
  for (const key in own) {
    const value = own[key as keyof Observability];
    if (value !== undefined) entries[key as keyof Observability] = value;
  }
  return entries;
}
