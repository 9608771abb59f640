import { z } from 'zod';
import { ItemResultSchema, RUN_FILTER_FIELDS, RunStatusSchema } from './types.js';

/** The kinds of `runs/event` (docs/events.md); `item.finished` only on a watch of one run with `items: true`. */
export const RUN_EVENT_TYPES = ['run.created', 'run.started', 'run.progress', 'run.finished', 'item.finished'] as const;
export const RunEventTypeSchema = z.enum(RUN_EVENT_TYPES);
export type RunEventType = z.output<typeof RunEventTypeSchema>;

/**
 * Where a watcher is in the stream of events: opaque to clients, never decreasing, given back as
 * `since`. On a watch with `items`, it also counts the item events sent (`<run events>:<items>`).
 */
export const EventCursorSchema = z.string().regex(/^\d{1,15}(:\d{1,15})?$/, 'expected a cursor returned by runs/watch or runs/event');

/** Default and bounds of `progressEveryMs`. */
export const DEFAULT_PROGRESS_EVERY_MS = 250;
export const MIN_PROGRESS_EVERY_MS = 50;
export const MAX_PROGRESS_EVERY_MS = 3_600_000;

/** Which runs a watch follows: the filter fields of `runs/list`, matched against the run of each event. */
export const RunsWatchFilterSchema = z.object(RUN_FILTER_FIELDS);
export type RunsWatchFilter = z.output<typeof RunsWatchFilterSchema>;

export const RunsWatchParams = z
  .object({
    runId: z.string().min(1).optional(),
    filter: RunsWatchFilterSchema.optional(),
    items: z.boolean().default(false),
    since: EventCursorSchema.optional(),
    progressEveryMs: z.number().int().min(MIN_PROGRESS_EVERY_MS).max(MAX_PROGRESS_EVERY_MS).default(DEFAULT_PROGRESS_EVERY_MS),
    /** The events of this namespace's runs; only an admin may name another than its own (docs/security.md). */
    namespace: z.string().min(1).optional(),
  })
  .nullish()
  .transform((p) => p ?? { items: false, progressEveryMs: DEFAULT_PROGRESS_EVERY_MS })
  .refine((p) => p.runId === undefined || p.filter === undefined, { message: 'give "runId" or "filter", not both', path: ['filter'] })
  .refine((p) => !p.items || p.runId !== undefined, { message: '"items: true" needs "runId" (item events come for one run)', path: ['items'] });
export type RunsWatchParamsType = z.output<typeof RunsWatchParams>;
export const RunsWatchResult = z.object({ subscriptionId: z.string(), cursor: EventCursorSchema });

export const RunsUnwatchParams = z.object({ subscriptionId: z.string().min(1) });
/** `removed: false` when the subscription was already gone (unwatched, or its run finished). */
export const RunsUnwatchResult = z.object({ removed: z.boolean() });

/** One event of a watch: the run's status without results, and for `item.finished` the item. */
export const RunsEventParams = z.object({
  subscriptionId: z.string(),
  cursor: EventCursorSchema,
  type: RunEventTypeSchema,
  run: RunStatusSchema,
  item: ItemResultSchema.optional(),
});
export type RunsEventParamsType = z.output<typeof RunsEventParams>;
