// Watch delivery spans. The ingest applies a traced delta inside `WatchFeed.causedBy(applySpan)`,
// so each change the feed takes from that apply remembers the apply span (WatchEvent.cause).
// A watcher (SSE or gRPC Watch) then records one `hub.watch.deliver` span per batch: the events
// it is handed in one go from one apply, linked to that apply span. Also its child: a root span
// would be sampled again by ratio (a link does not carry the decision), and as a child the
// delivery sits in the agent's poll trace, poll -> apply -> deliver, each watcher its own child.
import { endSpan, SpanKind, type Span, type SpanContext, type Tracing } from '../../shared/tracing/index.js';
import type { WatchEvent } from './watch-feed.js';

export interface DeliveryTrace {
  /** Called for each event the watcher wrote out. */
  delivered(event: WatchEvent): void;
}

const NONE: DeliveryTrace = { delivered: () => undefined };

/** One span per run of events from one apply; ended once the synchronous run is over. */
export function deliveryTrace(tracing: Tracing | undefined, attributes: { transport: 'sse' | 'grpc'; watcher: string }): DeliveryTrace {
  if (!tracing?.enabled) return NONE;
  let open: { cause: SpanContext; span: Span; events: number } | undefined;
  const close = (): void => {
    if (!open) return;
    open.span.setAttribute('sfleet.events', open.events);
    endSpan(open.span);
    open = undefined;
  };
  return {
    delivered(event) {
      const cause = event.cause;
      if (!cause) return;
      if (open && open.cause === cause) {
        open.events++;
        return;
      }
      close();
      const span = tracing.startSpan('hub.watch.deliver', {
        kind: SpanKind.PRODUCER,
        parent: cause,
        links: [{ context: cause }],
        attributes: { 'sfleet.transport': attributes.transport, 'sfleet.watcher': attributes.watcher, ...(event.cluster ? { 'sfleet.cluster': event.cluster } : {}) },
      });
      open = { cause, span, events: 1 };
      // The feed hands one apply's events over synchronously: the batch is over at the next microtask.
      queueMicrotask(close);
    },
  };
}
