import { ROOT_CONTEXT, SpanStatusCode, TraceFlags, trace, type Context, type Span } from '@opentelemetry/api';
import type { FlowResult, Observability } from '../../protocol/index.js';

/**
 * OpenTelemetry spans for runs, items and component calls (through `@opentelemetry/api`, so
 * they are no-ops until the embedding program registers a tracer provider). Item and call
 * spans are only made under a recording run span, keeping the untraced hot path free.
 */
const tracer = () => trace.getTracer('flowrun');

/** The parent context named by a submitted `observability` (W3C trace and span ids), else the root. */
export function contextFrom(observability: Observability | undefined): Context {
  if (!observability?.trace_id || !observability.span_id) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: observability.trace_id,
    spanId: observability.span_id,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** Starts a run's span; undefined when nobody records spans. */
export function startRunSpan(parent: Context, attrs: { runId: string; flowId: string; flowName?: string; items: number; parentRunId?: string }): Span | undefined {
  const span = tracer().startSpan(
    'flowrun.run',
    {
      attributes: {
        'flowrun.run_id': attrs.runId,
        'flowrun.flow_id': attrs.flowId,
        'flowrun.items': attrs.items,
        ...(attrs.flowName !== undefined && { 'flowrun.flow_name': attrs.flowName }),
        ...(attrs.parentRunId !== undefined && { 'flowrun.parent_run_id': attrs.parentRunId }),
      },
    },
    parent,
  );
  return span.isRecording() ? span : undefined;
}

/** Starts an item's span under its run's span; returns the span and the context for its calls. */
export function startItemSpan(runSpan: Span, runId: string, itemIndex: number): { span: Span; context: Context } {
  const span = tracer().startSpan(
    'flowrun.item',
    { attributes: { 'flowrun.run_id': runId, 'flowrun.item_index': itemIndex } },
    trace.setSpan(ROOT_CONTEXT, runSpan),
  );
  return { span, context: trace.setSpan(ROOT_CONTEXT, span) };
}

/** Starts a component call's span under the item's context. */
export function startCallSpan(parent: Context, attrs: { component: string; stepId: string; attempt: number }): Span {
  return tracer().startSpan(
    'flowrun.component',
    { attributes: { 'flowrun.component': attrs.component, 'flowrun.step_id': attrs.stepId, 'flowrun.attempt': attrs.attempt } },
    parent,
  );
}

/** Ends a span with the outcome of a FlowResult. */
export function endWithResult(span: Span, result: FlowResult | undefined, status: string): void {
  span.setAttribute('flowrun.status', status);
  if (result?.outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
  span.end();
}

/** The trace and span ids of a span, for `components/execute.observability`. */
export function idsOf(span: Span): { trace_id: string; span_id: string } {
  const c = span.spanContext();
  return { trace_id: c.traceId, span_id: c.spanId };
}
