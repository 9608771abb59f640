import type { RunEvent, RunEventStream } from '../../src/client/index.js';

/**
 * The events a watch yields up to the `run.finished` of `runId` (then it unwatches), or up to
 * its end; bounded by `boundMs` (generous: the machine is noisy), after which it stops with what
 * it got.
 */
export async function eventsUntilFinished(stream: RunEventStream, runId: string, boundMs = 60_000): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const timeout = setTimeout(() => void stream.close(), boundMs);
  try {
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'run.finished' && event.run.runId === runId) break;
    }
  } finally {
    clearTimeout(timeout);
  }
  return events;
}
