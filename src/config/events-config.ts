import { z } from 'zod';
import type { ConfigReader } from './config-reader.js';
import { DurationSchema } from './duration.js';
import type { EventsConfig } from './types.js';

const EventsSchema = z.strictObject({ retention: DurationSchema.optional() });

/** `events: {retention}` — how long run events are kept for watchers that resume (docs/events.md); absent: 10 minutes. */
export function parseEventsConfig(raw: unknown, reader: ConfigReader): EventsConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const events = reader.parse(EventsSchema, raw, ['events']);
  return events.retention === undefined ? {} : { retentionMs: events.retention };
}
