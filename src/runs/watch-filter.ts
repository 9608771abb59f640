import type { RunStatus, RunsWatchFilter } from '../../protocol/index.js';
import { metadataMatches } from '../statestore/metadata-filter.js';

/**
 * Whether a run's event passes a watch's filter (docs/events.md): the `runs/list` filter fields,
 * matched against the run as the event carries it; `status` against its status at that event.
 */
export function watchFilterMatches(run: RunStatus, filter: RunsWatchFilter): boolean {
  if (filter.status !== undefined && !filter.status.includes(run.status)) return false;
  if (filter.flowId !== undefined && run.flowId !== filter.flowId) return false;
  if (filter.flowName !== undefined && run.flowName !== filter.flowName) return false;
  if (filter.flowLabel !== undefined && run.flowLabel !== filter.flowLabel) return false;
  if (filter.parentRunId !== undefined && run.parentRunId !== filter.parentRunId) return false;
  if (filter.rootsOnly && run.parentRunId !== undefined) return false;
  if (filter.rerunOf !== undefined && run.rerunOf !== filter.rerunOf) return false;
  const createdAt = Date.parse(run.createdAt);
  if (filter.createdAfter !== undefined && !(createdAt > Date.parse(filter.createdAfter))) return false;
  if (filter.createdBefore !== undefined && !(createdAt < Date.parse(filter.createdBefore))) return false;
  return filter.metadata === undefined || metadataMatches(run.metadata, filter.metadata);
}
