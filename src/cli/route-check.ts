import type { Flow } from '../../protocol/index.js';
import { formatDiagnostic } from '../flow/load.js';
import type { Router } from '../routing/router.js';
import { findUnroutedSteps } from '../runs/unrouted-steps.js';
import { UsageError } from './usage-error.js';

/**
 * Diagnostics for the steps whose component no route takes, one per step, as
 * `file: error: step "id" field "steps[i].component": no route for component "…" in CONFIG`.
 */
export function unroutedDiagnostics(flow: Flow, flowPath: string, router: Router, configFile: string | undefined): string[] {
  return findUnroutedSteps(flow, (c) => router.hasRouteFor(c)).map((s) =>
    formatDiagnostic(flowPath, {
      level: 'error',
      stepId: s.stepId,
      field: s.field,
      message: `no route for component "${s.component}" in ${configFile ?? 'the default config'}`,
    }),
  );
}

/** Refuses (exit 2) a flow with a step no route takes, before any item runs. */
export function refuseUnroutedLocally(flow: Flow, flowPath: string, router: Router, configFile: string | undefined): void {
  const problems = unroutedDiagnostics(flow, flowPath, router, configFile);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
}
