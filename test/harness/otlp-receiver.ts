// A local OTLP/HTTP trace receiver: takes POST /v1/traces as the collector does (protobuf),
// decodes each request with the OTLP protobuf definitions (the protobufjs code generated from
// opentelemetry-proto that @opentelemetry/otlp-transformer 0.52 ships) and keeps the spans.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';

export interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  attributes: Record<string, string | number | boolean>;
  error: boolean;
  /** The spans this one links to (e.g. a watch delivery to the apply that caused it). */
  links: { traceId: string; spanId: string }[];
}

interface AnyValue { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
interface KeyValue { key: string; value?: AnyValue }
interface DecodedSpan { traceId: Uint8Array; spanId: Uint8Array; parentSpanId?: Uint8Array; name: string; attributes?: KeyValue[]; status?: { code?: number }; links?: { traceId: Uint8Array; spanId: Uint8Array }[] }
interface DecodedRequest { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: DecodedSpan[] }[] }[] }
interface MessageType<T> { decode(bytes: Uint8Array): object; toObject(m: object, o: object): T; encode(m: object): { finish(): Uint8Array }; create(o: object): object }

const root = createRequire(import.meta.url)('otlp-transformer-0.52/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: MessageType<DecodedRequest>; ExportTraceServiceResponse: MessageType<object> } } } } };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = root.opentelemetry.proto.collector.trace.v1;

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  /** Requests that were not OTLP protobuf (wrong path, method, content type, undecodable). */
  readonly refused: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const holder: { receiver?: OtlpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = holder.receiver!;
        if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
          r.refused.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
          res.writeHead(415).end();
          return;
        }
        try {
          r.take(ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(Buffer.concat(chunks)), { defaults: false, longs: Number }));
        } catch (err) {
          r.refused.push(`undecodable: ${(err as Error).message}`);
          res.writeHead(400).end();
          return;
        }
        r.requests++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish()));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    holder.receiver = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    return holder.receiver;
  }

  private take(req: DecodedRequest): void {
    for (const rs of req.resourceSpans ?? []) {
      const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({ service, name: s.name, traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: s.parentSpanId ? hex(s.parentSpanId) : '', attributes: attrs(s.attributes), error: s.status?.code === 2, links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })) });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function attrs(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? '';
  }
  return out;
}
