import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { fixturePath, ROOT } from '../support/paths.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let runtime: Runtime;

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  const config = parseConfig(
    {
      plugins: { obs: { type: 'stepflow', command: process.execPath, args: [fixturePath('observability-server.mjs')] } },
      routes: { '/obs/{*component}': [{ plugin: 'obs' }] },
    },
    { workingDirectory: ROOT, env: process.env },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
});

afterAll(async () => {
  await runtime.close();
  trace.disable();
  await provider.shutdown();
});

describe('tracing', () => {
  it('makes one span per run, item and component call, parented on the submitted context', async () => {
    const parentTrace = '0af7651916cd43dd8448eb211c80319c';
    const parentSpan = 'b7ad6b7169203331';
    const flow = {
      steps: [{ id: 'look', component: '/obs/observe', input: { $input: '$' } }],
      output: { $step: 'look' },
    };
    const status = await runtime.runs.submit({
      flow,
      inputs: [1, 2],
      wait: true,
      variables: {},
      observability: { trace_id: parentTrace, span_id: parentSpan },
    });
    expect(status.results?.map((r) => r.result)).toEqual([expect.objectContaining({ outcome: 'success' }), expect.objectContaining({ outcome: 'success' })]);
    await new Promise((r) => setImmediate(r)); // the run span ends as the run turns terminal

    const spans = exporter.getFinishedSpans();
    const byName = (n: string) => spans.filter((s) => s.name === n);
    const [run] = byName('flowrun.run');
    const items = byName('flowrun.item');
    const calls = byName('flowrun.component');
    expect(run).toBeDefined();
    expect(items).toHaveLength(2);
    expect(calls).toHaveLength(2);
    expect(spans.every((s) => s.spanContext().traceId === parentTrace)).toBe(true);
    expect(run.parentSpanContext?.spanId).toBe(parentSpan);
    expect(run.attributes['flowrun.run_id']).toBe(status.runId);
    for (const item of items) expect(item.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    const itemSpanIds = new Set(items.map((i) => i.spanContext().spanId));
    for (const call of calls) expect(itemSpanIds.has(call.parentSpanContext!.spanId)).toBe(true);

    // The component server received the call span's ids, and the run/flow/step ids.
    const seen = status.results!.map((r) => (r.result as { value: Record<string, string> }).value);
    const callSpanIds = new Set(calls.map((c) => c.spanContext().spanId));
    for (const obs of seen) {
      expect(obs.trace_id).toBe(parentTrace);
      expect(callSpanIds.has(obs.span_id)).toBe(true);
      expect(obs).toMatchObject({ run_id: status.runId, flow_id: status.flowId, step_id: 'look' });
    }
  });
});
