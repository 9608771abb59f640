import { RpcError, type Flow } from '../../protocol/index.js';

/** A flow step whose component no route takes. */
export interface UnroutedStep {
  stepId: string;
  component: string;
  /** Where in the flow, e.g. `steps[2].component`. */
  field: string;
}

/** Every step of `flow` whose component `isRoutable` refuses, in flow order. */
export function findUnroutedSteps(flow: Flow, isRoutable: (component: string) => boolean): UnroutedStep[] {
  const found: UnroutedStep[] = [];
  flow.steps.forEach((step, i) => {
    if (!isRoutable(step.component)) found.push({ stepId: step.id, component: step.component, field: `steps[${i}].component` });
  });
  return found;
}

/**
 * Refuses a run before it starts when a step's component has no route: one clear `-32602`
 * naming the step and component, instead of every item failing the same way (docs/cli.md).
 */
export function refuseUnroutedSteps(flow: Flow, isRoutable: (component: string) => boolean): void {
  const unrouted = findUnroutedSteps(flow, isRoutable);
  if (unrouted.length === 0) return;
  const first = unrouted[0];
  const more = unrouted.length > 1 ? ` (and ${unrouted.length - 1} more step(s))` : '';
  throw RpcError.invalidParams(
    `Invalid params for runs/submit: field "flow.${first.field}": step "${first.stepId}": no route for component "${first.component}"${more}`,
    { stepId: first.stepId, component: first.component, field: `flow.${first.field}`, unrouted },
  );
}
